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

# Reuse a build cache outside the clone when there is one; a fresh machine builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

echo "test.sh: building and testing (target dir $CARGO_TARGET_DIR)" >&2
cargo test --workspace --locked "$@" 2>&1
