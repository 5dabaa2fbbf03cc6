# tests/uml/verdict.sh - sourced by tests/uml/run.sh (bash: arrays) after
# tests/uml/lib.sh.
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
	grep -q 'announces its power-off' "$dir/backend.log" ||
		fail+=("the back-end never heard the guest's power-off (request bye)")
	[ ${#fail[@]} -eq 0 ] && return 0
	echo "--- ${label}back-end log (tail)"
	tail -n 40 "$dir/backend.log"
	echo "--- ${label}console (tail)"
	tail -n 60 "$dir/console.log"
	printf "FAIL: ${label}%s\n" "${fail[@]}"
	exit 1
}
