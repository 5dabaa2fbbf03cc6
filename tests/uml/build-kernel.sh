#!/usr/bin/env bash
# tests/uml/build-kernel.sh - build the uml stage's User-Mode Linux kernel
# from Debian's linux-source-6.12 package: make ARCH=um defconfig, add
# tests/uml/kernel.config, make olddefconfig, check that every option of
# the fragment holds, make linux.  The tree lives outside the source tree,
# in $VDS_UML_CACHE/<key>/ (default /var/cache/libvdpastate-uml), where
# key hashes the fragment and the linux-source package's version; a linux
# binary already built for the same key is reused (the source tree is
# removed once it is built; its .config stays as config).  Prints the
# linux binary's path as the last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"

VDS_UML_CACHE=${VDS_UML_CACHE:-/var/cache/libvdpastate-uml}
fragment="$here/kernel.config"
pkg=linux-source-6.12

vds_install "$pkg" bc bison flex libelf-dev libssl-dev xz-utils make gcc >&2

vds_kernel_cache "$VDS_UML_CACHE" "$pkg" "$fragment" linux " ARCH=um" && exit 0

mkdir -p "$dir"
src="$dir/src"
vds_kernel_source "$pkg" "$src"

t0=$(date +%s)
cd "$src"
make -s ARCH=um defconfig >&2
cat "$fragment" >> .config
make -s ARCH=um olddefconfig >&2

vds_check_kconfig "$fragment"

make -s -j"$(nproc)" ARCH=um linux >&2
cp .config "$dir/config"
cp linux "$image.tmp"
mv "$image.tmp" "$image"
# The source tree is not needed again: a changed fragment is a new key.
cd "$dir" && rm -rf "$src"
echo "kernel: built $image in $(($(date +%s) - t0)) s" >&2
echo "$image"
