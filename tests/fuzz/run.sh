#!/bin/sh
# tests/fuzz/run.sh SECONDS [BUILDDIR] - build every tests/fuzz/fuzz_*.c as a
# libFuzzer target (clang -fsanitize=fuzzer,address,undefined) against the
# library's sources and run it for SECONDS on a copy of its committed seed
# corpus (tests/fuzz/corpus/NAME/).  Fails on any crash, leak, sanitizer
# report, or a target without seeds.
set -eu
secs=${1:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${2:-$src/build}" && pwd)
out="$build/fuzz"
mkdir -p "$out"
cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
incs="-I$src/include -I$build/include -I$src/lib -I$src/tests -I$build -include $build/config.h"
libsrc=$(ls "$src"/lib/*.c)
n=0
for t in "$src"/tests/fuzz/fuzz_*.c; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .c)
	name=${name#fuzz_}
	seeds="$src/tests/fuzz/corpus/$name"
	if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
		echo "FAIL: fuzz target $name has no seed corpus in tests/fuzz/corpus/$name"
		exit 1
	fi
	# shellcheck disable=SC2086
	clang $cflags $incs -o "$out/$name" $libsrc "$t" $(pkg-config --libs libmnl) -lpthread
	rm -rf "$out/$name.corpus"; cp -r "$seeds" "$out/$name.corpus"
	echo "fuzzing $name for ${secs}s"
	"$out/$name" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$out/$name.corpus" > "$out/$name.log" 2>&1 || {
		tail -n 60 "$out/$name.log"; echo "FAIL: fuzz target $name"; exit 1; }
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
	echo "fuzz: $name ${runs:-?} runs in ${secs}s, no crash"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "FAIL: no fuzz target found"; exit 1; }
echo "ok: $n fuzz targets ran ${secs}s each"
