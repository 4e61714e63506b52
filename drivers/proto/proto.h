/*
 * Station <-> device protocol, version 1: the numbers.
 *
 * docs/protocol.md is the normative description (framing, chunking,
 * retransmission, every command with byte-level examples); this header only
 * names its constants so that the station (drivers/client.c) and the
 * simulated device (fixtures/devsim/) cannot disagree.
 */
#ifndef ST_PROTO_H
#define ST_PROTO_H

#define PROTO_VERSION 1

/* Frame layout (before COBS): header, payload, CRC-32 (little-endian). */
#define PROTO_HEADER_LEN 10
#define PROTO_CRC_LEN 4
#define PROTO_OVERHEAD (PROTO_HEADER_LEN + PROTO_CRC_LEN)
/* Every device accepts frames of this decoded size before HELLO. */
#define PROTO_MIN_FRAME 256
/* Largest decoded frame any side may ever announce. */
#define PROTO_MAX_FRAME 4096
/* The station's own receive limit (announced in HELLO). */
#define PROTO_STATION_MAX_FRAME 4096
/* Windowed chunk transfer (PROTO_CAP_WINDOW, docs/protocol.md 6.3): the
 * most frames the station keeps in flight, announced in HELLO, and the
 * most any device may answer with. */
#define PROTO_STATION_WINDOW 8
#define PROTO_MAX_WINDOW 16
/* Baud switch (SET_BAUD, docs/protocol.md 8.17): the device listens at the
 * new rate at most SETTLE ms after the last byte of its reply; it returns
 * to the old rate unless a frame decodes at the new one within CONFIRM
 * ms of that byte. */
#define PROTO_BAUD_SETTLE_MS 5
#define PROTO_BAUD_CONFIRM_MS 1000
/* Longest MESSAGE (error detail) a device may send; the station shows
 * a longer one cut to this length (docs/protocol.md 7.1). */
#define PROTO_MESSAGE_MAX 200
/* Compact continuation frames (PROTO_CAP_COMPACT, docs/protocol.md 6.4):
 * inside a windowed transfer every chunk after the first is
 *	mark (1: PROTO_COMPACT_MARK | seq & 0x7f) | payload | CRC-16/X-25 (2, LE)
 * and the message travels followed by its CRC-32 (4, LE), which the
 * receiver checks before it uses the message. */
#define PROTO_COMPACT_MARK 0x80
#define PROTO_COMPACT_SEQ_MASK 0x7f
#define PROTO_COMPACT_CRC_LEN 2
#define PROTO_COMPACT_OVERHEAD (1 + PROTO_COMPACT_CRC_LEN)
#define PROTO_MSG_CRC_LEN 4
/* Largest reassembled message (all chunks of one request or response). */
#define PROTO_MAX_MESSAGE 65535

/* Header flags. */
#define PROTO_FLAG_RESPONSE 0x01 /* set by the device on every reply */
/* In a first request chunk: the rest of the message follows in compact
 * frames; in a CONTINUE: answer with a compact frame (6.4). */
#define PROTO_FLAG_COMPACT 0x02

/* Commands. */
enum proto_cmd {
	PROTO_CMD_NAK = 0x00, /* device -> station: undecodable frame */
	PROTO_CMD_HELLO = 0x01,
	PROTO_CMD_INFO = 0x02,
	PROTO_CMD_SET_BAUD = 0x03, /* switch the line rate (CAP_BAUD_SWITCH) */
	PROTO_CMD_KEYGEN = 0x10,
	PROTO_CMD_PUBKEY = 0x11,
	PROTO_CMD_CSR = 0x12,
	PROTO_CMD_SIGN = 0x13,
	PROTO_CMD_ATTEST = 0x14, /* TPM2_Certify of the key (CAP_ATTEST) */
	PROTO_CMD_WRITE_CERT = 0x20,
	PROTO_CMD_WRITE_CHAIN = 0x21,
	PROTO_CMD_READ_CERT = 0x22,
	PROTO_CMD_READ_CHAIN = 0x23,
	PROTO_CMD_WRITE_TRUST = 0x24, /* server trust anchors + endpoint */
	PROTO_CMD_READ_TRUST = 0x25,
	PROTO_CMD_COMMIT = 0x30,
	PROTO_CMD_FACTORY_RESET = 0x31,
	PROTO_CMD_SELFTEST = 0x40,
	PROTO_CMD_CONTINUE = 0x7f, /* fetch the next chunk of a reply */
};

/* Reply status codes (header byte 5). */
enum proto_status {
	PROTO_ST_OK = 0x00,
	PROTO_ST_CONTINUE = 0x01,  /* chunk stored, send the next one */
	PROTO_ST_BUSY = 0x02,	   /* still working; keep waiting */
	PROTO_ST_BAD_FRAME = 0x10, /* NAK: CRC/COBS/length error */
	PROTO_ST_UNKNOWN_CMD = 0x11,
	PROTO_ST_BAD_ARG = 0x12,     /* malformed or missing TLV */
	PROTO_ST_BAD_STATE = 0x13,   /* e.g. CSR before KEYGEN */
	PROTO_ST_UNSUPPORTED = 0x14, /* algorithm or feature */
	PROTO_ST_CHIP = 0x15,	     /* secure element failure */
	PROTO_ST_STORAGE = 0x16,     /* flash write failed */
	PROTO_ST_LOCKED = 0x17,	     /* slot locked by COMMIT(lock) */
	PROTO_ST_TOO_LARGE = 0x18,   /* message exceeds device storage */
	PROTO_ST_NO_KEY = 0x19,	     /* slot holds no key */
	PROTO_ST_SEQUENCE = 0x1a,    /* chunk out of order */
};

/* TLV tags (payload encoding: tag u8, length u16 big-endian, value). */
enum proto_tag {
	PROTO_T_VERSION = 0x01,	    /* u8: protocol version */
	PROTO_T_MAX_FRAME = 0x02,   /* u16: largest decoded frame accepted */
	PROTO_T_SERIAL = 0x03,	    /* str: device serial number */
	PROTO_T_MODEL = 0x04,	    /* str */
	PROTO_T_HW_VERSION = 0x05,  /* str */
	PROTO_T_FW_VERSION = 0x06,  /* str */
	PROTO_T_CHIP = 0x07,	    /* str: secure element type */
	PROTO_T_CAPS = 0x08,	    /* u32: capability bits (PROTO_CAP_*) */
	PROTO_T_STATE = 0x09,	    /* u8: PROTO_STATE_* */
	PROTO_T_KEY_ALG = 0x10,	    /* u8: PROTO_ALG_* */
	PROTO_T_SLOT = 0x11,	    /* u8: key slot */
	PROTO_T_PUBKEY = 0x12,	    /* bytes: DER SubjectPublicKeyInfo */
	PROTO_T_SUBJECT = 0x13,	    /* str: "C=US,O=Example,CN=SN1" */
	PROTO_T_SAN_DNS = 0x14,	    /* str, repeatable */
	PROTO_T_SAN_URI = 0x15,	    /* str, repeatable */
	PROTO_T_CSR = 0x16,	    /* bytes: DER PKCS#10 */
	PROTO_T_SIG_ALG = 0x17,	    /* u8: PROTO_SIG_* */
	PROTO_T_DIGEST = 0x18,	    /* bytes: message digest to sign */
	PROTO_T_SIGNATURE = 0x19,   /* bytes */
	PROTO_T_CERT = 0x1a,	    /* bytes: DER certificate, repeatable */
	PROTO_T_LOCK = 0x1b,	    /* u8: 1 = lock the slot on COMMIT */
	PROTO_T_MESSAGE = 0x1c,	    /* str: human-readable detail */
	PROTO_T_TEST_ID = 0x1d,	    /* u8: self-test number, 0 = all */
	PROTO_T_TEST_RESULT = 0x1e, /* u8: 0 = pass */
	PROTO_T_TRUST_CA = 0x1f,    /* bytes: DER CA cert, repeatable */
	PROTO_T_SERVER_HOST = 0x20, /* str: the server the device reaches */
	PROTO_T_SERVER_PORT = 0x21, /* u16 */
	PROTO_T_WINDOW = 0x22,	    /* u8: frames in flight (CAP_WINDOW) */
	PROTO_T_BAUD = 0x23,	    /* u32: line rate, bits per second */
	/* ATTEST (CAP_ATTEST, docs/protocol.md 8.18) */
	PROTO_T_NONCE = 0x24,	   /* bytes: the station's fresh nonce */
	PROTO_T_ATTEST = 0x25,	   /* bytes: TPMS_ATTEST as signed */
	PROTO_T_ATTEST_SIG = 0x26, /* bytes: the AK's signature over it */
	PROTO_T_TPM_PUBLIC = 0x27, /* bytes: the key's TPMT_PUBLIC */
	PROTO_T_AK_CERT = 0x28,	   /* bytes: AK certificate chain, repeatable */
};

/* Key algorithms (KEYGEN). */
enum proto_alg {
	PROTO_ALG_EC_P256 = 1,
	PROTO_ALG_RSA_2048 = 2,
};

/* Signature algorithms (SIGN): the device signs the given digest. */
enum proto_sig {
	PROTO_SIG_ECDSA_SHA256 = 1,   /* DER ECDSA-Sig-Value */
	PROTO_SIG_RSA_PSS_SHA256 = 2, /* MGF1-SHA256, salt length 32 */
	PROTO_SIG_RSA_PKCS1_SHA256 = 3,
};

/* Capability bits (HELLO). */
#define PROTO_CAP_EC_P256 0x0001u
#define PROTO_CAP_RSA_2048 0x0002u
#define PROTO_CAP_LOCK 0x0004u
#define PROTO_CAP_SELFTEST 0x0008u
#define PROTO_CAP_FACTORY_RESET 0x0010u
#define PROTO_CAP_SERVER_TRUST 0x0020u /* WRITE_TRUST / READ_TRUST */
#define PROTO_CAP_WINDOW 0x0040u       /* several chunks in flight */
#define PROTO_CAP_BAUD_SWITCH 0x0080u  /* SET_BAUD */
#define PROTO_CAP_COMPACT 0x0100u      /* compact continuation frames */
#define PROTO_CAP_ATTEST 0x0200u       /* ATTEST: key born in a TPM */

/* Device state (HELLO, INFO). */
enum proto_state {
	PROTO_STATE_BLANK = 0,	   /* no key */
	PROTO_STATE_KEYED = 1,	   /* key, no certificate */
	PROTO_STATE_CERTIFIED = 2, /* key and certificate written */
	PROTO_STATE_COMMITTED = 3, /* committed, not locked */
	PROTO_STATE_LOCKED = 4,	   /* committed and locked */
};

/* Names for logs and messages; never NULL ("0x5a" style for unknowns is
 * the caller's business: these return "unknown"). */
const char *proto_cmd_name(int cmd);
const char *proto_status_name(int status);
const char *proto_state_name(int state);
/* A tag's name as docs/protocol.md writes it ("SERIAL"), so that a
 * fault names the field and not its number; "unknown" for others. */
const char *proto_tag_name(int tag);

/* The capability bits with the names `station probe` shows them by
 * ("baud-switch"), in bit order, ending with { 0, NULL }: every bit of
 * docs/protocol.md's caps table, so a bit left out here is one the
 * probe shows as hex. */
struct proto_cap_name {
	unsigned long bit;
	const char *name;
};
extern const struct proto_cap_name proto_cap_names[];

#endif
