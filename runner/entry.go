package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/memlens/memlens/instrument"
)

// chooseEntry is the second stage: it decides which test binary or program
// runs the targets (see chooseEntry the function for the order) and names
// it in the result.
func (r *goRun) chooseEntry(ctx context.Context) error {
	editor, flags := r.editor, r.req.BuildFlags
	reach := func(ctx context.Context, home *listedPackage, ts []target) ([]string, error) {
		if parseFailed(home.Files) {
			return nil, nil
		}
		return testsReaching(ctx, home, ts, editor, flags)
	}
	entry, err := chooseEntry(ctx, r.req, r.home, r.targets, reach)
	if err != nil {
		return err
	}
	r.entry = entry
	r.res.Entry = entry.Describe
	return nil
}

// entryKind says which program runs the targets.
type entryKind int

const (
	entryTest entryKind = iota // a test binary of the package
	entryMain                  // the main package itself
)

// goEntry is how the targets get run.
type goEntry struct {
	Kind entryKind
	// Args are the test binary's flags (entryTest) or the program's
	// arguments (entryMain).
	Args []string
	// Describe is Result.Entry: the equivalent command and why it was chosen.
	Describe string
	// Files are extra overlay files (the generated entry test), by path.
	Files map[string][]byte
}

// entryTestName is the generated test that calls a parameterless target.
const entryTestName = "TestMemlensEntry"

// entryFileName is the generated test file; it exists only in the overlay.
const entryFileName = "zz_memlens_entry_test.go"

// chooseEntry applies the order: explicit flags; targets that are
// tests themselves; a main package; the tests that reach the targets; a
// generated test calling parameterless targets.
func chooseEntry(ctx context.Context, req Request, home *listedPackage, targets []target, reach reachFunc) (*goEntry, error) {
	switch {
	case req.Test != "":
		re := "^(" + req.Test + ")$"
		return &goEntry{Kind: entryTest, Args: []string{"-test.run", re}, Describe: "go test -run " + re}, nil
	case req.Bench != "":
		re := "^(" + req.Bench + ")$"
		return &goEntry{Kind: entryTest, Args: []string{"-test.run", "^$", "-test.bench", re, "-test.benchtime", "1x"},
			Describe: "go test -bench " + re + " -benchtime 1x -run ^$"}, nil
	case req.HasArgs:
		if home.Name != "main" {
			return nil, fmt.Errorf("%w: program arguments given but %s is not a main package; use --test NAME or --bench NAME", ErrNoEntry, home.ImportPath)
		}
		return mainEntry(home, req.Args), nil
	}

	var tests, benches, plain []target
	for _, t := range targets {
		switch t.Func.TestKind {
		case "Test", "Fuzz", "Example":
			tests = append(tests, t)
		case "Benchmark":
			benches = append(benches, t)
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) == 0 {
		var runNames, benchNames []string
		for _, t := range tests {
			runNames = append(runNames, t.Func.Name)
		}
		for _, t := range benches {
			benchNames = append(benchNames, t.Func.Name)
		}
		e := &goEntry{Kind: entryTest}
		runRE := "^$"
		if len(runNames) > 0 {
			runRE = alternation(runNames)
		}
		e.Args = []string{"-test.run", runRE}
		e.Describe = "go test -run " + runRE
		if len(benchNames) > 0 {
			benchRE := alternation(benchNames)
			e.Args = append(e.Args, "-test.bench", benchRE, "-test.benchtime", "1x")
			e.Describe += " -bench " + benchRE + " -benchtime 1x"
		}
		return e, nil
	}

	if home.Name == "main" {
		return mainEntry(home, nil), nil
	}

	names := make([]string, len(plain))
	for i, t := range plain {
		names[i] = displayName(t.Func)
	}
	reaching, err := reach(ctx, home, plain)
	if err != nil {
		return nil, err
	}
	for _, t := range tests {
		reaching = append(reaching, t.Func.Name)
	}
	if len(reaching) > 0 {
		sort.Strings(reaching)
		reaching = dedup(reaching)
		var runNames, benchNames []string
		for _, n := range reaching {
			if strings.HasPrefix(n, "Benchmark") {
				benchNames = append(benchNames, n)
			} else {
				runNames = append(runNames, n)
			}
		}
		e := &goEntry{Kind: entryTest}
		runRE := "^$"
		if len(runNames) > 0 {
			runRE = alternation(runNames)
		}
		e.Args = []string{"-test.run", runRE}
		e.Describe = "go test -run " + runRE
		if len(benchNames) > 0 {
			benchRE := alternation(benchNames)
			e.Args = append(e.Args, "-test.bench", benchRE, "-test.benchtime", "1x")
			e.Describe += " -bench " + benchRE + " -benchtime 1x"
		}
		e.Describe += " (tests that reach " + strings.Join(names, ", ") + ")"
		return e, nil
	}

	// Last resort: call parameterless targets from a generated test.
	var calls []string
	for _, t := range plain {
		fn := t.Func
		if fn.Recv != "" || fn.Generic || fn.NumParams != 0 || t.Pkg != home || isXTestFunc(home, fn) {
			return nil, fmt.Errorf("%w: no test of %s reaches %s and it cannot be called without arguments; "+
				"run it with --test NAME, --bench NAME, or -- ARGS for a main package", ErrNoEntry, home.ImportPath, displayName(fn))
		}
		calls = append(calls, "\t"+fn.Name+"()\n")
	}
	src := "package " + home.Name + "\n\nimport \"testing\"\n\n" +
		"// Generated by memlens: calls the profiled functions, which no test reaches.\n" +
		"func " + entryTestName + "(t *testing.T) {\n" + strings.Join(calls, "") + "}\n"
	re := "^" + entryTestName + "$"
	return &goEntry{
		Kind:     entryTest,
		Args:     []string{"-test.run", re},
		Describe: "go test -run " + re + " (a generated test calls " + strings.Join(names, ", ") + ")",
		Files:    map[string][]byte{filepath.Join(home.Dir, entryFileName): []byte(src)},
	}, nil
}

func isXTestFunc(p *listedPackage, fn instrument.Func) bool {
	for _, f := range p.Files {
		if f.Path == fn.File {
			return f.XTest
		}
	}
	return false
}

func mainEntry(p *listedPackage, args []string) *goEntry {
	d := "go run " + p.ImportPath
	if len(args) > 0 {
		d += " " + strings.Join(args, " ")
	}
	return &goEntry{Kind: entryMain, Args: args, Describe: d}
}

// alternation is an anchored regexp matching exactly the names.
func alternation(names []string) string {
	return "^(" + strings.Join(names, "|") + ")$"
}

func firstLine(s, fallback string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}
