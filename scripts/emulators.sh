#!/usr/bin/env bash
# The AWS emulators at the versions the AWS provider was verified with, each in a venv of
# its own under ~/.cache/overcast (they pin different botocore versions). moto serves every
# service the provider uses; ministack also enforces CloudFront's disable-before-delete,
# which moto does not.
#
# Run, to try the AWS provider offline:
#   bash scripts/emulators.sh start aws   # moto on 127.0.0.1; prints, as its last lines, a
#                                         # `targets:` block for a target named `aws` and
#                                         # the environment variables to export
#   bash scripts/emulators.sh status      # what runs
#   bash scripts/emulators.sh stop        # stop it (by the PID `start` recorded, only that)
# Its PID, port and log are kept in ~/.cache/overcast/emulators (OVERCAST_EMULATORS_DIR).
#
# Sourced by scripts/test.sh and scripts/bench.sh (`. scripts/emulators.sh`): defines the
# functions below and runs nothing. After install_emulators, OVERCAST_MOTO_SERVER and
# OVERCAST_MINISTACK name their executables.

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if need apt-get; then
    echo "${0##*/}: installing $* with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >&2
  else
    echo "${0##*/}: $* missing and no apt-get to install it" >&2
    exit 1
  fi
}
make_venv() { # DIR: a venv with a working pip (Debian's python3 needs python3-venv for it)
  "$1/bin/python" -m pip --version >/dev/null 2>&1 && return 0
  rm -rf "$1"
  if ! python3 -m venv "$1" >/dev/null 2>&1; then
    apt_install python3-venv
    rm -rf "$1"
    python3 -m venv "$1" >&2
  fi
}
install_moto() {
  local venv="$HOME/.cache/overcast/venv"
  if [ ! -x "$venv/bin/moto_server" ]; then
    make_venv "$venv"
    echo "${0##*/}: installing moto[server] into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check 'moto[server]==5.2.5' >&2
  fi
  export OVERCAST_MOTO_SERVER="$venv/bin/moto_server"
}
install_ministack() {
  local mvenv="$HOME/.cache/overcast/venv-ministack"
  if [ ! -x "$mvenv/bin/ministack" ]; then
    make_venv "$mvenv"
    echo "${0##*/}: installing ministack into $mvenv" >&2
    "$mvenv/bin/python" -m pip install -q --disable-pip-version-check 'ministack==1.5.33' >&2
  fi
  export OVERCAST_MINISTACK="$mvenv/bin/ministack"
}
# The GCP provider's emulators: drongo (Cloud Storage's JSON API; `drongo server --host
# 127.0.0.1 --port P`) in a venv of its own. Pub/Sub's is Google's own emulator from the
# Google Cloud SDK (Java): its path is checked here, and the tests fail clearly without it.
install_gcp_emulators() {
  local gvenv="$HOME/.cache/overcast/venv-gcp"
  if [ ! -x "$gvenv/bin/drongo" ]; then
    make_venv "$gvenv"
    echo "${0##*/}: installing drongo into $gvenv" >&2
    "$gvenv/bin/python" -m pip install -q --disable-pip-version-check 'drongo==0.8.0' >&2
  fi
  export OVERCAST_DRONGO="$gvenv/bin/drongo"
  local emu="/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
  if [ -z "${OVERCAST_PUBSUB_EMULATOR:-}" ] && [ -x "$emu" ]; then
    export OVERCAST_PUBSUB_EMULATOR="$emu"
  fi
  if [ -z "${OVERCAST_PUBSUB_EMULATOR:-}" ]; then
    echo "${0##*/}: the Pub/Sub emulator is missing: install it (gcloud components install pubsub-emulator, or the google-cloud-cli-pubsub-emulator package) and Java 17, or set OVERCAST_PUBSUB_EMULATOR; the gcp tests will fail without it" >&2
  fi
}
install_emulators() {
  install_moto
  install_ministack
}

# The GCP contract-test server (tests/gcp_server) runs on the python of a venv of its own
# with google-api-python-client pinned: its bodies are checked against the discovery
# documents that version ships (compute.v1.json, sqladmin.v1.json), so the pin fixes the
# API contract the tests hold the provider to. After it, OVERCAST_GCP_CONTRACT_PYTHON names
# that python (run it as `python -m gcp_server` from tests/).
install_gcp_contract_server() {
  local gvenv="$HOME/.cache/overcast/venv-gcp-contract"
  if ! "$gvenv/bin/python" -c 'import googleapiclient' >/dev/null 2>&1; then
    make_venv "$gvenv"
    echo "${0##*/}: installing google-api-python-client into $gvenv" >&2
    "$gvenv/bin/python" -m pip install -q --disable-pip-version-check 'google-api-python-client==2.202.0' >&2
  fi
  export OVERCAST_GCP_CONTRACT_PYTHON="$gvenv/bin/python"
}

# --- start / stop / status, when run rather than sourced ---------------------------------

emulators_dir() { echo "${OVERCAST_EMULATORS_DIR:-$HOME/.cache/overcast/emulators}"; }

# The command line of process $1 (empty when there is none).
command_of() {
  if [ -r "/proc/$1/cmdline" ]; then
    tr '\0' ' ' <"/proc/$1/cmdline"
  else
    ps -o args= -p "$1" 2>/dev/null || true
  fi
}

# The recorded PID of emulator $1 if that process still runs and is the emulator (a PID
# reused by another program is never taken for it).
running_pid() {
  local pid
  pid="$(cat "$(emulators_dir)/$1.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  command_of "$pid" | grep -q moto_server || return 1
  echo "$pid"
}

# Whether moto answers on 127.0.0.1:$1 (with the python of its venv: no curl needed).
answers() {
  local py
  py="$(dirname "$OVERCAST_MOTO_SERVER")/python"
  [ -x "$py" ] || py=python3
  "$py" -c 'import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/moto-api/" % sys.argv[1], timeout=2)' "$1" >/dev/null 2>&1
}

# What a user pastes: the target block, then the environment.
print_aws_target() { # PORT
  cat <<EOF
targets:
  aws:
    provider: aws
    region: us-east-1
    endpoint_url: http://127.0.0.1:$1

export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
}

start_aws() {
  local dir pid port log amis
  dir="$(emulators_dir)"
  mkdir -p "$dir"
  if pid="$(running_pid aws)"; then
    port="$(cat "$dir/aws.port")"
    echo "${0##*/}: moto already runs (pid $pid) on http://127.0.0.1:$port" >&2
    print_aws_target "$port"
    return 0
  fi
  if [ -z "${OVERCAST_MOTO_SERVER:-}" ] || [ ! -x "$OVERCAST_MOTO_SERVER" ]; then
    need python3 || apt_install python3
    install_moto
  fi
  log="$dir/aws.log"
  rm -f "$dir/aws.pid" "$dir/aws.port"
  # One image per catalog name, so every `image:` of the catalog resolves as on AWS.
  amis="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures/aws/amis.json"
  # Port 0: moto binds a free port itself and prints it, so no other program can take it
  # in between. nohup: it outlives this script and the terminal.
  MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ENABLE_AMI_VALIDATION=true \
    MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true MOTO_AMIS_PATH="$amis" \
    nohup "$OVERCAST_MOTO_SERVER" -H 127.0.0.1 -p 0 >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/aws.pid"
  port=""
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "${0##*/}: moto exited before it answered; its log ($log):" >&2
      tail -n 20 "$log" >&2
      rm -f "$dir/aws.pid"
      return 1
    fi
    if [ -z "$port" ]; then
      port="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)"
    fi
    if [ -n "$port" ] && answers "$port"; then
      echo "$port" >"$dir/aws.port"
      echo "${0##*/}: moto (pid $pid) answers on http://127.0.0.1:$port; stop it with: bash scripts/emulators.sh stop" >&2
      print_aws_target "$port"
      return 0
    fi
    sleep 0.1
  done
  echo "${0##*/}: moto (pid $pid) did not answer within 60 s; its log ($log):" >&2
  tail -n 20 "$log" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/aws.pid"
  return 1
}

stop_aws() {
  local dir pid
  dir="$(emulators_dir)"
  if ! pid="$(running_pid aws)"; then
    echo "${0##*/}: moto is not running" >&2
    rm -f "$dir/aws.pid" "$dir/aws.port"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
  fi
  rm -f "$dir/aws.pid" "$dir/aws.port"
  echo "${0##*/}: stopped moto (pid $pid)" >&2
}

status_aws() {
  local pid
  if pid="$(running_pid aws)"; then
    echo "aws: moto (pid $pid) on http://127.0.0.1:$(cat "$(emulators_dir)/aws.port" 2>/dev/null)"
  else
    echo "aws: not running"
  fi
}

emulators_main() {
  local usage="usage: bash scripts/emulators.sh start aws | stop [aws] | status"
  case "${1:-} ${2:-aws}" in
    "start aws") start_aws ;;
    "stop aws") stop_aws ;;
    "status aws") status_aws ;;
    *) echo "$usage" >&2; return 2 ;;
  esac
}

# Run only when executed, never when sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  emulators_main "$@"
fi
