#!/bin/sh
# Install everything the tests need into .venv and run the whole suite (lint included).
# Works on a fresh Debian/Ubuntu machine that has only python3 (as root, or with sudo).
set -eu
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "scripts/test.sh: installing python3-venv (python3 cannot create virtual environments)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1; then
    # The fleet tests start real OpenSSH servers on loopback, and the route tests ask the
    # client (`ssh -G`). A policy-rc.d that says 101 keeps the package from starting (or
    # enabling) a system-wide sshd service.
    echo "scripts/test.sh: installing openssh-server for the SSH tests" >&2
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d'
        as_root chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    as_root apt-get update -qq
    status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client \
        >/dev/null || status=$?
    [ -z "$made_policy" ] || as_root rm -f /usr/sbin/policy-rc.d
    [ "$status" = 0 ] || exit "$status"
fi
if ! command -v ip >/dev/null 2>&1 && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ]; then
    # The jump-host tests build network namespaces (a bastion, hosts only it can reach)
    echo "scripts/test.sh: installing iproute2 for the jump-host tests" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
if ! command -v sudo >/dev/null 2>&1 || ! command -v visudo >/dev/null 2>&1; then
    # The become tests run the real sudo as test users (and cachekit's `local` through it).
    echo "scripts/test.sh: installing sudo for the become tests" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1; then
    # The HTML pages (report --html, trend --html) are opened in headless Chromium
    # (tests/fixtures/browser.py drives it over the DevTools pipe).
    echo "scripts/test.sh: installing chromium for the HTML page tests" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m mypy
# The documentation site, built where it cannot land in the checkout: --strict fails on a
# broken link or anchor, and on a page that is not in mkdocs.yml's nav.
site=$(mktemp -d)
.venv/bin/mkdocs build --strict --site-dir "$site"
rm -rf "$site"
exec .venv/bin/python -m pytest "$@"
