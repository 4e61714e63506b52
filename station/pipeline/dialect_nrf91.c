/*
 * The nRF91 dialect: Nordic nRF91 modems provisioned through the AT
 * interface their firmware already has (the modem's %KEYGEN, %CMNG,
 * +CGSN, %XMODEMUUID, +CFUN; the Serial LTE Modem's #XMQTT*), no new
 * firmware.  URI: "nrf91:" in front of a transport URI.
 *
 *	hello     AT+CMEE=1 first (the modem boots with +CMEE: 0: every
 *	          failure a bare ERROR), the serial from AT+CGSN=1 (IMEI)
 *	          or AT%XMODEMUUID (profile nrf91_identity), AT%SHORTSWVER,
 *	          and the functional mode found (AT+CFUN?), put back at the
 *	          end
 *	keygen    AT+CFUN=4 (credentials are written offline) checked with
 *	          AT+CFUN?, then AT%KEYGEN=<sec_tag>,2,0,"<subject>": the
 *	          CSR and its COSE_Sign1, parsed and recorded
 *	write     AT%CMNG=0,<sec_tag>,0,"<CA PEM>" and ...,1,"<client PEM>"
 *	readback  AT%CMNG=1,<sec_tag>: the modem's SHA-256 of each text
 *	          equals the SHA-256 of exactly the text written
 *	smoke     device-driven (dialect_nrf91_smoke.c)
 *	finish    AT+CFUN=<as found>
 *
 * The modem signs no digest of the station's: the proof step is skipped
 * and the smoke test proves the key.  Everything the modem says is
 * hostile: lengths bounded by the AT channel, shown through text_escape.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/at/at.h"
#include "station/pipeline/dialect_nrf91.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct nrf91 *
nrf91_of(struct run *r)
{
	return r->dialect_state;
}

/* A command whose answer is one line with `prefix`: *out (caller frees). */
st_err
nrf91_query(struct run *r, const char *cmd, const char *prefix, char **out)
{
	struct nrf91 *n = nrf91_of(r);
	char **lines = NULL;
	st_err err = at_cmd(n->at, cmd, prefix, &lines, &r->cause);

	*out = NULL;
	if (err)
		return err;
	if (lines[0] == NULL || lines[1] != NULL) {
		at_lines_free(lines);
		return st_fail(&r->cause, ST_E_PROTO,
		    "%s: expected one %s line in the answer", cmd, prefix);
	}
	*out = xstrdup(lines[0]);
	at_lines_free(lines);
	return ST_OK;
}

/* The functional mode now (AT+CFUN?). */
static st_err
cfun_get(struct run *r, int *mode)
{
	char *line = NULL;
	long long v;
	st_err err = nrf91_query(r, "AT+CFUN?", "+CFUN:", &line);

	if (err)
		return err;
	if (!num_valid(line, 0, 255, &v)) {
		char *shown = text_escape(line, 40);

		err = st_fail(&r->cause, ST_E_PROTO,
		    "AT+CFUN? answered '+CFUN: %s', not a mode", shown);
		free(shown);
	} else {
		*mode = (int)v;
	}
	free(line);
	return err;
}

st_err
nrf91_cfun_set(struct run *r, int mode)
{
	char cmd[16];
	int now = -1;
	st_err err;

	snprintf(cmd, sizeof cmd, "AT+CFUN=%d", mode);
	err = at_cmd(nrf91_of(r)->at, cmd, NULL, NULL, &r->cause);
	if (err)
		return err;
	err = cfun_get(r, &now);
	if (err)
		return err;
	if (now != mode)
		return st_fail(&r->cause, ST_E_DEVICE,
		    "the modem will not leave CFUN=%d (%s answered OK, "
		    "AT+CFUN? still says +CFUN: %d): check the modem "
		    "firmware, power it off and on, then retry",
		    now, cmd, now);
	return ST_OK;
}

static st_err
nrf91_connect(struct run *r, struct transport *t)
{
	struct nrf91 *n = xcalloc(1, sizeof *n);

	n->at = at_new(t);
	n->cfun_found = -1;
	r->dialect_state = n;
	return ST_OK;
}

static void
nrf91_set_deadline(struct run *r, struct deadline dl)
{
	struct nrf91 *n = nrf91_of(r);

	if (n != NULL)
		at_set_deadline(n->at, dl);
}

static st_err
nrf91_hello(struct run *r)
{
	const struct profile *p = r->profile;
	int uuid = p->nrf91_identity == NRF91_ID_UUID;
	char *id = NULL, *fw = NULL;
	st_err err;

	/* Before anything: the modem boots with +CMEE: 0, and a bare
	 * ERROR tells the operator nothing. */
	err = at_cmd(nrf91_of(r)->at, "AT+CMEE=1", NULL, NULL, &r->cause);
	if (err)
		return st_wrap(&r->cause, err,
		    "the device did not accept AT+CMEE=1 (is it an nRF91 "
		    "modem, and is the URI's transport right?)");
	if (uuid)
		err = nrf91_query(r, "AT%XMODEMUUID", "%XMODEMUUID:", &id);
	else
		err = nrf91_query(r, "AT+CGSN=1", "+CGSN:", &id);
	if (err)
		goto out;
	/* +CGSN: "<IMEI>": the quotes go, the value is checked as every
	 * serial is (step_hello). */
	if (id[0] == '"' && strlen(id) >= 2 && id[strlen(id) - 1] == '"') {
		memmove(id, id + 1, strlen(id) - 2);
		id[strlen(id) - 2] = '\0';
	}
	if (!uuid && (strlen(id) != 15 || strspn(id, "0123456789") != 15)) {
		char *shown = text_escape(id, 40);

		err = st_fail(&r->cause, ST_E_PROTO,
		    "AT+CGSN=1 answered '%s', not a 15-digit IMEI", shown);
		free(shown);
		goto out;
	}
	/* The firmware version is for the record only. */
	if (nrf91_query(r, "AT%SHORTSWVER", "%SHORTSWVER:", &fw) != ST_OK) {
		free(r->cause);
		r->cause = NULL;
	}
	err = cfun_get(r, &nrf91_of(r)->cfun_found);
	if (err)
		goto out;
	r->info.serial = id;
	id = NULL;
	r->info.model = xstrdup("nRF91");
	r->info.hw_version = xstrdup("");
	r->info.fw_version = fw ? fw : xstrdup("");
	fw = NULL;
	r->info.chip = xstrdup("nrf91-modem");
	if (uuid)
		run_info(r,
		    "serial from %%XMODEMUUID: it names the firmware build, "
		    "not the modem");
out:
	free(id);
	free(fw);
	return err;
}

static st_err
nrf91_keygen(struct run *r)
{
	const struct profile *p = r->profile;
	struct nrf91 *n = nrf91_of(r);
	char *cmd = NULL, *line = NULL;
	st_err err;

	if (p->key_alg != KEY_ALG_EC_P256)
		return st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "profile '%s' asks for %s; an nRF91 modem makes EC P-256 "
		    "keys only",
		    p->name, key_alg_name(p->key_alg));
	if ((r->id.san_dns && r->id.san_dns[0]) ||
	    (r->id.san_uri && r->id.san_uri[0]))
		return st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "profile '%s' wants SANs; an nRF91 %%KEYGEN CSR carries "
		    "a subject only: use a profile without san_dns/san_uri",
		    p->name);
	if (strpbrk(r->id.subject_text, "\"\\") != NULL)
		return st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "the subject holds a quote or a backslash, which an AT "
		    "string cannot carry");
	/* Credentials and keys are written with the modem offline. */
	err = nrf91_cfun_set(r, 4);
	if (err)
		return err;
	cmd = xasprintf("AT%%KEYGEN=%ld,2,0,\"%s\"", p->nrf91_sec_tag,
	    r->id.subject_text);
	err = nrf91_query(r, cmd, "%KEYGEN:", &line);
	if (err)
		goto out;
	err = nrf91_keygen_parse(r, line, &n->csr, &n->csr_len);
out:
	free(cmd);
	free(line);
	return err;
}

static st_err
nrf91_csr(struct run *r)
{
	struct nrf91 *n = nrf91_of(r);

	r->csr_der = xmemdup(n->csr, n->csr_len);
	r->csr_der_len = n->csr_len;
	return ST_OK;
}

static char *
pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long len;

	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &data);
	out = xstrndup(data, (size_t)len);
	BIO_free(b);
	return out;
}

static char *
file_text(const char *path, char **cause, st_err *err)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	*err = ST_OK;
	if (fp == NULL) {
		*err = st_fail(cause, ST_E_CONFIG, "cannot read %s", path);
		return NULL;
	}
	do {
		if (len + 1024 + 1 > cap) {
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, 1024, fp);
		len += got;
	} while (got > 0 && len < 65536);
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

/* How many certificates of the verified path (issuer first) go after
 * the client certificate: as the profile's `chain` says. */
static int
chain_count(const struct run *r)
{
	int n = r->issued.chain ? sk_X509_num(r->issued.chain) : 0;

	if (r->profile->chain == CHAIN_NONE)
		return 0;
	if (r->profile->chain == CHAIN_CA && n > 0)
		return n - 1;
	return n;
}

/* What goes to the modem: type 0, the CA its TLS trusts the broker by
 * (the [broker] ca, else the pinned root), and type 1, the client
 * certificate followed by the chain the profile wants. */
static st_err
texts_build(struct run *r, char *text[2])
{
	const struct config *cfg = r->st->cfg;
	STACK_OF(X509) *path = r->issued.chain;
	int root = path ? sk_X509_num(path) - 1 : -1;
	int n = chain_count(r);
	char *t1, *more;
	st_err err = ST_OK;

	if (cfg->broker.ca_file != NULL)
		text[0] = file_text(cfg->broker.ca_file, &r->cause, &err);
	else if (root >= 0)
		text[0] = pem_of(sk_X509_value(path, root));
	if (err)
		return err;
	t1 = pem_of(r->issued.cert);
	for (int i = 0; i < n; i++) {
		char *pem = pem_of(sk_X509_value(path, i));

		more = xasprintf("%s%s", t1, pem);
		free(pem);
		free(t1);
		t1 = more;
	}
	text[1] = t1;
	return ST_OK;
}

static st_err
nrf91_write(struct run *r)
{
	struct nrf91 *n = nrf91_of(r);
	char *cmd = NULL;
	st_err err;

	err = texts_build(r, n->written);
	if (err)
		return err;
	for (int type = 0; type < 2 && err == ST_OK; type++) {
		if (n->written[type] == NULL)
			continue;
		if (strchr(n->written[type], '"') != NULL) {
			err = st_fail(&r->cause, ST_E_CONFIG,
			    "the PEM text for %%CMNG type %d holds a quote",
			    type);
			break;
		}
		cmd = xasprintf("AT%%CMNG=0,%ld,%d,\"%s\"",
		    r->profile->nrf91_sec_tag, type, n->written[type]);
		err = at_cmd(n->at, cmd, NULL, NULL, &r->cause);
		free(cmd);
		if (err == ST_OK)
			run_info(r,
			    "%%CMNG sec_tag %ld type %d written (%zu "
			    "bytes)",
			    r->profile->nrf91_sec_tag, type,
			    strlen(n->written[type]));
	}
	return err;
}

static void
sha256_hex(const char *text, char hex[65])
{
	unsigned char d[32];

	EVP_Digest(text, strlen(text), d, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02X", d[i]);
}

/* The modem's digest of `type` in the %CMNG list, or NULL. */
static const char *
listed_digest(char **lines, long tag, int type, char **fields_out[])
{
	for (size_t i = 0; lines[i] != NULL; i++) {
		char **f = NULL;
		long long t, ty;
		int nf = at_fields(lines[i], &f);

		if (nf >= 3 && num_valid(f[0], 0, 2147483647, &t) &&
		    num_valid(f[1], 0, 255, &ty) && t == tag && ty == type) {
			*fields_out = f;
			return f[2];
		}
		at_lines_free(f);
	}
	return NULL;
}

/* What the modem holds is what was written (its digests said so): the
 * certificate and the chain of the client credential. */
static void
held_set(struct run *r)
{
	int n = chain_count(r);

	r->held_cert = X509_dup(r->issued.cert);
	r->held_chain = sk_X509_new_null();
	for (int i = 0; i < n; i++)
		sk_X509_push(r->held_chain,
		    X509_dup(sk_X509_value(r->issued.chain, i)));
}

static st_err
nrf91_readback(struct run *r)
{
	static const char *const what[2] = { "CA certificate",
		"client certificate" };
	struct nrf91 *n = nrf91_of(r);
	long tag = r->profile->nrf91_sec_tag;
	char **lines = NULL, *cmd = xasprintf("AT%%CMNG=1,%ld", tag);
	char want[65];
	st_err err = at_cmd(n->at, cmd, "%CMNG:", &lines, &r->cause);

	for (int type = 0; err == ST_OK && type < 2; type++) {
		char **f = NULL;
		const char *got;

		if (n->written[type] == NULL)
			continue;
		sha256_hex(n->written[type], want);
		got = listed_digest(lines, tag, type, &f);
		if (got == NULL)
			err = st_fail(&r->cause, ST_E_MISMATCH,
			    "the modem does not list the %s (sec_tag %ld "
			    "type %d) that was written",
			    what[type], tag, type);
		else if (strcasecmp(got, want) != 0) {
			char *shown = text_escape(got, 70);

			err = st_fail(&r->cause, ST_E_MISMATCH,
			    "the modem's SHA-256 of the %s (sec_tag %ld type "
			    "%d) is %s, the text written hashes to %s: the "
			    "modem holds other bytes",
			    what[type], tag, type, shown, want);
			free(shown);
		}
		at_lines_free(f);
	}
	if (err == ST_OK) {
		held_set(r);
		run_info(r, "%%CMNG digests match the %s written",
		    n->written[0] ? "CA and client certificates" :
				    "client certificate");
	}
	at_lines_free(lines);
	free(cmd);
	return err;
}

/* %CMNG credentials persist on the modem: nothing to commit.  There is
 * no lock either. */
static st_err
nrf91_commit(struct run *r)
{
	if (r->profile->lock)
		run_info(r,
		    "an nRF91 modem has no credential lock: sec_tag "
		    "%ld stays writable",
		    r->profile->nrf91_sec_tag);
	return ST_OK;
}

static void
nrf91_finish(struct run *r)
{
	struct nrf91 *n = nrf91_of(r);
	char *saved = r->cause; /* the run's cause, if it failed */
	int now = -1;

	if (n == NULL)
		return;
	r->cause = NULL;
	if (n->mqtt_up)
		(void)at_cmd(n->at, "AT#XMQTTCON=0", NULL, NULL, NULL);
	if (n->cfun_found >= 0 && cfun_get(r, &now) == ST_OK &&
	    now != n->cfun_found) {
		if (nrf91_cfun_set(r, n->cfun_found) == ST_OK)
			run_info(r, "modem functional mode restored to CFUN=%d",
			    n->cfun_found);
		else
			run_info(r,
			    "modem functional mode not restored to "
			    "CFUN=%d: %s",
			    n->cfun_found, r->cause);
	}
	free(r->cause);
	r->cause = saved;
	at_free(n->at);
	free(n->csr);
	free(n->written[0]);
	free(n->written[1]);
	free(n);
	r->dialect_state = NULL;
}

const struct dialect_ops dialect_nrf91_ops = {
	.name = "nrf91",
	.prefix = "nrf91:",
	.csr_ecdsa_null_param = 1,
	.connect = nrf91_connect,
	.set_deadline = nrf91_set_deadline,
	.hello = nrf91_hello,
	.keygen = nrf91_keygen,
	.csr = nrf91_csr,
	.write = nrf91_write,
	.readback = nrf91_readback,
	.sign = NULL,
	.smoke = nrf91_smoke,
	.commit = nrf91_commit,
	.finish = nrf91_finish,
};
