/* Look inside devsim's PKCS#11 chip (see p11_inspect.h). */
#include "tests/support/p11_inspect.h"

#include <dlfcn.h>
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "devsim"

struct inspector {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
	int initialized, have_session;
};

static int
bad(const char *what, CK_RV rv)
{
	fprintf(stderr, "p11_inspect: %s: 0x%lx\n", what, (unsigned long)rv);
	return -1;
}

/* The first line of <dir>/pins: the user PIN. */
static char *
user_pin(const char *dir)
{
	char *path = xasprintf("%s/pins", dir);
	char line[128] = "";
	FILE *fp = fopen(path, "r");

	free(path);
	if (fp == NULL || fgets(line, sizeof line, fp) == NULL) {
		if (fp)
			fclose(fp);
		return NULL;
	}
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static int
start(struct inspector *in, const char *dir)
{
	CK_C_GetFunctionList get;
	char *conf = xasprintf("%s/softhsm2.conf", dir);
	const char *old = getenv("SOFTHSM2_CONF");
	char *saved = old ? xstrdup(old) : NULL;
	CK_RV rv;

	in->dl = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
	if (in->dl == NULL) {
		fprintf(stderr, "p11_inspect: %s\n", dlerror());
		free(conf);
		free(saved);
		return -1;
	}
	*(void **)&get = dlsym(in->dl, "C_GetFunctionList");
	rv = get ? get(&in->f) : CKR_GENERAL_ERROR;
	if (rv == CKR_OK) {
		setenv("SOFTHSM2_CONF", conf, 1);
		rv = in->f->C_Initialize(NULL);
		if (saved)
			setenv("SOFTHSM2_CONF", saved, 1);
		else
			unsetenv("SOFTHSM2_CONF");
	}
	free(conf);
	free(saved);
	if (rv != CKR_OK)
		return bad("C_Initialize", rv);
	in->initialized = 1;
	return 0;
}

static int
open_token(struct inspector *in, const char *dir)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	CK_RV rv = in->f->C_GetSlotList(CK_TRUE, slots, &n);
	char *pin;

	if (rv != CKR_OK)
		return bad("C_GetSlotList", rv);
	for (CK_ULONG i = 0; i < n && !in->have_session; i++) {
		CK_TOKEN_INFO ti;

		if (in->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    memcmp(ti.label, TOKEN " ", strlen(TOKEN) + 1) != 0)
			continue;
		rv = in->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL,
		    NULL, &in->s);
		if (rv != CKR_OK)
			return bad("C_OpenSession", rv);
		in->have_session = 1;
	}
	if (!in->have_session) {
		fprintf(stderr, "p11_inspect: no token '%s' in %s\n", TOKEN,
		    dir);
		return -1;
	}
	pin = user_pin(dir);
	if (pin == NULL) {
		fprintf(stderr, "p11_inspect: no PIN in %s/pins\n", dir);
		return -1;
	}
	rv = in->f->C_Login(in->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	free(pin);
	if (rv != CKR_OK)
		return bad("C_Login", rv);
	return 0;
}

static int
count(struct inspector *in, CK_OBJECT_CLASS cls, const char *label,
    CK_OBJECT_HANDLE *first)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h[8];
	CK_ULONG n = 0;

	if (in->f->C_FindObjectsInit(in->s, t, 2) != CKR_OK)
		return -1;
	if (in->f->C_FindObjects(in->s, h, 8, &n) != CKR_OK)
		n = 0;
	in->f->C_FindObjectsFinal(in->s);
	if (n > 0 && first)
		*first = h[0];
	return (int)n;
}

/* A CK_BBOOL attribute as 1 or 0, -1 if the token will not say. */
static int
flag(struct inspector *in, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof v };

	if (in->f->C_GetAttributeValue(in->s, h, &a, 1) != CKR_OK)
		return -1;
	return v == CK_TRUE;
}

int
p11_inspect(const char *dir, const char *label, struct p11_key_facts *out)
{
	struct inspector in = { 0 };
	CK_OBJECT_HANDLE priv = 0;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (start(&in, dir) != 0 || open_token(&in, dir) != 0)
		goto out;
	out->private_keys = count(&in, CKO_PRIVATE_KEY, label, &priv);
	out->public_keys = count(&in, CKO_PUBLIC_KEY, label, NULL);
	if (out->private_keys > 0) {
		CK_KEY_TYPE kt = CKK_EC;
		CK_ATTRIBUTE type = { CKA_KEY_TYPE, &kt, sizeof kt };
		CK_ATTRIBUTE value = { CKA_VALUE, NULL, 0 };

		out->token = flag(&in, priv, CKA_TOKEN);
		out->priv = flag(&in, priv, CKA_PRIVATE);
		out->sensitive = flag(&in, priv, CKA_SENSITIVE);
		out->extractable = flag(&in, priv, CKA_EXTRACTABLE);
		out->always_sensitive = flag(&in, priv, CKA_ALWAYS_SENSITIVE);
		out->never_extractable = flag(&in, priv, CKA_NEVER_EXTRACTABLE);
		out->local = flag(&in, priv, CKA_LOCAL);
		in.f->C_GetAttributeValue(in.s, priv, &type, 1);
		if (kt == CKK_RSA)
			value.type = CKA_PRIVATE_EXPONENT;
		out->value_rv =
		    in.f->C_GetAttributeValue(in.s, priv, &value, 1);
		out->value_len = value.ulValueLen;
	}
	rc = 0;
out:
	if (in.have_session)
		in.f->C_CloseSession(in.s);
	if (in.initialized)
		in.f->C_Finalize(NULL);
	if (in.dl)
		dlclose(in.dl);
	return rc;
}
