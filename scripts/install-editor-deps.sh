#!/usr/bin/env bash
# Installs what the editor end-to-end tests (editors/) need on a Debian machine
# that reaches only the Debian and npm registries:
#   apt:  neovim (0.7.2), tmux, chromium, ripgrep, emacs-nox + elpa-eglot
#   npm:  code-server 4.100.3 (the last release that runs on node 20),
#         playwright-core, @vscode/vsce 3.7.1, typescript
#   Neovim 0.10.4 from Debian trixie, unpacked under the prefix (see below)
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
apt_packages=(neovim tmux chromium ripgrep emacs-nox elpa-eglot elpa-go-mode libkrb5-dev build-essential python3 patchelf)
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

# --- Neovim 0.10.4 (native inlay hints) beside the system's 0.7.2 -----------
# Debian bookworm has only 0.7.2, and installing trixie's 0.10.4 would upgrade
# libc6 and ~40 other packages. So (shared/notes/editor-e2e.md): download
# trixie's packages with a private apt state (its own sources.list, lists and
# cache under the prefix; the machine's apt sources and dpkg status are never
# read or written), unpack them into $PREFIX/nvim-0.10.4, and point the binary
# at trixie's own loader and libraries with patchelf. The TUI works too: 0.10
# re-executes its own binary for its UI server, which then finds the same
# loader. $PREFIX/bin/nvim-0.10 runs it with its own runtime.
NVIM10_VERSION=0.10.4
nvim10="$PREFIX/nvim-$NVIM10_VERSION"
nvim10_stamp="nvim-$NVIM10_VERSION"
if ! stamp "$nvim10_stamp"; then
	log "Neovim $NVIM10_VERSION (Debian trixie) into $nvim10"
	# The Debian mirror the machine's own sources name (deb822 or one-line
	# format), not the security archive.
	mirror="$(
		{
			grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | sed 's/^URIs:[[:space:]]*//' | tr ' ' '\n'
			grep -hs '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
				sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}'
		} | grep -E '^https?://' | grep -v -- '-security' | grep -E '/debian/?$' | head -1
	)" || true # a missing sources file is no error
	mirror="${mirror:-http://deb.debian.org/debian}"
	apt_dir="$PREFIX/.apt-trixie"
	rm -rf "$apt_dir" "$nvim10"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$nvim10"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt_dir/sources.list"
	apt_private=(
		-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o Dir::State::status=/dev/null -o APT::Sandbox::User=root
	)
	apt-get "${apt_private[@]}" update -qq
	(cd "$apt_dir/debs" && apt-get "${apt_private[@]}" download -qq \
		neovim neovim-runtime libc6 libluajit-5.1-2 libluajit-5.1-common libmsgpack-c2 \
		libtree-sitter0.22 libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv libgcc-s1 libstdc++6)
	for deb in "$apt_dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$nvim10"
	done
	multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
	libdir="$nvim10/usr/lib/$multiarch"
	loader="$(ls "$libdir"/ld-linux*.so.* | head -1)"
	patchelf --set-interpreter "$loader" --set-rpath "$libdir" "$nvim10/usr/bin/nvim"
	mkdir -p "$PREFIX/bin"
	cat >"$PREFIX/bin/nvim-0.10" <<WRAPPER
#!/bin/sh
# Neovim $NVIM10_VERSION from Debian trixie (scripts/install-editor-deps.sh).
VIMRUNTIME="$nvim10/usr/share/nvim/runtime" exec "$nvim10/usr/bin/nvim" "\$@"
WRAPPER
	chmod +x "$PREFIX/bin/nvim-0.10"
	"$PREFIX/bin/nvim-0.10" --version | head -1 | grep -q "v$NVIM10_VERSION"
	rm -rf "$apt_dir"
	mark "$nvim10_stamp"
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

log "ok: nvim $(nvim --version | head -1 | cut -d' ' -f2) and $("$PREFIX/bin/nvim-0.10" --version | head -1 | cut -d' ' -f2), $(tmux -V), chromium $(chromium --version 2>/dev/null | awk '{print $2}'), code-server $CODE_SERVER_VERSION in $PREFIX"
