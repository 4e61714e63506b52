/*
 * The server-trust step (issue 15, item 6): what the device needs to reach
 * its server after the line, the profile's trust anchors (server_ca) and
 * endpoint, written with WRITE_TRUST and read back byte for byte like the
 * chain.  Before KEYGEN: the trust does not depend on the key (KEYGEN
 * keeps it), so a device that cannot take it, or stores it wrongly, FAILs
 * before a certificate is issued for it.  Only on devices offering
 * CAP_SERVER_TRUST; a profile that asks for nothing leaves every device,
 * protocol v1 firmware included, exactly as before.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/proto/proto.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/xalloc.h"

/* At most this many anchors from one server_ca file. */
#define ANCHORS_MAX 8

struct anchors {
	uint8_t *der[ANCHORS_MAX];
	size_t len[ANCHORS_MAX];
	size_t n;
};

static void
anchors_clear(struct anchors *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->der[i]);
	memset(a, 0, sizeof *a);
}

/* The certificates of the PEM file `path`, in file order. */
static st_err
anchors_load(const char *path, struct anchors *a, char **cause)
{
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	st_err err = ST_OK;

	memset(a, 0, sizeof *a);
	if (fp == NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "profile server_ca %s cannot be read", path);
	for (;;) {
		unsigned char *der = NULL;
		int n;

		x = PEM_read_X509(fp, NULL, NULL, NULL);
		if (x == NULL)
			break;
		n = i2d_X509(x, &der);
		X509_free(x);
		if (n <= 0 || a->n == ANCHORS_MAX) {
			OPENSSL_free(der);
			err = st_fail(cause, ST_E_CONFIG,
			    "profile server_ca %s: more than %d certificates "
			    "or one that cannot be encoded",
			    path, ANCHORS_MAX);
			goto out;
		}
		a->der[a->n] = xmemdup(der, (size_t)n);
		a->len[a->n++] = (size_t)n;
		OPENSSL_free(der);
	}
	if (a->n == 0)
		err = st_fail(cause, ST_E_CONFIG,
		    "profile server_ca %s holds no PEM certificate", path);
out:
	ERR_clear_error();
	fclose(fp);
	if (err)
		anchors_clear(a);
	return err;
}

st_err
step_trust(struct run *r)
{
	const struct profile *p = r->profile;
	struct anchors a = { 0 };
	struct dev_trust t = { 0 };
	uint8_t *want = NULL, *got = NULL;
	size_t want_len = 0, got_len = 0;
	st_err err = ST_OK;

	if (p->server_ca == NULL && p->endpoint_host == NULL) {
		r->step_note = "skipped";
		return ST_OK;
	}
	if ((r->info.caps & PROTO_CAP_SERVER_TRUST) == 0)
		return st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "profile '%s' writes server trust, but the device does "
		    "not offer CAP_SERVER_TRUST (HELLO capabilities 0x%08x "
		    "lack 0x%08x): its firmware cannot store trust anchors "
		    "or an endpoint",
		    p->name, (unsigned)r->info.caps,
		    (unsigned)PROTO_CAP_SERVER_TRUST);
	if (p->server_ca != NULL) {
		err = anchors_load(p->server_ca, &a, &r->cause);
		if (err)
			goto out;
	}
	t.anchor = (const uint8_t *const *)a.der;
	t.anchor_len = a.len;
	t.n_anchors = a.n;
	t.host = p->endpoint_host;
	t.port = (uint16_t)p->endpoint_port;
	err = dev_write_trust(r->client, &t, &r->cause);
	if (err)
		goto out;
	want = dev_trust_message(&t, &want_len);
	err = dev_read_trust(r->client, &got, &got_len, &r->cause);
	if (err)
		goto out;
	if (got_len != want_len || memcmp(got, want, got_len) != 0) {
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "device returned different server trust (%zu bytes, "
		    "expected %zu)",
		    got_len, want_len);
		goto out;
	}
	if (t.host != NULL)
		run_info(r,
		    "server trust written: %zu anchor(s), endpoint %s:%u", a.n,
		    t.host, (unsigned)t.port);
	else
		run_info(r, "server trust written: %zu anchor(s)", a.n);
out:
	free(want);
	free(got);
	anchors_clear(&a);
	return err;
}
