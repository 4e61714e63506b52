#!/bin/sh
# Run the test programs named as arguments (the Makefile passes the ones
# built from tests/**/test_*.c, so a program left in $BUILD by a test that
# was moved or removed never runs) and print one closing line, "N passed,
# N failed", summed over the cmocka groups.  Without arguments: every
# test program under $BUILD/tests.  A program that crashes or exits
# non-zero without reporting counts as one failure.
set -u
BUILD=${BUILD:-build}
export STATION_BIN="$PWD/$BUILD/bin/station"
export DEVSIM_BIN="$PWD/$BUILD/bin/devsim"
export NRF91SIM_BIN="$PWD/$BUILD/bin/nrf91sim"
export STATION_SRCDIR="$PWD"

passed=0
failed=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ $# -eq 0 ]; then
	set -- $(find "$BUILD/tests" -type f -name 'test_*' -perm -u+x | sort)
fi
for t in "$@"; do
	name=${t#"$BUILD"/tests/}
	echo "=== $name"
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" != 0 ] && failed_names="$failed_names $name"
done

echo
[ -n "$failed_names" ] && echo "failing programs:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
