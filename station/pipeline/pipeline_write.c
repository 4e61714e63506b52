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
#include "station/pipeline/pipeline_run.h"
#include "station/util/xalloc.h"

/* The chain the profile wants on the device, as DER certificates. */
struct der_list {
	uint8_t *der[4];
	size_t len[4];
	size_t n;
};

static void
der_list_add(struct der_list *l, X509 *x)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	if (n <= 0 || l->n == sizeof l->der / sizeof l->der[0]) {
		OPENSSL_free(p);
		return;
	}
	l->der[l->n] = xmemdup(p, (size_t)n);
	l->len[l->n] = (size_t)n;
	l->n++;
	OPENSSL_free(p);
}

static void
der_list_clear(struct der_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->der[i]);
	memset(l, 0, sizeof *l);
}

static void
build_chain(struct run *r, struct der_list *out)
{
	STACK_OF(X509) *chain = r->issued.chain;
	int n = chain ? sk_X509_num(chain) : 0;

	memset(out, 0, sizeof *out);
	switch (r->profile->chain) {
	case CHAIN_ROOT_ONLY:
		der_list_add(out, r->st->root);
		break;
	case CHAIN_CA_ONLY:
		if (n > 0)
			der_list_add(out, sk_X509_value(chain, 0));
		break;
	case CHAIN_INTERMEDIATE_AND_ROOT:
		/* Everything the CA returned except a self-signed root, then
		 * the pinned root: the device gets the root the station
		 * verified against, whatever the backend sent. */
		for (int i = 0; i < n; i++) {
			X509 *x = sk_X509_value(chain, i);

			if (X509_NAME_cmp(X509_get_subject_name(x),
				X509_get_issuer_name(x)) != 0)
				der_list_add(out, x);
		}
		der_list_add(out, r->st->root);
		break;
	}
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
	if (err)
		return err;
	return set_status(r, "written");
}

st_err
step_readback(struct run *r)
{
	struct der_list cert = { 0 }, chain;
	struct tlv_writer w;
	uint8_t *got = NULL, *want = NULL;
	size_t got_len = 0, want_len = 0;
	st_err err;

	der_list_add(&cert, r->issued.cert);
	err = dev_read_cert(r->client, &got, &got_len, &r->cause);
	if (err == ST_OK &&
	    (got_len != cert.len[0] || memcmp(got, cert.der[0], got_len) != 0))
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "device returned a different certificate (%zu bytes, "
		    "expected %zu)",
		    got_len, cert.len[0]);
	free(got);
	got = NULL;
	der_list_clear(&cert);
	if (err)
		return err;

	/* The chain comes back as the CERT TLVs that were written. */
	build_chain(r, &chain);
	tlv_writer_init(&w);
	for (size_t i = 0; i < chain.n; i++)
		tlv_put(&w, PROTO_T_CERT, chain.der[i], chain.len[i]);
	want = tlv_writer_take(&w, &want_len);
	der_list_clear(&chain);
	err = dev_read_chain(r->client, &got, &got_len, &r->cause);
	if (err == ST_OK &&
	    (got_len != want_len || memcmp(got, want, got_len) != 0))
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "device returned a different chain (%zu bytes, expected "
		    "%zu)",
		    got_len, want_len);
	free(got);
	free(want);
	if (err)
		return err;
	return set_status(r, "verified");
}

st_err
step_commit(struct run *r)
{
	/* A superseded certificate is revoked when the run has ended
	 * (pipeline.c), whatever its result: not here. */
	return dev_commit(r->client, r->profile->lock, &r->cause);
}
