/*
 * Inside the keyed chain (keyed*.c): what its files share.  keyed.c holds
 * the encodings, the digest and the MAC (ledger.h specifies them) and the
 * SQL functions; keyed_key.c the key file; keyed_triggers.c the chain
 * triggers and sealing; keyed_verify.c the verification.  Not for use
 * outside db/.
 */
#ifndef ST_DB_KEYED_INT_H
#define ST_DB_KEYED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "db/ledger_int.h"

/* The MAC before entry 1: 64 '0's. */
extern const char keyed_zero_mac[LEDGER_HASH_HEX_LEN + 1];

/*
 * A table that carries evidence: its name, the column that names a row
 * (kept as text in chain_log.row_key) and the SQL expression that turns
 * chain_log c's row_key back into that column's value.
 */
struct keyed_table {
	const char *name, *key, *lookup;
};
extern const struct keyed_table keyed_tables[];
extern const size_t keyed_n_tables;

/* A growing byte string for the encodings (buf owned, NUL-terminated). */
struct keyed_enc {
	char *buf;
	size_t len, cap;
};
void keyed_enc_put(struct keyed_enc *e, const void *p, size_t n);
/* "T<len>:<bytes>" */
void keyed_enc_text(struct keyed_enc *e, const char *s, size_t n);
/* "I<decimal>;" */
void keyed_enc_int(struct keyed_enc *e, int64_t v);

/* `n` bytes as lower-case hex into `hex` (2n + 1 bytes). */
void keyed_hex(const unsigned char *bin, size_t n, char *hex);
/* SHA-256 of p as hex; -1 if it cannot be computed. */
int keyed_sha256_hex(const struct ledger *l, const void *p, size_t n,
    char hex[LEDGER_HASH_HEX_LEN + 1]);
/* The MAC of a keyed chain entry (ledger.h) under the loaded key; -1
 * without a key or on a crypto failure. */
int keyed_mac_hex(const struct ledger *l, const char *prev, int64_t seq,
    const char *tbl, const char *row_key, const char *digest,
    char hex[LEDGER_HASH_HEX_LEN + 1]);
/* ledger_digest('<table>', 'col1', <p>"col1", ...) over the table's
 * columns as they are now; *out owned by the caller. */
st_err keyed_digest_expr(struct ledger *l, const struct keyed_table *t,
    const char *p, char **out, char **cause);

/* keyed_key.c.  ST_E_CONFIG when the key file and the ledger share a
 * directory. */
st_err keyed_key_apart(const char *key_path, const char *ledger_path,
    char **cause);
/* Load the key file into l (ledger.h's rules for it); ST_E_NOTFOUND when
 * it does not exist. */
st_err keyed_key_read(struct ledger *l, const char *path, char **cause);
/* Make a new random key file at `path` (whole or not at all). */
st_err keyed_key_create(const char *path, char **cause);

#endif
