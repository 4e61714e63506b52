/*
 * Pipeline steps that touch the device's storage, and the last proofs:
 * write certificate and chain, read them back byte for byte, the smoke
 * test, commit.  Each success moves the certificate's ledger status on
 * (written, verified), so a crash leaves the ledger telling the truth.
 */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "station/config/config.h"
#include "station/x509/dn.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

/* DER certificates: the device certificate, or the chain the profile
 * wants on the device, in order (as long as the verified path is); x[i]
 * is the certificate der[i] encodes (borrowed). */
struct der_list {
	uint8_t **der;
	size_t *len;
	X509 **x;
	size_t n;
};

static void
der_list_add(struct der_list *l, X509 *x)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	/* A certificate that went through cert-check encodes. */
	if (n <= 0) {
		OPENSSL_free(p);
		return;
	}
	l->der = xrealloc(l->der, (l->n + 1) * sizeof *l->der);
	l->len = xrealloc(l->len, (l->n + 1) * sizeof *l->len);
	l->x = xrealloc(l->x, (l->n + 1) * sizeof *l->x);
	l->der[l->n] = xmemdup(p, (size_t)n);
	l->len[l->n] = (size_t)n;
	l->x[l->n] = x;
	l->n++;
	OPENSSL_free(p);
}

static void
der_list_clear(struct der_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->der[i]);
	free(l->der);
	free(l->len);
	free(l->x);
	memset(l, 0, sizeof *l);
}

/* Another reference to a certificate the device returned byte for byte:
 * the same bytes are the same certificate, so it is not decoded again. */
static X509 *
same_cert(X509 *x)
{
	X509_up_ref(x);
	return x;
}

/* The chain the profile wants on the device, from the verified path
 * (cert-check made r->issued.chain the path from the issuer up to the
 * pinned root): full = all of it, ca = without the root, none = empty. */
static void
build_chain(struct run *r, struct der_list *out)
{
	STACK_OF(X509) *path = r->issued.chain;
	int n = path ? sk_X509_num(path) : 0;

	memset(out, 0, sizeof *out);
	if (r->profile->chain == CHAIN_NONE)
		return;
	if (r->profile->chain == CHAIN_CA && n > 0)
		n--;
	for (int i = 0; i < n; i++)
		der_list_add(out, sk_X509_value(path, i));
}

static st_err
set_status(struct run *r, const char *status)
{
	st_err err = ledger_cert_set_status(r->st->ledger, r->issued.serial_hex,
	    status, NULL, &r->cause);

	if (err)
		return st_wrap(&r->cause, err, "marking certificate %s %s",
		    r->issued.serial_hex, status);
	return ST_OK;
}

st_err
step_write(struct run *r)
{
	st_err err = r->dialect->write(r);

	if (err)
		return err;
	return set_status(r, "written");
}

st_err
v1_write(struct run *r)
{
	struct der_list cert = { 0 }, chain;
	st_err err;

	der_list_add(&cert, r->issued.cert);
	build_chain(r, &chain);
	err = dev_write_cert(r->client, cert.der[0], cert.len[0], &r->cause);
	if (err == ST_OK) {
		run_info(r, "certificate written (%zu bytes)", cert.len[0]);
		err = dev_write_chain(r->client,
		    (const uint8_t *const *)chain.der, chain.len, chain.n,
		    &r->cause);
		if (err)
			st_wrap(&r->cause, err,
			    "writing the chain (the "
			    "certificate itself was written)");
	}
	der_list_clear(&cert);
	der_list_clear(&chain);
	return err;
}

/* The subject of a DER certificate, for a message (caller frees). */
static char *
der_subject(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char *dn = x ? dn_format(X509_get_subject_name(x)) : NULL;
	char *shown = text_escape(dn ? dn : "(not a certificate)", 128);

	X509_free(x);
	free(dn);
	return shown;
}

/*
 * The chain read back (`got`, CERT TLVs) against the one written: the
 * first difference named by position and subject, so that a device that
 * reorders or loses part of its chain is told apart from one that
 * corrupts it.  On success *held is the chain as the device holds it.
 */
static st_err
held_chain_check(struct run *r, const uint8_t *got, size_t got_len,
    const struct der_list *want, STACK_OF(X509) * *held)
{
	struct tlv t;
	size_t pos = 0, i = 0;
	char *a = NULL, *b = NULL;
	st_err err = ST_OK;

	*held = sk_X509_new_null();
	while (err == ST_OK && tlv_next(got, got_len, &pos, &t)) {
		if (i < want->n && t.tag == PROTO_T_CERT &&
		    t.len == want->len[i] &&
		    memcmp(t.val, want->der[i], t.len) == 0) {
			sk_X509_push(*held, same_cert(want->x[i]));
			i++;
			continue;
		}
		if (i >= want->n) {
			err = st_fail(&r->cause, ST_E_MISMATCH,
			    "the device holds more than the %zu chain "
			    "certificate(s) written",
			    want->n);
			break;
		}
		a = t.tag == PROTO_T_CERT ? der_subject(t.val, t.len) :
					    xasprintf("tag 0x%02x", t.tag);
		b = der_subject(want->der[i], want->len[i]);
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "the device's chain is broken: certificate %zu is '%s' "
		    "where '%s' was written",
		    i + 1, a, b);
	}
	if (err == ST_OK && (pos != got_len || i != want->n))
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "the device's chain is broken: %zu of the %zu "
		    "certificate(s) written came back (%zu bytes)",
		    i, want->n, got_len);
	if (err) {
		sk_X509_pop_free(*held, X509_free);
		*held = NULL;
	}
	free(a);
	free(b);
	return err;
}

st_err
step_readback(struct run *r)
{
	st_err err = r->dialect->readback(r);

	if (err)
		return err;
	return set_status(r, "verified");
}

st_err
v1_readback(struct run *r)
{
	struct der_list cert = { 0 }, chain;
	uint8_t *got = NULL;
	size_t got_len = 0;
	st_err err;

	der_list_add(&cert, r->issued.cert);
	build_chain(r, &chain);
	err = dev_read_cert(r->client, &got, &got_len, &r->cause);
	if (err)
		goto out;
	if (got_len != cert.len[0] || memcmp(got, cert.der[0], got_len) != 0) {
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "device returned a different certificate (%zu bytes, "
		    "expected %zu)",
		    got_len, cert.len[0]);
		goto out;
	}
	r->held_cert = same_cert(r->issued.cert);
	free(got);
	got = NULL;
	/* The chain comes back as the CERT TLVs that were written, in that
	 * order: the path from the certificate's issuer upward. */
	err = dev_read_chain(r->client, &got, &got_len, &r->cause);
	if (err)
		goto out;
	err = held_chain_check(r, got, got_len, &chain, &r->held_chain);
out:
	free(got);
	der_list_clear(&cert);
	der_list_clear(&chain);
	return err;
}

st_err
step_commit(struct run *r)
{
	/* A superseded certificate is revoked when the run has ended
	 * (pipeline.c), whatever its result: not here. */
	return r->dialect->commit(r);
}

st_err
v1_commit(struct run *r)
{
	return dev_commit(r->client, r->profile->lock, &r->cause);
}
