/*
 * Fixture files (fixture.h, docs/fixtures.md).  Parsed with inih through
 * the line-counting reader (ini_lines.h), so that every error names the
 * file, the line, the section and the key, as the configuration's do.
 */
#define LOG_MODULE "fixture"
#include "station/config/fixture.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/config/config.h"
#include "station/config/ini_lines.h"
#include "station/util/num.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

#define HOOK_TIMEOUT_DEFAULT_MS 10000
#define HOOK_TIMEOUT_MAX_MS 600000

enum fx_section { FX_NONE, FX_FIXTURE, FX_SLOT, FX_BAD };

/* Keys of a [slot N] section, in the order of key_line[]. */
static const char *const slot_keys[] = {
	"label",
	"device",
	"profile",
	"power_on",
	"power_off",
	"reset",
	NULL,
};
static const char *const fixture_keys[] = { "name", "hook_timeout_ms", NULL };

struct fx_load {
	const char *path;
	struct ini_lines rd;
	struct fixture *fx;
	enum fx_section kind;
	char section[64];
	int key_line[8];  /* where each key of this section was set */
	int fixture_line; /* line of [fixture], 0 = not seen */
	st_err err;	  /* the first error wins */
	int err_line;
	char *cause;
};

static void fl_fail(struct fx_load *fl, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fl_fail(struct fx_load *fl, int line, const char *fmt, ...)
{
	va_list ap;

	if (fl->err)
		return;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	fl->cause = xasprintf("%s:%d: %s", fl->path, line, msg);
	free(msg);
	fl->err = ST_E_CONFIG;
	fl->err_line = line;
}

/* A decimal integer in [min, max] with nothing around it. */
static int
parse_long(const char *s, long min, long max, long *out)
{
	long long v;

	/* No sign, whatever min says. */
	if (*s == '-' || !num_valid(s, min, max, &v))
		return -1;
	*out = (long)v;
	return 0;
}

static struct fixture_slot *
cur_slot(struct fx_load *fl)
{
	return &fl->fx->slots[fl->fx->n_slots - 1];
}

static void
slot_begin(struct fx_load *fl, const char *num)
{
	struct fixture *fx = fl->fx;
	long index;

	if (parse_long(num, 1, CONFIG_SLOT_MAX, &index)) {
		fl_fail(fl, fl->rd.line,
		    "[slot %s]: slot number: expected an "
		    "integer 1..%d",
		    num, CONFIG_SLOT_MAX);
		return;
	}
	for (size_t i = 0; i < fx->n_slots; i++) {
		if (fx->slots[i].index == (unsigned)index) {
			fl_fail(fl, fl->rd.line,
			    "[slot %ld]: duplicate slot "
			    "(first defined on line %d)",
			    index, fx->slots[i].line);
			return;
		}
	}
	fx->slots = xrealloc(fx->slots, (fx->n_slots + 1) * sizeof *fx->slots);
	fx->n_slots++;
	struct fixture_slot *s = cur_slot(fl);
	memset(s, 0, sizeof *s);
	s->index = (unsigned)index;
	s->line = fl->rd.line;
	fl->kind = FX_SLOT;
}

/* ini_lines callback: `start` is a line beginning with '['. */
static void
fl_header(void *ctx, const char *start)
{
	struct fx_load *fl = ctx;
	const char *end = strchr(start + 1, ']');

	if (fl->err)
		return;
	memset(fl->key_line, 0, sizeof fl->key_line);
	fl->kind = FX_BAD;
	fl->section[0] = '\0';
	if (end == NULL) {
		fl_fail(fl, fl->rd.line, "section header without ']'");
		return;
	}
	size_t n = (size_t)(end - start - 1);
	if (n >= sizeof fl->section) {
		fl_fail(fl, fl->rd.line,
		    "section name longer than %zu "
		    "characters",
		    sizeof fl->section - 1);
		return;
	}
	memcpy(fl->section, start + 1, n);
	fl->section[n] = '\0';
	if (strcmp(fl->section, "fixture") == 0) {
		if (fl->fixture_line) {
			fl_fail(fl, fl->rd.line,
			    "[fixture]: duplicate section "
			    "(first on line %d)",
			    fl->fixture_line);
			return;
		}
		fl->fixture_line = fl->rd.line;
		fl->kind = FX_FIXTURE;
	} else if (strncmp(fl->section, "slot ", 5) == 0) {
		slot_begin(fl, fl->section + 5);
	} else {
		fl_fail(fl, fl->rd.line,
		    "[%s]: unknown section (expected "
		    "[fixture] or [slot N])",
		    fl->section);
	}
}

static void
fl_read_error(void *ctx, int line, const char *msg)
{
	fl_fail(ctx, line, "%s", msg);
}

/* Set one key of [fixture]; returns a reason on a bad value. */
static const char *
set_fixture_key(struct fx_load *fl, int key, const char *value)
{
	long ms;

	if (key == 0) {
		if (!config_id_is_valid(value))
			return "expected 1..32 characters of A-Z a-z 0-9 . _ -";
		free(fl->fx->name);
		fl->fx->name = xstrdup(value);
		return NULL;
	}
	if (parse_long(value, 1, HOOK_TIMEOUT_MAX_MS, &ms))
		return "expected milliseconds 1..600000";
	fl->fx->hook_timeout_ms = (int)ms;
	return NULL;
}

static int
uri_scheme_known(const char *uri)
{
	/* A dialect's prefix (station/pipeline/dialect.h) in front of a
	 * transport URI. */
	if (strncmp(uri, "nrf91:", 6) == 0)
		uri += 6;
	return strncmp(uri, "tcp:", 4) == 0 || strncmp(uri, "uart:", 5) == 0 ||
	    strncmp(uri, "usb:", 4) == 0 || strncmp(uri, "rfc2217:", 8) == 0;
}

static const char *
set_slot_key(struct fx_load *fl, int key, const char *value)
{
	struct fixture_slot *s = cur_slot(fl);
	char **field[] = { &s->label, &s->device, &s->profile, &s->power_on,
		&s->power_off, &s->reset };

	if (value[0] == '\0')
		return "expected a non-empty value";
	if (key == 0 && !config_id_is_valid(value))
		return "a label is 1..32 characters of A-Z a-z 0-9 . _ - "
		       "(it is scanned as one word)";
	if (key == 1 && !uri_scheme_known(value))
		return "expected a device URI (tcp:HOST:PORT, uart:..., usb:..., "
		       "rfc2217:HOST:PORT, nrf91:tcp:...)";
	if (key == 2 && !config_id_is_valid(value))
		return "expected a profile name";
	free(*field[key]);
	*field[key] = xstrdup(value);
	return NULL;
}

/* Called by inih for every key = value line. */
static int
fl_handler(void *user, const char *section, const char *name, const char *value)
{
	struct fx_load *fl = user;
	const char *const *keys = NULL;
	int i;

	fl->rd.prev_key = 1;
	if (fl->err)
		return 1;
	if (fl->kind == FX_FIXTURE)
		keys = fixture_keys;
	else if (fl->kind == FX_SLOT)
		keys = slot_keys;
	if (keys == NULL) {
		fl_fail(fl, fl->rd.line, "key '%s' outside any section", name);
		return 1;
	}
	if (strcmp(section, fl->section) != 0) {
		fl_fail(fl, fl->rd.line,
		    "[%s]: section header not understood "
		    "(an indented line continues the previous value)",
		    section);
		return 1;
	}
	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(keys[i], name) == 0)
			break;
	}
	if (keys[i] == NULL) {
		fl_fail(fl, fl->rd.line, "[%s] key '%s': unknown key", section,
		    name);
		return 1;
	}
	if (fl->key_line[i]) {
		fl_fail(fl, fl->rd.line,
		    "[%s] key '%s': duplicate key (first "
		    "set on line %d)",
		    section, name, fl->key_line[i]);
		return 1;
	}
	fl->key_line[i] = fl->rd.line;
	const char *why = fl->kind == FX_FIXTURE ?
	    set_fixture_key(fl, i, value) :
	    set_slot_key(fl, i, value);
	if (why)
		fl_fail(fl, fl->rd.line, "[%s] %s = '%s': %s", section, name,
		    value, why);
	return 1;
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct fixture_slot *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* Defaults and the checks that need the whole file (and the config). */
static void
fl_finish(struct fx_load *fl, const struct config *cfg)
{
	struct fixture *fx = fl->fx;

	if (fx->n_slots == 0)
		fl_fail(fl, fl->rd.line,
		    "no [slot N] section: a fixture has "
		    "at least one slot");
	for (size_t i = 0; i < fx->n_slots; i++) {
		struct fixture_slot *s = &fx->slots[i];

		if (s->device == NULL)
			fl_fail(fl, s->line, "[slot %u] key 'device': missing",
			    s->index);
		if (s->profile == NULL)
			s->profile = xstrdup("default");
		if (s->label == NULL)
			s->label = xasprintf("S%u", s->index);
		if (config_profile(cfg, s->profile) == NULL)
			fl_fail(fl, s->line,
			    "[slot %u] profile = '%s': no such "
			    "profile in the configuration",
			    s->index, s->profile);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(fx->slots[j].label, s->label) == 0)
				fl_fail(fl, s->line,
				    "[slot %u] label = '%s': "
				    "already the label of [slot %u] (line %d)",
				    s->index, s->label, fx->slots[j].index,
				    fx->slots[j].line);
		}
	}
	if (fx->name == NULL)
		fx->name = xstrdup("fixture");
	if (fx->n_slots > 1)
		qsort(fx->slots, fx->n_slots, sizeof *fx->slots, slot_cmp);
}

static struct fixture *
fixture_empty(void)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);

	fx->hook_timeout_ms = HOOK_TIMEOUT_DEFAULT_MS;
	return fx;
}

/* Parse the open stream `fp` (closed here); `path` names it in errors. */
static st_err
load_stream(const char *path, FILE *fp, const struct config *cfg,
    struct fixture **out, char **cause)
{
	struct fx_load fl = { .path = path };
	st_err err;

	fl.fx = fixture_empty();
	fl.fx->path = xstrdup(path);
	fl.rd.fp = fp;
	fl.rd.on_header = fl_header;
	fl.rd.on_error = fl_read_error;
	fl.rd.ctx = &fl;
	int rc = ini_parse_stream(ini_lines_read, &fl.rd, fl_handler, &fl);
	if (rc > 0 && (!fl.err || rc < fl.err_line)) {
		/* inih found a line it cannot read before our first error. */
		free(fl.cause);
		fl.cause = NULL;
		fl.err = ST_OK;
		fl_fail(&fl, rc,
		    "expected 'key = value', '[section]' or a "
		    "comment");
	} else if (rc < 0 && !fl.err) {
		fl_fail(&fl, 0, "the parser failed (%d)", rc);
	}
	if (!fl.err)
		fl_finish(&fl, cfg);
	err = fl.err;
	if (err) {
		st_fail(cause, err, "%s", fl.cause);
		fixture_free(fl.fx);
	} else {
		log_debug("loaded %s: %zu slot(s)", path, fl.fx->n_slots);
		*out = fl.fx;
	}
	fclose(fp);
	ini_lines_clear(&fl.rd);
	free(fl.cause);
	return err;
}

st_err
fixture_load(const char *path, const struct config *cfg, struct fixture **out,
    char **cause)
{
	FILE *fp;

	*out = NULL;
	fp = fopen(path, "re");
	if (fp == NULL)
		return st_fail(cause, ST_E_IO, "%s: cannot open: %s", path,
		    strerror(errno));
	return load_stream(path, fp, cfg, out, cause);
}

st_err
fixture_load_buffer(const char *name, const char *text, size_t len,
    const struct config *cfg, struct fixture **out, char **cause)
{
	FILE *fp;
	st_err err;

	*out = NULL;
	err = ini_open_buffer(name, text, len, &fp, cause);
	if (err)
		return err;
	return load_stream(name, fp, cfg, out, cause);
}

struct fixture *
fixture_from_config(const struct config *cfg)
{
	struct fixture *fx = fixture_empty();

	fx->name = xstrdup(cfg->station_id);
	fx->n_slots = cfg->n_slots;
	fx->slots = xcalloc(cfg->n_slots ? cfg->n_slots : 1, sizeof *fx->slots);
	for (size_t i = 0; i < cfg->n_slots; i++) {
		const struct config_slot *c = &cfg->slots[i];
		struct fixture_slot *s = &fx->slots[i];

		s->index = c->index;
		s->label = xasprintf("S%u", c->index);
		s->device = xstrdup(c->device);
		s->profile = xstrdup(c->profile ? c->profile : "default");
		s->line = c->line;
	}
	return fx;
}

const struct fixture_slot *
fixture_slot(const struct fixture *fx, unsigned index)
{
	for (size_t i = 0; fx && i < fx->n_slots; i++) {
		if (fx->slots[i].index == index)
			return &fx->slots[i];
	}
	return NULL;
}

const struct fixture_slot *
fixture_slot_by_label(const struct fixture *fx, const char *label)
{
	for (size_t i = 0; fx && label && i < fx->n_slots; i++) {
		if (strcmp(fx->slots[i].label, label) == 0)
			return &fx->slots[i];
	}
	return NULL;
}

void
fixture_free(struct fixture *fx)
{
	if (fx == NULL)
		return;
	for (size_t i = 0; i < fx->n_slots; i++) {
		struct fixture_slot *s = &fx->slots[i];

		free(s->label);
		free(s->device);
		free(s->profile);
		free(s->power_on);
		free(s->power_off);
		free(s->reset);
	}
	free(fx->slots);
	free(fx->path);
	free(fx->name);
	free(fx);
}
