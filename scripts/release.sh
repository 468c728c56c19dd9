#!/usr/bin/env bash
# Builds the `cashet` command for Linux machines without a Swift toolchain: the Swift runtime
# and Foundation linked in (--static-swift-stdlib), and LMDB and zstd too (their static
# archives, through pkg-config files that point at them). xxHash stays a shared library:
# Debian's libxxhash.a lacks the run-time CPU dispatch (XXH3_64bits_dispatch) that only its
# libxxhash.so carries. So the binary needs glibc, libstdc++ and libxxhash0. Writes
# dist/cashet-<version>-linux-<arch>.tar.gz; on the target machine (Debian or Ubuntu):
#   sudo apt-get install -y libxxhash0 && sudo tar -xzf cashet-*-linux-*.tar.gz -C /usr/local/bin
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
static=$(mktemp -d)
trap 'rm -rf "$static"' EXIT
for entry in lmdb:lmdb libzstd:zstd; do
    package=${entry%%:*} library=${entry##*:}
    archive=$(cc -print-file-name="lib$library.a")   # where the linker would find it
    [ -f "$archive" ] || { echo "error: lib$library.a is missing (the -dev package ships it)" >&2; exit 1; }
    ln -s "$archive" "$static/lib$library.a"
    # Only the archive in this directory: the linker cannot pick the shared library instead.
    printf 'Name: %s\nDescription: static %s\nVersion: %s\nCflags: %s\nLibs: -L%s -l%s\n' \
        "$package" "$library" "$(pkg-config --modversion "$package")" "$(pkg-config --cflags "$package")" "$static" "$library" > "$static/$package.pc"
done
# xxHash without its -L: a search directory given for one library is searched for every library.
printf 'Name: libxxhash\nDescription: xxHash, shared\nVersion: %s\nCflags: %s\nLibs: -lxxhash\n' \
    "$(pkg-config --modversion libxxhash)" "$(pkg-config --cflags libxxhash)" > "$static/libxxhash.pc"
PKG_CONFIG_PATH="$static" swift build -c release --product cashet --static-swift-stdlib
binary=.build/release/cashet
if ldd "$binary" | grep -E "libswift|libFoundation|libdispatch|liblmdb|libzstd"; then
    echo "error: $binary still links the libraries above dynamically" >&2
    exit 1
fi
version=$("$binary" --version)
mkdir -p dist
staging=$(mktemp -d)
strip -o "$staging/cashet" "$binary"
archive="dist/cashet-$version-linux-$(uname -m).tar.gz"
tar -czf "$archive" -C "$staging" cashet
rm -rf "$staging"
echo "$archive ($(du -h "$archive" | cut -f1)); needs: $(ldd "$binary" | awk '/=>/ {print $1}' | tr '\n' ' ')" >&2
