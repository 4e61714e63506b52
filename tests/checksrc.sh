#!/bin/sh
# The source style that `make checksrc` (and so `make check`) enforces over
# every tracked .c/.h file (docs/hacking.md):
#
#   assignment in condition
#            no assignment inside an if/while/switch condition or a for's
#            test (`if ((err = f()))`, `while ((n = read(...)) > 0)`):
#            write `err = f(); if (err) goto out;` as curl does, so each
#            line does one thing and every call's result is named once
#   banned call
#            functions with no bound on what they write, hidden state, or
#            no way to report an error: strcpy, strcat, strncpy, strncat,
#            sprintf, vsprintf, gets, strtok, atoi, atol, atoll, atof,
#            tmpnam, mktemp (use xstrdup/xasprintf/snprintf, strtok_r,
#            station/util/num.h's num_parse, mkstemp)
#   format   `clang-format --dry-run --Werror` against the repository's
#            .clang-format (Debian 12's clang-format 14 is the reference;
#            `make format` rewrites the tree); CHECKSRC_FORMAT=0 skips it
#
# The include style is tests/check-layers.sh's job.  Prints each breach as
# FILE:LINE: rule, and exits 1 if there was one.  `checksrc.sh --self-test`
# feeds the rules known-bad and known-good snippets and fails unless each is
# judged right.
set -u
cd "$(dirname "$0")/.." || exit 1

BANNED='strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof|tmpnam|mktemp'

# judge FILE...: the assignment and banned-call rules.
judge() {
	awk -v banned="$BANNED" '
	function breach(at, rule) {
		printf "%s:%d: %s\n", FILENAME, at, rule
		bad = 1
	}
	# The line without comments, string and character literals (a
	# literal becomes "" or '"''"'), so neither can trip a rule.
	function code(s,    out, i, n, c, q) {
		out = ""; n = length(s)
		for (i = 1; i <= n; i++) {
			c = substr(s, i, 1)
			if (incomment) {
				if (substr(s, i, 2) == "*/") {
					incomment = 0
					i++
					out = out " "
				}
				continue
			}
			if (substr(s, i, 2) == "/*") { incomment = 1; i++; continue }
			if (substr(s, i, 2) == "//") break
			if (c == "\"" || c == "'"'"'") {
				q = c
				for (i++; i <= n; i++) {
					c = substr(s, i, 1)
					if (c == "\\") { i++; continue }
					if (c == q) break
				}
				out = out q q
				continue
			}
			out = out c
		}
		return out
	}
	# Does this condition (or a for-clause) assign?  Comparisons go
	# first; <<= and >>= are assignments, <= and >= are not.
	# A designated initializer in a compound literal (`.path = p`)
	# is not an assignment.
	function assigns(c) {
		gsub(/==|!=/, "~", c)
		gsub(/\.[A-Za-z_][A-Za-z0-9_]*[ \t]*=/, "", c)
		gsub(/<<=|>>=/, "=", c)
		gsub(/<=|>=/, "~", c)
		return c ~ /=/
	}
	# A whole condition has been read: judge it.
	function condition(kw, c,    i, n, ch, depth, semi, part) {
		if (kw != "for") {
			if (assigns(c))
				breach(kwline, "assignment in " kw " condition")
			return
		}
		# for (init; test; step): only the test must not assign.
		n = length(c); depth = 0; semi = 0; part = ""
		for (i = 1; i <= n; i++) {
			ch = substr(c, i, 1)
			if (ch == "(") depth++
			else if (ch == ")") depth--
			if (ch == ";" && depth == 1) {
				semi++
				continue
			}
			if (semi == 1)
				part = part ch
		}
		if (assigns(part))
			breach(kwline, "assignment in for condition")
	}
	# Scan s from its start for the parenthesised condition, carrying
	# an unfinished one over to the next line.
	function scan(s,    i, n, ch) {
		n = length(s)
		for (i = 1; i <= n; i++) {
			ch = substr(s, i, 1)
			cond = cond ch
			if (ch == "(") depth++
			else if (ch == ")" && --depth == 0) {
				condition(kw, cond)
				kw = ""
				return substr(s, i + 1)
			}
		}
		cond = cond " "
		return ""
	}
	FNR == 1 { incomment = 0; kw = "" }
	{
		line = code($0)
		s = line
		# A condition left open on an earlier line goes on here.
		if (kw != "")
			s = scan(s)
		while (kw == "" && match(s, /(^|[^A-Za-z0-9_])(if|while|for|switch)[ \t]*\(/)) {
			kwline = FNR
			kw = substr(s, RSTART, RLENGTH)
			sub(/^[^a-z]/, "", kw); sub(/[ \t]*\($/, "", kw)
			s = substr(s, RSTART + RLENGTH - 1)
			cond = ""; depth = 0
			s = scan(s)
		}
		rest = line
		while (match(rest, "(^|[^A-Za-z0-9_.>])(" banned ")[ \t]*\\(")) {
			call = substr(rest, RSTART, RLENGTH)
			sub(/^[^a-z]/, "", call); sub(/[ \t]*\($/, "", call)
			breach(FNR, "banned call " call "()")
			rest = substr(rest, RSTART + RLENGTH)
		}
	}
	END { exit bad }' "$@"
}

# format FILE...: clang-format's verdict, each difference as FILE:LINE.
format() {
	out=$(clang-format --dry-run --Werror "$@" 2>&1)
	[ -z "$out" ] && return 0
	printf '%s\n' "$out" | sed -n \
	    's/^\([^:]*:[0-9]*\):[0-9]*: error: code should be clang-formatted.*/\1: format (clang-format -i)/p' |
	    uniq
	return 1
}

if [ "${1:-}" = "--self-test" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	fails=0
	n=0
	# Each snippet goes through judge as a file of its own.
	expect() {
		n=$((n + 1))
		printf '%s\n' "$2" >"$tmp/$n.c"
		if (cd "$tmp" && judge "$n.c" >/dev/null); then got=good; else got=bad; fi
		if [ "$got" != "$1" ]; then
			echo "checksrc self-test: judged $got, expected $1: $2"
			fails=1
		fi
	}
	expect bad '	if ((err = f()))'
	expect bad '	if ((err = f()) || (err = g()))'
	expect bad '	if ((x = g()) == NULL)'
	expect bad '	while ((n = read(fd, buf, sizeof buf)) > 0)'
	expect bad '	} while ((n = next()) != 0);'
	expect bad '	for (i = 0; (c = s[i]) != 0; i++)'
	expect bad '	if (x &&
	    (err = f()) != ST_OK)'
	expect bad '	if (n += 1)'
	expect bad '	while (bits >>= 1)'
	expect bad '	switch ((c = getc(f)))'
	expect bad '	if ((o = (struct opts){ .n = 1 }).n = 2)'
	expect bad '	strcpy(dst, src);'
	expect bad '	n = atoi(s);'
	expect bad '	len = sprintf(buf, "%d", n);'
	expect bad '	tok = strtok (s, ",");'
	expect bad '	x = f(1) + atol(s);'
	expect good '	if (err)'
	expect good '	if (station_open(&(struct station_opts){ .config_path = p }, &st) != ST_OK)'
	expect good '	if (a == b && c != d && e <= f && g >= h)'
	expect good '	if (x << 2 > y)'
	expect good '	for (i = 0; i < n; i++)'
	expect good '	for (p = head; p; p = p->next)'
	expect good '	if (f(1) == 0) x = 1;'
	expect good '	if (strcmp(s, "a = b") == 0)'
	expect good '	if (c == '"'='"')'
	expect good '	/* if ((err = f())) is refused */'
	expect good '	if (ok) /* (x = 1) */'
	expect good '	while (n > 0)'
	expect good '	snprintf(buf, sizeof buf, "%d", n);'
	expect good '	log_info("atoi(s) and strcpy() are banned");'
	expect good '	p->gets(p); s.sprintf = 0;'
	expect good '	my_atoi(s); strtok_r(s, ",", &save);'
	if command -v clang-format >/dev/null 2>&1; then
		mkdir -p "$tmp/f"
		cp .clang-format "$tmp/f/"
		printf 'int\nf(int a)\n{\n\treturn a + 1;\n}\n' >"$tmp/f/good.c"
		printf 'int f(int a) {\n  return a+1; }\n' >"$tmp/f/bad.c"
		if ! (cd "$tmp/f" && format good.c >/dev/null); then
			echo "checksrc self-test: format refused a formatted file"
			fails=1
		fi
		if (cd "$tmp/f" && format bad.c >/dev/null); then
			echo "checksrc self-test: format passed an unformatted file"
			fails=1
		fi
	fi
	[ "$fails" = 0 ] && echo "checksrc self-test: ok ($n snippets)"
	exit "$fails"
fi

files=$(git ls-files '*.c' '*.h')
st=0
# shellcheck disable=SC2086
judge $files || st=1
if [ "${CHECKSRC_FORMAT:-1}" = 1 ]; then
	if ! command -v clang-format >/dev/null 2>&1; then
		echo "checksrc: clang-format is not installed (tests/deps.sh installs it)"
		exit 1
	fi
	# shellcheck disable=SC2086
	format $files || st=1
fi
exit "$st"
