#!/bin/sh
# The layering rule (docs/hacking.md), checked over every #include "..." line:
#
#   station/util/    the base: includes nothing else of the project
#   drivers/, db/    from station/ only station/util/
#   station/ca/, tls/, x509/, config/
#                    never drivers/: only the pipeline, the line and the
#                    command line talk to devices
#   ui/              never drivers/ or db/
#   ui/              included only by station/cli/ (and ui/ and tests/)
#   station/cli/     included only by itself (and tests/): the core never
#                    formats command output or reads command-line state
#   every file       project headers by their path from the repository
#                    root ("station/util/err.h"), never "../x.h" or a bare
#                    name, so a header has one name everywhere
#
# Prints each breach as FILE:LINE: rule, and exits 1 if there was one.
# `check-layers.sh --self-test` feeds the rules known breaches and known
# good lines and fails unless each is judged right.
set -u
cd "$(dirname "$0")/.."

# stdin: FILE:LINE:#include "X" lines (grep -n's form).
judge() {
	awk '
	function breach(rule) {
		printf "%s:%s: %s (#include \"%s\")\n", file, line, rule, inc
		bad = 1
	}
	{
		file = $0; sub(/:.*/, "", file)
		line = $0; sub(/^[^:]*:/, "", line); sub(/:.*/, "", line)
		inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
		if (inc !~ /^(station|drivers|db|ui|fixtures|tests)\//)
			breach("include project headers by their path from the repository root")
		if (file ~ /^station\/util\// && inc !~ /^station\/util\//)
			breach("station/util/ is the base layer: it includes nothing else of the project")
		if (file ~ /^(drivers|db)\// && inc ~ /^station\// && inc !~ /^station\/util\//)
			breach("drivers/ and db/ take only station/util/ from station/")
		if (file ~ /^drivers\// && inc ~ /^(db|ui)\//)
			breach("drivers/ know nothing of the ledger or the screen")
		if (file ~ /^db\// && inc ~ /^(drivers|ui)\//)
			breach("db/ knows nothing of transports or the screen")
		if (file ~ /^station\/(ca|tls|x509|config)\// && inc ~ /^drivers\//)
			breach("station/ca/, tls/, x509/ and config/ never include drivers/")
		if (file ~ /^ui\// && inc ~ /^(drivers|db)\//)
			breach("ui/ never includes drivers/ or db/")
		if (inc ~ /^ui\// && file !~ /^(station\/cli|ui|tests)\//)
			breach("only station/cli/ includes ui/")
		if (inc ~ /^station\/cli\// && file !~ /^(station\/cli|tests)\//)
			breach("only station/cli/ includes station/cli/")
	}
	END { exit bad }'
}

if [ "${1:-}" = "--self-test" ]; then
	fails=0
	for bad in \
	    'db/x.c:1:#include "station/config/config.h"' \
	    'drivers/proto/x.c:1:#include "db/ledger.h"' \
	    'station/ca/x.c:1:#include "drivers/proto/proto.h"' \
	    'station/tls/x.c:1:#include "drivers/proto/client.h"' \
	    'ui/x.c:1:#include "db/ledger.h"' \
	    'station/pipeline/x.c:1:#include "ui/ui.h"' \
	    'station/util/x.c:1:#include "station/config/config.h"' \
	    'station/cli/x.c:1:#include "../util/err.h"' \
	    'station/cli/x.c:1:#include "cmd.h"' \
	    'station/pipeline/x.c:1:#include "station/cli/json_out.h"'; do
		if printf '%s\n' "$bad" | judge >/dev/null; then
			echo "check-layers self-test: not caught: $bad"
			fails=1
		fi
	done
	for good in \
	    'db/x.c:1:#include "station/util/err.h"' \
	    'station/cli/x.c:1:#include "ui/ui.h"' \
	    'station/pipeline/x.c:1:#include "drivers/proto/client.h"' \
	    'tests/x.c:1:#include "ui/model.h"'; do
		if ! printf '%s\n' "$good" | judge >/dev/null; then
			echo "check-layers self-test: refused: $good"
			fails=1
		fi
	done
	[ "$fails" = 0 ] && echo "check-layers self-test: ok"
	exit "$fails"
fi

git ls-files -z '*.c' '*.h' | xargs -0 grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' | judge
