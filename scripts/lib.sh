# scripts/lib.sh - shared by scripts/test and scripts/demo: install missing
# Debian packages, run stages with timing, print a summary.
# shellcheck shell=bash

VDS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VDS_LOGS="$VDS_SRC/build-logs"
mkdir -p "$VDS_LOGS"

# Packages the build and the tests need (Debian 12).
VDS_BUILD_PKGS="build-essential autoconf automake libtool pkg-config
	libmnl-dev libnl-3-dev libnl-genl-3-dev check"
VDS_TEST_PKGS="valgrind abigail-tools mandoc clang libclang-rt-14-dev binutils
	ethtool iproute2 python3"

vds_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "error: missing packages and not root: ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# vds_kernel_cache CACHE PKG FRAGMENT IMAGE [KEYTEXT]: the cache folder
# of a kernel built from Debian's PKG with FRAGMENT: sets dir (CACHE/<key>,
# the key hashing the fragment, PKG's version and KEYTEXT) and image
# (dir/IMAGE).  Returns 0, printing image as the last line, when that
# image is already built; 1 when it has to be built.
vds_kernel_cache() {
	local cache=$1 pkg=$2 fragment=$3 name=$4 extra=${5:-} pkgver key
	pkgver=$(dpkg-query -W -f='${Version}' "$pkg")
	key=$( (cat "$fragment"; echo "$pkg $pkgver$extra") | sha256sum | cut -c1-16)
	dir="$cache/$key"
	image="$dir/$name"
	[ -s "$image" ] || return 1
	echo "kernel: cached $image (fragment+source key $key)" >&2
	echo "$image"
}

# vds_kernel_source PKG SRC: the source tree of Debian's PKG (a
# linux-source-X.Y) in SRC, unpacked from /usr/src/PKG.tar.* next to it
# unless a tree is already there.
vds_kernel_source() {
	local pkg=$1 src=$2 dir tarball
	dir=$(dirname "$src")
	tarball=$(ls /usr/src/"$pkg".tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || { echo "error: no /usr/src/$pkg.tar.*" >&2; return 1; }
	[ -f "$src/Makefile" ] && return 0
	echo "kernel: unpacking $tarball into $dir" >&2
	rm -rf "$src" "${dir:?}/$pkg"
	tar -C "$dir" -xf "$tarball"
	mv "$dir/$pkg" "$src"
}

# vds_check_kconfig FRAGMENT: in a kernel tree's .config (the current
# directory), after olddefconfig, every line of the fragment must hold: a
# dependency that is missing silently turns an option off.  Names the
# lines that do not hold and fails.
vds_check_kconfig() {
	local fragment=$1 line opt bad=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qx -- "$line" .config || bad+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" .config || echo absent))")
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" .config; then bad+=("$line (have: $(grep "^$opt=" .config))"); fi
			;;
		esac
	done < "$fragment"
	if [ ${#bad[@]} -gt 0 ]; then
		echo "error: kernel options of $fragment that do not hold after olddefconfig:" >&2
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
}

VDS_STAGES=()
VDS_RESULTS=()
VDS_TIMES=()
VDS_FAILED=0

# vds_stage NAME DESCRIPTION COMMAND... : run, log to build-logs/NAME.log,
# show the log's tail when it fails.
vds_stage() {
	local name=$1 desc=$2 t0 t1 rc
	shift 2
	printf '==> %-10s %s\n' "$name" "$desc"
	t0=$(date +%s)
	set +e
	( cd "$VDS_SRC" && "$@" ) > "$VDS_LOGS/$name.log" 2>&1
	rc=$?
	set -e
	t1=$(date +%s)
	VDS_STAGES+=("$name")
	VDS_TIMES+=($((t1 - t0)))
	if [ $rc -eq 0 ]; then
		VDS_RESULTS+=("ok")
		grep -E '^(ok:|# (TOTAL|PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):|[0-9]+%: Checks|summary:|fuzz:|bench:|vm( [0-9.]+)?:|VMTEST(\[[0-9.]+\])? |uml: )' \
			"$VDS_LOGS/$name.log" | sed 's/^/    /' || true
	else
		VDS_RESULTS+=("FAIL")
		VDS_FAILED=$((VDS_FAILED + 1))
		echo "    FAILED (exit $rc); last lines of build-logs/$name.log:"
		tail -n 40 "$VDS_LOGS/$name.log" | sed 's/^/    | /'
	fi
	return 0
}

vds_summary() {
	local i n=${#VDS_STAGES[@]}
	echo
	echo "stage       result  seconds"
	for ((i = 0; i < n; i++)); do
		printf '%-11s %-7s %s\n' "${VDS_STAGES[$i]}" "${VDS_RESULTS[$i]}" "${VDS_TIMES[$i]}"
	done
	echo "stages: $((n - VDS_FAILED)) passed, $VDS_FAILED failed"
}
