#!/usr/bin/env bash
# Installs everything the tests need (idempotent: apt and pip only what is missing) and runs
# them all: lint, types, layering contracts, then pytest against real sshd and PostgreSQL.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  openssh-server openssh-client postgresql postgresql-contrib
  slurmctld slurmd slurm-client munge
  xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-nanum fonts-dejavu-core
  poppler-utils sudo
)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

echo "== ruff";   .venv/bin/ruff check labgpu tests bench tools
echo "== mypy";   .venv/bin/mypy
echo "== layers"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/python -m pytest "$@"
