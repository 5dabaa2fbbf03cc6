# tests/uml/lib.sh - sourced by tests/uml/run.sh and bench/uml.sh: start
# examples/vhost-user-net, boot User-Mode Linux on it, wait for the guest,
# stop both.  Only the processes started here are killed (by pid and by
# the process group of their own UML gets).  Expects $linux and $build;
# uses $bpid, $upid (the cleanup trap kills what is left).
bpid= upid=

uml_cleanup() {
	[ -n "$upid" ] && kill -KILL -- "-$upid" 2> /dev/null || true
	[ -n "$bpid" ] && kill -TERM "$bpid" 2> /dev/null || true
	wait 2> /dev/null || true
}

# The back-end, the guest's pktloop and the kernel must be there.
uml_check_inputs() {
	backend=$build/examples/vhost-user-net
	[ -x "$backend" ] || { echo "FAIL: $backend not built"; exit 1; }
	[ -x "$build/tests/uml/pktloop" ] || { echo "FAIL: tests/uml/pktloop not built"; exit 1; }
	[ -x "$linux" ] || { echo "FAIL: no UML kernel at $linux"; exit 1; }
}

# uml_backend SOCK LOG ARG...: start the back-end on SOCK, wait until it
# listens (sets bpid; fails showing LOG if it does not).
uml_backend() {
	local sock=$1 log=$2
	shift 2
	"$backend" --socket "$sock" --log "$log" "$@" &
	bpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		kill -0 "$bpid" 2> /dev/null || break
		sleep 0.1
	done
	[ -S "$sock" ] || { cat "$log"; echo "FAIL: the back-end did not listen"; exit 1; }
}

# uml_run DIR SOCK INIT DONEFILE DONE-RE LIMIT VAR=VALUE...: boot UML
# (console to DIR/console.log, temporary files in DIR) with INIT on SOCK,
# wait until it powers off, the back-end dies (why set unless DONEFILE
# has a line matching DONE-RE) or LIMIT seconds pass (why set), then stop
# both.  Sets why, brc (the back-end's exit status) and secs.
uml_run() {
	local dir=$1 sock=$2 init=$3 done=$4 done_re=$5 limit=$6 t0
	shift 6
	why= brc=0
	t0=$(date +%s)
	TMPDIR=$dir setsid "$linux" mem="${UML_MEM:-256M}" root=/dev/root rootfstype=hostfs \
		rootflags=/ rw init="$init" "virtio_uml.device=$sock:1" \
		con=null con0=null,fd:1 ssl=null "$@" \
		< /dev/null > "$dir/console.log" 2>&1 &
	upid=$!
	while kill -0 "$upid" 2> /dev/null; do
		if ! kill -0 "$bpid" 2> /dev/null; then
			# It exits by itself once UML closed the connection at power off.
			grep -q "$done_re" "$done" 2> /dev/null || why="the back-end died"
			break
		fi
		if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
			why="the guest did not finish within ${limit} s"
			break
		fi
		sleep 1
	done
	kill -KILL -- "-$upid" 2> /dev/null || true
	wait "$upid" 2> /dev/null || true
	upid=
	kill -TERM "$bpid" 2> /dev/null || true
	wait "$bpid" || brc=$?
	bpid=
	secs=$(($(date +%s) - t0))
}

# uml_verdict DIR LABEL LOG-RE CHECK...: after uml_run, show the guest's
# results (DIR/results) and the back-end's lines matching LOG-RE, then
# fail (exit 1, naming each reason after LABEL, with the logs' tails)
# unless the guest finished, every CHECK passed and none failed, the
# back-end agreed with the device after each command, logged no error
# and exited 0.  Reasons already in the array fail count too.
uml_verdict() {
	local dir=$1 label=$2 re=$3 c line
	shift 3
	touch "$dir/results"
	echo "--- ${label}guest results ($secs s)"
	cat "$dir/results"
	echo "--- ${label}control commands the guest's driver sent, with the answers"
	grep -E "$re" "$dir/backend.log" || echo "(none)"
	[ -n "$why" ] && fail+=("$why")
	grep -q '^UMLTEST-DONE' "$dir/results" || fail+=("the guest did not finish (no UMLTEST-DONE)")
	while read -r line; do fail+=("$line"); done < <(grep '^UMLTEST .* FAIL' "$dir/results" || true)
	for c in "$@"; do
		grep -q "^UMLTEST $c PASS" "$dir/results" || fail+=("check $c did not pass")
	done
	grep -q 'STATE tracked != device' "$dir/backend.log" &&
		fail+=("the back-end's tracked state differed from the device's")
	grep -qE 'protocol error|^\[[ 0-9.]*\] error' "$dir/backend.log" &&
		fail+=("the back-end logged an error: $(grep -E 'protocol error|error:' "$dir/backend.log" | head -n 1)")
	[ "$brc" -eq 0 ] || fail+=("the back-end exited $brc")
	[ ${#fail[@]} -eq 0 ] && return 0
	echo "--- ${label}back-end log (tail)"
	tail -n 40 "$dir/backend.log"
	echo "--- ${label}console (tail)"
	tail -n 60 "$dir/console.log"
	printf "FAIL: ${label}%s\n" "${fail[@]}"
	exit 1
}
