#!/usr/bin/env bash
# bench/uml.sh LINUX [BUILDDIR] - frames per second from the Linux
# virtio_net driver (a User-Mode Linux guest, LINUX from
# tests/uml/build-kernel.sh) through examples/vhost-user-net, twice in one
# run: the data queues relayed by shadow virtqueues (the default), then
# the same simulated device reading the guest's rings directly
# (--direct).  Each boot runs tests/uml/pktloop once with
# UML_BENCH_FRAMES frames (default 50000, windows of 32, every frame
# checked byte for byte) and bench/uml-init as init; the table shows both
# rates and the ratio svq/direct.
#
# Fails only if a run fails (a wrong, lost or missing frame, a guest that
# does not finish within UML_TIME_LIMIT s, a back-end error), never on
# the numbers.  Kills only the processes it started.
set -euo pipefail
linux=${1:?usage: bench/uml.sh LINUX [BUILDDIR]}
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${2:-$src/build}" && pwd)
frames=${UML_BENCH_FRAMES:-50000}
limit=${UML_TIME_LIMIT:-600}
. "$src/tests/uml/lib.sh"
uml_check_inputs

work=$(mktemp -d /tmp/vds-umlbench.XXXXXX)
trap uml_cleanup EXIT

# run MODE [BACKEND-OPTION]: one boot; sets fps_MODE and secs_MODE.
run() {
	local mode=$1 dir=$work/$1
	shift
	mkdir -p "$dir"
	uml_backend "$dir/vhost.sock" "$dir/backend.log" --pairs 1 --once "$@"
	uml_run "$dir" "$dir/vhost.sock" "$src/bench/uml-init" "$dir/result" \
		'^UMLBENCH' "$limit" UMLBENCH_DIR="$dir" \
		UMLBENCH_BIN="$build/tests/uml" UMLBENCH_FRAMES="$frames"
	local res
	res=$(cat "$dir/result" 2> /dev/null || true)
	[ -n "$why" ] || case $res in
		"UMLBENCH PASS "*) ;;
		"") why="no result from the guest" ;;
		*) why="the guest: $res" ;;
	esac
	[ -n "$why" ] || [ "$brc" -eq 0 ] || why="the back-end exited $brc"
	[ -n "$why" ] || ! grep -qE 'protocol error|^\[[ 0-9.]*\] error' "$dir/backend.log" ||
		why="the back-end logged an error: $(grep -E 'protocol error|error:' "$dir/backend.log" | head -n 1)"
	if [ -n "$why" ]; then
		tail -n 20 "$dir/backend.log"
		tail -n 30 "$dir/console.log"
		echo "FAIL: $mode: $why"
		exit 1
	fi
	# "pktloop: N frames sent, N back byte-exact in order in S s"
	local n s
	n=$(echo "$res" | sed -n 's/.*pktloop: \([0-9]*\) frames sent, \([0-9]*\) back.*/\2/p')
	s=$(echo "$res" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
	[ "$n" = "$frames" ] && [ -n "$s" ] ||
		{ echo "FAIL: $mode: unexpected result: $res"; exit 1; }
	eval "fps_$mode=\$(awk -v n=$n -v s=$s 'BEGIN { printf \"%.0f\", n / s }')"
	eval "secs_$mode=$s"
	grep -q "queues $(
		[ "$mode" = direct ] && echo "on the guest's rings" || echo shadowed)" \
		"$dir/backend.log" || { echo "FAIL: $mode: the back-end did not run that datapath"; exit 1; }
}

run svq
run direct --direct
echo "uml: $frames frames Linux virtio_net -> device -> back (AF_PACKET, windows of 32, each checked), one boot per row"
printf '%-8s %10s %12s\n' datapath seconds frames/s
printf '%-8s %10s %12s\n' svq "$secs_svq" "$fps_svq"
printf '%-8s %10s %12s\n' direct "$secs_direct" "$fps_direct"
echo "ratio svq/direct: $(awk -v a="$fps_svq" -v b="$fps_direct" 'BEGIN { printf "%.2f", a / b }')"
rm -rf "$work"
