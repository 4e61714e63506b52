#!/bin/sh
# make bench-station: run the station's benchmarks (tests/bench/bench_*)
# and write their section of docs/benchmarks.md ("## Station benchmarks"),
# between the markers "<!-- station-bench:begin -->" and
# "<!-- station-bench:end -->" under that heading (the heading stays outside
# the markers, so a writer that replaces "## Ledger scale" up to the next
# "## " leaves them alone); the rest of the file is kept as it is.
set -eu

BUILD=${BUILD:-build}
B="$BUILD/tests/bench"
DOC=docs/benchmarks.md
export STATION_SRCDIR="$PWD"
export DEVSIM_BIN="$PWD/$BUILD/bin/devsim"
export STATION_BIN="$PWD/$BUILD/bin/station"
export STATION_LOG=${STATION_LOG:-error}
PATH=$PATH:/usr/sbin:/sbin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# bench NAME [VAR=VALUE...]: run one program, its stdout in $tmp/NAME.
bench() {
	name=$1
	shift
	echo "bench: $name" >&2
	env "$@" "$B/bench_$name" >"$tmp/$name" 2>"$tmp/$name.err" || {
		cat "$tmp/$name.err" >&2
		exit 1
	}
}
table() { sed -n '/^@@table$/,/^@@end$/p' "$tmp/$1" | sed '1d;$d' | grep -v '^[A-Z0-9_]*='; }
val() { sed -n "s/^$2=//p" "$tmp/$1" | head -1; }

# The script flow needs mosquitto_pub (mosquitto-clients); strace and
# valgrind feed the profile.  `make bench` installs them (tests/deps.sh).
command -v mosquitto_pub >/dev/null 2>&1 ||
	{ echo "bench: mosquitto_pub (mosquitto-clients) is needed" >&2; exit 1; }

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench overhead
bench smoke
bench linerate
bench slots
bench shell
bench ca

echo "bench: openssl speed" >&2
openssl speed -seconds 3 ecdsap256 >"$tmp/speed" 2>/dev/null || true
speed=$(awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1); exit}' "$tmp/speed")

# Where the time goes: system calls of the overhead run (fsyncs above
# all), and the CPU work of issuing a certificate.
prof_dev=5
if command -v strace >/dev/null 2>&1; then
	echo "bench: strace -c" >&2
	BENCH_ROUNDS=1 BENCH_DEVICES=$prof_dev strace -f -c -o "$tmp/strace" \
	    -e trace=fsync,fdatasync,syncfs,pwrite64,write,read,poll,ppoll,nanosleep,clock_nanosleep,futex \
	    "$B/bench_overhead" >/dev/null 2>&1 || true
	# Wall time spent in the syncs themselves (-w: from entry to exit).
	BENCH_ROUNDS=1 BENCH_DEVICES=$prof_dev strace -f -c -w -o "$tmp/strace_sync" \
	    -e trace=fsync,fdatasync,syncfs \
	    "$B/bench_overhead" >/dev/null 2>&1 || true
fi
if command -v valgrind >/dev/null 2>&1; then
	echo "bench: callgrind" >&2
	BENCH_ROUNDS=1 BENCH_CA_SECONDS=2 valgrind --tool=callgrind \
	    --callgrind-out-file="$tmp/cg.out" "$B/bench_ca" \
	    >"$tmp/cg.stdout" 2>/dev/null || true
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
sqlite=$(pkg-config --modversion sqlite3 2>/dev/null || echo "?")
mosq=$(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p' | head -1)

{
echo "<!-- station-bench:begin -->"
echo "Written by \`make bench-station\` (part of \`make bench\`) on $(date -u +%Y-%m-%d);"
echo "programs in tests/bench/, figures are medians with min–max over"
echo "repeated rounds.  Do not edit by hand: run it again."
echo
echo "Machine: $(nproc) CPUs, $cpu; Linux $(uname -r);"
echo "$(openssl version | cut -d' ' -f1-2); SQLite $sqlite; Mosquitto ${mosq:-?}."
echo "Load average (1, 5, 15 min) when the run started: $load_start;"
echo "when it ended: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the same CPUs"
echo "stretches every wall-time figure)."
echo
echo "### 1. Station overhead per device"
echo
echo "The whole pipeline in-process (\`provision_run\`), devsim with no chip"
echo "latency and no pacing over loopback TCP, the local CA (one fdatasync"
echo "of its issuance log per certificate), the ledger with its three durable"
echo "points per run (intent, issuance, end: SQLite WAL, group commit), and"
echo "the smoke test against a local Mosquitto (TLS 1.3, the chip signs the"
echo "handshake, MQTT v5 QoS 1 publish).  \"Own work\" is the whole run"
echo "minus the smoke step, given twice: as wall time, which still includes"
echo "devsim's replies (another process on the same CPUs) and the waits for"
echo "the disk, and as the CPU time (user + sys) of the thread that ran the"
echo "pipeline, which is the station's own work and nothing else.  Step"
echo "times come from EVENT_STEP_START/OK; the time between steps is the"
echo "ledger's run begin, events and run end."
echo
table overhead
echo
echo "### 1a. The smoke step and the broker's configuration"
echo
echo "The same station and devsims against two Mosquittos that differ in"
echo "one line: \`set_tcp_nodelay false\` (Mosquitto's default: Nagle on, what a"
echo "factory's broker has) and \`set_tcp_nodelay true\`.  With Nagle on, the"
echo "broker holds its second small write after the handshake (a TLS 1.3"
echo "session ticket, then CONNACK) until the client ACKs the first; the"
echo "station ACKs at once (TCP_QUICKACK after every read, station/tls/smoke.c)"
echo "instead of after Linux's 40 ms delayed-ACK timer."
echo
table smoke
echo
echo "### 2. Line-rate efficiency, windowing and the baud switch"
echo
echo "A 2048-byte chain (two CERT entries) written with WRITE_CHAIN and read"
echo "back with READ_CHAIN.  Physical minimum: 2 × 2048 payload bytes × 10"
echo "bits / baud (at 115200: $(val linerate LINE_MIN_MS) ms).  devsim paces what the"
echo "device sends; the benchmark paces what the station sends the same way"
echo "(a UART paces both directions, each on its own wire).  Frames, COBS,"
echo "CRC, TLV and reply headers and turnarounds all count against the"
echo "efficiency.  \"window 4\": devsim's default, several chunks in flight"
echo "(docs/protocol.md 6.3); \"compact frames\": the chunks after the"
echo "first in compact frames with the message's CRC-32 (6.4, devsim's"
echo "default); \"full frames\": devsim --fault no-compact, a windowed device"
echo "without CAP_COMPACT; \"no window\": devsim --window 1, a version-1"
echo "device.  \"switched\": devsim --baud 115200 --max-baud 3000000, the"
echo "URI's max_baud 921600 or 3000000, the switch made in HELLO (8.17) and"
echo "not counted in the transfer time."
echo
table linerate
echo
echo "### 3. Slot scaling"
echo
echo "The line (station/line/line.c, one worker thread per slot) with 1, 4 and 16"
echo "slots, each slot on its own devsim at --keygen-ms 50 --sign-ms 30"
echo "--baud 115200, the smoke test included, one station (ledger, CA)"
echo "shared by every slot; a free slot gets the next waiting device at once;"
echo "every slot provisions 4 devices per round.  devsim paces its bytes in"
echo "chunks of a millisecond's worth (one wake-up and one write per chunk,"
echo "the last byte of a transfer leaves when it would byte by byte)."
echo "Peak RSS is the station process's VmHWM (devsim and Mosquitto are"
echo "other processes)."
echo
table slots
echo
echo "### 4. Against the shell-script flow, both broker configurations"
echo
echo "Per device, the script runs \`openssl req -new\` (P-256 key + CSR: it"
echo "stands for the device), then \`openssl x509 -req\` with the local CA's"
echo "intermediate, \`openssl verify\` and \`mosquitto_pub\` (MQTT v5, QoS 1,"
echo "TLS with that certificate) to the same broker, each a process.  The"
echo "station takes the same CSR and key and does in-process: CSR policy,"
echo "CA sign (its issuance log fdatasync'ed), certificate checks, the"
echo "ledger's records (durable at the intent, the issuance and the end), and the smoke test"
echo "(TLS 1.3 handshake signed through the extkey, MQTT v5 QoS 1 publish)."
echo "The ratio compares the station-side part: x509 + verify + mosquitto_pub"
echo "against the station's steps.  The station does more (policy, ledger,"
echo "durability); the script does no durable record at all.  And as whole"
echo "processes: \`station provision\` run as a program for one devsim over"
echo "TCP (start-up, recovery, the whole pipeline with keygen, CSR, CA,"
echo "ledger, write, read-back, proof, smoke test, commit; exit) against the"
echo "script's three programs.  Every figure twice: against a Mosquitto with"
echo "its default configuration (set_tcp_nodelay false) and with"
echo "set_tcp_nodelay true."
echo
table shell
echo
echo "### 5. Local CA throughput"
echo
table ca
echo
echo "\`openssl speed -seconds 3 ecdsap256\` on the same machine: ${speed:-?} signatures/s."
echo "One fsync of a line appended to a file on this disk: $(val ca CA_FSYNC_MS) ms."
echo
echo "### Where the time goes"
echo
if [ -f "$tmp/strace" ]; then
	echo "System calls of one overhead round ($prof_dev devices + 1 warm-up run,"
	echo "station, devsim and broker processes together, \`strace -f -c\`):"
	echo
	echo '```'
	sed -n '1,/^------ .*total/p' "$tmp/strace" | head -20
	echo '```'
	echo
fi
if [ -f "$tmp/strace_sync" ]; then
	runs=$((prof_dev + 1))
	awk -v r="$runs" '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n += $4; s += $2 }
	    END { if (n > 0) printf "fsync-type calls of the same round (`strace -f -c -w`, wall time inside the call): %d calls, %.1f ms in all; per run (%d runs, the set-up of the CA and the ledger included): %.1f calls, %.2f ms.\n", n, s * 1000, r, n / r, s * 1000 / r }' "$tmp/strace_sync"
	echo
fi
if [ -f "$tmp/cg.out" ]; then
	ir=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
	certs=$(sed -n 's/^CA_TOTAL=//p' "$tmp/cg.stdout")
	echo "CPU work of issuing a certificate (\`valgrind --tool=callgrind\` on"
	echo "bench_ca, $certs certificates, including set-up):"
	echo "$ir instructions in all, about $(awk -v i="$ir" -v n="$certs" 'BEGIN { if (n > 0) printf "%.0f", i / n; else print "?" }')"
	echo "per certificate.  Top functions (self):"
	echo
	echo '```'
	callgrind_annotate "$tmp/cg.out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n '2,11p' | cut -c1-110
	echo '```'
	echo
fi
[ -f tests/bench/notes.md ] && { cat tests/bench/notes.md; echo; }
echo "Run time of \`make bench-station\`: $(( $(date +%s) - start )) s."
echo "<!-- station-bench:end -->"
} >"$tmp/section"

# Replace our section, keep everything else (flock: other benchmarks may
# write their own sections of the same file at the same time).
mkdir -p docs
touch "$DOC"
(
	command -v flock >/dev/null 2>&1 && flock 9
	if grep -q '^<!-- station-bench:begin -->$' "$DOC"; then
		awk -v f="$tmp/section" '
			/^<!-- station-bench:begin -->$/ { while ((getline l < f) > 0) print l; skip = 1; next }
			/^<!-- station-bench:end -->$/ { skip = 0; next }
			!skip { print }' "$DOC" >"$tmp/doc"
	else
		{ if [ -s "$DOC" ]; then cat "$DOC"; echo; else echo "# Benchmarks"; echo; fi
		  echo "## Station benchmarks"; echo; cat "$tmp/section"; } >"$tmp/doc"
	fi
	cat "$tmp/doc" >"$DOC"
) 9>>"$DOC.lock"
rm -f "$DOC.lock"
echo "bench: wrote $DOC" >&2
