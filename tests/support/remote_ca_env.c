/* Test support: provisioning end to end with a remote CA backend
 * (remote_ca_env.h). */
#include "tests/support/remote_ca_env.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "db/ledger.h"
#include "station/ca/http.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/secret_scan.h"

struct rca_env *
rca_env_new(const char *name)
{
	struct rca_env *r = xcalloc(1, sizeof *r);
	char *secrets;

	r->env = prov_env_new();
	r->tmp = scratch_dir();
	r->pki = pki_chain_new(r->tmp, name);
	r->log = xstrdup("");
	secrets = xasprintf("%s/secrets", r->tmp);
	if (mkdir(secrets, 0700) != 0)
		abort();
	free(secrets);
	return r;
}

void
rca_env_free(struct rca_env *r)
{
	if (r == NULL)
		return;
	devsim_proc_stop(r->sim);
	json_decref(r->res);
	pki_chain_free(r->pki);
	scratch_rmtree(r->tmp);
	free(r->tmp);
	prov_env_free(r->env);
	free(r->log);
	free(r);
}

char *
rca_secret(struct rca_env *r, const char *name, const char *text)
{
	char *dir = xasprintf("%s/secrets", r->tmp);
	char *path = scratch_write(dir, name, text, 0600);

	free(dir);
	return path;
}

char *
rca_ca_section(struct rca_env *r, const char *backend, const char *fmt, ...)
{
	va_list ap;
	char *rest, *timeout, *out;

	va_start(ap, fmt);
	rest = xvasprintf(fmt, ap);
	va_end(ap);
	/* The HTTP timeout stretched like every other limit (proc.h) unless
	 * the test sets its own; in the [ca] lines, before the test's text
	 * (which may go on with other sections). */
	if (strstr(rest, "timeout_ms") != NULL ||
	    test_ms(HTTP_TIMEOUT_DEFAULT_MS) == HTTP_TIMEOUT_DEFAULT_MS)
		timeout = xstrdup("");
	else
		timeout = xasprintf("timeout_ms = %d\n",
		    test_ms(HTTP_TIMEOUT_DEFAULT_MS));
	out = xasprintf("[ca]\nbackend = %s\nca_bundle = %s\nroot = %s\n%s%s",
	    backend, r->pki->root_pem, r->pki->root_pem, timeout, rest);
	free(rest);
	free(timeout);
	return out;
}

void
rca_config(struct rca_env *r, const char *station_extra, const char *rest)
{
	prov_env_config(r->env, station_extra, rest);
}

void
rca_device(struct rca_env *r, const char *serial)
{
	const char *args[] = { "--serial", serial, NULL };

	devsim_proc_stop(r->sim);
	r->sim = devsim_proc_start(args);
	assert_non_null(r->sim);
}

int
rca_provision(struct rca_env *r)
{
	const char *args[] = { "provision", r->sim->uri, "--json", NULL };
	struct proc_out o;

	setenv("STATION_LOG", "debug", 1);
	r->status = prov_station(r->env, args, &o);
	unsetenv("STATION_LOG");
	json_decref(r->res);
	r->res = json_loads(o.out, 0, NULL);
	if (r->res == NULL || !json_is_object(r->res))
		fail_msg("provision printed no JSON (exit %d): %s\nstderr: %s",
		    r->status, o.out, o.err);
	char *log = xasprintf("%s%s", r->log, o.err);
	free(r->log);
	r->log = log;
	proc_out_clear(&o);
	return r->status;
}

static void
assert_state(struct rca_env *r, const char *want)
{
	char *st = prov_probe_state(r->env, r->sim->uri);

	assert_string_equal(st ? st : "(probe failed)", want);
	free(st);
}

void
rca_provision_refused(struct rca_env *r, const char *err_part)
{
	const char *args[] = { "provision", r->sim->uri, "--json", NULL };
	struct proc_out o;

	r->status = prov_station(r->env, args, &o);
	assert_int_equal(r->status, 3);
	assert_string_equal(o.out, "");
	if (strstr(o.err, "start check") == NULL ||
	    strstr(o.err, err_part) == NULL)
		fail_msg("no start check naming '%s' in: %s", err_part, o.err);
	proc_out_clear(&o);
	assert_state(r, "blank");
}

/* The PEM certificate verifies to the PKI's root through its
 * intermediate (the only trust anchor: the root). */
static void
assert_verifies_to_root(struct rca_env *r, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	assert_non_null(x);
	X509_STORE_add_cert(store, r->pki->root);
	sk_X509_push(untrusted, r->pki->inter);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, untrusted), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("the certificate does not verify to the root: %s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	X509_free(x);
	BIO_free(b);
}

void
rca_assert_pass(struct rca_env *r, const char *backend)
{
	struct cert_record c = { 0 };
	int64_t id = json_integer_value(json_object_get(r->res, "run_id"));

	if (r->status != 0)
		fail_msg("expected PASS, got %s at %s: %s",
		    prov_jstr(r->res, "result"),
		    prov_jstr(r->res, "failed_step"),
		    prov_jstr(r->res, "reason"));
	assert_string_equal(prov_jstr(r->res, "result"), "PASS");
	struct ledger *l = prov_ledger(r->env);
	prov_assert_run(l, id, "PASS", NULL, NULL);
	assert_int_equal(ledger_cert_get(l, prov_jstr(r->res, "cert_serial"),
			     &c, NULL),
	    ST_OK);
	assert_string_equal(c.backend ? c.backend : "(null)", backend);
	assert_string_equal(c.status, "verified");
	assert_int_equal(c.run_id, id);
	assert_string_equal(c.fingerprint_sha256,
	    prov_jstr(r->res, "fingerprint"));
	assert_verifies_to_root(r, c.pem);
	assert_int_equal(prov_count_certs(l, c.device_serial, "live"), 1);
	ledger_cert_record_clear(&c);
	ledger_close(l);
	assert_state(r, "committed");
}

void
rca_assert_fail(struct rca_env *r, const char *error_kind,
    const char *reason_part)
{
	int64_t id = json_integer_value(json_object_get(r->res, "run_id"));
	const char *serial = prov_jstr(r->res, "serial");

	assert_int_not_equal(r->status, 0);
	assert_string_equal(prov_jstr(r->res, "result"), "FAIL");
	assert_string_equal(prov_jstr(r->res, "failed_step"), "ca-sign");
	assert_string_equal(prov_jstr(r->res, "error"), error_kind);
	if (strstr(prov_jstr(r->res, "reason"), reason_part) == NULL)
		fail_msg("reason '%s' does not say '%s'",
		    prov_jstr(r->res, "reason"), reason_part);
	assert_true(json_is_null(json_object_get(r->res, "cert_serial")));
	struct ledger *l = prov_ledger(r->env);
	prov_assert_run(l, id, "FAIL", "ca-sign", error_kind);
	assert_int_equal(prov_count_certs(l, serial, NULL), 0);
	ledger_close(l);
	assert_state(r, "keyed");
}

static void
export_to(struct rca_env *r, const char *dir, const char *format)
{
	const char *args[] = { "export", "--out", dir, "--format", format,
		"--from", "1970-01-01T00:00:00Z", "--to",
		"2999-01-01T00:00:00Z", NULL };
	struct proc_out o;

	if (prov_station(r->env, args, &o) != 0)
		fail_msg("station export: %s %s", o.out, o.err);
	proc_out_clear(&o);
}

void
rca_assert_no_secret(struct rca_env *r, const char *s1, const char *s2)
{
	/* The local CA's own keys live in the home (ca/); they may carry
	 * the PEM marker, nothing else may. */
	const char *const keys[] = { "ca/root.key", "ca/intermediate.key",
		NULL };
	struct secret_set *set = secret_set_new();
	char *dir = xasprintf("%s/export", r->tmp);
	char *logf = xasprintf("%s/stderr.log", r->tmp);
	int files = 0, found = 0;
	FILE *fp;

	secret_set_add(set, "credential", s1, strlen(s1));
	if (s2 != NULL)
		secret_set_add(set, "other credential", s2, strlen(s2));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fail_msg("mkdir %s", dir);
	export_to(r, dir, "csv");
	export_to(r, dir, "jsonl");
	fp = fopen(logf, "w");
	assert_non_null(fp);
	fputs(r->log, fp);
	fclose(fp);
	/* The capture is real: the debug log names the CA it talked to. */
	assert_non_null(strstr(r->log, "https://127.0.0.1:"));

	found += secret_scan(set, r->env->home, keys, &files);
	found += secret_scan(set, logf, NULL, &files);
	found += secret_scan(set, dir, NULL, &files);
	assert_int_equal(found, 0);
	char *ledger = xasprintf("%s/ledger.db", r->env->home);
	assert_int_equal(access(ledger, F_OK), 0);
	assert_true(files >= 4); /* ledger, log, two exports at least */
	free(ledger);
	secret_set_free(set);
	free(dir);
	free(logf);
}

int
rca_free_port(void)
{
	return loopback_free_port();
}

int
rca_have_cfssl(void)
{
	return cfssl_installed();
}

pid_t
rca_cfssl_start(struct rca_env *r, const char *auth_key)
{
	r->cfssl.with_db = 1; /* as in production: revoke needs it */
	if (cfssl_serve_start(&r->cfssl, r->tmp, "cfssl.json", r->pki,
		auth_key) != 0) {
		cfssl_serve_stop(&r->cfssl);
		return 0;
	}
	return r->cfssl.pid;
}

const char *
rca_cfssl_addr(struct rca_env *r)
{
	return r->cfssl.addr;
}

void
rca_cfssl_stop(pid_t pid)
{
	struct cfssl_serve c = { .pid = pid };

	cfssl_serve_stop(&c);
}
