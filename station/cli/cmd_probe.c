/* station probe DEVICE-URI [--json]: say HELLO and print what the device
 * reports.  The first thing a test engineer runs against a new fixture. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "station/cli/cmd.h"
#include "station/cli/json_out.h"
#include "station/config/profile.h"
#include "station/pipeline/dialect.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

#define PROBE_DEADLINE_MS 5000

/* Every capability the device announces: the names of protocol.md's
 * caps table, then any bit it does not define in hex, so a newer
 * device's extension shows instead of vanishing. */
static void
caps_string(uint32_t caps, char *buf, size_t cap)
{
	uint32_t left = caps;
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (size_t i = 0; proto_cap_names[i].name != NULL; i++) {
		if (!(caps & proto_cap_names[i].bit))
			continue;
		left &= ~(uint32_t)proto_cap_names[i].bit;
		n = snprintf(buf + used, cap - used, "%s%s", used ? " " : "",
		    proto_cap_names[i].name);
		if (n < 0 || (size_t)n >= cap - used)
			return;
		used += (size_t)n;
	}
	for (uint32_t bit = 1; bit != 0; bit <<= 1) {
		if (!(left & bit))
			continue;
		n = snprintf(buf + used, cap - used, "%s0x%08x",
		    used ? " " : "", bit);
		if (n < 0 || (size_t)n >= cap - used)
			return;
		used += (size_t)n;
	}
}

static void
print_json(const struct transport *t, const struct dev_info *info,
    const char *caps, st_err err, const char *cause)
{
	json_t *o = json_object();

	json_object_set_new(o, "device", json_str_or_null(t ? t->uri : ""));
	json_object_set_new(o, "result", json_string(err ? "FAIL" : "PASS"));
	if (err) {
		json_object_set_new(o, "error", json_string(st_errname(err)));
		json_object_set_new(o, "reason",
		    json_str_or_null(cause ? cause : ""));
	} else {
		json_object_set_new(o, "serial",
		    json_str_or_null(info->serial));
		json_object_set_new(o, "model", json_str_or_null(info->model));
		json_object_set_new(o, "hw_version",
		    json_str_or_null(info->hw_version));
		json_object_set_new(o, "fw_version",
		    json_str_or_null(info->fw_version));
		json_object_set_new(o, "chip", json_str_or_null(info->chip));
		json_object_set_new(o, "protocol", json_integer(info->version));
		json_object_set_new(o, "max_frame",
		    json_integer(info->max_frame));
		json_object_set_new(o, "state",
		    json_string(proto_state_name(info->state)));
		json_object_set_new(o, "capabilities", json_string(caps));
		json_object_set_new(o, "caps", json_integer(info->caps));
		/* What the extensions agreed: the window HELLO settled on
		 * (1 without CAP_WINDOW), the device's highest rate (0
		 * without CAP_BAUD_SWITCH). */
		json_object_set_new(o, "window", json_integer(info->window));
		json_object_set_new(o, "max_baud",
		    json_integer(info->max_baud));
	}
	json_out_line(o);
}

/* A device of another dialect than v1 (an nRF91 modem): what its hello
 * reports, on the default profile (where its identity comes from). */
static int
probe_dialect(const char *uri, const char *dialect, int json)
{
	struct profile p;
	struct dev_info info = { 0 };
	struct text_pool tp = { 0 };
	char *cause = NULL;
	json_t *o;
	st_err err;

	profile_init_default(&p);
	err = dialect_identify(uri, &p, deadline_in(PROBE_DEADLINE_MS), &info,
	    &cause);
	if (json) {
		o = json_object();
		json_object_set_new(o, "device", json_str_or_null(uri));
		json_object_set_new(o, "dialect", json_string(dialect));
		json_object_set_new(o, "result",
		    json_string(err ? "FAIL" : "PASS"));
		if (err) {
			json_object_set_new(o, "error",
			    json_string(st_errname(err)));
			json_object_set_new(o, "reason",
			    json_str_or_null(cause));
		} else {
			json_object_set_new(o, "serial",
			    json_str_or_null(info.serial));
			json_object_set_new(o, "model",
			    json_str_or_null(info.model));
			json_object_set_new(o, "fw_version",
			    json_str_or_null(info.fw_version));
			json_object_set_new(o, "chip",
			    json_str_or_null(info.chip));
		}
		json_out_line(o);
	} else if (err) {
		fprintf(stderr, "station: probe %s: %s\n",
		    text_pool_show(&tp, uri), text_pool_show(&tp, cause));
	} else {
		printf("device    %s\ndialect   %s\nserial    %s\nmodel     "
		       "%s\nfirmware  %s\nchip      %s\n",
		    text_pool_show(&tp, uri), dialect,
		    text_pool_show(&tp, info.serial),
		    text_pool_show(&tp, info.model),
		    text_pool_show(&tp, info.fw_version),
		    text_pool_show(&tp, info.chip));
	}
	text_pool_clear(&tp);
	dev_info_clear(&info);
	profile_clear(&p);
	free(cause);
	if (err == ST_E_URI)
		return EXIT_USAGE;
	return err ? EXIT_FAIL : EXIT_PASS;
}

struct probe_opts {
	int json;
};

static const struct opt probe_opt_table[] = {
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct probe_opts, json),
	    .help = "what the device reports as one JSON object" },
	{ .name = NULL },
};

static const struct opt_template probe_template[] = {
	{ .opts = probe_opt_table,
	    .lower = 1,
	    .upper = 1,
	    .args = "DEVICE-URI" },
	{ .opts = NULL },
};

static int
cmd_probe_exec(const struct station_opts *so, int argc, char **argv)
{
	struct probe_opts o = { 0 };
	struct opt_args args;
	const char *uri = NULL, *turi = NULL;
	int json, rc;
	struct transport *t = NULL;
	struct client *c = NULL;
	struct client_opts co;
	struct dev_info info = { 0 };
	char *cause = NULL, caps[512] = "";
	struct text_pool tp = { 0 };
	struct deadline dl;
	st_err err;

	(void)so; /* probe reaches the device alone: no station */
	rc = cmd_parse(&cmd_probe_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	uri = args.arg[0];
	json = o.json;
	if (dialect_of(uri, &turi) != &dialect_v1_ops)
		return probe_dialect(uri, dialect_of(uri, &turi)->name, json);

	dl = deadline_in(PROBE_DEADLINE_MS);
	err = transport_open(uri, dl, &t, &cause);
	if (err == ST_OK) {
		/* A device still booting gets the whole deadline, as a
		 * run's HELLO does (docs/protocol.md 5.1). */
		client_opts_default(&co);
		client_opts_fit(&co, deadline_left_ms(dl));
		c = client_new(t, &co);
		client_set_deadline(c, dl);
		err = dev_hello(c, &info, &cause);
	}
	if (err == ST_OK)
		caps_string(info.caps, caps, sizeof caps);
	if (json) {
		print_json(c ? client_transport(c) : NULL, &info, caps, err,
		    cause);
	} else if (err) {
		fprintf(stderr, "station: probe %s: %s\n",
		    text_pool_show(&tp, uri), text_pool_show(&tp, cause));
	} else {
		/* What the device reports is shown, never obeyed. */
		printf(
		    "device    %s\nserial    %s\nmodel     %s\nhardware  %s\n"
		    "firmware  %s\nchip      %s\nprotocol  %u (max frame %u bytes)\n"
		    "state     %s\ncaps      %s (0x%08x)\n",
		    text_pool_show(&tp, client_transport(c)->describe),
		    text_pool_show(&tp, info.serial),
		    text_pool_show(&tp, info.model),
		    text_pool_show(&tp, info.hw_version),
		    text_pool_show(&tp, info.fw_version),
		    text_pool_show(&tp, info.chip), info.version,
		    info.max_frame, proto_state_name(info.state), caps,
		    info.caps);
		if (info.caps & PROTO_CAP_WINDOW)
			printf("window    %u frames in flight\n", info.window);
		if (info.caps & PROTO_CAP_BAUD_SWITCH)
			printf("baud      up to %u\n", info.max_baud);
	}
	text_pool_clear(&tp);
	dev_info_clear(&info);
	client_free(c);
	free(cause);
	if (err == ST_E_URI)
		return EXIT_USAGE;
	return err ? EXIT_FAIL : EXIT_PASS;
}

const struct cmd_entry cmd_probe_entry = {
	.name = "probe",
	.args = "DEVICE-URI [--json]",
	.summary = "say HELLO to a device and print what it reports",
	.options = probe_template,
	.exec = cmd_probe_exec,
};
