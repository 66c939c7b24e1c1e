# memlens — line-by-line memory profiles for Go and Python, in the editor.
GO      ?= go
BIN     := bin/memlens
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build install run test vet fmt-check bench fuzz vsix vsix-all timeline-chart clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

# memlens into $(go env GOBIN), default $(go env GOPATH)/bin: what `go install .` does, with the version.
install:
	$(GO) install -ldflags "-X main.version=$(VERSION)" .

# The main job on a bundled example: profile a testdata function, print the table.
run: build
	./$(BIN) profile ./testdata/go/shapes Build

test: vet fmt-check
	$(GO) test -count=1 -timeout 40m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# How fast memlens is against the tools people would use instead (issue 6):
# prints the table and writes BENCHMARKS.md. Never part of `make test`.
# Needs python3-memory-profiler (Debian) and golang.org/x/text@v0.31.0 (module
# proxy), gonum.org/v1/gonum@v0.17.0 for the entry search; about 10 minutes on 2 cores.
# BENCHFLAGS=-reps=3 or -only=go,suite,entries,python,lsp,why,timeline to vary it.
bench:
	$(GO) run ./bench $(BENCHFLAGS)

# The README's timeline chart, remade from the bundled example.
timeline-chart: build
	./$(BIN) profile --quiet --plot docs/timeline.png ./testdata/go/cmd/steps

# Fuzz the Go rewriter beyond its seeds (make test runs the seeds only).
# Each input that widens coverage is minimized by a worker, which reports
# its executions only when done: with both workers minimizing, the status
# line shows 0 execs/sec. Go's default allows a minimization 60 s; inputs
# here are whole source files (ms per execution), so many use all of it.
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzInstrument -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./instrument

# The VS Code extension for this machine, memlens inside: editors/vscode/dist/memlens-PLATFORM.vsix
# (needs scripts/install-editor-deps.sh first). vsix-all: every platform, and memlens.vsix without a binary.
vsix:
	editors/vscode/build.sh

vsix-all:
	editors/vscode/build.sh --all

clean:
	rm -rf bin editors/vscode/dist
