/* Test support: searching files for secrets (secret_scan.h). */
#define _GNU_SOURCE /* nftw, memmem */
#include "tests/support/secret_scan.h"

#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "station/util/xalloc.h"
#include "tests/support/station_env.h"

struct secret {
	char *what;
	uint8_t *bytes;
	size_t len;
};

struct secret_set {
	struct secret *v;
	size_t n, cap;
};

struct secret_set *
secret_set_new(void)
{
	return xcalloc(1, sizeof(struct secret_set));
}

void
secret_set_free(struct secret_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].what);
		free(s->v[i].bytes);
	}
	free(s->v);
	free(s);
}

size_t
secret_set_count(const struct secret_set *s)
{
	return s->n;
}

void
secret_set_add(struct secret_set *s, const char *what, const void *bytes,
    size_t len)
{
	if (len == 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].len == len &&
		    memcmp(s->v[i].bytes, bytes, len) == 0)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n].what = xstrdup(what);
	s->v[s->n].bytes = xmemdup(bytes, len);
	s->v[s->n].len = len;
	s->n++;
}

static void
add_hex(struct secret_set *s, const char *what, const uint8_t *p, size_t len)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	char *a = xmalloc(2 * len + 1), *b = xmalloc(2 * len + 1);

	for (size_t i = 0; i < len; i++) {
		a[2 * i] = lo[p[i] >> 4];
		a[2 * i + 1] = lo[p[i] & 15];
		b[2 * i] = up[p[i] >> 4];
		b[2 * i + 1] = up[p[i] & 15];
	}
	char *w = xasprintf("%s (hex)", what);
	secret_set_add(s, w, a, 2 * len);
	secret_set_add(s, w, b, 2 * len);
	free(w);
	free(a);
	free(b);
}

/* Base64 of 45 bytes from offsets 0, 1 and 2: 60 characters that any
 * base64 text holding those bytes contains within one 64-column line. */
static void
add_base64(struct secret_set *s, const char *what, const uint8_t *p, size_t len)
{
	char *w = xasprintf("%s (base64)", what);

	for (size_t off = 0; off < 3 && off + 45 <= len; off++) {
		unsigned char out[64];
		int n = EVP_EncodeBlock(out, p + off, 45);

		secret_set_add(s, w, out, (size_t)n);
	}
	free(w);
	/* A key shorter than that is searched for whole. */
	if (len < 48) {
		unsigned char out[80];
		int n = EVP_EncodeBlock(out, p, (int)len);

		secret_set_add(s, what, out, (size_t)n);
	}
}

static void
add_forms(struct secret_set *s, const char *what, const uint8_t *p, size_t len)
{
	secret_set_add(s, what, p, len);
	add_hex(s, what, p, len);
	add_base64(s, what, p, len);
}

int
secret_set_add_key_der(struct secret_set *s, const char *what,
    const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &q, (long)len);
	BIGNUM *priv = NULL;
	unsigned char *p8 = NULL;

	if (k == NULL)
		return -1;
	add_forms(s, what, der, len);
	/* The PKCS#8 form too: what PEM "PRIVATE KEY" files hold. */
	int n = i2d_PrivateKey(k, &p8);
	PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(k);
	unsigned char *pk8 = NULL;
	int n8 = info ? i2d_PKCS8_PRIV_KEY_INFO(info, &pk8) : -1;
	if (n > 0)
		add_forms(s, what, p8, (size_t)n);
	if (n8 > 0)
		add_forms(s, what, pk8, (size_t)n8);
	/* The bare secret: EC private scalar, or RSA private exponent. */
	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &priv) ||
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_D, &priv)) {
		int blen = BN_num_bytes(priv);
		uint8_t *raw = xmalloc((size_t)blen + 1);

		BN_bn2bin(priv, raw);
		char *w = xasprintf("%s (private scalar)", what);
		add_forms(s, w, raw, (size_t)blen);
		free(w);
		free(raw);
	}
	BN_clear_free(priv);
	OPENSSL_free(p8);
	OPENSSL_free(pk8);
	PKCS8_PRIV_KEY_INFO_free(info);
	EVP_PKEY_free(k);
	return 0;
}

static const struct secret_set *scan_set;
static const char *const *scan_allowed;
static int scan_findings, scan_files;
static int scan_control; /* findings are the control's, expected */

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
scan_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	size_t len = 0;
	uint8_t *buf = slurp(path, &len);
	if (buf == NULL) {
		fprintf(stderr, "secret scan: cannot read %s\n", path);
		scan_findings++;
		return 0;
	}
	scan_files++;
	if (memmem(buf, len, "PRIVATE KEY", 11) != NULL) {
		int allowed = 0;

		for (size_t i = 0; scan_allowed && scan_allowed[i]; i++)
			allowed |= ends_with(path, scan_allowed[i]);
		if (!allowed) {
			fprintf(stderr,
			    "secret scan: %s holds a PRIVATE KEY "
			    "block\n",
			    path);
			scan_findings++;
		} else if ((sb->st_mode & 0777) != 0600) {
			fprintf(stderr,
			    "secret scan: key file %s has mode "
			    "%03o, not 600\n",
			    path, sb->st_mode & 0777);
			scan_findings++;
		}
	}
	for (size_t i = 0; i < scan_set->n; i++) {
		const struct secret *s = &scan_set->v[i];

		if (memmem(buf, len, s->bytes, s->len) != NULL) {
			fprintf(stderr, "secret scan%s: %s contains %s%s\n",
			    scan_control ? " (control)" : "", path, s->what,
			    scan_control ? ": the simulated chip's own state, "
					   "found as designed" :
					   "");
			scan_findings++;
		}
	}
	free(buf);
	return 0;
}

int
secret_scan_control(const struct secret_set *s, const char *path)
{
	int n;

	scan_control = 1;
	n = secret_scan(s, path, NULL, NULL);
	scan_control = 0;
	return n;
}

int
secret_scan(const struct secret_set *s, const char *path,
    const char *const *allowed_key_files, int *files)
{
	scan_set = s;
	scan_allowed = allowed_key_files;
	scan_findings = 0;
	scan_files = 0;
	if (nftw(path, scan_one, 16, FTW_PHYS) != 0) {
		fprintf(stderr, "secret scan: cannot walk %s\n", path);
		scan_findings++;
	}
	if (files)
		*files += scan_files;
	return scan_findings;
}
