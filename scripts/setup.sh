#!/usr/bin/env bash
# Set up everything labelnet needs on a fresh machine; safe to run again at any time.
#   - Python: a .venv with labelnet installed editable, with the dev, bench and hf extras,
#     and .venv-labelstudio with Label Studio's SDK alone (interop tests);
#   - JavaScript: `npm install` from the committed package-lock.json (Foundry binaries,
#     Hardhat 2 for `--chain hardhat`, solc-js, OpenZeppelin, Helia and a Node 22 binary for
#     the IPFS cross-checks);
#   - Debian packages, where a feature needs them (installed only when missing).
# Each step is skipped when its inputs have not changed since it last succeeded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
fingerprint() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# gcc: the native loops of the consensus engine (setup.py), built by `pip install -e`.
APT_PACKAGES=(postgresql chromium gcc)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
apt_install() {
  log "apt-get install $*"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11+ is required (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
# The native loops compile against this Python's headers: Debian's own Python keeps them in
# python3-dev (a Python built from source, pyenv's say, has them already).
if ! "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  apt_install python3-dev
fi
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
py_stamp=".venv/.labelnet-installed"
py_print="$(fingerprint pyproject.toml setup.py node/consensus/_kernels.c node/consensus/_kernels_*.h)"
if [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_print" ]; then
  log "pip install -e '.[dev,bench,hf]' (log: .venv/pip-install.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e '.[dev,bench,hf]'; } > .venv/pip-install.log 2>&1; then
    tail -n 30 .venv/pip-install.log >&2
    echo "setup: pip install failed (full log: .venv/pip-install.log)" >&2
    exit 1
  fi
  echo "$py_print" > "$py_stamp"
fi
if ! .venv/bin/python -c 'import sys; from node.consensus.numerics import native_kernels; sys.exit(native_kernels() is None)'; then
  log "warning: the consensus engine's native loops are not in use (build log: .venv/pip-install.log); it runs its numpy code: the same results, slower"
fi

# Label Studio's converter, for the interop tests only, in a venv of its own (see the
# labelstudio extra in pyproject.toml for why it cannot share .venv).
ls_stamp=".venv-labelstudio/.labelnet-installed"
ls_spec="$(.venv/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["labelstudio"]))')"
if [ "$(cat "$ls_stamp" 2>/dev/null)" != "$ls_spec" ]; then
  log "pip install $ls_spec into .venv-labelstudio (log: .venv-labelstudio/pip-install.log)"
  [ -x .venv-labelstudio/bin/python ] || "$PYTHON" -m venv .venv-labelstudio
  # shellcheck disable=SC2086  # the spec is a list of requirements
  if ! .venv-labelstudio/bin/python -m pip install $ls_spec > .venv-labelstudio/pip-install.log 2>&1; then
    tail -n 30 .venv-labelstudio/pip-install.log >&2
    echo "setup: pip install failed (full log: .venv-labelstudio/pip-install.log)" >&2
    exit 1
  fi
  echo "$ls_spec" > "$ls_stamp"
fi

command -v npm >/dev/null || { echo "setup: npm is required (Node.js 20+)" >&2; exit 1; }
js_stamp="node_modules/.labelnet-installed"
js_print="$(fingerprint package.json package-lock.json)"
if [ "$(cat "$js_stamp" 2>/dev/null)" != "$js_print" ]; then
  # Not `npm ci`: the registry this project builds from lacks some of the per-platform
  # Foundry packages (darwin/arm64 builds), so the lock cannot list them and `npm ci`
  # rejects it as out of sync. `npm install` honours the lock for everything it lists and
  # tolerates the missing optional packages; no install scripts are needed or run. It also
  # writes into the lock the optional packages of other platforms it finds, which would
  # leave the checkout modified and the stamp stale: the committed lock is put back.
  log "npm install (from package-lock.json)"
  cp package-lock.json package-lock.json.committed
  if ! npm install --no-audit --no-fund --ignore-scripts --loglevel=error; then
    mv package-lock.json.committed package-lock.json
    echo "setup: npm install failed" >&2
    exit 1
  fi
  mv package-lock.json.committed package-lock.json
  echo "$js_print" > "$js_stamp"
fi
for tool in anvil forge cast hardhat; do
  [ -x "node_modules/.bin/$tool" ] || { echo "setup: node_modules/.bin/$tool missing after npm install" >&2; exit 1; }
done
log "ready ($(node_modules/.bin/forge --version | head -1), $(.venv/bin/python --version))"
