#!/bin/sh
# Run libFuzzer targets: run-fuzz.sh BUILD SECONDS NAME...
# Each target fuzzes a scratch corpus in BUILD/fuzz/work/NAME, seeded with
# copies of tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME (the
# committed corpora are never given to libFuzzer, so never written to).  A crash leaves its input in
# BUILD/fuzz/crash/NAME/ and fails the run; fixed crash inputs go to
# tests/fuzz/regress/NAME/ so that `make check` replays them.
set -u
build=$1
seconds=$2
shift 2
status=0
summary=""
for name in "$@"; do
	bin="$build/fuzz/fuzz_$name"
	work="$build/fuzz/work/$name"
	crash="$build/fuzz/crash/$name"
	log="$build/fuzz/$name.log"
	mkdir -p "$work" "$crash"
	# Only the scratch directory is given to libFuzzer, which writes new
	# and reduced units into its corpus directories.
	cp tests/fuzz/corpus/"$name"/* "$work"/
	[ -d "tests/fuzz/regress/$name" ] && cp tests/fuzz/regress/"$name"/* "$work"/
	echo "=== fuzz_$name: $seconds s"
	# detect_leaks: a leak on any input is a bug in a parser too.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$seconds" -print_final_stats=1 \
	    -artifact_prefix="$crash/" -max_len=8192 -timeout=25 \
	    "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	corpus=$(find "$work" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		result="CRASH (rc $rc, input in $crash/)"
		tail -40 "$log"
		status=1
	fi
	line=$(printf '%-12s %12s execs %8s/s  corpus %5s  %s' "$name" \
	    "${execs:-?}" "${rate:-?}" "$corpus" "$result")
	echo "$line"
	summary="$summary$line
"
done
echo
printf '%s' "$summary"
exit $status
