#!/usr/bin/env bash
# Builds the extension and packages it as dist/memlens.vsix.
# Needs node 20 and the npm tools of scripts/install-editor-deps.sh
# (typescript and @vscode/vsce under $MEMLENS_EDITOR_PREFIX, default /opt/memlens-editors).
set -euo pipefail
cd "$(dirname "$0")"
prefix="${MEMLENS_EDITOR_PREFIX:-/opt/memlens-editors}"
bin="$prefix/tools/node_modules/.bin"
for tool in tsc vsce; do
	if [ ! -x "$bin/$tool" ]; then
		echo "build.sh: $bin/$tool is missing: run scripts/install-editor-deps.sh" >&2
		exit 1
	fi
done
# npm ci only when the lock file changed since the last install.
lock_sum="$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -e "node_modules/.memlens-$lock_sum" ]; then
	npm ci --loglevel=error
	touch "node_modules/.memlens-$lock_sum"
fi
rm -rf out
"$bin/tsc" -p .
mkdir -p dist
"$bin/vsce" package --allow-missing-repository --skip-license --out dist/memlens.vsix >/dev/null
echo "built $(pwd)/dist/memlens.vsix"
