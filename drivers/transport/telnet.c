/* The telnet codec of an RFC 2217 port (see telnet.h). */
#include "drivers/transport/telnet.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

void
telnet_init(struct telnet *tn)
{
	*tn = (struct telnet){ .state = TELNET_S_DATA };
}

void
telnet_clear(struct telnet *tn)
{
	free(tn->out);
	free(tn->failure);
	*tn = (struct telnet){ .state = TELNET_S_DATA };
}

static void
queue(struct telnet *tn, const uint8_t *b, size_t n)
{
	if (tn->out_len + n > tn->out_cap) {
		tn->out_cap = (tn->out_len + n) * 2 + 16;
		tn->out = xrealloc(tn->out, tn->out_cap);
	}
	memcpy(tn->out + tn->out_len, b, n);
	tn->out_len += n;
}

static void
queue3(struct telnet *tn, uint8_t verb, uint8_t opt)
{
	uint8_t b[3] = { TELNET_IAC, verb, opt };

	queue(tn, b, sizeof b);
}

void
telnet_ask(struct telnet *tn, uint8_t verb, uint8_t opt)
{
	uint8_t *q = verb == TELNET_WILL ? &tn->us[opt] : &tn->him[opt];

	if (*q != TELNET_Q_NO)
		return;
	*q = TELNET_Q_WANTYES;
	queue3(tn, verb, opt);
}

void
telnet_comport(struct telnet *tn, uint8_t cmd, uint32_t value, size_t len)
{
	uint8_t head[4] = { TELNET_IAC, TELNET_SB, TELNET_OPT_COMPORT, cmd };
	uint8_t tail[2] = { TELNET_IAC, TELNET_SE };
	uint8_t v[4], esc[8];
	size_t n = len > 4 ? 4 : len;

	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(value >> (8 * (n - 1 - i)));
	if (cmd < RFC2217_COMMANDS)
		tn->cpo_seen &= ~(1u << cmd);
	queue(tn, head, sizeof head);
	queue(tn, esc, telnet_escape(v, n, esc));
	queue(tn, tail, sizeof tail);
}

size_t
telnet_escape(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		out[o++] = in[i];
		if (in[i] == TELNET_IAC)
			out[o++] = TELNET_IAC;
	}
	return o;
}

/* The peer broke the rules: the codec stays failed with this cause. */
static st_err
fail(struct telnet *tn, char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(tn->failure);
	tn->failure = xvasprintf(fmt, ap);
	va_end(ap);
	tn->state = TELNET_S_FAILED;
	return st_fail(cause, ST_E_PROTO, "%s", tn->failure);
}

/* Options the station agrees to: on its side COM-PORT-OPTION (it is the
 * client of RFC 2217), BINARY and SGA; on the server's BINARY and SGA.
 * ECHO and everything else are refused: an echo would send the
 * station's frames back to it. */
static int
acceptable(int ours, uint8_t opt)
{
	if (opt == TELNET_OPT_BINARY || opt == TELNET_OPT_SGA)
		return 1;
	return ours && opt == TELNET_OPT_COMPORT;
}

/* One WILL/WONT/DO/DONT from the server, answered only when it changes
 * an option's state (RFC 1143), so two peers never loop. */
static st_err
negotiate(struct telnet *tn, uint8_t verb, uint8_t opt, char **cause)
{
	int ours = verb == TELNET_DO || verb == TELNET_DONT;
	int on = verb == TELNET_DO || verb == TELNET_WILL;
	uint8_t *q = ours ? &tn->us[opt] : &tn->him[opt];
	uint8_t yes = ours ? TELNET_WILL : TELNET_DO;
	uint8_t no = ours ? TELNET_WONT : TELNET_DONT;

	if (on && !acceptable(ours, opt)) {
		queue3(tn, no, opt);
		return ST_OK;
	}
	if (on) {
		if (*q == TELNET_Q_NO)
			queue3(tn, yes, opt);
		*q = TELNET_Q_YES;
		return ST_OK;
	}
	if (ours && opt == TELNET_OPT_COMPORT && *q != TELNET_Q_NO)
		return fail(tn, cause,
		    "the port server refuses the COM-PORT-OPTION (telnet "
		    "DONT 44): it is a telnet port without RFC 2217 (ser2net: "
		    "accepter telnet(rfc2217),tcp,PORT; a raw port is a tcp: "
		    "URI)");
	if (*q == TELNET_Q_YES)
		queue3(tn, no, opt);
	*q = TELNET_Q_NO;
	return ST_OK;
}

/* A whole subnegotiation (tn->sb: option, then its bytes, IAC undoubled).
 * COM-PORT-OPTION answers are kept; other options' are ignored. */
static st_err
subnegotiation(struct telnet *tn, char **cause)
{
	size_t vlen;
	uint32_t v = 0;
	unsigned i;

	if (tn->sb_len == 0)
		return fail(tn, cause,
		    "the port server sent an empty telnet subnegotiation "
		    "(IAC SB IAC SE)");
	if (tn->sb[0] != TELNET_OPT_COMPORT || tn->sb_len < 2 ||
	    tn->sb[1] < RFC2217_SERVER_OFFSET ||
	    tn->sb[1] >= RFC2217_SERVER_OFFSET + RFC2217_COMMANDS)
		return ST_OK;
	i = tn->sb[1] - RFC2217_SERVER_OFFSET;
	vlen = tn->sb_len - 2;
	if (i != RFC2217_SIGNATURE && vlen > 4)
		return fail(tn, cause,
		    "the port server answered COM-PORT-OPTION command %u "
		    "with %zu value bytes (at most 4 are defined)",
		    i, vlen);
	for (size_t k = 0; k < vlen && k < 4; k++)
		v = v << 8 | tn->sb[2 + k];
	tn->cpo_value[i] = v;
	tn->cpo_len[i] = (uint8_t)(vlen > 255 ? 255 : vlen);
	tn->cpo_seen |= 1u << i;
	return ST_OK;
}

/* One byte of a subnegotiation: a peer that never ends one (no IAC SE)
 * is stopped at TELNET_SB_MAX, not buffered without end. */
static st_err
sb_push(struct telnet *tn, uint8_t b, char **cause)
{
	if (tn->sb_len == TELNET_SB_MAX)
		return fail(tn, cause,
		    "the port server's telnet subnegotiation runs past %d "
		    "bytes without IAC SE",
		    TELNET_SB_MAX);
	tn->sb[tn->sb_len++] = b;
	return ST_OK;
}

/* The byte after IAC outside a subnegotiation.  *data: write it as data
 * (IAC IAC). */
static st_err
after_iac(struct telnet *tn, uint8_t b, int *data, char **cause)
{
	*data = 0;
	tn->state = TELNET_S_DATA;
	switch (b) {
	case TELNET_IAC:
		*data = 1;
		return ST_OK;
	case TELNET_WILL:
	case TELNET_WONT:
	case TELNET_DO:
	case TELNET_DONT:
		tn->verb = b;
		tn->state = TELNET_S_VERB;
		return ST_OK;
	case TELNET_SB:
		tn->sb_len = 0;
		tn->state = TELNET_S_SB;
		return ST_OK;
	case TELNET_SE:
		return fail(tn, cause,
		    "the port server sent IAC SE outside a subnegotiation "
		    "(its telnet stream is corrupt)");
	default:
		break;
	}
	/* NOP, DM, BRK, IP, AO, AYT, EC, EL, GA (241..249): nothing the
	 * station acts on. */
	if (b > TELNET_SE)
		return ST_OK;
	return fail(tn, cause,
	    "the port server sent IAC then 0x%02x, which is no telnet "
	    "command (is it a telnet(rfc2217) port?)",
	    b);
}

st_err
telnet_decode(struct telnet *tn, uint8_t *buf, size_t len, size_t *data_len,
    char **cause)
{
	size_t w = 0;
	st_err err = ST_OK;
	int data;

	*data_len = 0;
	if (tn->state == TELNET_S_FAILED)
		return st_fail(cause, ST_E_PROTO, "%s", tn->failure);
	for (size_t r = 0; r < len && err == ST_OK; r++) {
		uint8_t b = buf[r];

		switch (tn->state) {
		case TELNET_S_DATA:
			if (b == TELNET_IAC)
				tn->state = TELNET_S_IAC;
			else
				buf[w++] = b;
			break;
		case TELNET_S_IAC:
			err = after_iac(tn, b, &data, cause);
			if (err == ST_OK && data)
				buf[w++] = b;
			break;
		case TELNET_S_VERB:
			tn->state = TELNET_S_DATA;
			err = negotiate(tn, tn->verb, b, cause);
			break;
		case TELNET_S_SB:
			if (b == TELNET_IAC) {
				tn->state = TELNET_S_SB_IAC;
				break;
			}
			err = sb_push(tn, b, cause);
			break;
		case TELNET_S_SB_IAC:
			if (b == TELNET_SE) {
				tn->state = TELNET_S_DATA;
				err = subnegotiation(tn, cause);
			} else if (b == TELNET_IAC) {
				tn->state = TELNET_S_SB;
				err = sb_push(tn, b, cause);
			} else {
				err = fail(tn, cause,
				    "the port server sent IAC 0x%02x inside a "
				    "subnegotiation (only IAC IAC and IAC SE "
				    "may appear there)",
				    b);
			}
			break;
		case TELNET_S_FAILED:
			break;
		}
	}
	if (err)
		return err;
	*data_len = w;
	return ST_OK;
}
