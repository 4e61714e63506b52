/*
 * Loading the configuration file (config.h).
 *
 * The file is fed to inih through the line-counting reader of ini_lines.h,
 * which also reports section headers as they go by: that is how an empty
 * [profile x] or a repeated [slot 1] is seen at all.  The handler checks
 * that inih and the reader agree on the current section.
 */
#define LOG_MODULE "config"
#include "station/config/config_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/ca/ca.h"
#include "station/config/ini_lines.h"
#include "station/util/xalloc.h"

static void ld_fail(struct config_load *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record an error at `line`; only the first one is kept. */
static void
ld_fail(struct config_load *ld, int line, const char *fmt, ...)
{
	va_list ap;

	if (ld->err)
		return;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	ld->cause = xasprintf("%s:%d: %s", ld->path, line, msg);
	free(msg);
	ld->err = ST_E_CONFIG;
	ld->err_line = line;
}

static void
profile_begin(struct config_load *ld, const char *name)
{
	struct config *cfg = ld->cfg;

	if (!config_id_is_valid(name)) {
		ld_fail(ld, ld->rd.line,
		    "[profile %s]: a profile name is 1..%d "
		    "characters of A-Z a-z 0-9 . _ -",
		    name, CONFIG_ID_MAX);
		return;
	}
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		if (strcmp(cfg->profiles[i].name, name) == 0) {
			ld_fail(ld, ld->rd.line,
			    "[profile %s]: duplicate profile "
			    "(first defined on line %d)",
			    name, ld->profile_lines[i]);
			return;
		}
	}
	size_t n = cfg->n_profiles + 1;
	cfg->profiles = xrealloc(cfg->profiles, n * sizeof *cfg->profiles);
	ld->profile_lines =
	    xrealloc(ld->profile_lines, n * sizeof *ld->profile_lines);
	struct profile *p = &cfg->profiles[n - 1];
	profile_init_default(p);
	free(p->name);
	p->name = xstrdup(name);
	ld->profile_lines[n - 1] = ld->rd.line;
	cfg->n_profiles = n;
	ld->cur = n - 1;
	ld->kind = SECT_PROFILE;
}

static void
slot_begin(struct config_load *ld, const char *num)
{
	struct config *cfg = ld->cfg;
	char *why = NULL;
	long index;

	if (config_parse_int(num, 1, CONFIG_SLOT_MAX, &index, &why)) {
		ld_fail(ld, ld->rd.line, "[slot %s]: slot number: %s", num,
		    why);
		free(why);
		return;
	}
	for (size_t i = 0; i < cfg->n_slots; i++) {
		if (cfg->slots[i].index == (unsigned)index) {
			ld_fail(ld, ld->rd.line,
			    "[slot %ld]: duplicate slot "
			    "(first defined on line %d)",
			    index, cfg->slots[i].line);
			return;
		}
	}
	cfg->slots =
	    xrealloc(cfg->slots, (cfg->n_slots + 1) * sizeof *cfg->slots);
	struct config_slot *s = &cfg->slots[cfg->n_slots];
	memset(s, 0, sizeof *s);
	s->index = (unsigned)index;
	s->line = ld->rd.line;
	ld->cur = cfg->n_slots++;
	ld->kind = SECT_SLOT;
}

/* A singleton section ([station], [ca], [broker]) may appear once. */
static void
single_begin(struct config_load *ld, int *seen, enum config_section kind)
{
	if (*seen) {
		ld_fail(ld, ld->rd.line,
		    "[%s]: duplicate section (first on line "
		    "%d)",
		    ld->section, *seen);
		return;
	}
	*seen = ld->rd.line;
	ld->kind = kind;
}

/* `start` is a line whose first non-blank character is '['. */
static void
section_begin(struct config_load *ld, const char *start)
{
	const char *end = strchr(start + 1, ']');
	const char *name = ld->section;

	memset(ld->key_line, 0, sizeof ld->key_line);
	ld->kind = SECT_BAD;
	ld->section[0] = '\0';
	if (end == NULL) {
		ld_fail(ld, ld->rd.line, "section header without ']'");
		return;
	}
	size_t n = (size_t)(end - start - 1);
	if (n >= sizeof ld->section) {
		ld_fail(ld, ld->rd.line,
		    "section name longer than %zu characters",
		    sizeof ld->section - 1);
		return;
	}
	memcpy(ld->section, start + 1, n);
	ld->section[n] = '\0';
	if (strcmp(name, "station") == 0)
		single_begin(ld, &ld->station_line, SECT_STATION);
	else if (strcmp(name, "ca") == 0)
		single_begin(ld, &ld->ca_line, SECT_CA);
	else if (strcmp(name, "broker") == 0)
		single_begin(ld, &ld->broker_line, SECT_BROKER);
	else if (strcmp(name, "fleet") == 0)
		single_begin(ld, &ld->fleet_line, SECT_FLEET);
	else if (strcmp(name, "ledger") == 0)
		single_begin(ld, &ld->ledger_line, SECT_LEDGER);
	else if (strncmp(name, "profile ", 8) == 0)
		profile_begin(ld, name + 8);
	else if (strncmp(name, "slot ", 5) == 0)
		slot_begin(ld, name + 5);
	else
		ld_fail(ld, ld->rd.line,
		    "[%s]: unknown section (expected "
		    "[station], [ca], [broker], [fleet], [ledger], "
		    "[profile NAME] or "
		    "[slot N])",
		    name);
}

/* ini_lines callbacks: a header line, a line the reader refused. */
static void
ld_header(void *ctx, const char *start)
{
	struct config_load *ld = ctx;

	if (!ld->err)
		section_begin(ld, start);
}

static void
ld_read_error(void *ctx, int line, const char *msg)
{
	ld_fail(ctx, line, "%s", msg);
}

static const struct config_key *
section_keys(enum config_section kind)
{
	switch (kind) {
	case SECT_STATION:
		return config_station_keys;
	case SECT_CA:
		return config_ca_keys;
	case SECT_BROKER:
		return config_broker_keys;
	case SECT_LEDGER:
		return config_ledger_keys;
	case SECT_PROFILE:
		return config_profile_keys;
	case SECT_SLOT:
		return config_slot_keys;
	case SECT_FLEET:
		return config_fleet_keys;
	case SECT_NONE:
	case SECT_BAD:
		break;
	}
	return NULL;
}

/* Called by inih for every key = value line (and continuation line). */
static int
ld_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_load *ld = user;
	const struct config_key *keys = section_keys(ld->kind);
	const struct ca_key *ck = NULL;
	char *why = NULL;
	size_t i, n;
	int repeatable, no_echo;
	st_err err;

	ld->rd.prev_key = 1;
	if (ld->err)
		return 1; /* only the first error is reported */
	if (keys == NULL) {
		ld_fail(ld, ld->rd.line, "key '%s' outside any section", name);
		return 1;
	}
	if (strcmp(section, ld->section) != 0) {
		ld_fail(ld, ld->rd.line,
		    "[%s]: section header not understood "
		    "(an indented line continues the previous value)",
		    section);
		return 1;
	}
	for (n = 0; keys[n].name != NULL; n++)
		;
	for (i = 0; i < n; i++) {
		if (strcmp(keys[i].name, name) == 0)
			break;
	}
	/* [ca] also takes every key of the CA backend table, counted after
	 * the section's own keys in key_line[]. */
	if (i == n && ld->kind == SECT_CA) {
		ck = ca_key_find(name);
		if (ck != NULL)
			i = n + (size_t)(ck - ca_key_at(0));
	}
	if ((ck == NULL && i == n) || i >= CONFIG_KEYS_MAX) {
		ld_fail(ld, ld->rd.line, "[%s] key '%s': unknown key", section,
		    name);
		return 1;
	}
	repeatable = ck ? 0 : keys[i].repeatable;
	no_echo = ck ? ck->type == CA_KEY_ENV_NAME : keys[i].no_echo;
	if (!repeatable && ld->key_line[i]) {
		ld_fail(ld, ld->rd.line,
		    "[%s] key '%s': duplicate key (first set "
		    "on line %d%s)",
		    section, name, ld->key_line[i],
		    ld->rd.indented ?
			"; an indented line continues the previous "
			"value" :
			"");
		return 1;
	}
	ld->key_line[i] = ld->rd.line;
	if (ck != NULL)
		err = config_ca_setting(ld, ck, value, &why);
	else
		err = config_key_set(ld, &keys[i], value, &why);
	if (err) {
		if (no_echo)
			ld_fail(ld, ld->rd.line, "[%s] key '%s': %s", section,
			    name, why ? why : "bad value");
		else
			ld_fail(ld, ld->rd.line, "[%s] %s = '%s': %s", section,
			    name, value, why ? why : "bad value");
	}
	free(why);
	return 1;
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct config_slot *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* [fleet]: a url, and the CA that verifies the server (docs/fleet.md). */
static void
ld_finish_fleet(struct config_load *ld)
{
	struct config_fleet *f = &ld->cfg->fleet;

	if (ld->fleet_line && f->url == NULL)
		ld_fail(ld, ld->fleet_line,
		    "[fleet] key 'url': missing (postgresql://USER@HOST:PORT/DB)");
	if (ld->fleet_line && ld->fleet_ca == NULL)
		ld_fail(ld, ld->fleet_line,
		    "[fleet] key 'ca': missing (the CA that signed the fleet "
		    "database's certificate: the server is always verified)");
	if (ld->fleet_ca)
		f->ca_file = config_path_join(ld->cfg->home, ld->fleet_ca);
	if (ld->fleet_password_file)
		f->password_file =
		    config_path_join(ld->cfg->home, ld->fleet_password_file);
}

/* Checks that need the whole file, and path resolution. */
static void
ld_finish(struct config_load *ld)
{
	struct config *cfg = ld->cfg;
	struct config_broker *b = &cfg->broker;

	cfg->home = xstrdup(config_default_home(ld->home));
	cfg->ledger_path =
	    config_path_join(cfg->home, ld->ledger ? ld->ledger : "ledger.db");
	if (ld->ledger_key)
		cfg->ledger_key_path =
		    config_path_join(cfg->home, ld->ledger_key);
	cfg->ca_dir =
	    config_path_join(cfg->home, ld->ca_dir ? ld->ca_dir : "ca");
	if (ld->ca_root)
		cfg->ca_root = config_path_join(cfg->home, ld->ca_root);
	else
		cfg->ca_root = config_path_join(cfg->ca_dir, "root.pem");
	/* Files named in [ca] are relative to home, like every path. */
	for (struct ca_setting *e = cfg->ca_extra; e->key != NULL; e++) {
		const struct ca_key *k = ca_key_find(e->key);

		if (k != NULL && k->type == CA_KEY_PATH) {
			char *p = config_path_join(cfg->home, e->value);

			free((char *)e->value);
			e->value = p;
		}
	}
	if (ld->broker_line && b->host == NULL)
		ld_fail(ld, ld->broker_line,
		    "[broker] key 'host': missing "
		    "(the broker of the smoke test)");
	if (ld->broker_line && ld->broker_ca == NULL)
		ld_fail(ld, ld->broker_line,
		    "[broker] key 'ca': missing (the "
		    "CA that signed the broker certificate)");
	if (ld->broker_ca)
		b->ca_file = config_path_join(cfg->home, ld->broker_ca);
	if (b->host && b->server_name == NULL)
		b->server_name = xstrdup(b->host);
	ld_finish_fleet(ld);
	int tline = 0;
	char *twhy = NULL;
	if (config_profile_check(ld, &tline, &twhy) != ST_OK)
		ld_fail(ld, tline, "%s", twhy);
	free(twhy);
	if (cfg->n_profiles == 0)
		config_add_default_profile(cfg);
	config_smoke_defaults(cfg);
	for (size_t i = 0; i < cfg->n_slots; i++) {
		struct config_slot *s = &cfg->slots[i];

		if (s->device == NULL)
			ld_fail(ld, s->line, "[slot %u] key 'device': missing",
			    s->index);
		if (s->profile == NULL)
			s->profile = xstrdup("default");
		if (config_profile(cfg, s->profile) == NULL)
			ld_fail(ld, s->line,
			    "[slot %u] profile = '%s': no "
			    "such profile (no [profile %s] section)",
			    s->index, s->profile, s->profile);
	}
	if (cfg->n_slots > 1)
		qsort(cfg->slots, cfg->n_slots, sizeof *cfg->slots, slot_cmp);
}

/* Open `path` and refuse what the station must not trust. */
static st_err
open_config(const char *path, FILE **out, char **cause)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return st_fail(cause, ST_E_IO, "%s: cannot open: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return st_fail(cause, ST_E_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return st_fail(cause, ST_E_CONFIG, "%s: not a regular file",
		    path);
	}
	if (st.st_mode & S_IWOTH) {
		close(fd);
		return st_fail(cause, ST_E_CONFIG,
		    "%s: the file is "
		    "world-writable, so the station does not trust it "
		    "(chmod o-w %s)",
		    path, path);
	}
	*out = fdopen(fd, "r");
	if (*out == NULL) {
		int e = errno;

		close(fd);
		return st_fail(cause, ST_E_IO, "%s: %s", path, strerror(e));
	}
	return ST_OK;
}

/* Parse the open stream `fp` (closed here) named `path` in messages. */
static st_err
load_stream(const char *path, FILE *fp, struct config **out, char **cause)
{
	struct config_load ld;
	st_err err;

	memset(&ld, 0, sizeof ld);
	ld.path = path;
	ld.fp = fp;
	ld.rd.fp = ld.fp;
	ld.rd.on_header = ld_header;
	ld.rd.on_error = ld_read_error;
	ld.rd.ctx = &ld;
	ld.cfg = config_base();
	ld.cfg->path = xstrdup(path);
	int rc = ini_parse_stream(ini_lines_read, &ld.rd, ld_handler, &ld);
	if (rc > 0 && (!ld.err || rc < ld.err_line)) {
		/* inih found a line it cannot read before our first error. */
		free(ld.cause);
		ld.cause = NULL;
		ld.err = ST_OK;
		ld_fail(&ld, rc,
		    "expected 'key = value', '[section]' or a "
		    "comment");
	} else if (rc < 0 && !ld.err) {
		ld_fail(&ld, 0, "the parser failed (%d)", rc);
	}
	if (!ld.err)
		ld_finish(&ld);
	err = ld.err;
	if (err) {
		st_fail(cause, err, "%s", ld.cause);
		config_free(ld.cfg);
		goto out;
	}
	log_debug("loaded %s: %zu profile(s), %zu slot(s)", path,
	    ld.cfg->n_profiles, ld.cfg->n_slots);
	*out = ld.cfg;
out:
	fclose(ld.fp);
	ini_lines_clear(&ld.rd);
	free(ld.cause);
	free(ld.profile_lines);
	config_profile_notes_free(&ld);
	free(ld.home);
	free(ld.ledger);
	free(ld.ledger_key);
	free(ld.ca_dir);
	free(ld.ca_root);
	free(ld.broker_ca);
	free(ld.fleet_ca);
	free(ld.fleet_password_file);
	return err;
}

st_err
config_load(const char *path, struct config **out, char **cause)
{
	FILE *fp;
	st_err err;

	*out = NULL;
	err = open_config(path, &fp, cause);
	if (err)
		return err;
	return load_stream(path, fp, out, cause);
}

st_err
config_load_buffer(const char *name, const char *text, size_t len,
    struct config **out, char **cause)
{
	FILE *fp;
	st_err err;

	*out = NULL;
	err = ini_open_buffer(name, text, len, &fp, cause);
	if (err)
		return err;
	return load_stream(name, fp, out, cause);
}
