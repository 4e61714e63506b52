/* Names of protocol constants, for logs and operator messages. */
#include "drivers/proto/proto.h"

#include <stddef.h>

const char *
proto_cmd_name(int cmd)
{
	switch (cmd) {
	case PROTO_CMD_NAK:
		return "NAK";
	case PROTO_CMD_HELLO:
		return "HELLO";
	case PROTO_CMD_INFO:
		return "INFO";
	case PROTO_CMD_SET_BAUD:
		return "SET_BAUD";
	case PROTO_CMD_KEYGEN:
		return "KEYGEN";
	case PROTO_CMD_PUBKEY:
		return "PUBKEY";
	case PROTO_CMD_CSR:
		return "CSR";
	case PROTO_CMD_SIGN:
		return "SIGN";
	case PROTO_CMD_ATTEST:
		return "ATTEST";
	case PROTO_CMD_WRITE_CERT:
		return "WRITE_CERT";
	case PROTO_CMD_WRITE_CHAIN:
		return "WRITE_CHAIN";
	case PROTO_CMD_READ_CERT:
		return "READ_CERT";
	case PROTO_CMD_READ_CHAIN:
		return "READ_CHAIN";
	case PROTO_CMD_WRITE_TRUST:
		return "WRITE_TRUST";
	case PROTO_CMD_READ_TRUST:
		return "READ_TRUST";
	case PROTO_CMD_COMMIT:
		return "COMMIT";
	case PROTO_CMD_FACTORY_RESET:
		return "FACTORY_RESET";
	case PROTO_CMD_SELFTEST:
		return "SELFTEST";
	case PROTO_CMD_CONTINUE:
		return "CONTINUE";
	default:
		return "unknown";
	}
}

const char *
proto_status_name(int status)
{
	switch (status) {
	case PROTO_ST_OK:
		return "OK";
	case PROTO_ST_CONTINUE:
		return "CONTINUE";
	case PROTO_ST_BUSY:
		return "BUSY";
	case PROTO_ST_BAD_FRAME:
		return "BAD_FRAME";
	case PROTO_ST_UNKNOWN_CMD:
		return "UNKNOWN_CMD";
	case PROTO_ST_BAD_ARG:
		return "BAD_ARG";
	case PROTO_ST_BAD_STATE:
		return "BAD_STATE";
	case PROTO_ST_UNSUPPORTED:
		return "UNSUPPORTED";
	case PROTO_ST_CHIP:
		return "CHIP";
	case PROTO_ST_STORAGE:
		return "STORAGE";
	case PROTO_ST_LOCKED:
		return "LOCKED";
	case PROTO_ST_TOO_LARGE:
		return "TOO_LARGE";
	case PROTO_ST_NO_KEY:
		return "NO_KEY";
	case PROTO_ST_SEQUENCE:
		return "SEQUENCE";
	default:
		return "unknown";
	}
}

const char *
proto_state_name(int state)
{
	switch (state) {
	case PROTO_STATE_BLANK:
		return "blank";
	case PROTO_STATE_KEYED:
		return "keyed";
	case PROTO_STATE_CERTIFIED:
		return "certified";
	case PROTO_STATE_COMMITTED:
		return "committed";
	case PROTO_STATE_LOCKED:
		return "locked";
	default:
		return "unknown";
	}
}

const char *
proto_tag_name(int tag)
{
	switch (tag) {
	case PROTO_T_VERSION:
		return "VERSION";
	case PROTO_T_MAX_FRAME:
		return "MAX_FRAME";
	case PROTO_T_SERIAL:
		return "SERIAL";
	case PROTO_T_MODEL:
		return "MODEL";
	case PROTO_T_HW_VERSION:
		return "HW_VERSION";
	case PROTO_T_FW_VERSION:
		return "FW_VERSION";
	case PROTO_T_CHIP:
		return "CHIP";
	case PROTO_T_CAPS:
		return "CAPS";
	case PROTO_T_STATE:
		return "STATE";
	case PROTO_T_KEY_ALG:
		return "KEY_ALG";
	case PROTO_T_SLOT:
		return "SLOT";
	case PROTO_T_PUBKEY:
		return "PUBKEY";
	case PROTO_T_SUBJECT:
		return "SUBJECT";
	case PROTO_T_SAN_DNS:
		return "SAN_DNS";
	case PROTO_T_SAN_URI:
		return "SAN_URI";
	case PROTO_T_CSR:
		return "CSR";
	case PROTO_T_SIG_ALG:
		return "SIG_ALG";
	case PROTO_T_DIGEST:
		return "DIGEST";
	case PROTO_T_SIGNATURE:
		return "SIGNATURE";
	case PROTO_T_CERT:
		return "CERT";
	case PROTO_T_LOCK:
		return "LOCK";
	case PROTO_T_MESSAGE:
		return "MESSAGE";
	case PROTO_T_TEST_ID:
		return "TEST_ID";
	case PROTO_T_TEST_RESULT:
		return "TEST_RESULT";
	case PROTO_T_TRUST_CA:
		return "TRUST_CA";
	case PROTO_T_SERVER_HOST:
		return "SERVER_HOST";
	case PROTO_T_SERVER_PORT:
		return "SERVER_PORT";
	case PROTO_T_WINDOW:
		return "WINDOW";
	case PROTO_T_BAUD:
		return "BAUD";
	case PROTO_T_NONCE:
		return "NONCE";
	case PROTO_T_ATTEST:
		return "ATTEST";
	case PROTO_T_ATTEST_SIG:
		return "ATTEST_SIG";
	case PROTO_T_TPM_PUBLIC:
		return "TPM_PUBLIC";
	case PROTO_T_AK_CERT:
		return "AK_CERT";
	default:
		return "unknown";
	}
}

const struct proto_cap_name proto_cap_names[] = {
	{ PROTO_CAP_EC_P256, "ec-p256" },
	{ PROTO_CAP_RSA_2048, "rsa-2048" },
	{ PROTO_CAP_LOCK, "lock" },
	{ PROTO_CAP_SELFTEST, "selftest" },
	{ PROTO_CAP_FACTORY_RESET, "factory-reset" },
	{ PROTO_CAP_SERVER_TRUST, "server-trust" },
	{ PROTO_CAP_WINDOW, "window" },
	{ PROTO_CAP_BAUD_SWITCH, "baud-switch" },
	{ PROTO_CAP_COMPACT, "compact" },
	{ PROTO_CAP_ATTEST, "attest" },
	{ 0, NULL },
};
