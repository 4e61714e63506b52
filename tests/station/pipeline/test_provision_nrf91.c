/*
 * The nRF91 dialect end to end: `station provision nrf91:tcp:...` against
 * nrf91sim (fixtures/nrf91sim/, an emulator of the modem's AT interface
 * written from Nordic's AT command reference) with a real Mosquitto
 * (fixtures/broker/start.sh) trusting the station's local CA.  The smoke
 * test is device-driven: the emulator connects to the broker over TLS 1.2
 * with the key %KEYGEN made and the certificate written with %CMNG, and
 * publishes; the station, subscribed on the broker's observer listener,
 * sees the message.  Each failure of the flow FAILs at its own step with
 * its own reason.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/loopback.h"
#include "tests/support/proc.h"
#include "tests/support/provision_env.h"
#include "tests/support/scratch.h"
#include "tests/support/ser2net.h"

#define IMEI "352656100000042"

static struct prov_env *env;
static struct test_broker broker;
static pid_t sim_pid, sim2_pid;
static char *sim_uri, *sim2_uri;
static json_t *res;
static struct ser2net s2n;
static int have_ser2net;

/* nrf91sim on `listen` ("tcp:127.0.0.1:0" or "pty") reporting `imei`,
 * with `fault` (NULL: none): its pid, and *where what it listens on
 * ("tcp:127.0.0.1:PORT", "pty:/dev/pts/N"; caller frees). */
static pid_t
spawn_sim(const char *listen, const char *imei, const char *fault, char **where)
{
	char life[16];
	const char *argv[] = { test_bin("NRF91SIM_BIN", "build/bin/nrf91sim"),
		"--listen", listen, "--imei", imei, "--lifetime", life,
		fault ? "--fault" : NULL, fault, NULL };
	int fd = -1;
	char *line;
	pid_t pid;

	/* Seconds: a guard that stops the modem should the test die. */
	snprintf(life, sizeof life, "%d", test_ms(120));
	pid = proc_spawn_piped(argv, &fd);
	assert_true(pid > 0);
	line = proc_read_line(fd, 10000);
	close(fd);
	assert_true(strncmp(line, "listening ", 10) == 0);
	line[strcspn(line, "\n")] = '\0';
	*where = xstrdup(line + 10);
	free(line);
	return pid;
}

/* nrf91sim on TCP: its pid, and *uri "nrf91:tcp:..." (caller frees). */
static pid_t
spawn_modem(const char *imei, const char *fault, char **uri)
{
	char *where = NULL;
	pid_t pid = spawn_sim("tcp:127.0.0.1:0", imei, fault, &where);

	assert_true(strncmp(where, "tcp:", 4) == 0);
	*uri = xasprintf("nrf91:%s", where);
	free(where);
	return pid;
}

static void
start_modem(const char *fault)
{
	sim_pid = spawn_modem(IMEI, fault, &sim_uri);
}

/* A station home whose [broker] is a real Mosquitto with an observer
 * listener (no client certificate, read-only on the test topics). */
static void
setup_broker(const char *profile_lines)
{
	char *dir, *acl, *extra, *rest, *root;
	FILE *fp;
	int oport;

	env = prov_env_new();
	prov_env_config(env, NULL, NULL);
	dir = xasprintf("%s/broker", env->home);
	assert_int_equal(proc_sh("mkdir -p '%s'", dir), 0);
	acl = xasprintf("%s/observer.acl", dir);
	fp = fopen(acl, "w");
	assert_non_null(fp);
	fputs("topic read factory/selftest/#\n", fp);
	fclose(fp);
	oport = loopback_free_port();
	extra = xasprintf("%s/extra.conf", dir);
	fp = fopen(extra, "w");
	assert_non_null(fp);
	fprintf(fp,
	    "listener %d 127.0.0.1\nprotocol mqtt\nallow_anonymous true\n"
	    "certfile %s/broker.pem\nkeyfile %s/broker.key\n"
	    "require_certificate false\nacl_file %s\n",
	    oport, dir, dir, acl);
	fclose(fp);
	root = xasprintf("%s/ca/root.pem", env->home);
	assert_int_equal(test_broker_start(&broker, dir, root, 120), 0);
	rest = xasprintf("[broker]\nhost = 127.0.0.1\nport = %d\nca = %s\n"
			 "observer_port = %d\n[profile default]\n%s",
	    broker.port, broker.ca_file, oport,
	    profile_lines ? profile_lines : "");
	prov_env_config(env, NULL, rest);
	free(rest);
	free(root);
	free(extra);
	free(acl);
	free(dir);
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(res);
	res = NULL;
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		proc_wait_ms(sim_pid, 5000);
	}
	if (sim2_pid > 0) {
		kill(sim2_pid, SIGTERM);
		proc_wait_ms(sim2_pid, 5000);
	}
	sim_pid = sim2_pid = 0;
	ser2net_stop(&s2n);
	free(sim_uri);
	free(sim2_uri);
	sim_uri = sim2_uri = NULL;
	if (broker.pid > 0)
		test_broker_stop(&broker);
	memset(&broker, 0, sizeof broker);
	prov_env_free(env);
	env = NULL;
	return 0;
}

static int
provision(const char *serial)
{
	const char *extra[] = { "--serial", serial, NULL };
	int status;

	json_decref(res);
	res = prov_provision(env, sim_uri, extra, &status);
	assert_non_null(res);
	return status;
}

static void
assert_fail(const char *step, const char *kind, const char *reason_part)
{
	const char *reason = prov_jstr(res, "reason");

	assert_string_equal(prov_jstr(res, "result"), "FAIL");
	assert_string_equal(prov_jstr(res, "failed_step"), step);
	assert_string_equal(prov_jstr(res, "error"), kind);
	if (strstr(reason, reason_part) == NULL)
		fail_msg("reason '%s' lacks '%s'", reason, reason_part);
}

/* The default profile, no broker: `station provision nrf91:tcp:HOST:PORT
 * --serial IMEI` PASSes; the certificate names the IMEI and is verified
 * through the modem's digests. */
static void
test_default_profile_pass(void **state)
{
	struct ledger *l;

	(void)state;
	env = prov_env_new();
	start_modem(NULL);
	assert_int_equal(provision(IMEI), 0);
	assert_string_equal(prov_jstr(res, "result"), "PASS");
	assert_string_equal(prov_jstr(res, "serial"), IMEI);
	assert_string_equal(prov_jstr(res, "smoke"), "skipped");
	l = prov_ledger(env);
	assert_int_equal(prov_count_certs(l, IMEI, "verified"), 1);
	assert_int_equal(prov_audit(env, l), 1);
	ledger_close(l);
}

/* The device-driven smoke test with a real broker: the modem's MQTT
 * connection (TLS 1.2, its key, the %CMNG certificate) publishes and the
 * station's subscription sees it. */
static void
test_smoke_device_driven_pass(void **state)
{
	struct ledger *l;

	(void)state;
	setup_broker(NULL);
	start_modem(NULL);
	assert_int_equal(provision(IMEI), 0);
	assert_string_equal(prov_jstr(res, "result"), "PASS");
	assert_string_equal(prov_jstr(res, "smoke"), "passed");
	assert_non_null(strstr(prov_jstr(res, "smoke_detail"), "TLSv1.2"));
	l = prov_ledger(env);
	assert_int_equal(prov_count_certs(l, IMEI, "verified"), 1);
	ledger_close(l);
}

/* The identity from %XMODEMUUID when the profile says so. */
static void
test_uuid_identity(void **state)
{
	const char *extra[] = { NULL };
	int status;

	(void)state;
	env = prov_env_new();
	prov_env_config(env, NULL,
	    "[profile default]\nnrf91_identity = uuid\n");
	start_modem(NULL);
	res = prov_provision(env, sim_uri, extra, &status);
	assert_non_null(res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(res, "serial"),
	    "25c95751-efa4-40d4-8b4a-1dcaab81fac9");
}

static void
test_keygen_cme_error(void **state)
{
	(void)state;
	env = prov_env_new();
	start_modem("keygen-cme");
	assert_int_equal(provision(IMEI), 1);
	assert_fail("keygen", "device", "+CME ERROR: 528");
}

static void
test_cmng_digest_mismatch(void **state)
{
	struct ledger *l;

	(void)state;
	env = prov_env_new();
	start_modem("cmng-digest");
	assert_int_equal(provision(IMEI), 1);
	assert_fail("readback", "mismatch", "the modem's SHA-256 of the");
	l = prov_ledger(env);
	assert_int_equal(prov_count_certs(l, IMEI, "verified"), 0);
	prov_audit(env, l);
	ledger_close(l);
}

static void
test_cfun_stuck(void **state)
{
	(void)state;
	env = prov_env_new();
	start_modem("cfun-stuck");
	assert_int_equal(provision(IMEI), 1);
	assert_fail("keygen", "device", "will not leave CFUN=1");
}

/* The modem presents no client certificate: the broker refuses it. */
static void
test_mqtt_refused(void **state)
{
	(void)state;
	setup_broker(NULL);
	start_modem("mqtt-no-cert");
	assert_int_equal(provision(IMEI), 1);
	assert_fail("smoke", "policy", "refused the modem's MQTT connection");
	assert_string_equal(prov_jstr(res, "smoke"), "failed");
}

/* A scanned label that is not the modem's IMEI. */
static void
test_wrong_label(void **state)
{
	(void)state;
	env = prov_env_new();
	start_modem(NULL);
	assert_int_equal(provision("352656100000099"), 1);
	assert_fail("serial-check", "mismatch", IMEI);
}

/* A lone scan on a line of nRF91 slots (station batch): each slot's
 * modem is asked its IMEI in AT, and the run goes to the slot holding the
 * scanned one. */
static void
test_lone_scan_finds_the_modem(void **state)
{
	char *fixture, *scans, *text;
	const char *args[] = { "batch", "--fixture", NULL, "--input", NULL,
		NULL };
	struct proc_out o = { 0 };
	json_t *j = NULL;

	(void)state;
	env = prov_env_new();
	prov_env_config(env, NULL, NULL);
	start_modem(NULL);
	sim2_pid = spawn_modem("352656100000043", NULL, &sim2_uri);
	text = xasprintf("[fixture]\nname = nrf\n[slot 1]\ndevice = %s\n"
			 "[slot 2]\ndevice = %s\n",
	    sim_uri, sim2_uri);
	fixture = prov_env_write(env, "nrf.ini", text);
	free(text);
	scans = prov_env_write(env, "scans.txt", "352656100000043\n");
	args[2] = fixture;
	args[4] = scans;
	assert_int_equal(prov_station(env, args, &o), 0);
	for (char *line = o.out; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
		if (j != NULL && json_object_get(j, "run_id") != NULL)
			break;
		json_decref(j);
		j = NULL;
	}
	assert_non_null(j);
	assert_string_equal(prov_jstr(j, "result"), "PASS");
	assert_string_equal(prov_jstr(j, "serial"), "352656100000043");
	assert_int_equal(json_integer_value(json_object_get(j, "slot")), 2);
	json_decref(j);
	proc_out_clear(&o);
	free(fixture);
	free(scans);
}

/* `station probe nrf91:...` asks the modem in AT and changes nothing. */
static void
test_probe(void **state)
{
	const char *args[] = { "probe", NULL, "--json", NULL };
	struct proc_out o = { 0 };
	json_t *j;

	(void)state;
	env = prov_env_new();
	start_modem(NULL);
	args[1] = sim_uri;
	assert_int_equal(prov_station(env, args, &o), 0);
	j = json_loads(o.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_string_equal(prov_jstr(j, "dialect"), "nrf91");
	assert_string_equal(prov_jstr(j, "serial"), IMEI);
	json_decref(j);
	proc_out_clear(&o);
	/* Then a run still finds the modem as it was. */
	assert_int_equal(provision(IMEI), 0);
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* What the modem answers on `fd` to `cmd` (CR LF added): its lines up to
 * and with the final OK, ERROR or +CME ERROR, read within 5 s each (a
 * bound: the modem is local).  Caller frees. */
static char *
pty_at(int fd, const char *cmd)
{
	char *line = xasprintf("%s\r\n", cmd);
	char buf[4096];
	size_t len = 0;

	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	free(line);
	buf[0] = '\0';
	while (len < sizeof buf - 1 && !ends_with(buf, "OK\r\n") &&
	    !ends_with(buf, "ERROR\r\n") &&
	    !(strstr(buf, "+CME ERROR:") && ends_with(buf, "\r\n"))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_int_equal(poll(&p, 1, test_ms(5000)), 1);
		n = read(fd, buf + len, sizeof buf - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
	}
	return xstrdup(buf);
}

/* nrf91sim --listen pty: the modem's AT interface on a pseudo-terminal,
 * as over TCP.  Its IMEI; a PEM written across lines (its LF, and a CR LF
 * inside the quotes that must not end the command, arrive as sent: the
 * digest the modem lists is that of exactly this text); and, after the
 * slave is closed and opened again (one host gone, the next one come),
 * the credential still there. */
static void
test_at_over_pty(void **state)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\r\n"
				  "-----END CERTIFICATE-----\n";
	char *where = NULL, *a, *cmd, hex[65], *want;
	unsigned char d[32];
	int fd;

	(void)state;
	sim_pid = spawn_sim("pty", IMEI, NULL, &where);
	assert_true(strncmp(where, "pty:/dev/", 9) == 0);
	fd = open(where + 4, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(fd >= 0);
	a = pty_at(fd, "AT+CGSN=1");
	assert_string_equal(a, "+CGSN: \"" IMEI "\"\r\nOK\r\n");
	free(a);
	a = pty_at(fd, "AT+CFUN=4");
	assert_true(ends_with(a, "\r\nOK\r\n"));
	free(a);
	cmd = xasprintf("AT%%CMNG=0,16842753,0,\"%s\"", pem);
	a = pty_at(fd, cmd);
	assert_string_equal(a, "OK\r\n");
	free(a);
	free(cmd);
	close(fd);
	fd = open(where + 4, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(fd >= 0);
	a = pty_at(fd, "AT%CMNG=1,16842753");
	close(fd);
	EVP_Digest(pem, strlen(pem), d, NULL, EVP_sha256(), NULL);
	for (int k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02X", d[k]);
	want = xasprintf("%%CMNG: 16842753,0,\"%s\"\r\nOK\r\n", hex);
	assert_string_equal(a, want);
	free(want);
	free(a);
	free(where);
}

/* The happy path over RFC 2217: the modem's UART a pty, a real ser2net
 * (telnet(rfc2217) accepter) in front of it, and `station provision
 * nrf91:rfc2217:127.0.0.1:PORT --serial IMEI` with the device-driven
 * smoke test against the real Mosquitto.  ser2net's trace shows the run
 * went through it: a client from loopback connected and its first bytes
 * were the station's first command, and the modem's IMEI, the station's
 * %KEYGEN and %CMNG writes and the modem's PUBACK event crossed it. */
static void
test_rfc2217_smoke_pass(void **state)
{
	struct ledger *l;
	char *where = NULL, *dir, *trace_path, *trace, *open_line;

	(void)state;
	if (!have_ser2net)
		skip();
	setup_broker(NULL);
	sim_pid = spawn_sim("pty", IMEI, NULL, &where);
	assert_true(strncmp(where, "pty:", 4) == 0);
	dir = xasprintf("%s/ser2net", env->home);
	assert_int_equal(proc_sh("mkdir -p '%s'", dir), 0);
	assert_int_equal(ser2net_start(&s2n, dir, where + 4, "115200n81"), 0);
	sim_uri = xasprintf("nrf91:%s", s2n.uri);
	assert_int_equal(provision(IMEI), 0);
	assert_string_equal(prov_jstr(res, "result"), "PASS");
	assert_string_equal(prov_jstr(res, "serial"), IMEI);
	assert_string_equal(prov_jstr(res, "smoke"), "passed");
	assert_non_null(strstr(prov_jstr(res, "smoke_detail"), "TLSv1.2"));
	l = prov_ledger(env);
	assert_int_equal(prov_count_certs(l, IMEI, "verified"), 1);
	ledger_close(l);
	ser2net_stop(&s2n);
	trace_path = xasprintf("%s/ser2net.trace", dir);
	trace = scratch_read(trace_path);
	assert_non_null(trace);
	/* The station's session: a client from loopback (ser2net_start's
	 * own probes of the port are connections without data), whose first
	 * bytes are the station's first command. */
	open_line = strstr(trace, ")\nAT+CMEE=1\r\n");
	assert_non_null(open_line);
	while (open_line > trace && open_line[-1] != '\n')
		open_line--;
	assert_non_null(strstr(open_line, " OPEN (ipv4,127.0.0.1,"));
	assert_true(
	    strstr(open_line, " OPEN (") < strstr(open_line, "AT+CMEE=1"));
	assert_non_null(strstr(trace, "+CGSN: \"" IMEI "\"\r\n"));
	assert_non_null(strstr(trace, "AT%KEYGEN="));
	assert_non_null(strstr(trace, "AT%CMNG=0,"));
	assert_non_null(strstr(trace, "#XMQTTEVT: 3,0\r\n"));
	free(trace);
	free(trace_path);
	free(dir);
	free(where);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_default_profile_pass, teardown),
		cmocka_unit_test_teardown(test_smoke_device_driven_pass,
		    teardown),
		cmocka_unit_test_teardown(test_uuid_identity, teardown),
		cmocka_unit_test_teardown(test_keygen_cme_error, teardown),
		cmocka_unit_test_teardown(test_cmng_digest_mismatch, teardown),
		cmocka_unit_test_teardown(test_cfun_stuck, teardown),
		cmocka_unit_test_teardown(test_mqtt_refused, teardown),
		cmocka_unit_test_teardown(test_wrong_label, teardown),
		cmocka_unit_test_teardown(test_lone_scan_finds_the_modem,
		    teardown),
		cmocka_unit_test_teardown(test_probe, teardown),
		cmocka_unit_test_teardown(test_at_over_pty, teardown),
		cmocka_unit_test_teardown(test_rfc2217_smoke_pass, teardown),
	};

	have_ser2net = ser2net_installed();
	if (!have_ser2net)
		print_message(
		    "ser2net is not installed (Debian: ser2net; "
		    "tests/deps.sh): skipping the nrf91:rfc2217: test\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
