/* Operator advice table (see advice.h and docs/operator.md). */
#include "station/pipeline/advice.h"

#include <stddef.h>

/* A step of STEP__COUNT matches every step. */
#define ANY_STEP STEP__COUNT

/* First match wins: specific (step, error) pairs, then errors of any step,
 * then step defaults. */
static const struct advice advice_table[] = {
	/* A wrong profile or a smoke test required with no broker is the
	 * station's fault at whatever step it shows: no device action helps. */
	{ ANY_STEP, ST_E_CONFIG, "Station is misconfigured",
	    "Stop the line and call the station administrator: the station's configuration is wrong." },
	{ STEP_CONNECT, ST_E_URI, "Slot is misconfigured",
	    "Call the test engineer: the slot's device address is wrong." },
	/* A link that goes away once the device was reached means the board
	 * was pulled ("device removed" on USB, a hang-up on a serial or TCP
	 * line); the CA and the broker have their own hang-up rows below,
	 * and a connection refused at connect is "not reachable". */
	{ STEP_CONNECT, ST_E_HANGUP, "Device not reachable",
	    "Check the cable and that the device sits in the fixture, then retry." },
	{ ANY_STEP, ST_E_HANGUP, "Device was removed during provisioning",
	    "Put the device back and rescan or re-plug to retry." },
	/* The abort key (line_abort): the device is as the failed step
	 * left it, and any certificate issued is revoked as for a FAIL. */
	{ ANY_STEP, ST_E_ABORTED, "Run aborted by the operator",
	    "Check the device, then rescan it to run it again." },
	{ STEP_CONNECT, ST_OK, "Device not reachable",
	    "Check the cable and that the device sits in the fixture, then retry." },
	{ STEP_HELLO, ST_E_PROTO, "Device answers garbage",
	    "Check the firmware version; if it is right, reject the device." },
	/* A serial or model the station cannot put into a certificate:
	 * the firmware is wrong, not the cable or the chip. */
	{ STEP_HELLO, ST_E_POLICY, "Device reports an unusable identity",
	    "Set the device aside for rework: its firmware reports a serial or model (named in the reason) that cannot go into a certificate." },
	{ STEP_HELLO, ST_OK, "Device not responding",
	    "Reseat the device, check power and cable, then retry." },
	{ STEP_SERIAL, ST_OK, "Label does not match the device",
	    "Scan the label of THIS device again; if it still differs, set the device aside for relabelling." },
	{ STEP_LEDGER, ST_E_EXISTS, "Device already provisioned",
	    "Do not re-provision on the line: send the device to rework." },
	/* The serial is reserved by a running run: two boards carry it. */
	{ STEP_LEDGER, ST_E_STATE, "Serial is held by another slot",
	    "Another board reports the same serial: set both boards aside and check their labels." },
	/* The fleet database (docs/fleet.md) cannot reserve the serial and
	 * the profile says fleet = required: no run without it. */
	{ STEP_LEDGER, ST_E_HANGUP,
	    "Fleet database unreachable — call the line lead",
	    "Stop the line and call the line lead: no device can be provisioned until the fleet database answers." },
	{ STEP_LEDGER, ST_E_TIMEOUT,
	    "Fleet database unreachable — call the line lead",
	    "Stop the line and call the line lead: no device can be provisioned until the fleet database answers." },
	{ STEP_LEDGER, ST_OK, "Ledger unavailable",
	    "Stop the line and call the station administrator." },
	{ STEP_CLOCK, ST_OK, "Station clock is wrong",
	    "Stop the line and call the station administrator: the station's clock must be set right before it issues certificates." },
	{ STEP_TRUST, ST_E_UNSUPPORTED, "Device cannot store server trust",
	    "Set the device aside: its firmware lacks the server-trust capability this profile needs; update the firmware, then retry." },
	{ STEP_TRUST, ST_E_MISMATCH, "Device stored a different server trust",
	    "Reject the device (storage fault)." },
	{ STEP_TRUST, ST_OK, "Writing the server trust failed",
	    "Reseat the device and retry; if it fails again, reject the device." },
	{ STEP_KEYGEN, ST_E_DEVICE, "Chip refused to make a key",
	    "Retry once; if it fails again, reject the device (chip fault)." },
	{ STEP_KEYGEN, ST_OK, "Key generation failed",
	    "Reseat the device and retry; if it fails again, reject the device." },
	{ STEP_CSR, ST_OK, "Device could not build its request",
	    "Retry once; if it fails again, reject the device." },
	/* The chip produced a key this ledger already certified. */
	{ STEP_CSR_POLICY, ST_E_EXISTS, "Key already certified",
	    "Reject the device and report its chip to firmware engineering: it made a key that is already certified." },
	{ STEP_CSR_POLICY, ST_OK, "Device sent an invalid request",
	    "Reject the device and report it to firmware engineering." },
	{ STEP_ATTEST, ST_E_UNSUPPORTED,
	    "Device cannot prove its key is in a TPM",
	    "Set the device aside: this profile needs TPM firmware with ATTEST; check the product variant, then retry." },
	{ STEP_ATTEST, ST_E_POLICY, "Key not proven to be born in a TPM",
	    "Reject the device and report it to security engineering with the run's reason." },
	{ STEP_ATTEST, ST_OK, "Attestation failed",
	    "Reseat the device and retry; if it fails again, reject the device." },
	{ STEP_CA_SIGN, ST_E_TIMEOUT, "Certificate authority not answering",
	    "Pause the line and call the PKI administrator; retry the device later." },
	{ STEP_CA_SIGN, ST_E_HANGUP, "Certificate authority unreachable",
	    "Pause the line and call the PKI administrator; retry the device later." },
	{ STEP_CA_SIGN, ST_OK, "Certificate authority refused",
	    "Pause the line and call the PKI administrator." },
	/* Another device's certificate (or one for another name): the CA is
	 * at fault, the device is not, and nothing was recorded or written. */
	{ STEP_CA_BIND, ST_OK, "CA returned another device's certificate",
	    "Pause the line and call the PKI administrator (CA fault). The device is fine: retry it later." },
	{ STEP_CERT_CHECK, ST_OK, "CA returned a wrong certificate",
	    "Stop the line and call the PKI administrator; the device is not written." },
	{ STEP_RECORD, ST_OK, "Ledger write failed",
	    "Stop the line and call the station administrator." },
	{ STEP_WRITE, ST_OK, "Writing the certificate failed",
	    "Reseat the device and retry; if it fails again, reject the device." },
	{ STEP_READBACK, ST_E_MISMATCH, "Device stored a different certificate",
	    "Reject the device (storage fault)." },
	{ STEP_READBACK, ST_OK, "Read-back failed",
	    "Reseat the device and retry; if it fails again, reject the device." },
	{ STEP_PROOF, ST_E_TIMEOUT, "Device not answering",
	    "Reseat the device and retry; if it fails again, reject the device." },
	/* The chip signs, but not with the key its certificate is for. */
	{ STEP_PROOF, ST_OK, "Chip cannot use its certified key",
	    "Reject the device (chip fault): it cannot sign with the key its certificate is for." },
	{ STEP_SMOKE, ST_E_HANGUP, "Test broker unreachable",
	    "Call the test engineer: the test broker is down; retry the device later." },
	{ STEP_SMOKE, ST_E_TIMEOUT, "Test broker not answering",
	    "Call the test engineer; retry the device later." },
	{ STEP_SMOKE, ST_OK, "Broker refused the new identity",
	    "Retry once; if it fails again, reject the device and call the test engineer." },
	{ STEP_COMMIT, ST_OK, "Device did not commit",
	    "Reseat the device and retry." },
};

static const struct advice *
advice_find(enum step step, st_err err)
{
	const struct advice *any = NULL, *fallback = NULL;

	for (size_t i = 0; i < sizeof advice_table / sizeof advice_table[0];
	     i++) {
		const struct advice *a = &advice_table[i];

		if (a->step == ANY_STEP && a->err == err && any == NULL)
			any = a;
		if (a->step != step)
			continue;
		if (a->err == err)
			return a;
		if (a->err == ST_OK && fallback == NULL)
			fallback = a;
	}
	return any ? any : fallback;
}

const char *
advice_headline(enum step step, st_err err)
{
	const struct advice *a = advice_find(step, err);

	return a ? a->headline : "Provisioning failed";
}

const char *
advice_next_step(enum step step, st_err err)
{
	const struct advice *a = advice_find(step, err);

	return a ? a->next :
		   "Retry; if it fails again, call the test engineer.";
}

size_t
advice_table_size(void)
{
	return sizeof advice_table / sizeof advice_table[0];
}

const struct advice *
advice_entry(size_t i)
{
	return i < advice_table_size() ? &advice_table[i] : NULL;
}
