/*
 * The telnet codec of the rfc2217: transport (drivers/transport/telnet.h)
 * over buffers: every byte value survives escaping and decoding, also cut
 * anywhere between two reads; negotiation is answered once per change
 * and unknown options are refused; COM-PORT-OPTION answers are read with
 * their IAC undoubled; and each way a peer can break the rules (IAC
 * before no command, a stray SE, a subnegotiation without end, a refusal
 * of option 44) fails with ST_E_PROTO and a cause that says which.
 * transport_rfc2217.c against ser2net and hostile peers is in
 * test_rfc2217.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/transport/telnet.h"

#define IAC TELNET_IAC

/* A codec that asked WILL 44, WILL BINARY and DO BINARY (as the transport
 * does), its queue emptied. */
static void
opened(struct telnet *tn)
{
	telnet_init(tn);
	telnet_ask(tn, TELNET_WILL, TELNET_OPT_COMPORT);
	telnet_ask(tn, TELNET_WILL, TELNET_OPT_BINARY);
	telnet_ask(tn, TELNET_DO, TELNET_OPT_BINARY);
	assert_int_equal(tn->out_len, 9);
	tn->out_len = 0;
}

/* Decode a copy of `in`; the data it held in *data (caller frees). */
static st_err
decode(struct telnet *tn, const uint8_t *in, size_t len, uint8_t **data,
    size_t *dlen, char **cause)
{
	uint8_t *b = malloc(len + 1);

	assert_non_null(b);
	memcpy(b, in, len);
	*data = b;
	return telnet_decode(tn, b, len, dlen, cause);
}

/* `in` decodes with ST_OK to the data `data` (`dlen` bytes) and queues
 * the answers `out` (`olen` bytes); the queue is emptied. */
static void
decodes_to(struct telnet *tn, const uint8_t *in, size_t len, const char *data,
    size_t dlen, const uint8_t *out, size_t olen)
{
	uint8_t *got = NULL;
	size_t n = 0;
	char *cause = NULL;

	assert_int_equal(decode(tn, in, len, &got, &n, &cause), ST_OK);
	assert_int_equal(n, dlen);
	assert_memory_equal(got, data, dlen);
	free(got);
	assert_int_equal(tn->out_len, olen);
	if (olen > 0)
		assert_memory_equal(tn->out, out, olen);
	tn->out_len = 0;
}

/* Every byte value, 0xFF twice in a row too, escaped and decoded back in
 * pieces of every size from 1 to 7: what the station sends is what the
 * device gets, and the other way. */
static void
test_every_byte_survives_cut_anywhere(void **state)
{
	uint8_t in[258], esc[2 * sizeof in], out[2 * sizeof in];
	size_t elen, got = 0;
	struct telnet tn;
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	in[256] = IAC;
	in[257] = IAC;
	elen = telnet_escape(in, sizeof in, esc);
	assert_int_equal(elen, sizeof in + 3);
	for (size_t piece = 1; piece <= 7; piece++) {
		telnet_init(&tn);
		got = 0;
		for (size_t off = 0; off < elen; off += piece) {
			size_t n = elen - off < piece ? elen - off : piece;
			size_t d = 0;

			memcpy(out + got, esc + off, n);
			assert_int_equal(telnet_decode(&tn, out + got, n, &d,
					     &cause),
			    ST_OK);
			got += d;
		}
		assert_int_equal(got, sizeof in);
		assert_memory_equal(out, in, sizeof in);
		assert_int_equal(tn.out_len, 0);
		telnet_clear(&tn);
	}
}

/* ser2net's opening (WILL SGA, DO SGA, WILL ECHO, DONT ECHO, DO BINARY,
 * WILL BINARY, DO 44): SGA accepted both ways, ECHO refused, the answers
 * to what was asked not answered again; the same lines a second time get
 * no answer at all (no negotiation loop). */
static void
test_negotiation_is_answered_once(void **state)
{
	static const uint8_t hello[] = { IAC, TELNET_WILL, TELNET_OPT_SGA, IAC,
		TELNET_DO, TELNET_OPT_SGA, IAC, TELNET_WILL, TELNET_OPT_ECHO,
		IAC, TELNET_DONT, TELNET_OPT_ECHO, IAC, TELNET_DO,
		TELNET_OPT_BINARY, IAC, TELNET_WILL, TELNET_OPT_BINARY, IAC,
		TELNET_DO, TELNET_OPT_COMPORT };
	static const uint8_t want[] = { IAC, TELNET_DO, TELNET_OPT_SGA, IAC,
		TELNET_WILL, TELNET_OPT_SGA, IAC, TELNET_DONT,
		TELNET_OPT_ECHO };
	struct telnet tn;

	(void)state;
	opened(&tn);
	decodes_to(&tn, hello, sizeof hello, "", 0, want, sizeof want);
	assert_int_equal(tn.us[TELNET_OPT_COMPORT], TELNET_Q_YES);
	assert_int_equal(tn.him[TELNET_OPT_BINARY], TELNET_Q_YES);
	assert_int_equal(tn.him[TELNET_OPT_ECHO], TELNET_Q_NO);
	/* The same again, ECHO aside (a refusal is repeated each time it
	 * is asked, which costs the asker, not us): nothing to say. */
	decodes_to(&tn, hello, 6, "", 0, NULL, 0);
	decodes_to(&tn, hello + 12, sizeof hello - 12, "", 0, NULL, 0);
	telnet_clear(&tn);
}

/* An option the station does not know is refused either way. */
static void
test_unknown_options_are_refused(void **state)
{
	static const uint8_t in[] = { IAC, TELNET_DO, 24, IAC, TELNET_WILL, 31,
		'a' };
	static const uint8_t want[] = { IAC, TELNET_WONT, 24, IAC, TELNET_DONT,
		31 };
	struct telnet tn;

	(void)state;
	opened(&tn);
	decodes_to(&tn, in, sizeof in, "a", 1, want, sizeof want);
	assert_int_equal(tn.us[24], TELNET_Q_NO);
	telnet_clear(&tn);
}

/* SET-BAUDRATE 65535 goes out with its 0xFF bytes doubled, and the
 * server's answer (doubled too) reads back as 65535; data around it is
 * data. */
static void
test_comport_values_double_iac(void **state)
{
	static const uint8_t want[] = { IAC, TELNET_SB, TELNET_OPT_COMPORT,
		RFC2217_SET_BAUDRATE, 0, 0, IAC, IAC, IAC, IAC, IAC,
		TELNET_SE };
	static const uint8_t answer[] = { 'x', IAC, TELNET_SB,
		TELNET_OPT_COMPORT, 101, 0, 0, IAC, IAC, IAC, IAC, IAC,
		TELNET_SE, 'y' };
	struct telnet tn;

	(void)state;
	opened(&tn);
	tn.cpo_seen = ~0u;
	telnet_comport(&tn, RFC2217_SET_BAUDRATE, 65535, 4);
	assert_false(tn.cpo_seen & 1u << RFC2217_SET_BAUDRATE);
	assert_int_equal(tn.out_len, sizeof want);
	assert_memory_equal(tn.out, want, sizeof want);
	tn.out_len = 0;
	decodes_to(&tn, answer, sizeof answer, "xy", 2, NULL, 0);
	assert_true(tn.cpo_seen & 1u << RFC2217_SET_BAUDRATE);
	assert_int_equal(tn.cpo_value[RFC2217_SET_BAUDRATE], 65535);
	assert_int_equal(tn.cpo_len[RFC2217_SET_BAUDRATE], 4);
	telnet_clear(&tn);
}

/* `in` breaks the rules: ST_E_PROTO with `words` in the cause, and the
 * codec stays failed (the next call, even with clean data, fails the
 * same way). */
static void
broken(const uint8_t *in, size_t len, const char *words)
{
	static const uint8_t clean[] = { 'o', 'k' };
	struct telnet tn;
	uint8_t *data = NULL;
	size_t dlen = 7;
	char *cause = NULL;

	opened(&tn);
	assert_int_equal(decode(&tn, in, len, &data, &dlen, &cause),
	    ST_E_PROTO);
	free(data);
	assert_int_equal(dlen, 0);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, words);
	free(cause);
	cause = NULL;
	assert_int_equal(decode(&tn, clean, sizeof clean, &data, &dlen, &cause),
	    ST_E_PROTO);
	free(data);
	assert_non_null(strstr(cause, words));
	free(cause);
	telnet_clear(&tn);
}

static void
test_iac_before_no_command_fails(void **state)
{
	static const uint8_t in[] = { 'a', IAC, 0x17, 'b' };

	(void)state;
	broken(in, sizeof in, "IAC then 0x17, which is no telnet command");
}

static void
test_stray_se_fails(void **state)
{
	static const uint8_t in[] = { IAC, TELNET_SE };

	(void)state;
	broken(in, sizeof in, "IAC SE outside a subnegotiation");
}

static void
test_iac_inside_subnegotiation_fails(void **state)
{
	static const uint8_t in[] = { IAC, TELNET_SB, TELNET_OPT_COMPORT, 101,
		IAC, TELNET_WILL };

	(void)state;
	broken(in, sizeof in, "IAC 0xfb inside a subnegotiation");
}

/* A subnegotiation that never ends is cut at TELNET_SB_MAX, not
 * buffered for ever; IAC IAC inside it counts too. */
static void
test_endless_subnegotiation_fails(void **state)
{
	uint8_t in[3 + 2 * TELNET_SB_MAX] = { IAC, TELNET_SB,
		TELNET_OPT_COMPORT };

	(void)state;
	memset(in + 3, 'x', TELNET_SB_MAX);
	broken(in, 3 + TELNET_SB_MAX, "runs past 64 bytes without IAC SE");
	memset(in + 3, IAC, 2 * TELNET_SB_MAX);
	broken(in, sizeof in, "runs past 64 bytes without IAC SE");
}

static void
test_refusal_of_option_44_fails(void **state)
{
	static const uint8_t in[] = { IAC, TELNET_DONT, TELNET_OPT_COMPORT };

	(void)state;
	broken(in, sizeof in, "refuses the COM-PORT-OPTION");
}

/* An answer with more value bytes than RFC 2217 defines. */
static void
test_overlong_comport_answer_fails(void **state)
{
	static const uint8_t in[] = { IAC, TELNET_SB, TELNET_OPT_COMPORT, 101,
		1, 2, 3, 4, 5, IAC, TELNET_SE };

	(void)state;
	broken(in, sizeof in, "with 5 value bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_survives_cut_anywhere),
		cmocka_unit_test(test_negotiation_is_answered_once),
		cmocka_unit_test(test_unknown_options_are_refused),
		cmocka_unit_test(test_comport_values_double_iac),
		cmocka_unit_test(test_iac_before_no_command_fails),
		cmocka_unit_test(test_stray_se_fails),
		cmocka_unit_test(test_iac_inside_subnegotiation_fails),
		cmocka_unit_test(test_endless_subnegotiation_fails),
		cmocka_unit_test(test_refusal_of_option_44_fails),
		cmocka_unit_test(test_overlong_comport_answer_fails),
	};

	return cmocka_run_group_tests_name("telnet", tests, NULL, NULL);
}
