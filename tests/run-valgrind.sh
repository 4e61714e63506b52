#!/bin/sh
# Run the end-to-end test programs under valgrind (make valgrind):
# memcheck, definite leaks are errors, child processes traced too (devsim
# and the station started by the tests), with tests/valgrind.supp.
# Skipped: programs wrapped by umockdev (its LD_PRELOAD library and
# valgrind's own preloads do not mix), and helper programs that are not
# ours (shells, mosquitto, openssl, the Go binary cfssl, timeout, python3,
# sqlite3, SoftHSM's tools, tmux, curl, unshare): valgrind's findings in
# them are not the project's.  VALGRIND_TESTS overrides the list (paths
# under $BUILD/tests, e.g. "drivers/test_client").
#
# A failed assertion leaves cmocka's test through longjmp, past the
# test's frees: in a program that reported FAILED tests, the logs whose
# every record runs through cmocka (the test program, or a copy of it
# forked as a test server; never the station or devsim it started) are
# set aside as NAME.PID.after-failure and not counted again; the failure
# itself is.
set -u
BUILD=${BUILD:-build}
export STATION_BIN="$PWD/$BUILD/bin/station"
export DEVSIM_BIN="$PWD/$BUILD/bin/devsim"
export STATION_SRCDIR="$PWD"
# Valgrind slows devsim's RSA key generation 20-50x: tests that wait for
# it (test_client) stretch their KEYGEN and CSR/SIGN timeouts.
export STATION_TEST_SLOW=1

tests=${VALGRIND_TESTS:-$(cd "$BUILD/tests" && find station drivers db fuzz \
    -type f -name 'test_*' -perm -u+x ! -name 'test_uart*' | sort)}
skip='*/sh,*/bash,*/dash,*/mosquitto,*/openssl,*/umockdev-wrapper'
skip="$skip,*/cfssl,*/cfssljson,*/timeout,*/python3*,*/sqlite3"
skip="$skip,*/softhsm2-util,*/pkcs11-tool,*/tmux,*/curl,*/unshare"
logdir="$BUILD/valgrind"
rm -rf "$logdir"
mkdir -p "$logdir"
failed=""
for t in $tests; do
	name=$(echo "$t" | tr / _)
	echo "=== $t"
	valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --suppressions=tests/valgrind.supp \
	    --trace-children=yes --child-silent-after-fork=yes \
	    --trace-children-skip="$skip" \
	    --log-file="$logdir/$name.%p.log" \
	    "$BUILD/tests/$t" >"$logdir/$name.out" 2>&1 &
	main=$!
	wait $main
	rc=$?
	tail -3 "$logdir/$name.out"
	if grep -q '^\[  FAILED  \]' "$logdir/$name.out"; then
		# Leaks after failed assertions (see above), in the test
		# program or a copy of it forked for a test server: every
		# record's stack runs through cmocka.  Kept aside.
		for l in "$logdir/$name".*.log; do
			[ -s "$l" ] || continue
			recs=$(grep -cE '^==[0-9]+== [^ ]' "$l")
			cm=$(grep -c '_cmocka_run_group_tests' "$l")
			[ "$cm" -ge "$recs" ] && mv "$l" "${l%.log}.after-failure"
		done
	fi
	errs=$(cat "$logdir/$name".*.log 2>/dev/null | grep -c '^==[0-9]*== ' || true)
	if [ "$rc" != 0 ] || [ "$errs" != 0 ]; then
		echo "FAILED: $t (exit $rc, valgrind lines: $errs)"
		for l in "$logdir/$name".*.log; do
			[ -s "$l" ] && { echo "--- $l"; head -60 "$l"; }
		done
		failed="$failed $t"
	fi
done
echo
if [ -n "$failed" ]; then
	echo "valgrind failures:$failed (logs in $logdir)"
	exit 1
fi
echo "valgrind: $(echo $tests | wc -w) programs, no errors, no definite leaks"
