/*
 * The protocol's commands as typed calls (see client.h): each builds its
 * request TLVs, makes one client_call() and checks the reply's fields.
 * The exchange itself (framing, chunking, retransmission) is client.c's
 * (and client_window.c's with a window).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "drivers/proto/client.h"
#include "drivers/proto/client_int.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"

#define LOG_MODULE "client"
#include "station/util/log.h"

void
dev_info_clear(struct dev_info *info)
{
	free(info->serial);
	free(info->model);
	free(info->hw_version);
	free(info->fw_version);
	free(info->chip);
	memset(info, 0, sizeof *info);
}

/* Convenience: call and wrap the error with the command name. */
static st_err
call(struct client *c, uint8_t cmd, struct tlv_writer *w, uint8_t **resp,
    size_t *resp_len, char **cause)
{
	size_t len = 0;
	uint8_t *req = w ? tlv_writer_take(w, &len) : NULL;
	st_err err = client_call(c, cmd, req, len, resp, resp_len, NULL, cause);

	free(req);
	return err;
}

st_err
dev_info_parse(const uint8_t *payload, size_t len, struct dev_info *info,
    char **cause)
{
	/* Optional descriptive fields default to "". */
	char **opt[] = { &info->model, &info->hw_version, &info->fw_version,
		&info->chip };
	static const uint8_t tags[] = { PROTO_T_MODEL, PROTO_T_HW_VERSION,
		PROTO_T_FW_VERSION, PROTO_T_CHIP };
	struct tlv t;
	size_t i;
	st_err err;

	memset(info, 0, sizeof *info);
	/* The tlv_get* functions assume a validated buffer. */
	err = tlv_validate(payload, len, cause);
	if (err)
		goto fail;
	err = tlv_get_u8(payload, len, PROTO_T_VERSION, &info->version, cause);
	if (err)
		goto fail;
	err = tlv_get_u16(payload, len, PROTO_T_MAX_FRAME, &info->max_frame,
	    cause);
	if (err)
		goto fail;
	err =
	    tlv_get_str(payload, len, PROTO_T_SERIAL, 64, &info->serial, cause);
	if (err)
		goto fail;
	if (info->version != PROTO_VERSION) {
		err = st_fail(cause, ST_E_UNSUPPORTED,
		    "device speaks protocol version %u, station speaks %d",
		    info->version, PROTO_VERSION);
		goto fail;
	}
	if (info->max_frame < PROTO_MIN_FRAME ||
	    info->max_frame > PROTO_MAX_FRAME) {
		err = st_fail(cause, ST_E_PROTO,
		    "device announces a %u-byte frame limit (allowed %d..%d)",
		    info->max_frame, PROTO_MIN_FRAME, PROTO_MAX_FRAME);
		goto fail;
	}
	if (info->serial[0] == '\0') {
		err = st_fail(cause, ST_E_PROTO,
		    "device reports an empty serial");
		goto fail;
	}
	for (i = 0; i < sizeof tags; i++) {
		if (!tlv_find(payload, len, tags[i], &t)) {
			*opt[i] = xstrdup("");
			continue;
		}
		/* The cause names the field (MODEL, CHIP), not a number. */
		err = tlv_get_str(payload, len, tags[i], 64, opt[i], cause);
		if (err)
			goto fail;
	}
	if (tlv_get_u32(payload, len, PROTO_T_CAPS, &info->caps, NULL) != ST_OK)
		info->caps = 0;
	if (tlv_get_u8(payload, len, PROTO_T_STATE, &info->state, NULL) !=
	    ST_OK)
		info->state = PROTO_STATE_BLANK;
	/* Newer fields count only behind their capability bit, so a device
	 * that sends the tag but not the bit (or a garbled value) is served
	 * as a version-1 device: window 1, no baud switch. */
	if (!(info->caps & PROTO_CAP_WINDOW) ||
	    tlv_get_u8(payload, len, PROTO_T_WINDOW, &info->window, NULL) !=
		ST_OK ||
	    info->window < 2)
		info->window = 1;
	if (info->window > PROTO_STATION_WINDOW)
		info->window = PROTO_STATION_WINDOW;
	/* Compact frames only inside a window (6.4). */
	info->compact = (info->caps & PROTO_CAP_COMPACT) && info->window > 1;
	if (!(info->caps & PROTO_CAP_BAUD_SWITCH) ||
	    tlv_get_u32(payload, len, PROTO_T_BAUD, &info->max_baud, NULL) !=
		ST_OK)
		info->max_baud = 0;
	return ST_OK;
fail:
	dev_info_clear(info);
	return st_wrap(cause, err, "HELLO reply");
}

/* One HELLO: frame size and window for what follows. */
static st_err
hello_once(struct client *c, struct dev_info *info, char **cause)
{
	struct tlv_writer w;
	uint8_t *resp = NULL;
	size_t len = 0;
	st_err err;

	memset(info, 0, sizeof *info);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, PROTO_STATION_MAX_FRAME);
	tlv_put_u8(&w, PROTO_T_WINDOW, PROTO_STATION_WINDOW);
	client_set_send_max(c, PROTO_MIN_FRAME);
	client_set_window(c, 1);
	err = call(c, PROTO_CMD_HELLO, &w, &resp, &len, cause);
	if (err)
		return err;
	err = dev_info_parse(resp, len, info, cause);
	free(resp);
	if (err)
		return err;
	client_set_send_max(c,
	    info->max_frame < PROTO_STATION_MAX_FRAME ?
		info->max_frame :
		PROTO_STATION_MAX_FRAME);
	client_set_window(c, info->window);
	client_set_compact(c, info->compact);
	return ST_OK;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* HELLO at the transport's current rate, within `ms` (and the caller's
 * overall deadline): the confirmation of a switch and its fallbacks. */
static st_err
hello_within(struct client *c, uint64_t ms, struct dev_info *info, char **cause)
{
	struct deadline saved = { 0 }, dl = deadline_in(ms);
	int had = client_get_deadline(c, &saved);
	st_err err;

	client_set_deadline(c, had ? deadline_min(dl, saved) : dl);
	err = hello_once(c, info, cause);
	client_set_deadline(c, had ? saved : (struct deadline){ 0 });
	return err;
}

/*
 * The baud switch after HELLO (docs/protocol.md 8.17), when the URI allows
 * a higher rate (max_baud=) and the device announced CAP_BAUD_SWITCH: the
 * station proposes the highest rate both allow, the device acknowledges
 * at the old rate, both switch, and a HELLO at the new rate confirms it.
 * A refusal keeps the old rate; a switch the new rate does not confirm
 * falls back to the old rate once the device has (its CONFIRM time after
 * its reply), so the device is never lost.  ST_OK at whatever rate the
 * link ends at (t->baud, and *info from the last HELLO); an error only
 * when no HELLO answers at either rate.
 */
static st_err
switch_baud(struct client *c, struct dev_info *info, char **cause)
{
	struct transport *t = client_transport(c);
	unsigned from = t->baud, to;
	struct tlv_writer w;
	struct dev_info again = { 0 };
	uint8_t *resp = NULL;
	size_t len = 0;
	uint64_t acked_ms, back_at, now;
	char *why = NULL;
	st_err err;

	if (t->max_baud == 0 || t->ops->set_baud == NULL ||
	    !(info->caps & PROTO_CAP_BAUD_SWITCH) || info->max_baud == 0)
		return ST_OK;
	to = info->max_baud < t->max_baud ? info->max_baud : t->max_baud;
	if (to <= from)
		return ST_OK;
	tlv_writer_init(&w);
	tlv_put_u32(&w, PROTO_T_BAUD, to);
	err = call(c, PROTO_CMD_SET_BAUD, &w, &resp, &len, &why);
	acked_ms = clock_now_ms();
	if (err) {
		/* Refused or unanswered: the device stays at (or, if its
		 * reply was lost, returns to) the old rate. */
		log_info("baud switch to %u refused: %s; staying at %u", to,
		    why, from);
		err = ST_OK;
		goto out;
	}
	err = transport_set_baud(t, to, &why);
	if (err == ST_OK) {
		sleep_ms(PROTO_BAUD_SETTLE_MS);
		err = hello_within(c, PROTO_BAUD_CONFIRM_MS / 2, &again, &why);
	}
	if (err == ST_OK) {
		log_info("switched from %u to %u baud", from, to);
		goto out;
	}
	log_warn("no HELLO at %u baud (%s); back to %u", to, why, from);
	/* The device returns to the old rate CONFIRM ms after its reply. */
	err = transport_set_baud(t, from, cause);
	if (err)
		goto out;
	back_at = acked_ms + PROTO_BAUD_CONFIRM_MS + 100;
	now = clock_now_ms();
	if (back_at > now)
		sleep_ms(back_at - now);
	t->ops->flush_input(t);
	free(why);
	why = NULL;
	err = hello_once(c, &again, &why);
	if (err == ST_OK)
		goto out;
	/* A confirmation the device saw but whose replies were all lost
	 * keeps it at the new rate: one more HELLO there. */
	free(why);
	why = NULL;
	err = transport_set_baud(t, to, &why);
	if (err == ST_OK)
		err = hello_within(c, PROTO_BAUD_CONFIRM_MS, &again, &why);
	if (err == ST_OK)
		goto out;
	(void)transport_set_baud(t, from, NULL);
	err = st_fail(cause, ST_E_TIMEOUT,
	    "the device answers at neither %u nor %u baud after a baud "
	    "switch (%s); power-cycle it",
	    from, to, why ? why : "no reply");
out:
	/* The last HELLO that answered describes the device now. */
	if (err == ST_OK && again.serial != NULL) {
		dev_info_clear(info);
		*info = again;
	} else {
		dev_info_clear(&again);
	}
	free(resp);
	free(why);
	return err;
}

st_err
dev_hello(struct client *c, struct dev_info *info, char **cause)
{
	st_err err = hello_once(c, info, cause);

	if (err == ST_OK)
		err = switch_baud(c, info, cause);
	if (err)
		dev_info_clear(info);
	return err;
}

/* Return a copy of a required bytes field of a reply. */
static st_err
take_bytes(uint8_t *resp, size_t len, uint8_t tag, size_t max, uint8_t **out,
    size_t *out_len, char **cause)
{
	const uint8_t *v;
	size_t vlen;
	st_err err = tlv_get_bytes(resp, len, tag, max, &v, &vlen, cause);

	if (err == ST_OK) {
		*out = xmemdup(v, vlen);
		*out_len = vlen;
	}
	free(resp);
	return err;
}

/* A command whose reply carries one required bytes field: a copy of it. */
static st_err
call_take(struct client *c, uint8_t cmd, struct tlv_writer *w, uint8_t tag,
    size_t max, uint8_t **out, size_t *out_len, char **cause)
{
	uint8_t *resp = NULL;
	size_t len = 0;
	st_err err = call(c, cmd, w, &resp, &len, cause);

	if (err)
		return err;
	err = take_bytes(resp, len, tag, max, out, out_len, cause);
	if (err)
		st_wrap(cause, err, "%s reply", proto_cmd_name(cmd));
	return err;
}

/* A command whose reply says nothing beyond success. */
static st_err
call_void(struct client *c, uint8_t cmd, struct tlv_writer *w, char **cause)
{
	uint8_t *resp = NULL;
	size_t len = 0;
	st_err err = call(c, cmd, w, &resp, &len, cause);

	free(resp);
	return err;
}

st_err
dev_keygen(struct client *c, uint8_t alg, uint8_t slot, uint8_t **spki,
    size_t *spki_len, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_KEY_ALG, alg);
	tlv_put_u8(&w, PROTO_T_SLOT, slot);
	return call_take(c, PROTO_CMD_KEYGEN, &w, PROTO_T_PUBKEY, 1024, spki,
	    spki_len, cause);
}

st_err
dev_pubkey(struct client *c, uint8_t slot, uint8_t **spki, size_t *spki_len,
    char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_SLOT, slot);
	return call_take(c, PROTO_CMD_PUBKEY, &w, PROTO_T_PUBKEY, 1024, spki,
	    spki_len, cause);
}

st_err
dev_csr(struct client *c, uint8_t slot, const char *subject,
    const char *const *san_dns, const char *const *san_uri, uint8_t **der,
    size_t *der_len, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_SLOT, slot);
	tlv_put_str(&w, PROTO_T_SUBJECT, subject);
	for (size_t i = 0; san_dns && san_dns[i]; i++)
		tlv_put_str(&w, PROTO_T_SAN_DNS, san_dns[i]);
	for (size_t i = 0; san_uri && san_uri[i]; i++)
		tlv_put_str(&w, PROTO_T_SAN_URI, san_uri[i]);
	return call_take(c, PROTO_CMD_CSR, &w, PROTO_T_CSR, 16384, der, der_len,
	    cause);
}

st_err
dev_sign(struct client *c, uint8_t slot, uint8_t sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_SLOT, slot);
	tlv_put_u8(&w, PROTO_T_SIG_ALG, sig_alg);
	tlv_put(&w, PROTO_T_DIGEST, digest, digest_len);
	return call_take(c, PROTO_CMD_SIGN, &w, PROTO_T_SIGNATURE, 1024, sig,
	    sig_len, cause);
}

void
dev_attestation_clear(struct dev_attestation *a)
{
	free(a->attest);
	free(a->sig);
	free(a->public_area);
	for (size_t i = 0; i < a->n_ak_certs; i++)
		free(a->ak_cert[i]);
	memset(a, 0, sizeof *a);
}

/* A required bytes element of an ATTEST reply, copied. */
static st_err
attest_part(const uint8_t *p, size_t len, uint8_t tag, const char *name,
    size_t max, uint8_t **out, size_t *out_len, char **cause)
{
	const uint8_t *v;
	size_t n;
	st_err err = tlv_get_bytes(p, len, tag, max, &v, &n, cause);

	if (err)
		return st_wrap(cause, err, "ATTEST reply %s", name);
	if (n == 0)
		return st_fail(cause, ST_E_PROTO, "ATTEST reply %s is empty",
		    name);
	*out = xmemdup(v, n);
	*out_len = n;
	return ST_OK;
}

st_err
dev_attest(struct client *c, uint8_t slot, const uint8_t *nonce,
    size_t nonce_len, struct dev_attestation *out, char **cause)
{
	struct tlv_writer w;
	struct tlv t;
	uint8_t *resp = NULL;
	size_t resp_len = 0, pos = 0;
	st_err err;

	memset(out, 0, sizeof *out);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_SLOT, slot);
	tlv_put(&w, PROTO_T_NONCE, nonce, nonce_len);
	err = call(c, PROTO_CMD_ATTEST, &w, &resp, &resp_len, cause);
	if (err)
		goto out;
	err = tlv_validate(resp, resp_len, cause);
	if (err)
		goto out;
	err = attest_part(resp, resp_len, PROTO_T_ATTEST, "ATTEST", 1024,
	    &out->attest, &out->attest_len, cause);
	if (err)
		goto out;
	err = attest_part(resp, resp_len, PROTO_T_ATTEST_SIG, "ATTEST_SIG",
	    1024, &out->sig, &out->sig_len, cause);
	if (err)
		goto out;
	err = attest_part(resp, resp_len, PROTO_T_TPM_PUBLIC, "TPM_PUBLIC",
	    1024, &out->public_area, &out->public_len, cause);
	if (err)
		goto out;
	while (tlv_next(resp, resp_len, &pos, &t)) {
		if (t.tag != PROTO_T_AK_CERT)
			continue;
		if (out->n_ak_certs == DEV_AK_CERTS_MAX || t.len == 0) {
			err = st_fail(cause, ST_E_PROTO,
			    "ATTEST reply: an empty AK_CERT or more than %d",
			    DEV_AK_CERTS_MAX);
			goto out;
		}
		out->ak_cert[out->n_ak_certs] = xmemdup(t.val, t.len);
		out->ak_cert_len[out->n_ak_certs++] = t.len;
	}
	if (out->n_ak_certs == 0)
		err = st_fail(cause, ST_E_PROTO,
		    "ATTEST reply carries no AK_CERT (the attestation key's "
		    "certificate)");
out:
	if (err)
		dev_attestation_clear(out);
	free(resp);
	return err;
}

st_err
dev_write_cert(struct client *c, const uint8_t *der, size_t len, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put(&w, PROTO_T_CERT, der, len);
	return call_void(c, PROTO_CMD_WRITE_CERT, &w, cause);
}

st_err
dev_write_chain(struct client *c, const uint8_t *const *der, const size_t *len,
    size_t n, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	for (size_t i = 0; i < n; i++)
		tlv_put(&w, PROTO_T_CERT, der[i], len[i]);
	return call_void(c, PROTO_CMD_WRITE_CHAIN, &w, cause);
}

st_err
dev_read_cert(struct client *c, uint8_t **der, size_t *len, char **cause)
{
	return call_take(c, PROTO_CMD_READ_CERT, NULL, PROTO_T_CERT,
	    PROTO_MAX_MESSAGE, der, len, cause);
}

st_err
dev_read_chain(struct client *c, uint8_t **payload, size_t *len, char **cause)
{
	return call(c, PROTO_CMD_READ_CHAIN, NULL, payload, len, cause);
}

st_err
dev_commit(struct client *c, int lock, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_LOCK, lock ? 1 : 0);
	return call_void(c, PROTO_CMD_COMMIT, &w, cause);
}

st_err
dev_factory_reset(struct client *c, char **cause)
{
	return call_void(c, PROTO_CMD_FACTORY_RESET, NULL, cause);
}

/* Encode `t` into `w` (dev_trust_message's order). */
static void
trust_put(struct tlv_writer *w, const struct dev_trust *t)
{
	for (size_t i = 0; i < t->n_anchors; i++)
		tlv_put(w, PROTO_T_TRUST_CA, t->anchor[i], t->anchor_len[i]);
	if (t->host != NULL) {
		tlv_put_str(w, PROTO_T_SERVER_HOST, t->host);
		tlv_put_u16(w, PROTO_T_SERVER_PORT, t->port);
	}
}

uint8_t *
dev_trust_message(const struct dev_trust *t, size_t *len)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	trust_put(&w, t);
	return tlv_writer_take(&w, len);
}

st_err
dev_write_trust(struct client *c, const struct dev_trust *t, char **cause)
{
	struct tlv_writer w;

	tlv_writer_init(&w);
	trust_put(&w, t);
	return call_void(c, PROTO_CMD_WRITE_TRUST, &w, cause);
}

st_err
dev_read_trust(struct client *c, uint8_t **payload, size_t *len, char **cause)
{
	return call(c, PROTO_CMD_READ_TRUST, NULL, payload, len, cause);
}
