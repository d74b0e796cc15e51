#!/bin/sh
# Install cachekit from this checkout into its own virtual environment and put the
# `cachekit` command in ~/.local/bin. Needs only python3 (python3-venv is installed
# with apt when it is missing, as root or with sudo).
#
# Also links the environment's `invoke` next to it when no `invoke` is on PATH, so the
# README's `invoke TASK` commands work in this checkout; warns when the bin directory is
# not on PATH. Builds from a temporary copy, so no build/ or *.egg-info is left here.
# CACHEKIT_HOME (default ~/.local/share/cachekit) and CACHEKIT_BIN (default ~/.local/bin)
# choose where.
set -eu
cd "$(dirname "$0")/.."
checkout=$(pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
say() { echo "scripts/install.sh: $*" >&2; }

prefix="${CACHEKIT_HOME:-$HOME/.local/share/cachekit}"
bindir="${CACHEKIT_BIN:-$HOME/.local/bin}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3-venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
[ -x "$prefix/venv/bin/python" ] || python3 -m venv "$prefix/venv"
pip() { "$prefix/venv/bin/python" -m pip -q --disable-pip-version-check "$@"; }
pip install -U pip

# setuptools writes build/ and cachekit.egg-info next to pyproject.toml: build a copy.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -R pyproject.toml README.md cachekit "$src/"
pip install "$src"

mkdir -p "$bindir"
ln -sf "$prefix/venv/bin/cachekit" "$bindir/cachekit"
say "cachekit installed: $bindir/cachekit"

# `invoke TASK` in this checkout: ours when none is on PATH; never replace another one.
ours="$prefix/venv/bin/invoke"
found=$(command -v invoke 2>/dev/null || true)
if [ -z "$found" ] && { [ ! -e "$bindir/invoke" ] || [ "$(readlink "$bindir/invoke")" = "$ours" ]; }
then
    ln -sf "$ours" "$bindir/invoke"
    say "invoke linked: $bindir/invoke (for 'invoke TASK' in $checkout)"
elif [ "$(readlink "$bindir/invoke" 2>/dev/null || true)" = "$ours" ]; then
    ln -sf "$ours" "$bindir/invoke"
elif ! (cd "$checkout" && invoke --list >/dev/null 2>&1); then
    say "note: ${found:-$bindir/invoke} cannot run this checkout's tasks; use $ours instead"
fi

case ":$PATH:" in
    *":$bindir:"*) ;;
    *) say "warning: $bindir is not on PATH; add it, e.g. in ~/.profile:" \
           "export PATH=\"$bindir:\$PATH\"" ;;
esac
