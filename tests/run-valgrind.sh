#!/bin/sh
# Run the end-to-end test programs under valgrind (make valgrind):
# memcheck, definite leaks are errors, child processes traced too (devsim
# and the station started by the tests), with tests/valgrind.supp.
# Skipped: programs wrapped by umockdev (its LD_PRELOAD library and
# valgrind's own preloads do not mix), and helper programs that are not
# ours (shells, mosquitto, openssl, the Go binary cfssl, timeout, python3,
# sqlite3, SoftHSM's tools, tmux, curl, unshare, the software TPM swtpm,
# ser2net, setpriv): valgrind's findings in
# them are not the project's.  VALGRIND_TESTS overrides the list (paths
# under $BUILD/tests, e.g. "drivers/test_client").
#
# An error record is a paragraph of a log with a stack ("   at 0x..."):
# an invalid or uninitialised access, a bad free, a definite leak; not
# the stack of a process ended by a signal (tests stop processes on
# purpose; a crash shows as an invalid access first).  A failed assertion leaves cmocka's test
# through longjmp, past the test's frees: in a program that reported
# FAILED tests, the logs whose every record runs through cmocka (the test
# program, or a copy of it forked as a test server; never the station or
# devsim it started) are set aside as NAME.PID.after-failure and not
# counted again; the failure itself is.
#
# The closing lines (also in $BUILD/valgrind-report.txt) give what
# docs/reliability.md records: programs, traced processes, error
# records, definitely and indirectly lost bytes (LEAK SUMMARY of every
# process that exited), wall time, date and the load average.
set -u
BUILD=${BUILD:-build}
export STATION_BIN="$PWD/$BUILD/bin/station"
export DEVSIM_BIN="$PWD/$BUILD/bin/devsim"
export NRF91SIM_BIN="$PWD/$BUILD/bin/nrf91sim"
export STATION_SRCDIR="$PWD"
# Valgrind runs every traced process 10-50x slower, more on a loaded
# machine: every limit a test sets on the station, devsim or a test
# server is stretched (test_ms, tests/support/proc.h).
export STATION_TEST_SLOW=${STATION_TEST_SLOW:-1}

tests=${VALGRIND_TESTS:-$(cd "$BUILD/tests" && find station drivers db fuzz \
    fixtures/devsim -type f -name 'test_*' -perm -u+x ! -name 'test_uart*' | sort)}
skip='*/sh,*/bash,*/dash,*/mosquitto,*/openssl,*/umockdev-wrapper'
skip="$skip,*/cfssl,*/cfssljson,*/timeout,*/python3*,*/sqlite3"
skip="$skip,*/softhsm2-util,*/pkcs11-tool,*/tmux,*/curl,*/unshare"
skip="$skip,*/swtpm,*/swtpm_setup,*/swtpm_ioctl,*/ser2net"
# setpriv: test_ledger_ro, as root, runs the station as nobody through it,
# and a traced setpriv leaves a root-owned log that the station's
# valgrind, as nobody, cannot reopen after the exec.  That station runs
# untraced; the read-only opening it uses is traced in db/test_ledger_open.
skip="$skip,*/setpriv"
logdir="$BUILD/valgrind"
report="$BUILD/valgrind-report.txt"
rm -rf "$logdir"
mkdir -p "$logdir"

# records LOG: "RECORDS CMOCKA" (error records, and how many of them run
# through cmocka).
records() {
	sed 's/^==[0-9]*== \{0,1\}//' "$1" | awk -v RS= '
	    /(^|\n) +at 0x/ && !/^Process terminating with default action/ {
		n++
		if (/_cmocka_run_group_tests/)
			c++
	    }
	    END { print n + 0, c + 0 }'
}

# lost KIND FILES...: bytes summed over the LEAK SUMMARY lines.
lost() {
	kind=$1
	shift
	cat "$@" 2>/dev/null | sed -n "s/^==[0-9]*== *$kind lost: \([0-9,]*\) bytes.*/\1/p" |
	    tr -d , | awk '{ s += $1 } END { print s + 0 }'
}

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
failed=""
for t in $tests; do
	name=$(echo "$t" | tr / _)
	echo "=== $t"
	valgrind --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --suppressions=tests/valgrind.supp \
	    --trace-children=yes --child-silent-after-fork=yes \
	    --trace-children-skip="$skip" \
	    --log-file="$logdir/$name.%p.log" \
	    "$BUILD/tests/$t" >"$logdir/$name.out" 2>&1
	rc=$?
	tail -3 "$logdir/$name.out"
	if grep -q '^\[  FAILED  \]' "$logdir/$name.out"; then
		# Leaks after failed assertions (see above), in the test
		# program or a copy of it forked for a test server: every
		# record's stack runs through cmocka.  Kept aside.
		for l in "$logdir/$name".*.log; do
			[ -s "$l" ] || continue
			set -- $(records "$l")
			[ "$1" -gt 0 ] && [ "$2" -ge "$1" ] &&
			    mv "$l" "${l%.log}.after-failure"
		done
	fi
	errs=0
	for l in "$logdir/$name".*.log; do
		[ -s "$l" ] || continue
		set -- $(records "$l")
		errs=$((errs + $1))
	done
	if [ "$rc" != 0 ] || [ "$errs" != 0 ]; then
		echo "FAILED: $t (exit $rc, error records: $errs)"
		for l in "$logdir/$name".*.log; do
			[ -s "$l" ] || continue
			set -- $(records "$l")
			[ "$1" -gt 0 ] && { echo "--- $l"; grep -v \
			    -e 'Memcheck, a memory' -e 'Copyright (C)' \
			    -e 'Using Valgrind' "$l" | head -60; }
		done
		failed="$failed $t"
	fi
done
elapsed=$(($(date +%s) - start))
logs=$(find "$logdir" -name '*.log' -size +0c)
procs=$(cat $logs 2>/dev/null | grep -c '^==[0-9]*== Command: ')
errors=0
for l in $logs; do
	set -- $(records "$l")
	errors=$((errors + $1))
done
{
	echo "valgrind: $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs," \
	    "load average $load_start at the start," \
	    "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "programs: $(echo $tests | wc -w), traced processes: $procs," \
	    "wall time: $((elapsed / 60)) min $((elapsed % 60)) s"
	echo "error records: $errors; definitely lost: $(lost definitely $logs)" \
	    "bytes, indirectly lost: $(lost indirectly $logs) bytes," \
	    "possibly lost: $(lost possibly $logs) bytes"
	echo "set aside after failed assertions: $(find "$logdir" \
	    -name '*.after-failure' | wc -l) logs"
	if [ -n "$failed" ]; then
		echo "failed:$failed"
	else
		echo "failed: none"
	fi
} >"$report"
echo
cat "$report"
if [ -n "$failed" ]; then
	echo "valgrind failures:$failed (logs in $logdir)"
	exit 1
fi
