#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs
# every unit and integration test of the workspace. Usage: scripts/test.sh [cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if need apt-get; then
    echo "test.sh: installing $* with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >&2
  else
    echo "test.sh: $* missing and no apt-get to install it" >&2
    exit 1
  fi
}

need cargo || { echo "test.sh: cargo is required (install Rust: rustup)" >&2; exit 1; }
# The local cloud runs function handlers with python3 (and node for nodejs runtimes).
need python3 || apt_install python3
need node || apt_install nodejs

# The AWS provider's tests run against AWS emulators on 127.0.0.1: moto (every service) and
# ministack (CloudFront's disable-before-delete, which moto does not enforce). Each lives in
# a venv this script owns (they pin different botocore versions); the tests start and stop
# them by PID and FAIL, not skip, when they cannot.
make_venv() { # DIR: a venv with a working pip (Debian's python3 needs python3-venv for it)
  "$1/bin/python" -m pip --version >/dev/null 2>&1 && return 0
  rm -rf "$1"
  if ! python3 -m venv "$1" >/dev/null 2>&1; then
    apt_install python3-venv
    rm -rf "$1"
    python3 -m venv "$1" >&2
  fi
}
install_emulators() {
  local venv="$HOME/.cache/overcast/venv" mvenv="$HOME/.cache/overcast/venv-ministack"
  if [ ! -x "$venv/bin/moto_server" ]; then
    make_venv "$venv"
    echo "test.sh: installing moto[server] into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check 'moto[server]==5.2.5' >&2
  fi
  if [ ! -x "$mvenv/bin/ministack" ]; then
    make_venv "$mvenv"
    echo "test.sh: installing ministack into $mvenv" >&2
    "$mvenv/bin/python" -m pip install -q --disable-pip-version-check 'ministack==1.5.33' >&2
  fi
  export OVERCAST_MOTO_SERVER="$venv/bin/moto_server" OVERCAST_MINISTACK="$mvenv/bin/ministack"
}
install_emulators

# Reuse a build cache outside the clone when there is one; a fresh machine builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

echo "test.sh: building and testing (target dir $CARGO_TARGET_DIR)" >&2
cargo test --workspace --locked "$@" 2>&1
