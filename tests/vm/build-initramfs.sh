#!/usr/bin/env bash
# tests/vm/build-initramfs.sh BUILD_DIR OUTPUT - the VM stage's
# initramfs: busybox-static, tests/vm/init as /init, tests/vm/cases and
# every program it names ($VDS_VM_CASES names another cases file), taken from BUILD_DIR/tests/vm/ (the normal
# build tree), with the shared libraries ldd lists for them, the dynamic
# loader included.  Writes a gzip'd newc cpio to OUTPUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
build=$(cd "${1:?usage: build-initramfs.sh BUILD_DIR OUTPUT}" && pwd)
out=${2:?usage: build-initramfs.sh BUILD_DIR OUTPUT}
cases=${VDS_VM_CASES:-$here/cases}

vds_install busybox-static cpio gzip

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,vmtests}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# The kernel opens /dev/console before /init runs (devtmpfs comes later).
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
install -m 755 "$here/init" "$root/init"
cp "$cases" "$root/vmtests/cases"

# The programs the cases name: the first word of each command.
progs=$(awk '!/^[[:space:]]*(#|$)/ { print $3 }' "$cases" | sort -u)
libs=()
for p in $progs; do
	bin="$build/tests/vm/$p"
	# A libtool wrapper script keeps the real binary in .libs/.
	if [ -f "$build/tests/vm/.libs/$p" ] && ! head -c 4 "$bin" | grep -q ELF; then
		bin="$build/tests/vm/.libs/$p"
	fi
	[ -x "$bin" ] || { echo "error: $bin is not built (make in $build)" >&2; exit 1; }
	cp "$bin" "$root/vmtests/$p"
	while read -r lib; do libs+=("$lib"); done < <(
		ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }')
done
dirs=()
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
	dirs+=("$(dirname "$lib")")
done
printf '%s\n' "${dirs[@]}" | sort -u | paste -sd: > "$root/vmtests/ld-path"

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out, $(du -k "$out" | cut -f1) KiB: $(echo $progs); libraries: $(printf '%s ' $(printf '%s\n' "${libs[@]}" | sort -u))" >&2
