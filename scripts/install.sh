#!/bin/sh
# Install cachekit from this checkout into its own virtual environment and put the
# `cachekit` command in ~/.local/bin. Needs only python3 (python3-venv is installed
# with apt when it is missing, as root or with sudo).
set -eu
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

prefix="${CACHEKIT_HOME:-$HOME/.local/share/cachekit}"
bindir="${CACHEKIT_BIN:-$HOME/.local/bin}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "scripts/install.sh: installing python3-venv" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
[ -x "$prefix/venv/bin/python" ] || python3 -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$prefix/venv/bin/python" -m pip install -q --disable-pip-version-check .
mkdir -p "$bindir"
ln -sf "$prefix/venv/bin/cachekit" "$bindir/cachekit"
echo "cachekit installed: $bindir/cachekit" >&2
