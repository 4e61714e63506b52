/* Command-line options as data (see opt.h). */
#include "station/cli/opt.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

/* The entry of `table` (may be NULL) named `word`, or NULL. */
static const struct opt *
opt_find_in(const struct opt *table, const char *word)
{
	for (const struct opt *o = table; o != NULL && o->name != NULL; o++) {
		if (strcmp(o->name, word) == 0)
			return o;
		if (o->alias != NULL && strcmp(o->alias, word) == 0)
			return o;
	}
	return NULL;
}

/* The option of `t` named `word`, or NULL. */
static const struct opt *
opt_find(const struct opt_template *t, const char *word)
{
	const struct opt *o = opt_find_in(t->opts, word);

	return o != NULL ? o : opt_find_in(t->shared, word);
}

/* "--format: 'xml' is not one of csv, jsonl" */
static st_err
enum_refused(const struct opt *o, const char *value, char **cause)
{
	char *shown = text_escape(value, 32);
	char *list = xstrdup("");
	char *longer = NULL;
	st_err err;

	for (size_t i = 0; o->names[i] != NULL; i++) {
		longer = xasprintf("%s%s%s", list, i ? ", " : "", o->names[i]);
		free(list);
		list = longer;
	}
	err = st_fail(cause, ST_E_ARG, "%s: '%s' is not one of %s", o->name,
	    shown, list);
	free(list);
	free(shown);
	return err;
}

/* Store `value` (NULL for a flag) of option `o` into `dst`. */
static st_err
opt_store(const struct opt *o, const char *value, void *dst, char **cause)
{
	char *field = (char *)dst + o->offset;
	long long n = 0;
	st_err err;

	switch (o->kind) {
	case OPT_FLAG:
		*(int *)(void *)field = 1;
		return ST_OK;
	case OPT_STRING:
		*(const char **)(void *)field = value;
		return ST_OK;
	case OPT_NUMBER:
		err = num_parse(value, o->min, o->max, &n, o->name, cause);
		if (err)
			return err;
		*(long long *)(void *)field = n;
		return ST_OK;
	case OPT_ENUM:
		for (int i = 0; o->names[i] != NULL; i++) {
			if (strcmp(o->names[i], value) == 0) {
				*(int *)(void *)field = i;
				return ST_OK;
			}
		}
		return enum_refused(o, value, cause);
	}
	return st_fail(cause, ST_E_ARG, "%s: bad option table", o->name);
}

st_err
opt_parse(const struct opt_template *t, int argc, char **argv, void *dst,
    struct opt_args *args, char **cause)
{
	const struct opt *o;
	const char *value;
	char *shown = NULL;
	st_err err = ST_OK;
	int i;

	memset(args, 0, sizeof *args);
	for (i = 0; i < argc; i++) {
		const char *word = argv[i];

		if (word[0] != '-') {
			if (t->stop_at_arg)
				break;
			if (args->n >= t->upper || args->n >= OPT_ARGS_MAX) {
				shown = text_escape(word, 64);
				err = st_fail(cause, ST_E_ARG,
				    "unexpected argument '%s'", shown);
				goto out;
			}
			args->arg[args->n++] = word;
			continue;
		}
		o = opt_find(t, word);
		if (o == NULL) {
			shown = text_escape(word, 64);
			err = st_fail(cause, ST_E_ARG, "unknown option '%s'",
			    shown);
			goto out;
		}
		value = NULL;
		if (o->kind != OPT_FLAG) {
			if (i + 1 >= argc) {
				err = st_fail(cause, ST_E_ARG,
				    "%s needs a value "
				    "(%s)",
				    o->name, o->value ? o->value : "VALUE");
				goto out;
			}
			value = argv[++i];
		}
		err = opt_store(o, value, dst, cause);
		if (err)
			goto out;
	}
	args->next = i;
	if (args->n < t->lower)
		err = st_fail(cause, ST_E_ARG, "missing %s",
		    t->args ? t->args : "argument");
out:
	free(shown);
	return err;
}

/* One table's lines for opt_help. */
static void
opt_help_table(FILE *fp, const struct opt *table)
{
	char head[64];

	for (const struct opt *o = table; o != NULL && o->name != NULL; o++) {
		snprintf(head, sizeof head, "%s%s%s%s%s", o->name,
		    o->alias ? ", " : "", o->alias ? o->alias : "",
		    o->value ? " " : "", o->value ? o->value : "");
		/* A long head gets its own line, so help texts align. */
		if (strlen(head) > 24)
			fprintf(fp, "  %s\n  %-24s %s", head, "",
			    o->help ? o->help : "");
		else
			fprintf(fp, "  %-24s %s", head, o->help ? o->help : "");
		if (o->kind == OPT_NUMBER)
			fprintf(fp, " (%s: %lld to %lld)",
			    o->value ? o->value : "a whole number", o->min,
			    o->max);
		if (o->kind == OPT_ENUM) {
			fprintf(fp, " (one of");
			for (size_t i = 0; o->names[i] != NULL; i++)
				fprintf(fp, "%s %s", i ? "," : "", o->names[i]);
			fprintf(fp, ")");
		}
		fprintf(fp, "\n");
	}
}

void
opt_help(FILE *fp, const struct opt_template *t)
{
	if ((t->opts == NULL || t->opts->name == NULL) &&
	    (t->shared == NULL || t->shared->name == NULL))
		fprintf(fp, "  (no options)\n");
	opt_help_table(fp, t->opts);
	opt_help_table(fp, t->shared);
}

int
opt_templates_take(const struct opt_template *ts, const char *word)
{
	for (; ts != NULL && ts->opts != NULL; ts++) {
		if (opt_find(ts, word) != NULL)
			return 1;
	}
	return 0;
}

const struct opt_template *
opt_template_find(const struct opt_template *ts, const char *sub)
{
	if (sub == NULL)
		return NULL;
	for (; ts->opts != NULL; ts++) {
		if (ts->sub != NULL && strcmp(ts->sub, sub) == 0)
			return ts;
	}
	return NULL;
}
