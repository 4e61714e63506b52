/*
 * The AT command channel (drivers/at/at.h) over the real TCP transport:
 * the test plays the modem on the other end of a loopback connection,
 * its answers written before the command is sent (they wait in the
 * socket), so nothing depends on timing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/proc.h"
#include "drivers/at/at.h"
#include "station/util/xalloc.h"

struct link {
	struct at_chan *at;
	int modem; /* the test's end */
};

static void
link_open(struct link *l)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	struct transport *t = NULL;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char *uri;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	uri = xasprintf("tcp:127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(transport_open(uri, deadline_in(test_ms(2000)), &t,
			     NULL),
	    ST_OK);
	l->modem = accept(s, NULL, NULL);
	assert_true(l->modem >= 0);
	close(s);
	free(uri);
	l->at = at_new(t);
	at_set_deadline(l->at, deadline_in(test_ms(2000)));
}

static void
link_close(struct link *l)
{
	at_free(l->at);
	if (l->modem >= 0)
		close(l->modem);
}

static void
modem_says(struct link *l, const char *text)
{
	assert_int_equal(write(l->modem, text, strlen(text)),
	    (ssize_t)strlen(text));
}

/* What the station sent, as text (caller frees). */
static char *
modem_heard(struct link *l)
{
	char buf[512];
	ssize_t n = read(l->modem, buf, sizeof buf - 1);

	assert_true(n > 0);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Unsolicited lines before, between and after the answer go to the
 * queue, in order; the answer keeps only its own lines; the command goes
 * out with CR LF. */
static void
test_answer_among_unsolicited_lines(void **state)
{
	struct link l;
	char **lines = NULL, *urc = NULL, *heard;

	(void)state;
	link_open(&l);
	modem_says(&l,
	    "+CEREG: 2\r\n%KEYGEN: \"abc.def\"\r\n\r\n"
	    "+CEREG: 1,\"002F\"\r\nOK\r\n#XMQTTEVT: 0,0\r\n");
	assert_int_equal(at_cmd(l.at, "AT%KEYGEN=1,2,0", "%KEYGEN:", &lines,
			     NULL),
	    ST_OK);
	heard = modem_heard(&l);
	assert_string_equal(heard, "AT%KEYGEN=1,2,0\r\n");
	assert_string_equal(lines[0], "\"abc.def\"");
	assert_null(lines[1]);
	assert_int_equal(at_wait_urc(l.at, "#XMQTTEVT:", &urc, NULL), ST_OK);
	assert_string_equal(urc, "0,0");
	free(urc);
	assert_int_equal(at_wait_urc(l.at, "+CEREG:", &urc, NULL), ST_OK);
	assert_string_equal(urc, "2");
	free(urc);
	assert_int_equal(at_wait_urc(l.at, "+CEREG:", &urc, NULL), ST_OK);
	assert_string_equal(urc, "1,\"002F\"");
	free(urc);
	at_lines_free(lines);
	free(heard);
	link_close(&l);
}

static void
test_cme_error_names_command_and_code(void **state)
{
	struct link l;
	char *cause = NULL;

	(void)state;
	link_open(&l);
	modem_says(&l, "+CME ERROR: 518\r\n");
	assert_int_equal(at_cmd(l.at, "AT%CMNG=0,1,1,\"x\"", NULL, NULL,
			     &cause),
	    ST_E_DEVICE);
	assert_int_equal(at_last_cme(l.at), 518);
	assert_non_null(strstr(cause, "AT%CMNG=0,1,1"));
	assert_non_null(strstr(cause, "+CME ERROR: 518"));
	free(cause);
	link_close(&l);
}

/* The modem before AT+CMEE=1: a bare ERROR. */
static void
test_plain_error(void **state)
{
	struct link l;
	char *cause = NULL;

	(void)state;
	link_open(&l);
	modem_says(&l, "ERROR\r\n");
	assert_int_equal(at_cmd(l.at, "AT%KEYGEN=1,2,0", "%KEYGEN:", NULL,
			     &cause),
	    ST_E_DEVICE);
	assert_int_equal(at_last_cme(l.at), -1);
	assert_non_null(strstr(cause, "ERROR"));
	free(cause);
	link_close(&l);
}

static void
test_silence_times_out_and_hangup(void **state)
{
	struct link l;
	char *cause = NULL;

	(void)state;
	link_open(&l);
	at_set_deadline(l.at, deadline_in(100));
	assert_int_equal(at_cmd(l.at, "AT+CFUN?", "+CFUN:", NULL, &cause),
	    ST_E_TIMEOUT);
	free(cause);
	cause = NULL;
	close(l.modem);
	l.modem = -1;
	at_set_deadline(l.at, deadline_in(test_ms(2000)));
	assert_int_equal(at_cmd(l.at, "AT+CFUN?", "+CFUN:", NULL, &cause),
	    ST_E_HANGUP);
	free(cause);
	link_close(&l);
}

/* A line longer than AT_LINE_MAX is refused, not buffered without end. */
static void
test_endless_line_is_refused(void **state)
{
	struct link l;
	char *big = xmalloc(AT_LINE_MAX + 100), *cause = NULL;

	(void)state;
	link_open(&l);
	memset(big, 'A', AT_LINE_MAX + 99);
	big[AT_LINE_MAX + 99] = '\0';
	modem_says(&l, big);
	assert_int_equal(at_cmd(l.at, "AT", NULL, NULL, &cause), ST_E_PROTO);
	assert_non_null(strstr(cause, "longer than"));
	free(cause);
	free(big);
	link_close(&l);
}

static void
test_fields(void **state)
{
	char **f = NULL;

	(void)state;
	assert_int_equal(at_fields("16842753,1,\"A,B\"", &f), 3);
	assert_string_equal(f[0], "16842753");
	assert_string_equal(f[2], "A,B");
	assert_null(f[3]);
	at_lines_free(f);
	assert_int_equal(at_fields("1,\"open", &f), -1);
	assert_null(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_among_unsolicited_lines),
		cmocka_unit_test(test_cme_error_names_command_and_code),
		cmocka_unit_test(test_plain_error),
		cmocka_unit_test(test_silence_times_out_and_hangup),
		cmocka_unit_test(test_endless_line_is_refused),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
