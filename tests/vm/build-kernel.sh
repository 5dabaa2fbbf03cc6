#!/usr/bin/env bash
# tests/vm/build-kernel.sh [VERSION] - build the VM stage's kernel from
# Debian's linux-source-VERSION package (6.1 by default; 6.12 too): make
# tinyconfig, add tests/vm/kernel.config, make olddefconfig, check that
# every option of the fragment holds, make bzImage.  The tree lives
# outside the source tree, in $VDS_VM_CACHE/<key>/ (default
# /var/cache/libvdpastate-vm), where key hashes the fragment and the
# linux-source package's name and version; a bzImage already built for
# the same key is reused (the source tree is removed once it is built;
# its .config stays as config).  Prints the bzImage's path as the last
# line.  Cold, on 2 idle cores: 6.1 about 10 minutes (most of it
# compiling, about 2 of them unpacking), 6.12 about as long.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"

version=${1:-6.1}
case "$version" in
6.1 | 6.12) ;;
*) echo "error: build-kernel.sh: no VM kernel $version (6.1 or 6.12)" >&2; exit 2 ;;
esac
pkg=linux-source-$version
VDS_VM_CACHE=${VDS_VM_CACHE:-/var/cache/libvdpastate-vm}
fragment="$here/kernel.config"

vds_install "$pkg" bc bison flex libelf-dev libssl-dev cpio \
	xz-utils make gcc >&2

# The key of 6.1 is what it was before the version became a parameter.
vds_kernel_cache "$VDS_VM_CACHE" "$pkg" "$fragment" bzImage && exit 0

mkdir -p "$dir"
src="$dir/linux"
vds_kernel_source "$pkg" "$src"

t0=$(date +%s)
cd "$src"
make -s tinyconfig >&2
cat "$fragment" >> .config
make -s olddefconfig >&2

vds_check_kconfig "$fragment"

make -s -j"$(nproc)" bzImage >&2
cp .config "$dir/config"
cp arch/x86/boot/bzImage "$image.tmp"
mv "$image.tmp" "$image"
# The 1.6 GB tree is not needed again: a changed fragment is a new key.
cd "$dir" && rm -rf "$src"
echo "kernel: built $image in $(($(date +%s) - t0)) s" >&2
echo "$image"
