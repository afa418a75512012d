#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs
# every unit and integration test of the workspace, with the test-only hooks compiled in
# (the `test-hooks` feature). Usage: scripts/test.sh [cargo test args]
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
# The GCP provider's contract tests run against tests/gcp_server (no emulator exists for
# Compute Engine or Cloud SQL); tests/gcp_contract.rs starts it by PID and also runs its
# Python unit tests.
install_gcp_contract_server
# The Azure provider's contract tests run against tests/azure_server (no emulator exists for
# the ARM management plane); tests/azure_contract.rs starts it by PID and also runs its
# Python unit tests. Standard library only: this checks the python that runs it.
install_azure_contract_server
install_azure_sdks
# The GCP provider's tests run against drongo and Google's Pub/Sub emulator on 127.0.0.1
# (tests/gcp_emulators.rs starts and stops them by PID, and fails without them).
install_gcp_emulators
# The Azure provider's storage content runs against Azurite on 127.0.0.1 (tests/azure_content.rs
# starts and stops it by PID, and fails without it).
install_azurite

# The local cloud's `engine: postgres` databases are real PostgreSQL clusters (target
# setting `postgres: true`). PostgreSQL refuses to run as root: as root the local cloud
# runs it as an unprivileged user (`postgres`, or OVERCAST_LOCAL_POSTGRES_USER), created
# here when missing. Its tests FAIL, not skip, when PostgreSQL cannot be set up.
install_postgres() {
  if ! need initdb && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    apt_install postgresql
  fi
  need psql || apt_install postgresql-client
  if [ "$(id -u)" = 0 ]; then
    local user="${OVERCAST_LOCAL_POSTGRES_USER:-postgres}"
    if ! id -u "$user" >/dev/null 2>&1; then
      echo "test.sh: creating the system user $user to run PostgreSQL" >&2
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$user"
    fi
  fi
  export OVERCAST_TEST_REQUIRE_POSTGRES=1
}
install_postgres

# Reuse a build cache outside the clone when there is one; a fresh machine builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never

# Formatting is part of the suite: an unformatted tree fails before anything builds.
if ! cargo fmt --version >/dev/null 2>&1; then
  echo "test.sh: rustfmt is not installed (rustup component add rustfmt); skipping the format check" >&2
elif ! cargo fmt --all -- --check >/dev/null 2>&1; then
  echo "test.sh: the tree is not formatted: run \`cargo fmt --all\` (diff below)" >&2
  cargo fmt --all -- --check >&2 || true
  exit 1
fi

echo "test.sh: building and testing (target dir $CARGO_TARGET_DIR)" >&2
cargo test --workspace --locked --features overcast/test-hooks "$@" 2>&1
