/*
 * The telnet layer of an RFC 2217 serial port server (ser2net's
 * telnet(rfc2217) accepter): a pure codec over buffers, no socket, so it
 * can be tested and fuzzed alone.  transport_rfc2217.c puts it between the
 * socket and the protocol client.
 *
 * What it does (RFC 854, 855, 1143's option states, 2217):
 * - data: 0xFF (IAC) is doubled on the way out and undoubled on the way
 *   in; every other byte is data as it is (binary, no CR/NUL rules), so a
 *   frame holding 0xFF reaches the device unchanged;
 * - negotiation: WILL/DO are answered once per change of state (no
 *   loops); the station offers COM-PORT-OPTION (44) and BINARY both ways,
 *   accepts SUPPRESS-GO-AHEAD, and refuses every other option;
 * - subnegotiations: at most TELNET_SB_MAX bytes; COM-PORT-OPTION answers
 *   from the server (command + 100) are kept for the transport to read;
 * - a peer that breaks the rules (IAC before a byte that is no telnet
 *   command, a stray SE, an overlong subnegotiation, a refusal of option
 *   44 once it was agreed or asked) makes telnet_decode fail with
 *   ST_E_PROTO and a cause that says what it sent; the codec then stays
 *   failed.
 */
#ifndef ST_TELNET_H
#define ST_TELNET_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

#define TELNET_IAC 255
#define TELNET_DONT 254
#define TELNET_DO 253
#define TELNET_WONT 252
#define TELNET_WILL 251
#define TELNET_SB 250
#define TELNET_SE 240

#define TELNET_OPT_BINARY 0
#define TELNET_OPT_ECHO 1
#define TELNET_OPT_SGA 3
#define TELNET_OPT_COMPORT 44

/* COM-PORT-OPTION commands, client to server (RFC 2217); the server
 * answers with the same number + 100. */
#define RFC2217_SIGNATURE 0
#define RFC2217_SET_BAUDRATE 1
#define RFC2217_SET_DATASIZE 2
#define RFC2217_SET_PARITY 3
#define RFC2217_SET_STOPSIZE 4
#define RFC2217_SET_CONTROL 5
#define RFC2217_NOTIFY_LINESTATE 6
#define RFC2217_NOTIFY_MODEMSTATE 7
#define RFC2217_FLOWCONTROL_SUSPEND 8
#define RFC2217_FLOWCONTROL_RESUME 9
#define RFC2217_SET_LINESTATE_MASK 10
#define RFC2217_SET_MODEMSTATE_MASK 11
#define RFC2217_PURGE_DATA 12
#define RFC2217_COMMANDS 13
#define RFC2217_SERVER_OFFSET 100

#define RFC2217_PARITY_NONE 1
#define RFC2217_STOPSIZE_1 1

/* Longest subnegotiation accepted (option, command and value; a
 * SIGNATURE text may be cut): COM-PORT-OPTION answers are 2..6 bytes. */
#define TELNET_SB_MAX 64

/* RFC 1143's states of one option on one side. */
enum telnet_q { TELNET_Q_NO = 0, TELNET_Q_YES, TELNET_Q_WANTYES };

enum telnet_state {
	TELNET_S_DATA = 0,
	TELNET_S_IAC,	 /* IAC seen */
	TELNET_S_VERB,	 /* IAC WILL/WONT/DO/DONT seen, option next */
	TELNET_S_SB,	 /* inside IAC SB ... */
	TELNET_S_SB_IAC, /* IAC inside a subnegotiation */
	TELNET_S_FAILED, /* the peer broke the rules: nothing more is read */
};

struct telnet {
	enum telnet_state state;
	uint8_t verb;
	uint8_t sb[TELNET_SB_MAX];
	size_t sb_len;
	uint8_t us[256];  /* enum telnet_q: options on the station's side */
	uint8_t him[256]; /* options on the server's side */
	/* Bytes to send to the server (answers, requests); the transport
	 * sends them and sets out_len to 0.  Owned. */
	uint8_t *out;
	size_t out_len, out_cap;
	/* The server's COM-PORT-OPTION answers: bit i of cpo_seen is set
	 * when the answer to command i arrived (the transport clears it
	 * before it asks), cpo_value[i] its value (big-endian bytes;
	 * SET-BAUDRATE's 4), cpo_len[i] how many bytes it had. */
	unsigned cpo_seen;
	uint32_t cpo_value[RFC2217_COMMANDS];
	uint8_t cpo_len[RFC2217_COMMANDS];
	char *failure; /* owned: why the codec failed (TELNET_S_FAILED) */
};

void telnet_init(struct telnet *tn);
/* Frees what tn owns; accepts a zeroed struct. */
void telnet_clear(struct telnet *tn);

/* Queue IAC `verb` `opt` (WILL or DO) in tn->out and remember that it
 * was asked, so that the answer is not answered again. */
void telnet_ask(struct telnet *tn, uint8_t verb, uint8_t opt);
/* Queue a COM-PORT-OPTION command with a value of `len` (1 or 4) bytes
 * of `value`, big-endian, IAC doubled, and clear its answer's bit. */
void telnet_comport(struct telnet *tn, uint8_t cmd, uint32_t value, size_t len);

/*
 * Decode `len` bytes from the server in place: on ST_OK buf[0..*data_len)
 * holds the data bytes among them (*data_len <= len), negotiation answers
 * are queued in tn->out and COM-PORT-OPTION answers recorded.  A
 * sequence cut between two calls is carried over.  ST_E_PROTO when the
 * server broke the rules (also on every later call, with the same cause).
 */
st_err telnet_decode(struct telnet *tn, uint8_t *buf, size_t len,
    size_t *data_len, char **cause);

/* Escape `len` data bytes into `out` (room for 2 * len): returns the
 * bytes written. */
size_t telnet_escape(const uint8_t *in, size_t len, uint8_t *out);

#endif
