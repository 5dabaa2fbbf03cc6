#!/bin/sh
# tests/symbols.sh - the shared library exports exactly the map's globals,
# and the newest map node is the release's major.minor.
set -eu
map="$top_srcdir/lib/libvdpastate.map"
so="$top_builddir/lib/.libs/libvdpastate.so"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }
sed -e 's,/\*.*\*/,,' "$map" | grep -E '^[[:space:]]*vdpastate_[A-Za-z0-9_]*;' |
	tr -d ' \t;' | sort > "$tmp/map"
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	sort > "$tmp/so"
if ! diff -u "$tmp/map" "$tmp/so"; then
	echo "FAIL: exported symbols (+) differ from lib/libvdpastate.map (-)"
	exit 1
fi
n=$(wc -l < "$tmp/so")
[ "$n" -gt 0 ] || { echo "FAIL: no symbol exported"; exit 1; }

top=$(grep -oE '^VDPASTATE_[0-9]+\.[0-9]+' "$map" | tail -n 1)
want="VDPASTATE_$(echo "$PACKAGE_VERSION" | cut -d. -f1-2)"
if [ "$top" != "$want" ]; then
	echo "FAIL: newest map node is $top, release $PACKAGE_VERSION wants $want"
	exit 1
fi
# Every exported symbol carries a version node.
if nm -D --defined-only "$so" | awk '$2 != "A"' | grep -v '@VDPASTATE_' ; then
	echo "FAIL: unversioned exported symbols above"
	exit 1
fi
echo "ok: $n exported symbols match the map; newest node $top"
