/* Names of protocol constants, for logs and operator messages. */
#include "drivers/proto/proto.h"

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
