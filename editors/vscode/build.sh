#!/usr/bin/env bash
# Builds the extension and packages it.
#
#   build.sh                  dist/memlens-TARGET.vsix for this machine (TARGET e.g. linux-x64),
#                             with the memlens binary inside
#   build.sh TARGET...        those platforms' packages, e.g. build.sh darwin-arm64 linux-arm64
#   build.sh --all            every platform below, and the universal package
#   build.sh --universal      dist/memlens.vsix: no binary, uses memlens.path or memlens on PATH
#
# A platform package (vsce package --target) carries memlens for its platform, cross-compiled
# with CGO off (a static binary: alpine's musl runs the linux ones), in bin/; the extension
# uses it when memlens.path is unset and no memlens is on PATH. VS Code installs the package
# matching the machine. The platforms are VS Code's 64-bit Linux, Alpine and macOS ones. memlens
# does not build for 32-bit targets (linux-armhf: an int cannot hold its probe files' 64-bit
# magic numbers) nor for Windows (win32-*: the runner uses Unix process groups, signals and
# flock).
#
# Needs Go, node 20 and the npm tools of scripts/install-editor-deps.sh (typescript and
# @vscode/vsce under $MEMLENS_EDITOR_PREFIX, default /opt/memlens-editors).
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
prefix="${MEMLENS_EDITOR_PREFIX:-/opt/memlens-editors}"
tools="$prefix/tools/node_modules/.bin"
for tool in tsc vsce; do
	if [ ! -x "$tools/$tool" ]; then
		echo "build.sh: $tools/$tool is missing: run scripts/install-editor-deps.sh" >&2
		exit 1
	fi
done

# VS Code target → GOOS GOARCH.
declare -A platforms=(
	[linux-x64]="linux amd64"
	[linux-arm64]="linux arm64"
	[alpine-x64]="linux amd64"
	[alpine-arm64]="linux arm64"
	[darwin-x64]="darwin amd64"
	[darwin-arm64]="darwin arm64"
)

host_target() {
	local os arch
	case "$(go env GOOS)" in
	linux) os=linux ;;
	darwin) os=darwin ;;
	*) os="$(go env GOOS)" ;;
	esac
	case "$(go env GOARCH)" in
	amd64) arch=x64 ;;
	arm64) arch=arm64 ;;
	*) arch="$(go env GOARCH)" ;;
	esac
	# musl (Alpine): the same static binary, but VS Code asks for alpine-*.
	if [ "$os" = linux ] && ls /lib/ld-musl-* >/dev/null 2>&1; then
		os=alpine
	fi
	echo "$os-$arch"
}

targets=()
universal=false
if [ $# -eq 0 ]; then
	targets=("$(host_target)")
fi
for arg in "$@"; do
	case "$arg" in
	--all)
		targets=(linux-x64 linux-arm64 alpine-x64 alpine-arm64 darwin-x64 darwin-arm64)
		universal=true
		;;
	--universal) universal=true ;;
	-*)
		echo "build.sh: unknown flag $arg" >&2
		exit 2
		;;
	*) targets+=("$arg") ;;
	esac
done
for t in "${targets[@]}"; do
	if [ -z "${platforms[$t]:-}" ]; then
		echo "build.sh: unknown target $t (want one of: ${!platforms[*]})" >&2
		exit 2
	fi
done

# npm ci only when the lock file changed since the last install.
lock_sum="$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -e "node_modules/.memlens-$lock_sum" ]; then
	npm ci --loglevel=error
	touch "node_modules/.memlens-$lock_sum"
fi
rm -rf out bin
"$tools/tsc" -p .
mkdir -p dist

version="$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)"
trap 'rm -rf bin' EXIT
for t in "${targets[@]}"; do
	read -r goos goarch <<<"${platforms[$t]}"
	exe=memlens
	rm -rf bin
	mkdir -p bin
	(cd "$root" && CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" \
		go build -trimpath -ldflags "-s -w -X main.version=$version" -o "editors/vscode/bin/$exe" .)
	"$tools/vsce" package --target "$t" --allow-missing-repository --skip-license --out "dist/memlens-$t.vsix" >/dev/null
	echo "built $(pwd)/dist/memlens-$t.vsix (memlens $version for $goos/$goarch)"
done
if $universal; then
	rm -rf bin
	"$tools/vsce" package --allow-missing-repository --skip-license --out dist/memlens.vsix >/dev/null
	echo "built $(pwd)/dist/memlens.vsix (no binary: memlens.path or memlens on PATH)"
fi
