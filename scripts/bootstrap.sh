#!/usr/bin/env bash
# Shared set-up for scripts/serve and scripts/test: Debian packages + a virtualenv in .venv.
# Usage: source scripts/bootstrap.sh; bootstrap <pip extras, e.g. "" or "test"> <debian packages...>
set -euo pipefail

LOCALCVM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LOCALCVM_VENV:-$LOCALCVM_ROOT/.venv}"

_need_apt() {  # prints the packages of "$@" (pkg:probe-command pairs) whose probe fails
  local spec pkg probe
  for spec in "$@"; do
    pkg="${spec%%:*}"; probe="${spec#*:}"
    if ! eval "$probe" >/dev/null 2>&1; then echo "$pkg"; fi
  done
}

bootstrap() {
  local extras="$1"; shift
  local missing
  missing="$(_need_apt "$@")"
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing="$missing python3-venv"; fi
  if [ -n "${missing// /}" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "==> installing Debian packages:" $missing >&2
    # Wait up to 5 min for another apt-get/dpkg to release its lock instead of failing at once.
    local lock="-o DPkg::Lock::Timeout=300"
    $sudo apt-get $lock update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get $lock install -y -qq $missing >&2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV" >&2
    python3 -m venv "$VENV"
  fi
  # Reinstall only when the dependency list changed.
  local stamp="$VENV/.localcvm-installed-${extras:-base}"
  local want
  want="$(sha256sum "$LOCALCVM_ROOT/pyproject.toml" | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing localcvm${extras:+[$extras]} into $VENV (first run takes a few minutes)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    "$VENV/bin/python" -m pip install -q -e "$LOCALCVM_ROOT${extras:+[$extras]}" >&2
    echo "$want" > "$stamp"
  fi
}
