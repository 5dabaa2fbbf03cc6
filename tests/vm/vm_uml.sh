#!/bin/sh
# tests/vm/vm_uml.sh - VM case: Linux's own virtio-net driver over the
# library onto the kernel's vDPA device.  Inside the test VM (busybox
# sh), it creates two vdpa_sim_net devices with Debian's `vdpa` tool
# (bound to vhost-vdpa), starts examples/vhost-user-net on the first
# (--device) with the second as the migration target (--to), and boots
# a User-Mode Linux guest on it (tests/uml/lib.sh, tests/uml/guest-init
# with UMLTEST_DEVICE=vdpa).  The guest's checks become "VMTEST uml/NAME"
# lines; a check missing, a tracked state that differs from the
# device's, an error in the back-end's log, the back-end's exit status,
# or a guest that does not finish in time fail the case.
#
# build-initramfs.sh puts the UML kernel, the back-end, pktloop,
# guest-init and lib.sh under /uml, and ip and vdpa at their own paths.
#
# Usage: vm_uml.sh [FRAMES [MIGRATION_FRAMES]]   (70000, 20000)
PATH=/usr/sbin:/usr/bin:$PATH
export PATH
frames=${1:-70000}
mframes=${2:-20000}
limit=${UML_TIME_LIMIT:-500}
linux=/uml/linux
build=/uml
work=/tmp/vm-uml
. /uml/tests/uml/lib.sh
uml_check_inputs

res() { # check PASS|FAIL detail
	echo "VMTEST uml/$*"
}

devs=
cleanup() {
	uml_cleanup
	for d in $devs; do vdpa dev del "$d" 2> /dev/null; done
}
trap cleanup EXIT

rm -rf "$work"
mkdir -p "$work"
# Two devices provisioned alike, as an operator would for a migration.
paths=
for d in umlsrc umldst; do
	if ! out=$(vdpa dev add name "$d" mgmtdev vdpasim_net mac 52:54:00:0e:00:01 2>&1); then
		res devices FAIL "vdpa dev add name $d: $out"
		exit 1
	fi
	devs="$devs $d"
	p=
	for _ in $(seq 50); do
		p=$(ls "/sys/bus/vdpa/devices/$d" 2> /dev/null | grep '^vhost-vdpa-' | head -n 1)
		[ -n "$p" ] && [ -c "/dev/$p" ] && break
		sleep 0.1
	done
	[ -c "/dev/$p" ] || { res devices FAIL "$d: no /dev/vhost-vdpa-N"; exit 1; }
	paths="$paths /dev/$p"
done
set -- $paths
res devices PASS "$(vdpa dev show umlsrc | head -n 1); $(vdpa dev show umldst | head -n 1): $1, $2"
src=$1 dst=$2

uml_backend "$work/vhost.sock" "$work/backend.log" --state "$work/state" \
	--device "$src" --to "$dst" --once
UML_MEM=128M uml_run "$work" "$work/vhost.sock" /uml/tests/uml/guest-init \
	"$work/results" '^UMLTEST-DONE' "$limit" \
	UMLTEST_DIR="$work" UMLTEST_BIN=/uml/tests/uml UMLTEST_FRAMES="$frames" \
	UMLTEST_MFRAMES="$mframes" UMLTEST_DEVICE=vdpa

touch "$work/results"
echo "--- control commands the guest's driver sent, with the answers"
grep -E 'listening|datapath: started|CVQ #|STATE|MIGRATION|exit:' "$work/backend.log" || echo "(none)"
sed -n 's/^UMLTEST \([^ ]*\) \(PASS\|FAIL\) /VMTEST uml\/\1 \2 /p' "$work/results"
bad=0
for c in iface traffic mac traffic-after no-ctrl-rx migrate-full migrate-early \
	after-migration migrate-cancel dmesg; do
	grep -q "^UMLTEST $c " "$work/results" ||
		{ res "$c" FAIL "the guest did not report it"; bad=1; }
done
[ -n "$why" ] && { res run FAIL "$why"; bad=1; }
grep -q '^UMLTEST-DONE' "$work/results" || { res run FAIL "no UMLTEST-DONE"; bad=1; }
if grep -q 'STATE tracked != device' "$work/backend.log"; then
	res state FAIL "$(grep -m1 'STATE tracked' "$work/backend.log")"
	bad=1
fi
if grep -qE 'protocol error|\] error' "$work/backend.log"; then
	res backend FAIL "$(grep -m1 -E 'protocol error|\] error' "$work/backend.log")"
	bad=1
fi
[ "$brc" -eq 0 ] || { res backend FAIL "the back-end exited $brc"; bad=1; }
grep -q '^UMLTEST .* FAIL' "$work/results" && bad=1
n=$(grep -c 'CVQ #' "$work/backend.log")
if [ $bad = 0 ]; then
	res run PASS "UML guest on $src, then $dst and back, in $secs s: $n control commands, tracked MAC == the device's after each"
else
	echo "--- back-end log (tail)"
	tail -n 30 "$work/backend.log"
	echo "--- console (tail)"
	grep -vE '^ (\[<|[0-9a-f]{8} )' "$work/console.log" | tail -n 100
fi
