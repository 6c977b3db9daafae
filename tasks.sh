#!/usr/bin/env bash
# The one task runner README and CI both call:
#   bash tasks.sh demo   set up, instrument the bundled example, run it, show its events
#   bash tasks.sh test   set up everything the tests need, then run every test
#   bash tasks.sh bench  run the benchmarks
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV=.venv
PY="$VENV/bin/python"
# Toolchains this kind of machine ships outside the default PATH (rustup, the Go tarball).
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"

python_env() {  # $1: the extras to install, e.g. "[test]"
  if [ ! -x "$PY" ]; then python3 -m venv "$VENV"; fi
  if ! "$PY" -m pip install -q -e ".${1:-}" >"$VENV/pip.log" 2>&1; then
    cat "$VENV/pip.log" >&2
    echo "tasks.sh: installing the Python package failed (log above)" >&2
    exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

toolchains() {
  apt_install gcc g++ neovim emacs-nox elpa-eglot ruby php-cli redis-server \
    libkrb5-dev pkg-config ripgrep chromium
  npm ci --prefix tests/toolchains --no-audit --no-fund --loglevel=error
  bash tests/editors/vscode/install.sh
  bash editors/vscode/build.sh >/dev/null
}

case "${1:-}" in
  demo)
    python_env
    out=$(mktemp -d)
    "$VENV/bin/telemetry-inject" examples/python --out "$out" --cache-dir "$out/.cache"
    echo "--- program output (instrumented copy in $out/python) ---"
    py_abs="$(pwd)/$PY"
    (cd "$out/python" && TELEMETRY_INJECT_OUT="$out/events.jsonl" "$py_abs" main.py)
    echo "--- telemetry events ($out/events.jsonl) ---"
    cat "$out/events.jsonl"
    ;;
  test)
    python_env "[test]"
    toolchains
    status=0
    "$PY" -m pytest -n 2 -q || status=$?
    "$VENV/bin/ruff" check core server tests bench || status=1
    "$VENV/bin/ruff" format --check core server tests bench || status=1
    exit "$status"
    ;;
  bench)
    python_env "[test,bench]"
    toolchains
    for script in bench/sandbox.py bench/lsp.py bench/overhead.py; do "$PY" "$script"; done
    "$PY" bench/run.py --quick  # the corpus benchmark: whole corpus, one repetition (--repeat 3 for medians)
    ;;
  *)
    echo "usage: bash tasks.sh demo|test|bench" >&2
    exit 2
    ;;
esac
