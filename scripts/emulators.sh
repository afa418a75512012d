#!/usr/bin/env bash
# The emulators and test servers at the versions the providers were verified with, each in
# a venv of its own under ~/.cache/overcast (they pin different library versions). AWS:
# moto serves every service the provider uses; ministack also enforces CloudFront's
# disable-before-delete, which moto does not. GCP: drongo (Cloud Storage, Cloud Functions
# v2), Google's Pub/Sub emulator, and the contract-test server of tests/gcp_server
# (Compute Engine, Cloud SQL Admin, Cloud Scheduler).
#
# Run, to try a provider offline:
#   bash scripts/emulators.sh start aws   # moto on 127.0.0.1; prints, as its last lines, a
#                                         # `targets:` block for a target named `aws` and
#                                         # the environment variables to export
#   bash scripts/emulators.sh start gcp   # the three GCP servers; likewise, a target `gcp`
#   bash scripts/emulators.sh status      # what runs
#   bash scripts/emulators.sh stop        # stop what `start` started, by the PIDs it
#                                         # recorded (only those); `stop gcp`: only GCP's
# PIDs, ports and logs are kept in ~/.cache/overcast/emulators (OVERCAST_EMULATORS_DIR).
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

# Azurite, Azure Storage's emulator (npm), for the Azure provider's storage content: pinned,
# in a prefix of its own. 3.35.0 is the last release that runs on Node 20 (3.36 needs 21).
# After it, OVERCAST_AZURITE names its executable.
AZURITE_VERSION=3.35.0
install_azurite() {
  local prefix="$HOME/.cache/overcast/azurite"
  if [ ! -x "$prefix/node_modules/.bin/azurite" ] ||
    ! grep -q "\"version\": \"$AZURITE_VERSION\"" "$prefix/node_modules/azurite/package.json" 2>/dev/null; then
    need npm || apt_install npm
    # npm trusts only its own CA list: a machine whose registry traffic passes a proxy with
    # its own CA (in the system bundle) needs it named.
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
      export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    echo "${0##*/}: installing azurite $AZURITE_VERSION into $prefix" >&2
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2
  fi
  export OVERCAST_AZURITE="$prefix/node_modules/.bin/azurite"
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

# The Azure contract-test server (tests/azure_server, the ARM management plane) needs only
# the Python standard library (3.9 or later): its schemas are fixtures in the tree, trimmed
# from Azure's published OpenAPI documents. No venv; after it, OVERCAST_AZURE_CONTRACT_PYTHON
# names the python that runs it (`python -m azure_server` from tests/).
install_azure_contract_server() {
  local py="${OVERCAST_AZURE_CONTRACT_PYTHON:-}"
  if [ -z "$py" ]; then
    need python3 || apt_install python3
    py="$(command -v python3)"
  fi
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
    echo "${0##*/}: the Azure contract server needs Python 3.9 or later ($py is older); set OVERCAST_AZURE_CONTRACT_PYTHON" >&2
    exit 1
  fi
  export OVERCAST_AZURE_CONTRACT_PYTHON="$py"
}

# Microsoft's own Python SDKs, for tests/azure_server/sdk_check.py: a venv of its own with
# exact versions, made only when missing; exports OVERCAST_AZURE_SDK_PYTHON.
AZURE_SDK_PACKAGES="azure-core==1.41.0 azure-mgmt-core==1.6.0 azure-mgmt-resource==26.0.0 azure-mgmt-storage==25.3.0 azure-mgmt-servicebus==10.0.0"
install_azure_sdks() {
  local venv="$HOME/.cache/overcast/venv-azure-sdk" stamp
  stamp="$venv/.overcast-packages"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$AZURE_SDK_PACKAGES" ]; then
    need python3 || apt_install python3
    python3 -m venv "$venv" || { echo "${0##*/}: cannot make the venv $venv" >&2; exit 1; }
    # shellcheck disable=SC2086 # the list is words on purpose
    "$venv/bin/pip" install -q $AZURE_SDK_PACKAGES || { echo "${0##*/}: pip install of the Azure SDKs failed" >&2; exit 1; }
    echo "$AZURE_SDK_PACKAGES" >"$stamp"
  fi
  export OVERCAST_AZURE_SDK_PYTHON="$venv/bin/python"
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

# What the command line of each server contains: a recorded PID whose process does not
# match is another program's (the PID was reused) and is never signalled.
pattern_of() {
  case "$1" in
    aws) echo moto_server ;;
    drongo) echo drongo ;;
    pubsub) echo pubsub-emulator ;;
    gcp-contract) echo gcp_server ;;
    azure-contract) echo azure_server ;;
    azurite) echo azurite ;;
  esac
}

# The recorded PID of server $1 if that process still runs and is that server.
running_pid() {
  local pid
  pid="$(cat "$(emulators_dir)/$1.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  command_of "$pid" | grep -q -- "$(pattern_of "$1")" || return 1
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

# Stop server $1 by the PID `start` recorded, with its process group (the Pub/Sub
# emulator is a script that runs Java); print the PID. A missing or reused PID: return 1.
stop_server() {
  local dir pid
  dir="$(emulators_dir)"
  if ! pid="$(running_pid "$1")"; then
    rm -f "$dir/$1.pid" "$dir/$1.port"
    return 1
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
  fi
  rm -f "$dir/$1.pid" "$dir/$1.port"
  echo "$pid"
}

stop_aws() {
  local pid
  if pid="$(stop_server aws)"; then
    echo "${0##*/}: stopped moto (pid $pid)" >&2
  else
    echo "${0##*/}: moto is not running" >&2
  fi
}

status_aws() {
  local pid
  if pid="$(running_pid aws)"; then
    echo "aws: moto (pid $pid) on http://127.0.0.1:$(cat "$(emulators_dir)/aws.port" 2>/dev/null)"
  else
    echo "aws: not running"
  fi
}

# --- GCP: drongo, the Pub/Sub emulator, the contract-test server --------------------------

# A port free now (for the servers that cannot bind port 0 themselves; a lost race shows
# as an early exit and is retried on another port).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether http://127.0.0.1:$1$2 answers 200.
answers_at() {
  # `any:PATH`: any HTTP answer will do (Azurite answers an unsigned request with an error).
  python3 -c 'import sys, urllib.request, urllib.error
path = sys.argv[2]
try:
    urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], path.removeprefix("any:")), timeout=2)
except urllib.error.HTTPError:
    sys.exit(0 if path.startswith("any:") else 1)' "$1" "$2" >/dev/null 2>&1
}

# launch NAME PORT HEALTH_PATH COMMAND...: start COMMAND in a session of its own (so stop
# reaches its children), record its PID and port, and wait until it answers. PORT 0: the
# server announces its port as `Running on http://127.0.0.1:PORT`.
launch() {
  local name="$1" port="$2" health="$3" dir log pid
  shift 3
  dir="$(emulators_dir)"
  log="$dir/$name.log"
  rm -f "$dir/$name.pid" "$dir/$name.port"
  setsid nohup "$@" >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/$name.pid"
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/$name.pid"
      return 1
    fi
    if [ "$port" = 0 ]; then
      port="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)"
      [ -n "$port" ] || port=0
    fi
    if [ "$port" != 0 ] && answers_at "$port" "$health"; then
      echo "$port" >"$dir/$name.port"
      echo "${0##*/}: $name (pid $pid) answers on http://127.0.0.1:$port" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "${0##*/}: $name (pid $pid) did not answer within 60 s; its log ($log):" >&2
  tail -n 20 "$log" >&2
  stop_server "$name" >/dev/null || true
  return 2
}

# start_one NAME HEALTH_PATH OWN_PORT COMMAND...: launch NAME unless it runs. `{PORT}` in
# the command becomes the port: a free one, or 0 when OWN_PORT is `yes` (the server binds
# port 0 and announces the port). A server that exits before answering (its port taken in
# between) is retried on another port.
start_one() {
  local name="$1" health="$2" own_port="$3" port attempt arg rc
  shift 3
  if running_pid "$name" >/dev/null; then
    echo "${0##*/}: $name already runs on http://127.0.0.1:$(cat "$(emulators_dir)/$name.port")" >&2
    return 0
  fi
  for attempt in 1 2 3 4 5; do
    if [ "$own_port" = yes ]; then port=0; else port="$(free_port)"; fi
    local cmd=()
    for arg in "$@"; do cmd+=("${arg//\{PORT\}/$port}"); done
    rc=0
    launch "$name" "$port" "$health" "${cmd[@]}" || rc=$?
    case "$rc" in
      0) return 0 ;;
      2) return 1 ;;
    esac
    echo "${0##*/}: $name exited before it answered (attempt $attempt); its log:" >&2
    tail -n 5 "$(emulators_dir)/$name.log" >&2
  done
  return 1
}

# What a user pastes: the target block, then the environment (for Google's own tools).
print_gcp_target() { # STORAGE_PORT PUBSUB_PORT CONTRACT_PORT
  cat <<TARGET
targets:
  gcp:
    provider: gcp
    project: overcast-local
    region: us-central1
    zone: us-central1-a
    storage_endpoint: http://127.0.0.1:$1
    functions_endpoint: http://127.0.0.1:$3
    pubsub_endpoint: http://127.0.0.1:$2
    compute_endpoint: http://127.0.0.1:$3
    sql_endpoint: http://127.0.0.1:$3
    scheduler_endpoint: http://127.0.0.1:$3

export GOOGLE_CLOUD_PROJECT=overcast-local
export STORAGE_EMULATOR_HOST=http://127.0.0.1:$1
export PUBSUB_EMULATOR_HOST=127.0.0.1:$2
TARGET
}

start_gcp() {
  local dir tests
  dir="$(emulators_dir)"
  mkdir -p "$dir"
  need python3 || apt_install python3
  install_gcp_emulators
  install_gcp_contract_server
  if [ -z "${OVERCAST_PUBSUB_EMULATOR:-}" ]; then
    echo "${0##*/}: cannot start the GCP servers without the Pub/Sub emulator (see above)" >&2
    return 1
  fi
  tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests"
  start_one drongo "/storage/v1/b?project=overcast-local" no \
    "$OVERCAST_DRONGO" server --host 127.0.0.1 --port '{PORT}' || { stop_gcp; return 1; }
  start_one pubsub / no \
    "$OVERCAST_PUBSUB_EMULATOR" --host=127.0.0.1 '--port={PORT}' || { stop_gcp; return 1; }
  # The contract server runs from tests/ (its package) and writes no __pycache__ there.
  (cd "$tests" && PYTHONDONTWRITEBYTECODE=1 start_one gcp-contract /__contract/health yes \
    "$OVERCAST_GCP_CONTRACT_PYTHON" -m gcp_server --host 127.0.0.1 --port '{PORT}' --polls 2) \
    || { stop_gcp; return 1; }
  echo "${0##*/}: the GCP servers run; stop them with: bash scripts/emulators.sh stop gcp" >&2
  print_gcp_target "$(cat "$dir/drongo.port")" "$(cat "$dir/pubsub.port")" \
    "$(cat "$dir/gcp-contract.port")"
}

stop_gcp() {
  local name pid
  for name in gcp-contract pubsub drongo; do
    if pid="$(stop_server "$name")"; then
      echo "${0##*/}: stopped $name (pid $pid)" >&2
    fi
  done
}

status_gcp() {
  local name pid
  for name in drongo pubsub gcp-contract; do
    if pid="$(running_pid "$name")"; then
      echo "gcp: $name (pid $pid) on http://127.0.0.1:$(cat "$(emulators_dir)/$name.port" 2>/dev/null)"
    else
      echo "gcp: $name not running"
    fi
  done
}

# --- Azure: the ARM contract-test server (management plane) -------------------------------

# A subscription id for the test servers (ARM ids take a GUID).
AZURE_TEST_SUBSCRIPTION=00000000-0000-4000-8000-000000000001

print_azure_target() { # CONTRACT_PORT AZURITE_PORT
  cat <<TARGET
targets:
  azure:
    provider: azure
    subscription_id: $AZURE_TEST_SUBSCRIPTION
    location: westeurope
    arm_endpoint: http://127.0.0.1:$1
    blob_endpoint: http://127.0.0.1:$2/devstoreaccount1

export AZURE_SUBSCRIPTION_ID=$AZURE_TEST_SUBSCRIPTION
TARGET
}

start_azure() {
  local dir tests
  dir="$(emulators_dir)"
  mkdir -p "$dir"
  install_azure_contract_server
  install_azurite
  tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests"
  # Azurite holds every storage account's blobs (its one account, devstoreaccount1), in
  # memory; its queue and table services take ports of their own.
  (mkdir -p "$dir/azurite" && cd "$dir/azurite" && start_one azurite any:/ no \
    "$OVERCAST_AZURITE" --silent --disableTelemetry --inMemoryPersistence --skipApiVersionCheck \
    --blobHost 127.0.0.1 --blobPort '{PORT}' --queueHost 127.0.0.1 --queuePort 0 \
    --tableHost 127.0.0.1 --tablePort 0) || { stop_azure; return 1; }
  local blob="http://127.0.0.1:$(cat "$dir/azurite.port")/devstoreaccount1"
  # The contract server runs from tests/ (its package) and writes no __pycache__ there;
  # its storage accounts' blob endpoint is Azurite's, its listKeys Azurite's key.
  (cd "$tests" && PYTHONDONTWRITEBYTECODE=1 start_one azure-contract /__contract/health yes \
    "$OVERCAST_AZURE_CONTRACT_PYTHON" -m azure_server --host 127.0.0.1 --port '{PORT}' --polls 2 \
    --blob-endpoint "$blob") || { stop_azure; return 1; }
  echo "${0##*/}: the Azure servers run; stop them with: bash scripts/emulators.sh stop azure" >&2
  print_azure_target "$(cat "$dir/azure-contract.port")" "$(cat "$dir/azurite.port")"
}

stop_azure() {
  local name pid
  for name in azure-contract azurite; do
    if pid="$(stop_server "$name")"; then
      echo "${0##*/}: stopped $name (pid $pid)" >&2
    fi
  done
}

status_azure() {
  local name pid
  for name in azurite azure-contract; do
    if pid="$(running_pid "$name")"; then
      echo "azure: $name (pid $pid) on http://127.0.0.1:$(cat "$(emulators_dir)/$name.port" 2>/dev/null)"
    else
      echo "azure: $name not running"
    fi
  done
}

emulators_main() {
  local usage="usage: bash scripts/emulators.sh start aws|azure|gcp | stop [aws|azure|gcp] | status"
  case "${1:-} ${2:-}" in
    "start aws") start_aws ;;
    "start azure") start_azure ;;
    "start gcp") start_gcp ;;
    "stop aws") stop_aws ;;
    "stop azure") stop_azure ;;
    "stop gcp") stop_gcp ;;
    "stop ") stop_aws; stop_azure; stop_gcp ;;
    "status "*) status_aws; status_azure; status_gcp ;;
    *) echo "$usage" >&2; return 2 ;;
  esac
}

# Run only when executed, never when sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  emulators_main "$@"
fi
