/*
 * Fuzz template expansion (profile_expand, station/profile.c), the serial
 * rule and a device's identity (identity_build, station/identity.c):
 * templates come from the configuration file, serials and models from
 * devices.  An expansion that succeeds leaves no reference behind and
 * contains every literal byte of the template; an identity built from a
 * fuzzed model has exactly the profile's attributes, SANs and topic
 * levels, or the run is refused as the device's fault.
 */
#include <string.h>

#include "station/x509/identity.h"
#include "station/config/profile.h"
#include "station/util/xalloc.h"
#include "tests/fuzz/fuzz.h"

static void
profile_fuzz_expand(const char *tmpl, const struct template_vars *vars)
{
	char *out = NULL, *why = NULL;

	if (profile_expand(tmpl, vars, &out, &why) != ST_OK) {
		FUZZ_CHECK(out == NULL && why != NULL);
		free(why);
		return;
	}
	FUZZ_CHECK(out != NULL);
	/* The values below hold no "${", so none can survive expansion. */
	FUZZ_CHECK(strstr(out, "${") == NULL);
	/* A template without references expands to itself. */
	if (strstr(tmpl, "${") == NULL)
		FUZZ_CHECK(strcmp(out, tmpl) == 0);
	free(out);
}

/* The input as the model the device reports. */
static void
profile_fuzz_identity(const char *model)
{
	struct template_vars vars = { "SN0001", model, "st-1", NULL };
	struct profile p;
	struct identity id;
	char *why = NULL, *topic = NULL;

	profile_init_default(&p);
	dn_pairs_free(p.subject_parts, p.n_subject_parts);
	FUZZ_CHECK(dn_split("C=DE,O=${model},CN=${serial}", &p.subject_parts,
		       &p.n_subject_parts, NULL) == ST_OK);
	free(p.san_dns_templates);
	p.san_dns_templates = xcalloc(2, sizeof(char *));
	p.san_dns_templates[0] = xstrdup("${model}.c.example.com");
	free(p.topic_template);
	p.topic_template = xstrdup("f/${model}/${cn}");
	st_err err = identity_build(&p, &vars, &id, &why);
	if (err == ST_OK) {
		FUZZ_CHECK(X509_NAME_entry_count(id.subject) == 3);
		FUZZ_CHECK(id.san_dns[0] != NULL && id.san_dns[1] == NULL);
		vars.cn = id.cn;
		err = identity_topic(&p, &vars, &topic, &why);
	}
	if (err == ST_OK) {
		const char *slash = strchr(topic, '/');
		FUZZ_CHECK(slash && strchr(slash + 1, '/') != NULL);
		FUZZ_CHECK(strchr(strchr(slash + 1, '/') + 1, '/') == NULL);
		FUZZ_CHECK(strpbrk(topic, "+#") == NULL);
	} else {
		/* Only the model can be at fault here. */
		FUZZ_CHECK(err == ST_E_POLICY);
		FUZZ_CHECK(strncmp(why, "device reports model '", 22) == 0);
	}
	free(topic);
	free(why);
	identity_clear(&id);
	profile_clear(&p);
}

int
fuzz_profile(const uint8_t *data, size_t size)
{
	static const struct template_vars full = { "SN0001", "M-1", "st-1",
		"SN0001" };
	static const struct template_vars no_cn = { "SN0001", "M-1", "st-1",
		NULL };
	static const struct template_vars none = { NULL, NULL, NULL, NULL };
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	profile_fuzz_expand(text, &full);
	profile_fuzz_expand(text, &no_cn);
	profile_fuzz_expand(text, &none);
	profile_fuzz_identity(text);
	if (serial_is_valid(text)) {
		FUZZ_CHECK(strlen(text) >= 1 && strlen(text) <= 64);
		FUZZ_CHECK(strpbrk(text, ",=/${}+\\\" ") == NULL);
	}
	free(text);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_profile(data, size);
}
#endif
