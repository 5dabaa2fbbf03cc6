#!/bin/sh
# tests/manpages.sh - every exported symbol has a man page, every page in
# man/ is listed for installation, and mandoc -Tlint has nothing to say.
set -eu
map="$top_srcdir/lib/libvdpastate.map"
mandir="$top_srcdir/man"
fail=0 n=0
tree=$(mktemp -d); trap 'rm -rf "$tree"' EXIT
ln -s "$(cd "$mandir" && pwd)" "$tree/man3"
ln -s "$(cd "$mandir" && pwd)" "$tree/man7"
for s in $(sed -e 's,/\*.*\*/,,' "$map" | grep -oE '^[[:space:]]*vdpastate_[A-Za-z0-9_]*;' | tr -d ' \t;'); do
	n=$((n + 1))
	[ -f "$mandir/$s.3" ] || { echo "FAIL: $s has no man page (man/$s.3)"; fail=1; }
done
[ -f "$mandir/libvdpastate.7" ] || { echo "FAIL: no libvdpastate(7)"; fail=1; }
for p in "$mandir"/*.[37]; do
	b=$(basename "$p")
	grep -q "man/$b" "$top_srcdir/Makefile.am" ||
		{ echo "FAIL: man/$b is not installed by Makefile.am"; fail=1; }
	# .so stubs (aliases, as STYLE.md asks) point at a page that exists
	# and, resolved as man(1) would from a man3/ tree, lint without an
	# error.  mandoc always calls .so itself "fragile" (a warning), so
	# stubs are linted at error level and full pages at style level.
	if head -n 1 "$p" | grep -q '^\.so '; then
		target=$(head -n 1 "$p" | cut -d' ' -f2)
		[ -f "$mandir/$(basename "$target")" ] ||
			{ echo "FAIL: $b points at missing $target"; fail=1; continue; }
		[ "$(wc -l < "$p")" -eq 1 ] ||
			{ echo "FAIL: $b: a .so stub must be one line"; fail=1; }
		out=$(cd "$tree" && mandoc -Tlint -W error "man3/$b" 2>&1 || true)
		if [ -n "$out" ]; then
			echo "FAIL: mandoc -Tlint -W error $b:"; echo "$out"; fail=1
		fi
		continue
	fi
	out=$(mandoc -Tlint -W style "$p" 2>&1 || true)
	if [ -n "$out" ]; then
		echo "FAIL: mandoc -Tlint $b:"; echo "$out"; fail=1
	fi
done
# Backend feature bits: the pages give the header's numbers (a transport
# written from a page with other numbers silently loses features), and
# libvdpastate-transport(7) lists every one.
hdr="$top_srcdir/include/libvdpastate/transport.h"
# Rendered text: overstrikes (bold) removed, lines joined, spaces squeezed.
plain() { mandoc -Tascii "$1" | sed 's/.\x08//g' | tr '\n' ' ' | tr -s ' '; }
text7=$(plain "$mandir/libvdpastate-transport.7")
nbits=0
while read -r name val; do
	nbits=$((nbits + 1))
	case "$text7" in
	*"$name ($val)"*) ;;
	*) echo "FAIL: libvdpastate-transport.7 does not give $name ($val)"; fail=1 ;;
	esac
	for p in "$mandir"/*.[37]; do
		head -n 1 "$p" | grep -q '^\.so ' && continue
		for got in $(plain "$p" |
			grep -oE "(^|[^A-Z_])$name \([0-9]+\)" |
			grep -oE '\([0-9]+\)' | tr -d '()'); do
			[ "$got" = "$val" ] && continue
			echo "FAIL: $(basename "$p") numbers $name $got, the header $val"
			fail=1
		done
	done
done < <(sed -n 's/^#define VDPASTATE_BACKEND_F_\([A-Z0-9_]*\) \([0-9]*\)$/\1 \2/p' "$hdr")
[ "$nbits" -ge 8 ] || { echo "FAIL: $nbits backend feature bits read from $hdr"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: $n exported symbols documented; mandoc -Tlint clean; $nbits backend feature bits numbered as the header"
exit "$fail"
