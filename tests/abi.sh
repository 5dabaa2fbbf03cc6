#!/bin/sh
# tests/abi.sh - compare the built library with the committed ABI baseline
# (abi/libvdpastate.abi).  Additions are fine; any incompatible change
# fails.  Refresh the baseline on purpose with scripts/abi-refresh.
set -eu
so="$top_builddir/lib/.libs/libvdpastate.so"
base="$top_srcdir/abi/libvdpastate.abi"
[ -f "$base" ] || { echo "FAIL: no baseline $base"; exit 1; }
command -v abidiff >/dev/null || { echo "FAIL: abidiff missing (abigail-tools)"; exit 1; }
set +e
report=$(abidiff --headers-dir2 "$top_srcdir/include/libvdpastate" \
	--headers-dir2 "$top_builddir/include/libvdpastate" \
	"$base" "$so")
rc=$?
set -e
echo "$report"
# abidiff exit bits: 1 error, 2 usage error, 4 ABI change, 8 incompatible.
# abidiff counts a changed parameter list as a mere "change" (4), so any
# change other than an addition is treated as incompatible here.
if [ $((rc & 3)) -ne 0 ]; then echo "FAIL: abidiff could not compare (rc $rc)"; exit 1; fi
if [ $((rc & 8)) -ne 0 ] ||
   echo "$report" | grep -Eq '(^|[^0-9])[1-9][0-9]* (Removed|Changed)'; then
	echo "FAIL: ABI change against abi/libvdpastate.abi other than additions"
	echo "(if this is intended, see README.md 'ABI' for scripts/abi-refresh)"
	exit 1
fi
[ $((rc & 4)) -eq 0 ] || echo "note: additions only (see above)"
echo "ok: ABI compatible with the baseline"
