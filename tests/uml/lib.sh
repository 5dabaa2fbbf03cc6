# tests/uml/lib.sh - sourced by tests/uml/run.sh, bench/uml.sh and
# (busybox sh inside the VM stage, so POSIX sh only) tests/vm/vm_uml.sh: start
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
