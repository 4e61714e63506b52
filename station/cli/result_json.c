/* A run's result as the JSON of --json and batch mode (result_json.h). */
#include "station/cli/result_json.h"

#include <jansson.h>

#include "station/cli/json_out.h"

char *
provision_result_json(const struct provision_result *res,
    const struct provision_request *req)
{
	json_t *o = json_object();

	json_object_set_new(o, "run_id", json_integer(res->run_id));
	json_object_set_new(o, "slot", json_integer(req->slot));
	/* Every value that may come from outside goes through
	 * json_str_or_null, which never drops a key. */
	json_object_set_new(o, "device", json_str_or_null(req->device_uri));
	json_object_set_new(o, "serial", json_str_or_null(res->serial));
	json_object_set_new(o, "scanned_serial",
	    json_str_or_null(req->scanned_serial));
	json_object_set_new(o, "result",
	    json_string(res->pass ? "PASS" : "FAIL"));
	json_object_set_new(o, "failed_step",
	    res->pass ? json_null() : json_string(step_name(res->failed_step)));
	json_object_set_new(o, "error",
	    res->pass ? json_null() : json_string(st_errname(res->err)));
	json_object_set_new(o, "reason", json_str_or_null(res->reason));
	json_object_set_new(o, "headline",
	    res->headline ? json_string(res->headline) : json_null());
	json_object_set_new(o, "advice",
	    res->advice ? json_string(res->advice) : json_null());
	json_object_set_new(o, "cert_serial",
	    json_str_or_null(res->cert_serial));
	json_object_set_new(o, "fingerprint",
	    res->fingerprint[0] ? json_string(res->fingerprint) : json_null());
	json_object_set_new(o, "smoke",
	    json_string(res->smoke ? res->smoke : "skipped"));
	if (res->smoke_detail)
		json_object_set_new(o, "smoke_detail",
		    json_str_or_null(res->smoke_detail));
	/* ALREADY PASS: the run the device PASSed in; null otherwise */
	json_object_set_new(o, "already_run",
	    res->already_run_id > 0 ? json_integer(res->already_run_id) :
				      json_null());
	json_object_set_new(o, "duration_ms",
	    json_integer((json_int_t)res->duration_ms));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}
