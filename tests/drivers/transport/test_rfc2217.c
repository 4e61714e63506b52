/*
 * The rfc2217: transport against a real ser2net (Debian's, telnet(rfc2217)
 * accepter) in front of one end of a pseudo-terminal, devsim on the other
 * end: HELLO and the baud switch (SET_BAUD to the device, SET-BAUDRATE to
 * ser2net, which sets the pty's rate: read back with tcgetattr), a chain
 * of 0xFF bytes written and read back through telnet's IAC doubling, a
 * device without the switch held at the starting rate, a device that
 * acknowledges and then hears nothing at the new rate found again at the
 * old one (and ser2net's port put back), a read that ends at its
 * deadline and ser2net going away as a hangup, and `station provision` as a
 * program reaching PASS with the switch in the ledger's run events.  A
 * pty has no line: its rate is a number in its termios, so what proves
 * the switch is ser2net's answer (the rate it set) and that number.
 *
 * Then hostile telnet peers (a scripted server on loopback in this
 * program): a refusal of option 44, garbage after IAC, a subnegotiation
 * that never ends (too long, or left open and silent), a raw port that
 * says nothing, a server that sets another rate than asked (at the open
 * or at the switch): each fails at the open's deadline or before, with a
 * cause that says what the peer did.  And URIs: a bad one is ST_E_URI from transport_check (so a usage
 * error before any run, as `station provision` shows).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/transport/telnet.h"
#include "drivers/transport/transport.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/ledger_checks.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/ser2net.h"

#define SERIAL "RFC2217-1"
#define IAC TELNET_IAC

static int have_ser2net;

/* devsim on a pty, ser2net in front of it, a scratch directory. */
struct bench {
	struct devsim_proc *sim;
	struct ser2net s2n;
	char *dir;
	const char *tty;   /* the pty's slave, inside sim->uri */
	unsigned max_baud; /* devsim's --max-baud (0: no switch) */
	struct client *cli;
};

static int
bench_up(void **state, const char *const *extra)
{
	struct bench *b = calloc(1, sizeof *b);
	const char *args[24] = { "--listen", "pty", "--serial", SERIAL,
		"--baud", "115200" };
	size_t n = 6;

	assert_non_null(b);
	*state = b;
	if (!have_ser2net)
		return 0;
	for (size_t i = 0; extra[i] != NULL && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	b->sim = devsim_proc_start(args);
	assert_non_null(b->sim);
	assert_int_equal(strncmp(b->sim->uri, "pty:", 4), 0);
	b->tty = b->sim->uri + 4;
	b->dir = scratch_dir();
	/* ser2net's own idea of the line is 9600: every rate the test sees
	 * afterwards is one the station set. */
	assert_int_equal(ser2net_start(&b->s2n, b->dir, b->tty, "9600n81"), 0);
	return 0;
}

static int
setup_switch(void **state)
{
	const char *extra[] = { "--max-baud", "921600", NULL };
	int rc = bench_up(state, extra);

	((struct bench *)*state)->max_baud = 921600;
	return rc;
}

static int
setup_plain(void **state)
{
	const char *extra[] = { "--window", "1", NULL };

	return bench_up(state, extra);
}

static int
setup_mute(void **state)
{
	const char *extra[] = { "--max-baud", "921600", "--fault", "baud-mute",
		NULL };
	int rc = bench_up(state, extra);

	((struct bench *)*state)->max_baud = 921600;
	return rc;
}

static int
teardown(void **state)
{
	struct bench *b = *state;

	client_free(b->cli);
	ser2net_stop(&b->s2n);
	devsim_proc_stop(b->sim);
	if (b->dir != NULL)
		scratch_rmtree(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

/* The pty's output rate as its termios holds it now (another open of the
 * slave, as any program would see it). */
static speed_t
tty_speed(const struct bench *b)
{
	struct termios t;
	int fd = open(b->tty, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(tcgetattr(fd, &t), 0);
	close(fd);
	return cfgetospeed(&t);
}

/* The device at ser2net's URI + `query`, HELLO (and the switch) done,
 * the device announcing the switch as devsim was told to; the rate
 * afterwards, as the transport has it and as the pty's termios does, must
 * be `baud`. */
static struct transport *
hello_at(struct bench *b, const char *query, unsigned baud, speed_t speed)
{
	struct transport *t = NULL;
	struct dev_info info;
	char uri[128], *cause = NULL;

	snprintf(uri, sizeof uri, "%s%s", b->s2n.uri, query);
	if (transport_open(uri, deadline_in(test_ms(5000)), &t, &cause))
		fail_msg("opening %s: %s", uri, cause);
	b->cli = client_new(t, NULL);
	if (dev_hello(b->cli, &info, &cause))
		fail_msg("HELLO over %s: %s", uri, cause);
	assert_string_equal(info.serial, SERIAL);
	assert_int_equal(!!(info.caps & PROTO_CAP_BAUD_SWITCH), !!b->max_baud);
	assert_int_equal(info.max_baud, b->max_baud);
	dev_info_clear(&info);
	assert_int_equal(t->baud, baud);
	assert_int_equal(tty_speed(b), speed);
	return t;
}

/* A 2-certificate chain written and read back byte for byte: one
 * certificate all 0xFF (every byte doubled on the wire both ways, and
 * frames of IAC IAC pairs), the other every byte value. */
static void
chain_round_trip(struct client *c)
{
	uint8_t certs[2][1024];

	memset(certs[0], 0xFF, sizeof certs[0]);
	for (size_t i = 0; i < sizeof certs[1]; i++)
		certs[1][i] = (uint8_t)i;
	dev_chain_round_trip(c, certs[0], certs[1], sizeof certs[0]);
}

/* Opened at 115200 (ser2net was at 9600: the station set it), switched
 * to the device's 921600, and ser2net's port is at 921600. */
static void
test_switch_sets_the_remote_port(void **state)
{
	struct bench *b = *state;
	struct transport *t;
	struct client_stats st;

	if (!have_ser2net)
		skip();
	t = hello_at(b, "?baud=115200&max_baud=3000000", 921600, B921600);
	client_get_stats(b->cli, &st);
	assert_int_equal(st.requests, 3); /* HELLO, SET_BAUD, HELLO */
	assert_int_equal(st.retransmits, 0);
	chain_round_trip(b->cli);
	assert_non_null(strstr(t->describe, "rfc2217 127.0.0.1:"));
}

/* A device without the bit: the starting rate, set on ser2net's port,
 * and nothing but HELLO. */
static void
test_device_without_switch_stays(void **state)
{
	struct bench *b = *state;
	struct client_stats st;

	if (!have_ser2net)
		skip();
	hello_at(b, "?baud=115200&max_baud=921600", 115200, B115200);
	client_get_stats(b->cli, &st);
	assert_int_equal(st.requests, 1);
	chain_round_trip(b->cli);
}

/* Without baud= the port keeps ser2net's rate, which the station asked
 * for (SET-BAUDRATE 0) and counts. */
static void
test_without_baud_the_server_rate_holds(void **state)
{
	struct bench *b = *state;
	struct transport *t;

	if (!have_ser2net)
		skip();
	t = hello_at(b, "", 9600, B9600);
	assert_non_null(strstr(t->describe, " 9600 8N1"));
}

/* Acknowledged, then nothing heard at 921600: the station sets ser2net's
 * port back to 115200 and the device answers there. */
static void
test_switch_falls_back(void **state)
{
	struct bench *b = *state;

	if (!have_ser2net)
		skip();
	hello_at(b, "?baud=115200&max_baud=921600", 115200, B115200);
	chain_round_trip(b->cli);
}

/* A read with nothing to read ends at its deadline; ser2net going away
 * is a hangup, not a timeout. */
static void
test_read_times_out_then_hangs_up(void **state)
{
	struct bench *b = *state;
	struct transport *t;
	uint8_t buf[64];
	size_t got = 1;
	char *cause = NULL;

	if (!have_ser2net)
		skip();
	t = hello_at(b, "?baud=115200", 115200, B115200);
	assert_int_equal(t->ops->read(t, buf, sizeof buf, &got,
			     deadline_in(200), &cause),
	    ST_E_TIMEOUT);
	assert_int_equal(got, 0);
	free(cause);
	cause = NULL;
	ser2net_stop(&b->s2n);
	assert_int_equal(t->ops->read(t, buf, sizeof buf, &got,
			     deadline_in(test_ms(5000)), &cause),
	    ST_E_HANGUP);
	free(cause);
}

/* `station provision` over ser2net: PASS, the URI recorded as given, and
 * the switch in the ledger's run events (and `expect` such events). */
static void
provision_over(struct bench *b, const char *query, long expect)
{
	const char *bin = getenv("STATION_BIN");
	char uri[128], *home = scratch_dir(), *ledger;
	const char *argv[] = { bin, "provision", uri, "--serial", SERIAL,
		"--json", "--quiet", NULL };
	struct proc_out o;
	int status;

	if (bin == NULL || !have_ser2net)
		skip();
	snprintf(uri, sizeof uri, "%s%s", b->s2n.uri, query);
	status = proc_run(argv, home, 60000, &o);
	if (status != 0)
		fprintf(stderr, "provision: %s\n%s\n", o.out, o.err);
	assert_int_equal(status, 0);
	assert_non_null(strstr(o.out, "\"result\":\"PASS\""));
	assert_non_null(strstr(o.out, "\"serial\":\"" SERIAL "\""));
	ledger = malloc(strlen(home) + 16);
	assert_non_null(ledger);
	snprintf(ledger, strlen(home) + 16, "%s/ledger.db", home);
	assert_int_equal(ledger_count_events(ledger,
			     "line switched from 115200 to 921600 baud%"),
	    expect);
	free(ledger);
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
}

static void
test_provision_with_the_switch(void **state)
{
	provision_over(*state, "?baud=115200&max_baud=921600", 1);
}

static void
test_provision_without_the_switch(void **state)
{
	provision_over(*state, "?baud=115200&max_baud=921600", 0);
}

/* ---- hostile peers ---- */

/* A telnet peer on 127.0.0.1 that sends `greet` when the station
 * connects, then each step's `answer` once the bytes it read since the
 * step before hold its `want`, then reads until the station hangs up.
 * It stops by itself (30 s, or with this program). */
struct peer {
	pid_t pid;
	int port;
};

struct peer_step {
	const uint8_t *want;
	size_t wlen;
	const uint8_t *answer;
	size_t alen;
};

static void
peer_serve(int lfd, const uint8_t *greet, size_t glen,
    const struct peer_step *steps, size_t nsteps)
{
	uint8_t seen[8192];
	size_t have = 0, step = 0;
	int fd;
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm((unsigned)test_ms(30000) / 1000);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(1);
	if (glen > 0 && write(fd, greet, glen) != (ssize_t)glen)
		_exit(1);
	for (;;) {
		n = read(fd, seen + have, sizeof seen - have);
		if (n <= 0)
			_exit(0);
		have += (size_t)n;
		if (step < nsteps &&
		    memmem(seen, have, steps[step].want, steps[step].wlen) !=
			NULL) {
			if (write(fd, steps[step].answer, steps[step].alen) !=
			    (ssize_t)steps[step].alen)
				_exit(1);
			step++;
			have = 0;
		}
		if (have == sizeof seen)
			have = 0;
	}
}

static void
peer_start(struct peer *p, const uint8_t *greet, size_t glen,
    const struct peer_step *steps, size_t nsteps)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	p->port = ntohs(sa.sin_port);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0)
		peer_serve(lfd, greet, glen, steps, nsteps);
	close(lfd);
}

static void
peer_stop(struct peer *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
}

/* Open rfc2217:127.0.0.1:PORT?baud=115200 against `p` with a 1.5 s
 * deadline: the error, with `words` in its cause.  Stretched (test_ms)
 * unless the error is that deadline running out. */
static void
open_fails(struct peer *p, st_err want, const char *words)
{
	struct transport *t = NULL;
	char uri[64], *cause = NULL;

	snprintf(uri, sizeof uri, "rfc2217:127.0.0.1:%d?baud=115200", p->port);
	assert_int_equal(transport_open(uri,
			     deadline_in(
				 want == ST_E_TIMEOUT ? 1500 : test_ms(1500)),
			     &t, &cause),
	    want);
	assert_null(t);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, words);
	free(cause);
	peer_stop(p);
}

static const uint8_t do44[] = { IAC, TELNET_DO, TELNET_OPT_COMPORT };

static void
test_refusal_of_option_44(void **state)
{
	static const uint8_t g[] = { IAC, TELNET_DONT, TELNET_OPT_COMPORT };
	struct peer p;

	(void)state;
	peer_start(&p, g, sizeof g, NULL, 0);
	open_fails(&p, ST_E_PROTO, "refuses the COM-PORT-OPTION");
}

static void
test_garbage_after_iac(void **state)
{
	static const uint8_t g[] = { IAC, TELNET_DO, TELNET_OPT_COMPORT, IAC,
		0x17, IAC, 0x00 };
	struct peer p;

	(void)state;
	peer_start(&p, g, sizeof g, NULL, 0);
	open_fails(&p, ST_E_PROTO, "IAC then 0x17, which is no telnet command");
}

/* IAC SB 44 and then bytes without end. */
static void
test_subnegotiation_without_end(void **state)
{
	uint8_t g[3 + 4 + 300] = { IAC, TELNET_DO, TELNET_OPT_COMPORT, IAC,
		TELNET_SB, TELNET_OPT_COMPORT, 101 };
	struct peer p;

	(void)state;
	memset(g + 7, 'x', sizeof g - 7);
	peer_start(&p, g, sizeof g, NULL, 0);
	open_fails(&p, ST_E_PROTO, "runs past 64 bytes without IAC SE");
}

/* IAC SB 44 101 0 and then silence: the open's deadline, named. */
static void
test_subnegotiation_left_open(void **state)
{
	static const uint8_t g[] = { IAC, TELNET_DO, TELNET_OPT_COMPORT, IAC,
		TELNET_SB, TELNET_OPT_COMPORT, 101, 0 };
	struct peer p;

	(void)state;
	peer_start(&p, g, sizeof g, NULL, 0);
	open_fails(&p, ST_E_TIMEOUT,
	    "started a telnet subnegotiation (IAC SB) and never ended it");
}

/* A raw port (ser2net's raw accepter): no telnet at all. */
static void
test_raw_port_says_nothing(void **state)
{
	struct peer p;

	(void)state;
	peer_start(&p, NULL, 0, NULL, 0);
	open_fails(&p, ST_E_TIMEOUT, "a raw port sends none: its URI is tcp:");
}

/* SET-BAUDRATE 115200 as the station sends it, and a server's answers
 * to the line settings with the rate's four bytes for SET-BAUDRATE. */
static const uint8_t set_115200[] = { IAC, TELNET_SB, TELNET_OPT_COMPORT,
	RFC2217_SET_BAUDRATE, 0x00, 0x01, 0xC2, 0x00, IAC, TELNET_SE };
#define LINE_ANSWERS(b3, b2, b1, b0) \
	{ \
		IAC, TELNET_SB, TELNET_OPT_COMPORT, 102, 8, IAC, TELNET_SE, \
		    IAC, TELNET_SB, TELNET_OPT_COMPORT, 103, 1, IAC, \
		    TELNET_SE, IAC, TELNET_SB, TELNET_OPT_COMPORT, 104, 1, \
		    IAC, TELNET_SE, IAC, TELNET_SB, TELNET_OPT_COMPORT, 101, \
		    b3, b2, b1, b0, IAC, TELNET_SE \
	}

/* Agreement, then the answers to 8N1 and SET-BAUDRATE 115200 saying
 * 9600: the port would run at another rate than the device. */
static void
test_server_sets_another_rate(void **state)
{
	static const uint8_t answer[] = LINE_ANSWERS(0, 0, 0x25, 0x80);
	const struct peer_step steps[] = { { set_115200, sizeof set_115200,
	    answer, sizeof answer } };
	struct peer p;

	(void)state;
	peer_start(&p, do44, sizeof do44, steps, 1);
	open_fails(&p, ST_E_IO, "set baud 9600 when asked for 115200");
}

/* A port that opens at 115200 and, asked for 921600 at the baud switch,
 * answers that it stays at 115200: transport_set_baud fails (the switch
 * code then falls back, as for a UART) and the rate stays 115200. */
static void
test_server_refuses_the_new_rate(void **state)
{
	static const uint8_t answer[] = LINE_ANSWERS(0, 0x01, 0xC2, 0x00);
	static const uint8_t set_921600[] = { IAC, TELNET_SB,
		TELNET_OPT_COMPORT, RFC2217_SET_BAUDRATE, 0x00, 0x0E, 0x10,
		0x00, IAC, TELNET_SE };
	static const uint8_t stay[] = { IAC, TELNET_SB, TELNET_OPT_COMPORT, 101,
		0x00, 0x01, 0xC2, 0x00, IAC, TELNET_SE };
	const struct peer_step steps[] = {
		{ set_115200, sizeof set_115200, answer, sizeof answer },
		{ set_921600, sizeof set_921600, stay, sizeof stay },
	};
	struct transport *t = NULL;
	struct peer p;
	char uri[80], *cause = NULL;

	(void)state;
	peer_start(&p, do44, sizeof do44, steps, 2);
	snprintf(uri, sizeof uri,
	    "rfc2217:127.0.0.1:%d?baud=115200&max_baud=921600", p.port);
	if (transport_open(uri, deadline_in(test_ms(2000)), &t, &cause))
		fail_msg("opening %s: %s", uri, cause);
	assert_int_equal(t->baud, 115200);
	assert_int_equal(transport_set_baud(t, 921600, &cause), ST_E_IO);
	assert_non_null(strstr(cause, "set baud 115200 when asked for 921600"));
	free(cause);
	assert_int_equal(t->baud, 115200);
	transport_close(t);
	peer_stop(&p);
}

/* Agreement and no answer to the line settings: the deadline, named. */
static void
test_server_never_answers(void **state)
{
	struct peer p;

	(void)state;
	peer_start(&p, do44, sizeof do44, NULL, 0);
	open_fails(&p, ST_E_TIMEOUT, "answers to SET-BAUDRATE and 8N1");
}

/* ---- URIs ---- */

static void
uri_refused(const char *uri, const char *words)
{
	char *cause = NULL;

	assert_int_equal(transport_check(uri, &cause), ST_E_URI);
	if (strstr(cause, words) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, words);
	free(cause);
}

static void
test_bad_uris_are_refused_before_opening(void **state)
{
	char *cause = NULL;

	(void)state;
	assert_int_equal(transport_check("rfc2217:ser2net.line3:2001?baud="
					 "115200&max_baud=921600",
			     &cause),
	    ST_OK);
	uri_refused("rfc2217:127.0.0.1", "expected rfc2217:HOST:PORT");
	uri_refused("rfc2217:127.0.0.1:70000", "bad TCP port '70000'");
	uri_refused("rfc2217:h:2001?parity=odd", "unknown option 'parity=odd'");
	uri_refused("rfc2217:h:2001?max_baud=921600", "needs baud=");
	uri_refused("rfc2217:h:2001?baud=9600&max_baud=4800",
	    "below baud 9600");
	uri_refused("rfc2217:h:2001?baud=fast", "not a baud rate");
}

/* `station provision` with a bad rfc2217: URI: a usage error (exit 2)
 * before any run, so the ledger holds none. */
static void
test_provision_refuses_a_bad_uri(void **state)
{
	const char *bin = getenv("STATION_BIN");
	char *home = scratch_dir(), *ledger, *result = NULL, *step = NULL;
	const char *argv[] = { bin, "provision",
		"rfc2217:127.0.0.1:2001?baud=115200&flow=rtscts", "--serial",
		SERIAL, NULL };
	struct proc_out o;

	(void)state;
	if (bin == NULL)
		skip();
	assert_int_equal(proc_run(argv, home, 60000, &o), 2);
	assert_non_null(strstr(o.err, "unknown option 'flow=rtscts'"));
	ledger = malloc(strlen(home) + 16);
	assert_non_null(ledger);
	snprintf(ledger, strlen(home) + 16, "%s/ledger.db", home);
	assert_int_equal(ledger_newest_run(ledger, &result, &step), 0);
	assert_null(result);
	free(ledger);
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_switch_sets_the_remote_port, setup_switch, teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_without_switch_stays, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(
		    test_without_baud_the_server_rate_holds, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_switch_falls_back,
		    setup_mute, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_times_out_then_hangs_up, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_provision_with_the_switch,
		    setup_switch, teardown),
		cmocka_unit_test_setup_teardown(
		    test_provision_without_the_switch, setup_plain, teardown),
		cmocka_unit_test(test_refusal_of_option_44),
		cmocka_unit_test(test_garbage_after_iac),
		cmocka_unit_test(test_subnegotiation_without_end),
		cmocka_unit_test(test_subnegotiation_left_open),
		cmocka_unit_test(test_raw_port_says_nothing),
		cmocka_unit_test(test_server_sets_another_rate),
		cmocka_unit_test(test_server_refuses_the_new_rate),
		cmocka_unit_test(test_server_never_answers),
		cmocka_unit_test(test_bad_uris_are_refused_before_opening),
		cmocka_unit_test(test_provision_refuses_a_bad_uri),
	};

	have_ser2net = ser2net_installed();
	if (!have_ser2net)
		print_message(
		    "ser2net is not installed (Debian: ser2net; "
		    "tests/deps.sh): skipping the tests against it\n");
	return cmocka_run_group_tests_name("rfc2217", tests, NULL, NULL);
}
