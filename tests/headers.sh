#!/bin/sh
# tests/headers.sh - every installed header compiles on its own, as C11
# (pedantic) and as C++, with warnings as errors.
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for h in $pkginclude_HEADERS; do
	name=libvdpastate/$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint vds_header_test;\n' "$name" "$name" > "$tmp/t.c"
	cp "$tmp/t.c" "$tmp/t.cc"
	if ! ${CC:-gcc} -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
		-I"$top_srcdir/include" -I"$top_builddir/include" "$tmp/t.c"; then
		echo "FAIL: $name as C"; fail=1
	fi
	if ! ${CXX:-g++} -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
		-I"$top_srcdir/include" -I"$top_builddir/include" "$tmp/t.cc"; then
		echo "FAIL: $name as C++"; fail=1
	fi
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "FAIL: no header given"; exit 1; }
[ "$fail" -eq 0 ] && echo "ok: $n headers compile alone as C11 and C++11"
exit "$fail"
