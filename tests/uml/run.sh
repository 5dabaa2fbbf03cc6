#!/usr/bin/env bash
# tests/uml/run.sh LINUX [BUILDDIR] - the uml stage: start the vhost-user
# back-end (examples/vhost-user-net, simulated device), boot User-Mode
# Linux (LINUX, from tests/uml/build-kernel.sh) on it as an ordinary
# process with the host's root file system (hostfs) and
# tests/uml/guest-init as init, and check what the guest reports; then a
# second, short boot with HASH_REPORT and no RSS (UMLTEST_DEVICE=sim-hash,
# back-end --hash-report), where the driver sends MQ_HASH_CONFIG.  Before
# the boots, Python front-ends: a misbehaving one (bad-frontend.py), dirty
# logging (dirty-log.py), queues stopped and restarted mid-ring
# (restart.py).
#
# Fails, naming the reason, when: a check of the guest fails or is missing,
# the guest does not reach UMLTEST-DONE within UML_TIME_LIMIT seconds (a
# hang guard: the Linux driver spins forever on an unanswered control
# command), the back-end dies, logs a protocol error, or finds the
# handle's tracked state different from the device's after a command.
# Kills only the processes it started (by pid / process group).
set -euo pipefail
linux=${1:?usage: run.sh LINUX [BUILDDIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${2:-$src/build}" && pwd)
limit=${UML_TIME_LIMIT:-600}
frames=${UML_FRAMES:-70000}
. "$src/tests/uml/lib.sh"
. "$src/tests/uml/verdict.sh"
uml_check_inputs

work=$(mktemp -d /tmp/vds-uml.XXXXXX)
trap uml_cleanup EXIT
echo "uml: run directory $work"

# A misbehaving front-end first: every bad connection closed with a
# reason in the log, the back-end still up afterwards.
"$backend" --socket "$work/bad.sock" --log "$work/bad.log" &
bpid=$!
for _ in $(seq 100); do [ -S "$work/bad.sock" ] && break; sleep 0.1; done
brc=0
python3 "$src/tests/uml/bad-frontend.py" "$work/bad.sock" > "$work/bad.out" 2>&1 || brc=$?
ncases=$(sed -n 's/^bad-frontend: \([0-9]*\) cases.*/\1/p' "$work/bad.out")
nclosed=$(grep -c 'closing the connection' "$work/bad.log" || true)
if [ "$brc" -ne 0 ] || ! kill -0 "$bpid" 2> /dev/null || [ -z "$ncases" ] ||
	[ "$nclosed" -ne "$ncases" ]; then
	cat "$work/bad.out" "$work/bad.log"
	echo "FAIL: misbehaving front-end: script exit $brc, $nclosed of ${ncases:-?} connections closed with a reason, back-end $(kill -0 "$bpid" 2> /dev/null && echo up || echo dead)"
	exit 1
fi
kill -TERM "$bpid"
wait "$bpid" || true
echo "uml: bad-frontend: $ncases malformed or out-of-order openings, each closed with a reason, back-end up"

# Dirty logging (UML does not use it): a Python front-end and driver.
"$backend" --socket "$work/log.sock" --log "$work/dirty.log" --pairs 1 --once &
bpid=$!
for _ in $(seq 100); do [ -S "$work/log.sock" ] && break; sleep 0.1; done
brc=0
python3 "$src/tests/uml/dirty-log.py" "$work/log.sock" > "$work/dirty.out" 2>&1 || brc=$?
wait "$bpid" || brc=$((brc + 100))
bpid=
if [ "$brc" -ne 0 ] || grep -qE 'error|STATE' "$work/dirty.log"; then
	cat "$work/dirty.out" "$work/dirty.log"
	echo "FAIL: dirty logging (exit $brc)"
	exit 1
fi
echo "uml: $(cat "$work/dirty.out")"

# Queues stopped (GET_VRING_BASE) and restarted mid-ring: a Python
# front-end and driver; then an absurd base and a first start at a
# non-zero base, each refused with a reason.
"$backend" --socket "$work/rs.sock" --log "$work/restart.log" --pairs 1 \
	--state "$work/rs.state" &
bpid=$!
for _ in $(seq 100); do [ -S "$work/rs.sock" ] && break; sleep 0.1; done
brc=0
python3 "$src/tests/uml/restart.py" "$work/rs.sock" "$work/rs.state" \
	> "$work/restart.out" 2>&1 || brc=$?
kill -0 "$bpid" 2> /dev/null || brc=$((brc + 200))
kill -TERM "$bpid" 2> /dev/null || true
wait "$bpid" || brc=$((brc + 100))
bpid=
nperr=$(grep -c 'protocol error' "$work/restart.log" || true)
if [ "$brc" -ne 0 ] || [ "$nperr" -ne 2 ] ||
	! grep -q 'protocol error: vring 0: SET_VRING_BASE 1000 does not fit' "$work/restart.log" ||
	! grep -q 'protocol error: vring 0: SET_VRING_BASE 100 with no stop' "$work/restart.log" ||
	grep -qE '\] error|STATE' "$work/restart.log"; then
	cat "$work/restart.out" "$work/restart.log"
	echo "FAIL: restart mid-ring (exit $brc; $nperr protocol errors logged, 2 expected: the absurd base, no stop)"
	exit 1
fi
echo "uml: $(cat "$work/restart.out")"

uml_backend "$work/vhost.sock" "$work/backend.log" --state "$work/state" \
	--pairs 4 --once

# UML in a process group of its own (its helpers too), console to a file.
uml_run "$work" "$work/vhost.sock" "$src/tests/uml/guest-init" \
	"$work/results" '^UMLTEST-DONE' "$limit" \
	UMLTEST_DIR="$work" UMLTEST_BIN="$build/tests/uml" UMLTEST_FRAMES="$frames"

fail=()
uml_verdict "$work" "" 'CVQ #|STATE|MIGRATION|INJECT' iface traffic mac \
	promisc-on promisc-off allmulti-on allmulti-off vlan-add vlan-del \
	mcast-add mcast-del mq-2 mq-1 offloads-off offloads-on coal-tx coal-rx \
	rss-equal rss-weight rss-readback ring-resize traffic-after vlan-refused \
	migrate-full migrate-early after-migration migrate-cancel dmesg
results=$work/results
n=$(grep -c 'CVQ #' "$work/backend.log" || true)
echo "uml: $(grep -c '^UMLTEST .* PASS' "$results") checks passed in $secs s; $n control commands, tracked state == device state after each"
echo "uml: $(grep '^UMLTEST traffic PASS' "$results" | sed 's/^UMLTEST traffic PASS //')"

# A second, short boot: HASH_REPORT without RSS (--hash-report), so the
# driver sends HASH_CONFIG; every command it sent must be answered.
hw=$work/hash
mkdir "$hw"
uml_backend "$hw/vhost.sock" "$hw/backend.log" --state "$hw/state" \
	--pairs 2 --once --hash-report
uml_run "$hw" "$hw/vhost.sock" "$src/tests/uml/guest-init" \
	"$hw/results" '^UMLTEST-DONE' "$limit" \
	UMLTEST_DIR="$hw" UMLTEST_BIN="$build/tests/uml" UMLTEST_FRAMES=2000 \
	UMLTEST_DEVICE=sim-hash
# Every command the driver sent answered OK, HASH_CONFIG among them.
fail=()
grep -q 'CVQ #[0-9]* MQ_HASH_CONFIG' "$hw/backend.log" || fail+=("no MQ_HASH_CONFIG decoded and answered (the driver sends one at probe)")
grep -E 'CVQ #' "$hw/backend.log" | grep -vq -- '-> VIRTIO_NET_OK$' &&
	fail+=("a control command was not answered VIRTIO_NET_OK")
uml_verdict "$hw" "hash mode: " 'CVQ #|STATE' iface traffic mac hash-probe \
	hash-udp4-sd hash-udp4-sdfn hash-tcp6-sd rxhash-off rxhash-on \
	traffic-after dmesg
echo "uml: hash mode: $(grep -c '^UMLTEST .* PASS' "$hw/results") checks passed in $secs s; $(grep -c 'CVQ #[0-9]* MQ_HASH_CONFIG' "$hw/backend.log") HASH_CONFIG commands answered OK, tracked == device"
rm -rf "$work"
