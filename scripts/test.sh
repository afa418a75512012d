#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs
# every unit and integration test of the workspace. Usage: scripts/test.sh [cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/emulators.sh

need cargo || { echo "test.sh: cargo is required (install Rust: rustup)" >&2; exit 1; }
# The local cloud runs function handlers with python3 (and node for nodejs runtimes).
need python3 || apt_install python3
need node || apt_install nodejs

# The AWS provider's tests run against AWS emulators on 127.0.0.1 (moto and ministack,
# installed by scripts/emulators.sh); the tests start and stop them by PID and FAIL, not
# skip, when they cannot.
install_emulators

# Reuse a build cache outside the clone when there is one; a fresh machine builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

echo "test.sh: building and testing (target dir $CARGO_TARGET_DIR)" >&2
cargo test --workspace --locked "$@" 2>&1
