/*
 * A request's own mistakes (see pipeline.h): the command line's or the
 * scanner's, refused before a run is recorded, so they never become FAIL
 * runs in the append-only ledger and the ERP export.
 */
#include "station/pipeline/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "drivers/transport/transport.h"
#include "station/config/config.h"
#include "station/config/scan_format.h"
#include "station/pipeline/dialect.h"
#include "station/util/text.h"

/* The scanned serial: printable, no blank anywhere (a scanner's trailing
 * space or a label typed in two parts), and the line's label format. */
static st_err
check_scanned_serial(const struct station *st, const char *serial, char **cause)
{
	const char *why;
	char *shown = text_escape(serial, 64);
	st_err err = ST_OK;

	if (serial[0] == '\0')
		err = st_fail(cause, ST_E_ARG, "the scanned serial is empty");
	else if (!text_is_printable_ascii(serial))
		err = st_fail(cause, ST_E_ARG,
		    "the scanned serial '%s' holds a byte that is not "
		    "printable ASCII (scan it again)",
		    shown);
	else if (strchr(serial, ' ') != NULL)
		err = st_fail(cause, ST_E_ARG,
		    "the scanned serial '%s' holds a space (a serial is one "
		    "word: scan it again)",
		    shown);
	if (err)
		goto out;
	why = scan_format_check(st->scan_format, serial);
	if (why != NULL)
		err = st_fail(cause, ST_E_ARG,
		    "the scanned serial '%s' is refused: %s", shown, why);
out:
	free(shown);
	return err;
}

st_err
provision_request_check(const struct station *st,
    const struct provision_request *req, char **cause)
{
	const char *pname = req->profile ? req->profile : "default";
	const char *turi = NULL;
	char *shown;
	st_err err;

	if (req->device_uri == NULL)
		return st_fail(cause, ST_E_URI, "no device URI");
	/* The transport URI after a dialect's prefix ("nrf91:"). */
	dialect_of(req->device_uri, &turi);
	err = transport_check(turi, cause);
	if (err)
		return err;
	/* A library the device's transport loads on first use, missing:
	 * the station's fault, said before a run is recorded. */
	err = transport_prepare(turi, cause);
	if (err)
		return err;
	if (config_profile(st->cfg, pname) == NULL) {
		shown = text_escape(pname, 64);
		err = st_fail(cause, ST_E_ARG, "unknown profile '%s'", shown);
		free(shown);
		return err;
	}
	if (req->scanned_serial != NULL)
		return check_scanned_serial(st, req->scanned_serial, cause);
	return ST_OK;
}
