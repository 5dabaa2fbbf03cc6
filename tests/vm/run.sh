#!/usr/bin/env bash
# tests/vm/run.sh BZIMAGE INITRAMFS [LOG [VERSION]] - boot the test kernel
# under qemu-system-x86_64 (software emulation, no KVM), capture the
# serial console in LOG, print the per-case result lines, and fail on any
# FAIL line, a kernel panic or warning, a missing VMTEST-DONE or a
# timeout ($VDS_VM_TIMEOUT seconds, 1500 by default).  VERSION (6.1,
# 6.12) names the kernel in what it prints: "vm 6.12: N passed, 0
# failed", result lines as "VMTEST[6.12] case/check PASS ...".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
usage="usage: run.sh BZIMAGE INITRAMFS [LOG [VERSION]]"
kernel=${1:?$usage}
initrd=${2:?$usage}
log=${3:-$(mktemp)}
version=${4:-}
tag=vm${version:+ $version}
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
grep -E '^VMTEST(-CASE|-TIME)? ' "$log.txt" |
	sed -E "s/^(VMTEST[-A-Z]*)/\\1${version:+[$version]}/" || true
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
if [ -n "$version" ] && ! grep -qE "VMTEST-BEGIN kernel ${version//./\\.}\\." "$log.txt"; then
	bad+=("the VM did not run linux $version: $(grep -m1 -o 'VMTEST-BEGIN.*' "$log.txt" || echo 'no VMTEST-BEGIN line')")
fi

echo "$tag: qemu ran $secs s; serial log: $log.txt"
if [ ${#bad[@]} -gt 0 ]; then
	printf '%s: FAILED: %s\n' "$tag" "${bad[@]}"
	echo "$tag: last lines of the serial log:"
	tail -n 30 "$log.txt" | sed 's/^/  | /'
	echo "$tag: $passed passed, $((failed > 0 ? failed : 1)) failed"
	exit 1
fi
echo "$tag: $passed passed, 0 failed"
