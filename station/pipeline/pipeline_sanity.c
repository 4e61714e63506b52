/*
 * Clock and key sanity (issue 15): the clock step, before the device makes
 * a key, and the one-key-one-certificate rule at the end of the CSR
 * policy, before the CA is asked.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "db/ledger.h"
#include "station/pipeline/clock_check.h"
#include "station/pipeline/pipeline_run.h"
#include "station/x509/cert_check.h"

/* A finding that does not fail the run goes into its events. */
static void
clock_note(void *ctx, const char *text)
{
	run_info(ctx, "%s", text);
}

st_err
step_clock(struct run *r)
{
	return clock_check_run(r->st->cfg, r->st->broker_memo,
	    (int64_t)time(NULL), r->deadline, clock_note, r, &r->cause);
}

st_err
run_key_unique(struct run *r)
{
	struct cert_record c = { 0 };
	char key[65];
	int found = 0;
	st_err err;

	/* The CSR policy proved the CSR's key is the chip's. */
	spki_sha256_hex(r->spki, r->spki_len, key);
	err = ledger_cert_by_key(r->st->ledger, key, &c, &found, &r->cause);
	if (err) {
		err =
		    st_wrap(&r->cause, err, "looking the key up in the ledger");
		goto out;
	}
	if (found)
		err = st_fail(&r->cause, ST_E_EXISTS,
		    "the CSR's public key (SHA-256 %.16s...) is already "
		    "certified: certificate %s (%s) of device %s, run %" PRId64
		    "; a key is certified once, so the CA was not asked",
		    key, c.serial_hex, c.status,
		    c.device_serial ? c.device_serial : "(unknown)", c.run_id);
out:
	ledger_cert_record_clear(&c);
	return err;
}
