#!/usr/bin/env bash
# Makes sure the Debian packages the test suite needs are installed.
# Silent when everything is present; installs what is missing when run as root (CI and the
# dev machines are root); otherwise names the packages and fails, so nobody gets a confusing
# test error about a missing Xvfb or tmux instead.
set -euo pipefail

# Debian package names, space-separated. Add new system dependencies here.
PACKAGES="xvfb tmux mmdebstrap docker-compose"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "sysdeps: not a Debian system; make sure these are installed: $PACKAGES" >&2
    exit 0
fi

# The desktop client and its tests need Tk in the Python that runs them.
PYTHON_FOR_TK="${PYTHON:-python3}"
if ! "$PYTHON_FOR_TK" -c 'import tkinter' >/dev/null 2>&1; then
    PACKAGES="$PACKAGES python3-tk"
fi

missing=()
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "sysdeps: missing system packages: ${missing[*]}" >&2
    echo "sysdeps: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "sysdeps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
