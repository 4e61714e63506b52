/*
 * ledger_export: the delivery protocol of db/export.h, from the lock to
 * the watermark, and the recovery of exports a killed process left behind.
 */
#include "db/export_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/util/xalloc.h"

const char *
export_format_name(enum export_format f)
{
	return f == EXPORT_JSONL ? "jsonl" : "csv";
}

int
export_format_parse(const char *s, enum export_format *out)
{
	if (s != NULL && strcmp(s, "csv") == 0)
		*out = EXPORT_CSV;
	else if (s != NULL && strcmp(s, "jsonl") == 0)
		*out = EXPORT_JSONL;
	else
		return -1;
	return 0;
}

void
export_result_clear(struct export_result *r)
{
	if (r == NULL)
		return;
	free(r->file);
	free(r->manifest);
	memset(r, 0, sizeof *r);
}

static int
station_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return 0;
	}
	return 1;
}

/* Remove `path` and its temp twin ".<base>.tmp" beside it. */
static void
remove_with_temp(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *tmp;

	if (path[0] == '\0')
		return;
	unlink(path);
	tmp = slash ?
	    xasprintf("%.*s/.%s.tmp", (int)(slash - path), path, slash + 1) :
	    xasprintf(".%s.tmp", path);
	unlink(tmp);
	free(tmp);
}

/* Does the manifest at `r->manifest` vouch for `r->file` as written?
 * *rows receives its row count and hex the checksum. */
static int
manifest_confirms(const struct export_row *r, int64_t *rows, char hex[65])
{
	json_t *m, *sha, *n;
	int ok = 0;

	if (r->manifest[0] == '\0' || access(r->manifest, F_OK) != 0)
		return 0;
	m = json_load_file(r->manifest, 0, NULL);
	sha = json_object_get(m, "sha256");
	n = json_object_get(m, "rows");
	if (json_is_string(sha) && json_is_integer(n) &&
	    export_file_sha256(AT_FDCWD, r->file, hex, NULL) == ST_OK &&
	    strcmp(hex, json_string_value(sha)) == 0) {
		*rows = json_integer_value(n);
		ok = 1;
	}
	json_decref(m);
	return ok;
}

/* Finish or undo each export a killed process left 'started'. */
static st_err
recover(struct ledger *l, struct export_result *res, char **cause)
{
	struct export_row *rows = NULL;
	size_t n = 0;
	st_err err = exports_list_started(l, &rows, &n, cause);

	for (size_t i = 0; err == ST_OK && i < n; i++) {
		struct export_row *r = &rows[i];
		char hex[65];
		int64_t count = 0;

		/* The manifest's rename was the commit point: roll
		 * forward when it is there, else roll back. */
		if (manifest_confirms(r, &count, hex)) {
			err = exports_mark_done(l, r->id, count, hex, cause);
		} else {
			if (r->manifest[0] != '\0')
				remove_with_temp(r->manifest);
			remove_with_temp(r->file);
			err = exports_mark_failed(l, r->id,
			    "interrupted before its manifest was written; "
			    "its runs go into the next export",
			    cause);
		}
		res->recovered++;
	}
	for (size_t i = 0; i < n; i++)
		export_row_clear(&rows[i]);
	free(rows);
	return err;
}

/* Decide the range: since the watermark up to the chain head, or the runs
 * that ended in [from, to). */
static st_err
plan(struct ledger *l, const struct export_request *req, struct export_row *r,
    char **cause)
{
	int64_t now = ledger_now_ms(), mark = 0, head = 0;
	st_err err;

	r->since_last = req->since_last;
	r->format = req->format;
	if (!req->since_last) {
		r->from_time = req->from_ms;
		r->to_time = req->to_ms;
		err = exports_seq_span(l, req->from_ms, req->to_ms,
		    &r->from_seq, &r->to_seq, cause);
		if (err == ST_OK && r->to_seq < r->from_seq) {
			r->from_seq = 0;
			r->to_seq = 0;
		}
		return err;
	}
	err = exports_watermark(l, &mark, cause);
	if (err == ST_OK)
		err = exports_chain_head(l, &head, cause);
	if (err == ST_OK)
		err =
		    exports_next_from_time(l, mark, now, &r->from_time, cause);
	r->from_seq = mark + 1;
	r->to_seq = head > mark ? head : mark;
	r->to_time = now;
	return err;
}

static st_err
write_manifest(struct ledger *l, int dfd, const char *dir, const char *name,
    const struct export_request *req, const struct export_row *r,
    const struct export_result *res, int64_t bytes, enum export_problem *p,
    char **cause)
{
	struct export_out o;
	char from[25], to[25], now[25], head[65], prev[65], hex[65];
	struct ledger_checkpoint cp;
	int64_t first = r->from_seq;
	json_t *m, *cols = json_array();
	char *s;
	st_err err;

	err = exports_run_hash(l, r->to_seq, head, cause);
	if (err == ST_OK)
		err =
		    exports_run_hash(l, first > 0 ? first - 1 : 0, prev, cause);
	/* The checkpoint the ERP keeps: `ledger verify --checkpoint` proves
	 * later that the ledger still extends it. */
	if (err == ST_OK)
		err = ledger_keyed_head(l, &cp, cause);
	if (err) {
		*p = EXPORT_DB;
		return err;
	}
	export_iso_ms(from, r->from_time);
	export_iso_ms(to, r->to_time);
	export_iso_ms(now, ledger_now_ms());
	for (size_t i = 0; export_column_names[i] != NULL; i++)
		json_array_append_new(cols,
		    json_string(export_column_names[i]));
	m = json_pack("{s:i, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s,"
		      " s:I, s:I, s:{s:I, s:s}, s:{s:I, s:s},"
		      " s:{s:s, s:I, s:s, s:s}, s:s, s:i, s:o}",
	    "manifest_version", EXPORT_MANIFEST_VERSION, "station_id",
	    req->station_id, "export_id", (json_int_t)res->export_id, "kind",
	    r->since_last ? "since-last" : "range", "file",
	    strrchr(res->file, '/') + 1, "format",
	    export_format_name(r->format), "rows", (json_int_t)res->rows,
	    "bytes", (json_int_t)bytes, "sha256", res->sha256, "from", from,
	    "to", to, "from_chain_seq", (json_int_t)r->from_seq, "to_chain_seq",
	    (json_int_t)r->to_seq, "continues_from", "chain_seq",
	    (json_int_t)(first > 0 ? first - 1 : 0), "row_hash", prev,
	    "chain_head", "chain_seq", (json_int_t)r->to_seq, "row_hash", head,
	    "keyed_head", "algorithm", "HMAC-SHA256", "seq", (json_int_t)cp.seq,
	    "digest", cp.digest, "mac", cp.mac, "created_at", now,
	    "ledger_schema", LEDGER_SCHEMA_VERSION, "columns", cols);
	s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(m);
	err = export_file_begin(dfd, dir, name, &o, p, cause);
	if (err == ST_OK) {
		export_out_write(&o, s, strlen(s));
		export_out_write(&o, "\n", 1);
		err = export_file_commit(dfd, dir, name, &o, hex, NULL,
		    "after-manifest", p, cause);
	}
	if (err)
		export_file_abort(dfd, name, &o);
	free(s);
	return err;
}

/* Write data file and manifest for the claimed row r; on failure nothing
 * of this export stays under a final name. */
static st_err
deliver(struct ledger *l, int dfd, const char *dir,
    const struct export_request *req, const struct export_row *r,
    const char *data_name, const char *manifest_name, struct export_result *res,
    char **cause)
{
	struct export_out o;
	int busy = 0;
	st_err err;

	err = export_file_begin(dfd, dir, data_name, &o, &res->problem, cause);
	if (err)
		goto fail;
	err = export_write_rows(l, &o, r->format, r, &res->rows, &busy, cause);
	if (err) {
		res->problem = busy ? EXPORT_LEDGER_BUSY : EXPORT_DB;
		goto fail;
	}
	err = export_file_commit(dfd, dir, data_name, &o, res->sha256,
	    "after-write", "after-rename", &res->problem, cause);
	if (err)
		goto fail;
	err = write_manifest(l, dfd, dir, manifest_name, req, r, res, o.bytes,
	    &res->problem, cause);
	if (err) {
		unlinkat(dfd, data_name, 0);
		goto fail;
	}
	return ST_OK;
fail:
	export_file_abort(dfd, data_name, &o);
	return err;
}

st_err
ledger_export(struct ledger *l, const struct export_request *req,
    struct export_result *res, char **cause)
{
	struct export_row r = { 0 };
	char *abs = NULL, *data_name = NULL, *man_name = NULL;
	char from[17], to[17];
	int dfd = -1, lockfd = -1, locked = 0, busy = 0;
	st_err err;

	memset(res, 0, sizeof *res);
	res->problem = EXPORT_IO;
	if (req->dir == NULL || !station_id_ok(req->station_id))
		return st_fail(cause, ST_E_ARG,
		    "an export needs a directory and a station id");
	err = export_lock(l->path, &lockfd, &res->problem, cause);
	if (err)
		goto out;
	err = export_dir_open(req->dir, &dfd, &abs, &res->problem, cause);
	if (err)
		goto out;
	err = ledger_lock(l, cause);
	if (err)
		goto out;
	locked = 1;
	res->problem = EXPORT_DB;
	err = recover(l, res, cause);
	if (err == ST_OK)
		err = plan(l, req, &r, cause);
	if (err == ST_OK)
		err = exports_claim(l, &r, cause);
	if (err) {
		if ((sqlite3_extended_errcode(l->db) & 0xff) == SQLITE_BUSY)
			res->problem = EXPORT_LEDGER_BUSY;
		goto out;
	}
	export_clean_temps(dfd, req->station_id);
	export_compact_time(from, r.from_time);
	export_compact_time(to, r.to_time);
	data_name = xasprintf("%s_%s_%s_%lld.%s", req->station_id, from, to,
	    (long long)r.id, export_format_name(r.format));
	man_name = xasprintf("%s_%s_%s_%lld.manifest.json", req->station_id,
	    from, to, (long long)r.id);
	r.file = xasprintf("%s/%s", abs, data_name);
	r.manifest = xasprintf("%s/%s", abs, man_name);
	res->export_id = r.id;
	res->from_chain_seq = r.from_seq;
	res->to_chain_seq = r.to_seq;
	res->file = xstrdup(r.file);
	res->manifest = xstrdup(r.manifest);
	err = exports_set_names(l, &r, cause);
	if (err)
		goto out;
	err = deliver(l, dfd, abs, req, &r, data_name, man_name, res, cause);
	if (err) {
		exports_mark_failed(l, r.id,
		    cause && *cause ? *cause : "failed while writing", NULL);
		goto out;
	}
	export_crash_point("before-watermark");
	/* If this fails the export stays 'started' with its manifest in
	 * place, and the next export completes it (recover). */
	err = exports_mark_done(l, r.id, res->rows, res->sha256, cause);
	if (err) {
		busy = (sqlite3_extended_errcode(l->db) & 0xff) == SQLITE_BUSY;
		res->problem = busy ? EXPORT_LEDGER_BUSY : EXPORT_DB;
	}
out:
	if (err == ST_OK)
		res->problem = EXPORT_OK;
	if (locked)
		ledger_unlock(l);
	if (dfd >= 0)
		close(dfd);
	if (lockfd >= 0)
		close(lockfd);
	export_row_clear(&r);
	free(abs);
	free(data_name);
	free(man_name);
	return err;
}

st_err
ledger_export_watermark(struct ledger *l, int64_t *seq, char **cause)
{
	st_err err = ledger_lock(l, cause);

	if (err)
		return err;
	err = exports_watermark(l, seq, cause);
	ledger_unlock(l);
	return err;
}

/* A lower-case hex digest of 64 digits. */
static int
is_hex64(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != LEDGER_HASH_HEX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* obj.name as a 64-digit hex string into out[65]; 0 if it is not one. */
static int
hex_field(json_t *obj, const char *name, char *out)
{
	const char *s = json_string_value(json_object_get(obj, name));

	if (!is_hex64(s))
		return 0;
	memcpy(out, s, LEDGER_HASH_HEX_LEN + 1);
	return 1;
}

st_err
ledger_checkpoint_load(const char *manifest, struct ledger_checkpoint *cp,
    char **cause)
{
	json_error_t jerr;
	json_t *m, *k, *c, *seq, *run_seq;
	st_err err = ST_OK;

	memset(cp, 0, sizeof *cp);
	/* The manifest came back from outside: every field is checked for
	 * its form before it is used. */
	m = json_load_file(manifest, JSON_REJECT_DUPLICATES, &jerr);
	if (m == NULL)
		return st_fail(cause, ST_E_IO,
		    "cannot read the manifest %s: %s (line %d)", manifest,
		    jerr.text, jerr.line);
	k = json_object_get(m, "keyed_head");
	c = json_object_get(m, "chain_head");
	seq = json_object_get(k, "seq");
	run_seq = json_object_get(c, "chain_seq");
	if (!json_is_object(k) || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1 ||
	    !hex_field(k, "digest", cp->digest) ||
	    !hex_field(k, "mac", cp->mac)) {
		err = st_fail(cause, ST_E_ARG,
		    "the manifest %s has no well-formed keyed_head (seq, "
		    "digest, mac): it is from a station before the keyed "
		    "chain, or it was changed",
		    manifest);
		goto out;
	}
	cp->seq = json_integer_value(seq);
	if (json_is_object(c) && json_is_integer(run_seq) &&
	    json_integer_value(run_seq) > 0) {
		if (!hex_field(c, "row_hash", cp->run_hash)) {
			err = st_fail(cause, ST_E_ARG,
			    "the manifest %s has a malformed chain_head",
			    manifest);
			goto out;
		}
		cp->run_seq = json_integer_value(run_seq);
	}
out:
	json_decref(m);
	return err;
}
