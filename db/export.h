/*
 * The ERP export: finished runs (PASS and FAIL) with their certificate and
 * device data, written as one CSV or JSON-lines file plus a JSON manifest
 * into a delivery directory, exactly once.  docs/export.md is the
 * integrator's description of the files; this header is the code's.
 *
 * Delivery protocol (each step durable before the next):
 *
 *   1. lock <ledger>.export-lock (one export at a time per ledger), check
 *      the directory, recover exports a killed process left 'started',
 *      remove our stale ".<station>_*.tmp" files;
 *   2. claim: insert an exports row 'started' with the chain_seq range
 *      (since-last: watermark + 1 .. current chain head);
 *   3. write ".<name>.tmp", fflush, fsync, rename to <name>, fsync the dir;
 *   4. the same for <name-without-extension>.manifest.json; the manifest's
 *      rename is the commit point: a data file without its manifest is not
 *      delivered;
 *   5. mark the exports row 'done': the watermark moves.
 *
 * Recovery of a 'started' export: if its manifest exists and names a data
 * file whose SHA-256 matches, the export is completed (marked 'done');
 * otherwise its data file, if any, is removed and the row marked 'failed',
 * so its runs go into the next export.  Either way every run reaches
 * exactly one final file with a manifest.
 *
 * Rows are streamed from SQLite to the file; nothing scales with the
 * number of runs in memory.
 */
#ifndef ST_DB_EXPORT_H
#define ST_DB_EXPORT_H

#include <stdint.h>

#include "db/ledger.h"

enum export_format {
	EXPORT_CSV,
	EXPORT_JSONL,
};

/* Why an export failed, for distinct scheduler messages (all exit 3). */
enum export_problem {
	EXPORT_OK = 0,
	EXPORT_DEST_MISSING,	  /* the directory does not exist */
	EXPORT_DEST_NOT_DIR,	  /* the path is not a directory */
	EXPORT_DEST_NOT_WRITABLE, /* no permission to create files there */
	EXPORT_DISK_FULL,	  /* ENOSPC or EDQUOT while writing */
	EXPORT_LEDGER_BUSY,	  /* SQLITE_BUSY after the busy timeout */
	EXPORT_RUNNING,		  /* another export of this ledger runs */
	EXPORT_IO,		  /* any other file system error */
	EXPORT_DB,		  /* any other ledger error */
};

struct export_request {
	const char *dir;	/* delivery directory (must exist) */
	const char *station_id; /* used in file names: [A-Za-z0-9._-] */
	enum export_format format;
	/* 1: everything finished since the watermark (moves it);
	 * 0: runs with from_ms <= ended_at < to_ms (does not move it). */
	int since_last;
	int64_t from_ms, to_ms;
};

/* Filled by ledger_export; strings owned (export_result_clear). */
struct export_result {
	enum export_problem problem;
	int64_t export_id;
	int64_t rows;
	int64_t from_chain_seq, to_chain_seq; /* the range claimed */
	char *file;	 /* absolute path of the data file */
	char *manifest;	 /* absolute path of the manifest */
	char sha256[65]; /* of the data file */
	int recovered;	 /* killed exports completed or rolled back */
};

void export_result_clear(struct export_result *r);

/* Names of the exported columns, in file order, NULL-terminated. */
extern const char *const export_column_names[];

/* "csv" / "jsonl"; the parse returns -1 for anything else. */
const char *export_format_name(enum export_format f);
int export_format_parse(const char *s, enum export_format *out);

/*
 * Run one export as described above.  On failure res->problem says which
 * kind (the cause names the directory or file).  An export with no rows
 * still writes a file (CSV: the header only) and a manifest.
 *
 * Test hook: STATION_EXPORT_CRASH_AT=after-write|after-rename|
 * after-manifest|before-watermark ends the process with _exit(86) there.
 */
st_err ledger_export(struct ledger *l, const struct export_request *req,
    struct export_result *res, char **cause);

/* The current watermark: highest chain_seq delivered by since-last. */
st_err ledger_export_watermark(struct ledger *l, int64_t *seq, char **cause);

#endif
