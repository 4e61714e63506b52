/*
 * The ledger key file (see ledger.h, "Keyed chain"): where it lives, how
 * it is read (a file of this user alone) and made (whole, under a
 * temporary name), and the HMAC context it is loaded into.
 */
#include "db/keyed_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

char *
ledger_key_default_path(const char *ledger_path)
{
	const char *env = getenv("STATION_LEDGER_KEY");
	char *copy, *dir, real[PATH_MAX], *out;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	copy = xstrdup(ledger_path);
	dir = dirname(copy);
	if (realpath(dir, real) == NULL)
		out = xasprintf("%s-key/ledger.key", dir);
	else
		out = xasprintf("%s-key/ledger.key",
		    strcmp(real, "/") == 0 ? "" : real);
	free(copy);
	return out;
}

/* The key must not sit beside the ledger: whoever copies the directory
 * would take both. */
st_err
keyed_key_apart(const char *key_path, const char *ledger_path, char **cause)
{
	char *a = xstrdup(key_path), *b = xstrdup(ledger_path);
	char ra[PATH_MAX], rb[PATH_MAX];
	st_err err = ST_OK;

	if (realpath(dirname(a), ra) != NULL &&
	    realpath(dirname(b), rb) != NULL && strcmp(ra, rb) == 0)
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is in the ledger's own directory: "
		    "keep it elsewhere (STATION_LEDGER_KEY, docs/admin.md)",
		    key_path);
	free(a);
	free(b);
	return err;
}

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* The HMAC-SHA256 context holding the key, made once per open. */
static st_err
mac_init(struct ledger *l, char **cause)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	st_err err = ST_OK;

	EVP_MAC_CTX_free(l->mac_base);
	l->mac_base = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (l->mac_base == NULL ||
	    !EVP_MAC_init(l->mac_base, l->key, sizeof l->key, params)) {
		EVP_MAC_CTX_free(l->mac_base);
		l->mac_base = NULL;
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "loading the ledger key into HMAC-SHA256");
	}
	EVP_MAC_free(mac);
	return err;
}

void
ledger_keyed_forget(struct ledger *l)
{
	EVP_MAC_CTX_free(l->mac_base);
	l->mac_base = NULL;
	OPENSSL_cleanse(l->key, sizeof l->key);
	l->keyed = 0;
}

void
ledger_keyed_free(struct ledger *l)
{
	EVP_MAC_CTX_free(l->mac_base);
	l->mac_base = NULL;
	EVP_MD_free(l->sha256);
	l->sha256 = NULL;
	OPENSSL_cleanse(l->key, sizeof l->key);
	l->keyed = 0;
}

/* Read the key file: 64 lower-case hex digits and a newline, a regular
 * file of this user that nobody else may read.  ST_E_NOTFOUND when it
 * does not exist. */
st_err
keyed_key_read(struct ledger *l, const char *path, char **cause)
{
	char buf[LEDGER_HASH_HEX_LEN + 2];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	st_err err = ST_OK;

	if (fd < 0 && errno == ENOENT)
		return st_fail(cause, ST_E_NOTFOUND,
		    "the ledger key %s does not exist", path);
	if (fd < 0)
		return st_fail(cause, ST_E_CONFIG,
		    "cannot open the ledger key %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s may be read by others (mode %03o): "
		    "it must be mode 0600 (chmod 600)",
		    path, (unsigned)(sb.st_mode & 0777));
		goto out;
	}
	/* Another user's key (root may read the station user's, to
	 * verify): whoever owns it could change it. */
	if (sb.st_uid != geteuid() && geteuid() != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s belongs to uid %u, not to this user "
		    "(uid %u): run the station as its own user",
		    path, (unsigned)sb.st_uid, (unsigned)geteuid());
		goto out;
	}
	n = read(fd, buf, sizeof buf);
	if (n < LEDGER_HASH_HEX_LEN ||
	    (n == LEDGER_HASH_HEX_LEN + 1 &&
		buf[LEDGER_HASH_HEX_LEN] != '\n') ||
	    unhex(buf, l->key, sizeof l->key) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not 64 hex digits: restore it from "
		    "its backup (docs/admin.md)",
		    path);
		goto out;
	}
	err = mac_init(l, cause);
	if (err == ST_OK)
		l->keyed = 1;
out:
	close(fd);
	return err;
}

/* A new random key at `path`, made whole under a temporary name and
 * linked into place, so two processes never see half a key and the
 * second finds the first one's. */
st_err
keyed_key_create(const char *path, char **cause)
{
	unsigned char key[32];
	char hex[LEDGER_HASH_HEX_LEN + 2];
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	char *copy = xstrdup(path);
	int fd = -1, dfd = -1;
	st_err err = ST_OK;

	if (RAND_bytes(key, sizeof key) != 1) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "making a ledger key");
		goto out;
	}
	keyed_hex(key, sizeof key, hex);
	hex[LEDGER_HASH_HEX_LEN] = '\n';
	/* The key's own directory, for the station user alone; an
	 * installed station has it from tmpfiles.d. */
	if (mkdir(dirname(copy), 0700) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO,
		    "cannot create the ledger key's directory %s: %s", copy,
		    strerror(errno));
		goto out;
	}
	free(copy);
	copy = xstrdup(path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 ||
	    write(fd, hex, LEDGER_HASH_HEX_LEN + 1) !=
		LEDGER_HASH_HEX_LEN + 1 ||
	    fsync(fd) != 0) {
		err = st_fail(cause, ST_E_IO,
		    "cannot write the ledger key %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO,
		    "cannot create the ledger key %s: %s", path,
		    strerror(errno));
		goto out;
	}
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
out:
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(hex, sizeof hex);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dfd >= 0)
		close(dfd);
	free(tmp);
	free(copy);
	return err;
}

st_err
ledger_key_init(const char *key_path, const char *ledger_path, char **cause)
{
	struct ledger probe = { .keyed = 0 };
	st_err err;

	if (ledger_path != NULL) {
		err = keyed_key_apart(key_path, ledger_path, cause);
		if (err)
			return err;
	}
	err = keyed_key_read(&probe, key_path, NULL);
	ledger_keyed_free(&probe);
	if (err == ST_OK)
		return st_fail(cause, ST_E_EXISTS,
		    "the ledger key %s exists already; a new one would "
		    "disown the ledger it seals",
		    key_path);
	err = keyed_key_create(key_path, cause);
	if (err == ST_OK)
		err = keyed_key_read(&probe, key_path, cause);
	ledger_keyed_free(&probe);
	return err;
}

void
ledger_keyed_preload(struct ledger *l, const char *key_path)
{
	if (keyed_key_read(l, key_path, NULL) != ST_OK)
		OPENSSL_cleanse(l->key, sizeof l->key);
}
