/* Helpers shared by the remote CA backends (see remote.h). */
#include "station/ca/remote.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"

st_err
remote_require(const struct ca_settings *s, const char *backend,
    const char *key, const char **out, char **cause)
{
	*out = ca_settings_get(s, key);
	if (*out == NULL || (*out)[0] == '\0')
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] key '%s': missing "
		    "(needed by the %s backend)",
		    key, backend);
	return ST_OK;
}

st_err
remote_http_setup(const struct ca_settings *s, const char *backend,
    const char **addr, struct http_opts *http, char **cause)
{
	st_err err;

	err = remote_require(s, backend, "addr", addr, cause);
	if (err)
		return err;
	err = http_check_addr("addr", *addr, cause);
	if (err)
		return err;
	return http_opts_load(s, http, cause);
}

char *
remote_url(const char *addr, const char *path)
{
	size_t n = strlen(addr);

	while (n > 0 && addr[n - 1] == '/')
		n--;
	while (*path == '/')
		path++;
	return xasprintf("%.*s/%s", (int)n, addr, path);
}

char *
remote_csr_pem(X509_REQ *csr)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	char *pem;

	if (b == NULL || !PEM_write_bio_X509_REQ(b, csr)) {
		BIO_free(b);
		return xstrdup("");
	}
	n = BIO_get_mem_data(b, &data);
	pem = xstrndup(data, (size_t)n);
	BIO_free(b);
	return pem;
}

/* 1 if the serial number is a positive integer (RFC 5280 4.1.2.2). */
static int
serial_positive(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	int ok = bn != NULL && !BN_is_negative(bn) && !BN_is_zero(bn);

	BN_free(bn);
	return ok;
}

st_err
remote_cert_from_pem(const char *pem, const char *what, X509 **out,
    char **cause)
{
	BIO *b = BIO_new_mem_buf(pem, -1);

	*out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (*out == NULL)
		return st_fail_ssl(cause, ST_E_CA,
		    "%s is not a PEM "
		    "certificate",
		    what);
	/* The serial is recorded in hex and revoked by: a negative or zero
	 * one would be stored as "-1a2b" or "0", which no CA revokes. */
	if (!serial_positive(*out)) {
		X509_free(*out);
		*out = NULL;
		ERR_clear_error();
		return st_fail(cause, ST_E_CA,
		    "%s: the certificate's serial "
		    "number is not a positive integer",
		    what);
	}
	return ST_OK;
}

st_err
remote_chain_add_pem(STACK_OF(X509) * chain, const char *pem, const char *what,
    char **cause)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	int n = 0;
	X509 *x = NULL;

	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	while (x != NULL) {
		sk_X509_push(chain, x);
		n++;
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	ERR_clear_error(); /* the read that ended the loop */
	if (n == 0)
		return st_fail(cause, ST_E_CA, "%s holds no PEM certificate",
		    what);
	return ST_OK;
}

st_err
remote_chain_file(const char *path, STACK_OF(X509) * *out, char **cause)
{
	BIO *b = BIO_new_file(path, "r");
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	*out = NULL;
	if (b == NULL) {
		sk_X509_free(chain);
		ERR_clear_error();
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] chain_file: cannot "
		    "read %s",
		    path);
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	while (x != NULL) {
		sk_X509_push(chain, x);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	if (sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] chain_file: %s holds "
		    "no PEM certificate",
		    path);
	}
	*out = chain;
	return ST_OK;
}

st_err
remote_json(const struct http_reply *r, const char *what, json_t **out,
    char **cause)
{
	json_error_t jerr;

	*out = json_loadb(r->body, r->len, 0, &jerr);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return st_fail(cause, ST_E_CA,
		    "%s: the reply (HTTP %ld) is "
		    "not a JSON object",
		    what, r->status);
	}
	return ST_OK;
}

const char *
remote_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Append one message to buf, printable characters only. */
static void
append_msg(char *buf, size_t cap, const char *msg)
{
	size_t len = strlen(buf);

	if (msg == NULL || msg[0] == '\0')
		return;
	if (len > 0 && len + 2 < cap) {
		memcpy(buf + len, "; ", 3);
		len += 2;
	}
	for (; *msg && len + 1 < cap; msg++)
		buf[len++] = isprint((unsigned char)*msg) ? *msg : ' ';
	buf[len] = '\0';
}

static void
append_list(char *buf, size_t cap, json_t *v)
{
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		append_msg(buf, cap, json_string_value(v));
		return;
	}
	json_array_foreach(v, i, e)
	{
		if (json_is_string(e))
			append_msg(buf, cap, json_string_value(e));
		else
			append_msg(buf, cap, remote_json_str(e, "message"));
	}
}

char *
remote_error_text(const struct http_reply *r)
{
	char buf[REMOTE_MSG_MAX + 1] = "";
	json_t *root = json_loadb(r->body, r->len, 0, NULL);

	if (!json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	append_list(buf, sizeof buf, json_object_get(root, "errors"));
	if (buf[0] == '\0')
		append_list(buf, sizeof buf, json_object_get(root, "message"));
	if (buf[0] == '\0')
		append_list(buf, sizeof buf, json_object_get(root, "error"));
	json_decref(root);
	return buf[0] ? xstrdup(buf) : NULL;
}

/* Normalise a serial: lower-case hex digits only, no leading zeros. */
static void
serial_norm(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 1 < cap; in++) {
		if (*in == ':' || (n == 0 && *in == '0'))
			continue;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
}

int
remote_serial_equal(const char *a, const char *b)
{
	char x[128], y[128];

	serial_norm(a, x, sizeof x);
	serial_norm(b, y, sizeof y);
	return strcmp(x, y) == 0;
}

void
remote_issued_take(struct ca_issued *out, X509 *cert, STACK_OF(X509) * chain)
{
	out->cert = cert;
	out->chain = chain ? chain : sk_X509_new_null();
	out->serial_hex = cert_serial_hex(cert);
}
