#!/usr/bin/env bash
# Installs the C libraries cashet links against, the PostgreSQL server the tests and the
# shared-store demo start throwaway clusters of, git (the identity tests build a user's
# package with a Git dependency) (Debian/Ubuntu), only when missing. With --for-tests, also curl
# and chromium: the `cashet serve` tests ask a real server with both.
set -euo pipefail

packages=(liblmdb-dev libzstd-dev libxxhash-dev pkg-config postgresql git)
[ "${1:-}" = "--for-tests" ] && packages+=(curl chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "cashet needs: ${missing[*]} (lmdb, zstd, xxhash development files, pkg-config, the PostgreSQL server, git, and for the tests curl and chromium); install them with your package manager" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
