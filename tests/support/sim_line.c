/* Test support: a scratch station and a simulated line (sim_line.h). */
#include "tests/support/sim_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/pipeline/pipeline.h"
#include "tests/support/pki.h"
#include "station/util/xalloc.h"

static void
die(const char *what)
{
	fprintf(stderr, "sim_line: %s\n", what);
	abort();
}

char *
sim_line_write(struct sim_line *sl, const char *name, const char *text)
{
	return station_home_write(sl->sh, name, text);
}

static void
write_config(struct sim_line *sl, int step_timeout_ms)
{
	char *more = xasprintf("id = sim-line\noperator = tester\n"
			       "log_level = error\nstep_timeout_ms = %d",
	    step_timeout_ms);

	station_home_config(sl->sh, more, "[ca]\nbackend = local\ndir = ca\n");
	sl->dir = sl->sh->dir;
	sl->config_path = sl->sh->config;
	free(more);
}

struct sim_line *
sim_line_start(size_t n, const char *prefix, int step_timeout_ms,
    const struct sim_slot_opts *opts)
{
	struct sim_line *sl = xcalloc(1, sizeof *sl);
	size_t cap = 4096, len = 0;
	char *fx = xmalloc(cap);

	if (n == 0 || n > SIM_LINE_MAX)
		die("bad slot count");
	sl->sh = station_home_new(NULL);
	write_config(sl, step_timeout_ms);
	len += (size_t)snprintf(fx, cap, "[fixture]\nname = sim-%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const char *args[24];
		size_t k = 0;

		snprintf(sl->serials[i], sizeof sl->serials[i], "%s-%zu",
		    prefix, i + 1);
		args[k++] = "--serial";
		args[k++] = sl->serials[i];
		for (size_t j = 0; opts && opts[i].devsim_args &&
		     opts[i].devsim_args[j] && k < 23;
		     j++)
			args[k++] = opts[i].devsim_args[j];
		args[k] = NULL;
		sl->sims[i] = devsim_proc_start(args);
		if (sl->sims[i] == NULL)
			die("devsim did not start");
		sl->n = i + 1;
		const char *extra =
		    opts && opts[i].fixture_lines ? opts[i].fixture_lines : "";
		char *sect = xasprintf("[slot %zu]\nlabel = S%zu\ndevice = %s\n"
				       "profile = default\n%s",
		    i + 1, i + 1, sl->sims[i]->uri, extra);
		size_t sl_len = strlen(sect);
		if (len + sl_len + 1 > cap) {
			cap = (len + sl_len + 1) * 2;
			fx = xrealloc(fx, cap);
		}
		memcpy(fx + len, sect, sl_len + 1);
		len += sl_len;
		free(sect);
	}
	sl->fixture_path = sim_line_write(sl, "fixture.ini", fx);
	free(fx);
	return sl;
}

void
sim_line_stop(struct sim_line *sl)
{
	if (sl == NULL)
		return;
	for (size_t i = 0; i < sl->n; i++)
		devsim_proc_stop(sl->sims[i]);
	station_home_free(sl->sh);
	free(sl->fixture_path);
	free(sl);
}

void
sim_result_from_event(struct sim_result *out, const struct station_event *ev)
{
	const struct provision_result *res = ev->res;
	const char *scanned = ev->req->scanned_serial;

	memset(out, 0, sizeof *out);
	out->slot = (unsigned)ev->slot;
	out->pass = ev->station_err == ST_OK && res->pass;
	out->run_id = res->run_id;
	out->failed_step = res->failed_step;
	out->err = ev->station_err ? ev->station_err : res->err;
	snprintf(out->reason, sizeof out->reason, "%s",
	    res->reason ? res->reason : "");
	snprintf(out->serial, sizeof out->serial, "%s",
	    res->serial ? res->serial : "");
	snprintf(out->scanned, sizeof out->scanned, "%s",
	    scanned ? scanned : "");
	snprintf(out->headline, sizeof out->headline, "%s",
	    res->headline ? res->headline : "");
}
