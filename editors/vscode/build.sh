#!/usr/bin/env bash
# Builds the extension offline into dist/telemetry-inject-<version>.vsix and prints its path:
# npm ci (as package-lock.json pins; skipped while node_modules matches it), type check,
# format check, one bundled file (esbuild), then `vsce package`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export npm_config_fund=false npm_config_audit=false npm_config_loglevel=error npm_config_update_notifier=false

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  # No install scripts: none is needed (esbuild finds its binary package without one), and
  # vsce's optional keytar would try to download a prebuilt binary.
  npm ci --ignore-scripts >&2
  echo "$lock_sum" >node_modules/.lock-sha256
fi
bin=node_modules/.bin
"$bin/tsc" --noEmit -p .
"$bin/prettier" --config .prettierrc.json --check --log-level warn src package.json tsconfig.json ../../tests/editors/vscode/scenario.js
rm -rf dist
"$bin/esbuild" src/extension.ts --bundle --platform=node --format=cjs --target=node18 \
  --external:vscode --minify --outfile=dist/extension.js --log-level=warning
version="$(node -p 'require("./package.json").version')"
vsix="dist/telemetry-inject-$version.vsix"
"$bin/vsce" package --no-dependencies --allow-missing-repository --skip-license --out "$vsix" >&2
echo "$(pwd)/$vsix"
