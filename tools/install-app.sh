#!/usr/bin/env bash
# Installs labgpu into a virtual environment (default ~/.local/share/labgpu-venv) and opens it
# on its embedded default database (SQLite in the platformdirs data directory).
# Idempotent: it installs only what is missing. Usage: bash tools/install-app.sh [labgpu args]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LABGPU_VENV:-$HOME/.local/share/labgpu-venv}"

# Qt's X11 platform plugin needs these on a minimal Debian/Ubuntu (desktops already have them).
if command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libegl1 libgl1 \
             libfontconfig1 libdbus-1-3 fonts-nanum fonts-dejavu-core; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    need+=(xvfb xauth)
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null
  fi
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check .

# `labgpu` on PATH: a link in ~/.local/bin (on PATH by default on Debian/Ubuntu and Fedora).
bin="${LABGPU_BIN_DIR:-$HOME/.local/bin}"
mkdir -p "$bin"
ln -sf "$venv/bin/labgpu" "$bin/labgpu"
case ":$PATH:" in
  *":$bin:"*) echo "labgpu is installed: run \`labgpu\` (a link in $bin)" >&2 ;;
  *) echo "labgpu is installed as $bin/labgpu; $bin is not on your PATH yet:" \
          "add it (e.g. export PATH=\"$bin:\$PATH\" in ~/.profile) or log in again" >&2 ;;
esac
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "no display here: starting labgpu on a virtual X screen (xvfb-run)" >&2
  exec xvfb-run -a "$venv/bin/labgpu" "$@"
fi
exec "$venv/bin/labgpu" "$@"
