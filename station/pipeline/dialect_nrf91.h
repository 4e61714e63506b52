/*
 * Private to the nRF91 dialect (dialect_nrf91*.c): its state in a run and
 * the pieces its files share.
 */
#ifndef ST_DIALECT_NRF91_H
#define ST_DIALECT_NRF91_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/at/at.h"
#include "station/pipeline/dialect.h"

struct nrf91 {
	struct at_chan *at;
	int cfun_found; /* AT+CFUN? at hello, put back at finish; -1 */
	uint8_t *csr;	/* %KEYGEN's CSR, DER */
	size_t csr_len;
	char *written[2]; /* %CMNG type 0 (CA) and 1 (client) texts */
	int mqtt_up;	  /* #XMQTTCON=1 succeeded: disconnect at finish */
};

struct nrf91 *nrf91_of(struct run *r);
/* A command answered by exactly one line with `prefix`: *out (caller
 * frees) without the prefix. */
st_err nrf91_query(struct run *r, const char *cmd, const char *prefix,
    char **out);
/* AT+CFUN=<mode>, then AT+CFUN? must say so (ST_E_DEVICE if not). */
st_err nrf91_cfun_set(struct run *r, int mode);
/*
 * The answer of %KEYGEN (`line`: "<b64url CSR>.<b64url COSE_Sign1>", in
 * quotes): *csr (DER, caller frees) and r->spki from it; the COSE_Sign1
 * parsed (ES256, its payload and signature) and recorded as a run event.
 * ST_E_PROTO for anything malformed.
 */
st_err nrf91_keygen_parse(struct run *r, const char *line, uint8_t **csr,
    size_t *csr_len);
/* The device-driven smoke test (dialect_nrf91_smoke.c, dialect.h). */
st_err nrf91_smoke(struct run *r, const struct config_broker *b,
    const char *topic, struct smoke_result *sr);

#endif
