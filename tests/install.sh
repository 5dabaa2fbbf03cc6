#!/bin/sh
# tests/install.sh BUILDDIR - "make install DESTDIR=..." then build and run a
# consumer with "pkg-config --cflags --libs libvdpastate" against that tree.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d); trap 'rm -rf "$dest"' EXIT
make -C "$build" -s install DESTDIR="$dest" >/dev/null
prefix=$(sed -n 's/^prefix=//p' "$build/libvdpastate.pc")
libdir=$(sed -n 's/^libdir=//p' "$build/libvdpastate.pc" | sed "s,\${exec_prefix},$prefix,")
export PKG_CONFIG_SYSROOT_DIR="$dest"
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs libvdpastate)
echo "pkg-config: $flags"
# Nothing private is installed.
if find "$dest" -name 'internal.h' -o -name '*.la' -path '*core*' | grep .; then
	echo "FAIL: private files installed"; exit 1
fi
${CC:-cc} -Wall -Werror -o "$dest/consumer" "$src/tests/consumer.c" $flags
LD_LIBRARY_PATH="$dest$libdir" "$dest/consumer"
echo "ok: installed tree usable through pkg-config"
