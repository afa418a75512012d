# Sourced by scripts/test.sh and scripts/bench.sh: the AWS emulators at the versions the
# AWS provider was verified with, each in a venv of its own under ~/.cache/overcast (they pin
# different botocore versions). After install_emulators, OVERCAST_MOTO_SERVER and
# OVERCAST_MINISTACK name their executables.
#
# moto serves every service the provider uses; ministack also enforces CloudFront's
# disable-before-delete, which moto does not.

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
install_emulators() {
  local venv="$HOME/.cache/overcast/venv" mvenv="$HOME/.cache/overcast/venv-ministack"
  if [ ! -x "$venv/bin/moto_server" ]; then
    make_venv "$venv"
    echo "${0##*/}: installing moto[server] into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check 'moto[server]==5.2.5' >&2
  fi
  if [ ! -x "$mvenv/bin/ministack" ]; then
    make_venv "$mvenv"
    echo "${0##*/}: installing ministack into $mvenv" >&2
    "$mvenv/bin/python" -m pip install -q --disable-pip-version-check 'ministack==1.5.33' >&2
  fi
  export OVERCAST_MOTO_SERVER="$venv/bin/moto_server" OVERCAST_MINISTACK="$mvenv/bin/ministack"
}
