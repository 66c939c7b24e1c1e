#!/usr/bin/env bash
# Installs what the editor end-to-end tests (editors/) need on a Debian machine
# that reaches only the Debian and npm registries:
#   apt:  neovim (0.7.2), tmux, chromium, ripgrep, emacs-nox + elpa-eglot
#   npm:  code-server 4.100.3 (the last release that runs on node 20),
#         playwright-core, @vscode/vsce 3.7.1, typescript
#   and the VS Code extension's own node_modules (editors/vscode).
#
# Idempotent: every step leaves a stamp under the prefix and is skipped on the
# next run, so a rerun takes a second. The npm tools go to $MEMLENS_EDITOR_PREFIX
# (default /opt/memlens-editors); editors/e2e_test.go looks there too.
#
# code-server cannot be installed the plain way here (see
# shared/notes/editor-e2e.md): its postinstall downloads ripgrep from the
# internet. So: install with --ignore-scripts, install lib/vscode's production
# dependencies likewise, put Debian's rg where @vscode/ripgrep expects it,
# rebuild the native modules, and redo postinstall.sh's symlinks by hand.
set -euo pipefail

PREFIX="${MEMLENS_EDITOR_PREFIX:-/opt/memlens-editors}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CODE_SERVER_VERSION=4.100.3
VSCE_VERSION=3.7.1
PLAYWRIGHT_VERSION=1.65.1
TYPESCRIPT_VERSION=5.9.3

export DEBIAN_FRONTEND=noninteractive
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# Native modules build against the installed node's headers; node-gyp would
# otherwise download them, which the registries-only network refuses.
if [ -z "${npm_config_nodedir:-}" ] && [ -e /usr/include/node/node.h ]; then
	export npm_config_nodedir=/usr
fi

log() { echo "install-editor-deps: $*"; }
stamp() { [ -e "$PREFIX/.stamp-$1" ]; }
mark() { touch "$PREFIX/.stamp-$1"; }

mkdir -p "$PREFIX"

# --- Debian packages -------------------------------------------------------
apt_packages=(neovim tmux chromium ripgrep emacs-nox elpa-eglot elpa-go-mode libkrb5-dev build-essential python3)
missing=()
for p in "${apt_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "apt-get install ${missing[*]}"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	# Other jobs on a shared machine may hold the dpkg lock for a while: wait for it.
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm tools: vsce, typescript, playwright-core ---------------------------
tools="$PREFIX/tools"
tools_stamp="tools-vsce$VSCE_VERSION-ts$TYPESCRIPT_VERSION-pw$PLAYWRIGHT_VERSION"
if ! stamp "$tools_stamp"; then
	log "npm tools into $tools"
	mkdir -p "$tools"
	[ -e "$tools/package.json" ] || echo '{"name":"memlens-editor-tools","private":true}' >"$tools/package.json"
	(cd "$tools" && npm install --no-save --loglevel=error \
		"@vscode/vsce@$VSCE_VERSION" "typescript@$TYPESCRIPT_VERSION" "playwright-core@$PLAYWRIGHT_VERSION")
	mark "$tools_stamp"
fi

# --- code-server -------------------------------------------------------------
cs_root="$PREFIX/code-server"
cs="$cs_root/node_modules/code-server"
cs_stamp="code-server-$CODE_SERVER_VERSION"
if ! stamp "$cs_stamp"; then
	log "code-server $CODE_SERVER_VERSION into $cs_root (about 1.5 min)"
	rm -rf "$cs_root"
	mkdir -p "$cs_root"
	echo '{"name":"memlens-code-server","private":true}' >"$cs_root/package.json"
	(cd "$cs_root" && npm install --no-save --ignore-scripts --loglevel=error "code-server@$CODE_SERVER_VERSION")
	(cd "$cs/lib/vscode" && npm install --omit=dev --ignore-scripts --loglevel=error)
	# @vscode/ripgrep's own postinstall downloads rg from the internet; use Debian's.
	rgdir="$cs/lib/vscode/node_modules/@vscode/ripgrep/bin"
	mkdir -p "$rgdir"
	ln -sf /usr/bin/rg "$rgdir/rg"
	(cd "$cs/lib/vscode" && npm_config_yes=true npm rebuild --loglevel=error)
	# code-server's own native module; node-pre-gyp would download it, so build it.
	# (npm rebuild in $cs itself would rerun code-server's postinstall.)
	(cd "$cs_root" && npm_config_build_from_source=true npm rebuild argon2 --loglevel=error)
	# The symlinks of code-server's postinstall.sh (vscode_install), by hand.
	(
		cd "$cs/lib/vscode"
		rm -rf node_modules.asar && ln -s node_modules node_modules.asar
		(cd bin/remote-cli && rm -rf code-server && ln -s code-linux.sh code-server)
		(cd bin/helpers && rm -rf browser.sh && ln -s browser-linux.sh browser.sh)
		cd extensions && npm install --omit=dev --ignore-scripts --loglevel=error
	)
	mark "$cs_stamp"
fi
ln -sf "$cs/out/node/entry.js" "$PREFIX/code-server-bin"

# --- the extension's own dependencies ---------------------------------------
ext="$ROOT/editors/vscode"
if [ -e "$ext/package-lock.json" ]; then
	lock_sum="$(sha256sum "$ext/package-lock.json" | cut -c1-16)"
	if [ ! -e "$ext/node_modules/.memlens-$lock_sum" ]; then
		log "npm ci in editors/vscode"
		(cd "$ext" && npm ci --loglevel=error)
		touch "$ext/node_modules/.memlens-$lock_sum"
	fi
fi

log "ok: nvim $(nvim --version | head -1 | cut -d' ' -f2), $(tmux -V), chromium $(chromium --version 2>/dev/null | awk '{print $2}'), code-server $CODE_SERVER_VERSION in $PREFIX"
