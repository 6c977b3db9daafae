#!/usr/bin/env bash
# VS Code for the end-to-end test, offline from the npm registry: code-server 4.100.3 (VS Code
# 1.100.3, the last release that runs on Node 20) under tests/.cache/code-server, and the pinned
# playwright-core that drives Debian's Chromium. Needs the apt packages
# libkrb5-dev pkg-config ripgrep chromium (tasks.sh installs them). A second run returns at once.
#
# A plain `npm install code-server` fails here three ways (root needs --unsafe-perm; kerberos
# needs gssapi headers; @vscode/ripgrep downloads rg from GitHub), so its install scripts are
# skipped and code-server's postinstall.sh is redone by hand with Debian's rg and Node headers.
# It is built in a scratch folder and moved into place when complete.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VERSION=4.100.3
CACHE="$ROOT/tests/.cache"
DEST="$CACHE/code-server"
STAMP="$DEST/.installed-$VERSION"
export npm_config_nodedir=/usr npm_config_yes=true npm_config_fund=false \
  npm_config_audit=false npm_config_loglevel=error npm_config_update_notifier=false

missing=()
for cmd in chromium rg pkg-config krb5-config; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
if [ ${#missing[@]} -ne 0 ]; then
  echo "install.sh: missing ${missing[*]}; run: apt-get install libkrb5-dev pkg-config ripgrep chromium" >&2
  exit 1
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.code-server.lock"
flock 9  # one installer at a time (pytest -n, tasks.sh)

# playwright-core, as pinned by package-lock.json; reinstalled when the lock changes.
lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$HERE/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$HERE" && npm ci --ignore-scripts >/dev/null)
  echo "$lock_sum" >"$HERE/node_modules/.lock-sha256"
fi

[ -f "$STAMP" ] && exit 0
started=$SECONDS
tmp="$CACHE/code-server.partial"
rm -rf "$tmp" "$DEST"
mkdir -p "$tmp"
export JOBS=max  # node-gyp: compile on every core
(
  cd "$tmp"
  echo '{"private": true}' >package.json
  npm install --ignore-scripts --no-save "code-server@$VERSION" >/dev/null
  npm rebuild argon2 >/dev/null &
  argon2=$!
  cd node_modules/code-server/lib/vscode
  (cd extensions && npm install --omit=dev >/dev/null) &
  extensions=$!
  npm install --omit=dev --ignore-scripts >/dev/null
  # Only the native modules VS Code needs here: file events, its log files (the test shows
  # them when it fails) and the extension host's watchdog. Not built: kerberos (proxy
  # authentication), node-pty (terminals), @vscode/deviceid (telemetry).
  npm rebuild @parcel/watcher @vscode/spdlog native-watchdog >/dev/null
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
  (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
  wait "$argon2"
  wait "$extensions"
)
mv "$tmp" "$DEST"
touch "$STAMP"
echo "install.sh: code-server $VERSION installed in $((SECONDS - started)) s" >&2
