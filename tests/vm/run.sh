#!/usr/bin/env bash
# tests/vm/run.sh BZIMAGE INITRAMFS [LOG] - boot the test kernel under
# qemu-system-x86_64 (software emulation, no KVM), capture the serial
# console in LOG, print the per-case result lines, and fail on any FAIL
# line, a kernel panic, a missing VMTEST-DONE or a timeout
# ($VDS_VM_TIMEOUT seconds, 1500 by default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
kernel=${1:?usage: run.sh BZIMAGE INITRAMFS [LOG]}
initrd=${2:?usage: run.sh BZIMAGE INITRAMFS [LOG]}
log=${3:-$(mktemp)}
limit=${VDS_VM_TIMEOUT:-1500}

vds_install qemu-system-x86

t0=$(date +%s)
set +e
timeout -k 10 "$limit" qemu-system-x86_64 -nographic -no-reboot \
	-accel tcg -m 512M -smp 2 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet" < /dev/null > "$log" 2>&1
rc=$?
set -e
secs=$(($(date +%s) - t0))
tr -d '\r' < "$log" > "$log.txt"

bad=()
grep -E '^VMTEST(-CASE|-TIME)? ' "$log.txt" || true
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && bad+=("timeout: qemu killed after $limit s")
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && bad+=("qemu exited with status $rc")
grep -q 'Kernel panic' "$log.txt" && bad+=("kernel panic: $(grep -m1 'Kernel panic' "$log.txt")")
grep -qE '(BUG:|WARNING:|Oops)' "$log.txt" && bad+=("kernel trouble: $(grep -m1 -E '(BUG:|WARNING:|Oops)' "$log.txt")")
passed=$(grep -cE '^VMTEST [^ ]+ PASS' "$log.txt" || true)
failed=$(grep -cE '^VMTEST [^ ]+ FAIL' "$log.txt" || true)
if done_line=$(grep -m1 '^VMTEST-DONE ' "$log.txt"); then
	read -r _ dp df <<< "$done_line"
	[ "$df" -eq 0 ] || bad+=("the VM counted $df failed checks")
	[ "$dp" -eq "$passed" ] || bad+=("VMTEST-DONE says $dp passed, the log shows $passed")
	[ "$dp" -gt 0 ] || bad+=("no check passed")
else
	bad+=("no VMTEST-DONE line: the VM did not finish its cases")
fi
[ "$failed" -eq 0 ] || bad+=("$failed FAIL lines")

echo "vm: qemu ran $secs s; serial log: $log.txt"
if [ ${#bad[@]} -gt 0 ]; then
	printf 'vm: FAILED: %s\n' "${bad[@]}"
	echo "vm: last lines of the serial log:"
	tail -n 30 "$log.txt" | sed 's/^/  | /'
	echo "vm: $passed passed, $((failed > 0 ? failed : 1)) failed"
	exit 1
fi
echo "vm: $passed passed, 0 failed"
