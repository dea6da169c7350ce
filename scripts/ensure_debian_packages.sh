#!/bin/sh
# Install the named Debian packages that are missing; quiet and quick when all are present.
# Usage: scripts/ensure_debian_packages.sh chromium chromium-driver [more...]
# Used by `make install` / `make test` (chromium for the browser test) and by targets that need
# services such as postgresql or redis-server.
set -eu

if [ "$#" -eq 0 ]; then
    echo "usage: $0 PACKAGE..." >&2
    exit 2
fi

missing=""
for package in "$@"; do
    # "install ok installed" only: a package removed but not purged still has a status line.
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing Debian packages:$missing (no apt-get here: install them by hand)" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "missing Debian packages:$missing (not root and no sudo: run apt-get install$missing as root)" >&2
    exit 1
fi

echo "installing Debian packages:$missing"
# One update per call: the package lists may be absent or stale on a fresh machine.
$as_root apt-get update -qq
# env: sudo drops DEBIAN_FRONTEND, and a debconf question would hang a run with no terminal.
# shellcheck disable=SC2086  # $missing is a list of words on purpose
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
