#!/usr/bin/env bash
# tests/vm/build-initramfs.sh BUILD_DIR OUTPUT - the VM stage's
# initramfs: busybox-static, tests/vm/init as /init, tests/vm/cases and
# every program it names ($VDS_VM_CASES names another cases file), taken
# from BUILD_DIR/tests/vm/ (the normal build tree; a script from
# tests/vm/), with the shared libraries ldd lists for them, the dynamic
# loader included.  Writes a gzip'd newc cpio to OUTPUT.
#
# When the cases name vm_uml.sh, $VDS_VM_UML must be a User-Mode Linux
# kernel (tests/uml/build-kernel.sh): it goes to /uml/linux (stripped),
# with what tests/vm/vm_uml.sh runs: BUILD_DIR's examples/vhost-user-net
# and tests/uml/pktloop, tests/uml/guest-init and lib.sh, and Debian's
# ip and vdpa (iproute2), all under /uml as in the build tree, the
# Debian programs at their own paths.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
build=$(cd "${1:?usage: build-initramfs.sh BUILD_DIR OUTPUT}" && pwd)
out=${2:?usage: build-initramfs.sh BUILD_DIR OUTPUT}
cases=${VDS_VM_CASES:-$here/cases}

vds_install busybox-static cpio gzip binutils iproute2

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

libs=()
# add BIN DEST: copy a program, note the libraries it needs (the build's
# own libvdpastate.so from lib/.libs; a missing one is an error).
add() {
	local bin=$1 dest=$2 d=${1%/*} b=${1##*/}
	# A libtool wrapper script keeps the real binary in .libs/.
	if [ -f "$d/.libs/$b" ] && ! head -c 4 "$bin" | grep -q ELF; then
		bin="$d/.libs/$b"
	fi
	[ -x "$bin" ] || { echo "error: $bin is not built (make in $build)" >&2; exit 1; }
	mkdir -p "$root$(dirname "$dest")"
	cp "$bin" "$root$dest"
	head -c 4 "$bin" | grep -q ELF || return 0
	if LD_LIBRARY_PATH=$build/lib/.libs ldd "$bin" | grep 'not found'; then
		echo "error: $bin: a library is missing" >&2
		exit 1
	fi
	while read -r lib; do libs+=("$lib"); done < <(
		LD_LIBRARY_PATH=$build/lib/.libs ldd "$bin" |
			awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }')
}

# The programs the cases name: the first word of each command.
progs=$(awk '!/^[[:space:]]*(#|$)/ { print $3 }' "$cases" | sort -u)
for p in $progs; do
	if [ ! -e "$build/tests/vm/$p" ] && [ -f "$here/$p" ]; then
		add "$here/$p" "/vmtests/$p"
	else
		add "$build/tests/vm/$p" "/vmtests/$p"
	fi
done
if grep -qw vm_uml.sh <<< "$progs"; then
	uml=${VDS_VM_UML:?the cases run vm_uml.sh: set VDS_VM_UML to a UML kernel}
	[ -x "$uml" ] || { echo "error: VDS_VM_UML=$uml is not a program" >&2; exit 1; }
	add "$uml" /uml/linux
	strip "$root/uml/linux"
	add "$build/examples/vhost-user-net" /uml/examples/vhost-user-net
	add "$build/tests/uml/pktloop" /uml/tests/uml/pktloop
	add "$here/../uml/guest-init" /uml/tests/uml/guest-init
	cp "$here/../uml/lib.sh" "$root/uml/tests/uml/lib.sh"
	for p in ip vdpa; do
		add "$(command -v "$p")" "$(command -v "$p")"
	done
	progs="$progs uml:linux,vhost-user-net,pktloop,ip,vdpa"
fi
dirs=()
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
	dest=$lib
	# The build's own libraries (libvdpastate.so) go to /vmtests/lib:
	# the build tree's path may lie under /tmp, which the VM's /init
	# mounts a tmpfs over.
	case $lib in "$build"/*) dest=/vmtests/lib/${lib##*/} ;; esac
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$lib" "$root$dest"
	dirs+=("$(dirname "$dest")")
done
printf '%s\n' "${dirs[@]}" | sort -u | paste -sd: > "$root/vmtests/ld-path"

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out, $(du -k "$out" | cut -f1) KiB: $(echo $progs); libraries: $(printf '%s ' $(printf '%s\n' "${libs[@]}" | sort -u))" >&2
