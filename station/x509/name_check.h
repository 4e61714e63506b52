/*
 * What may go into each place a profile template fills: a subject
 * attribute's value, a DNS or URI subjectAltName, an MQTT topic.  The
 * checks come in two parts so that an error can be pinned on the value
 * that caused it (identity.h): the characters of one piece of a value
 * (literal text, or a value inserted for a ${reference}), then the
 * whole value's structure and bounds.
 *
 * A value inserted for a reference is held to more than literal text:
 * it can never add structure.  In a URI it is one run of unreserved
 * characters (no '/', '?', '#', '@', ':' or '%'); in a topic it cannot
 * add a level or a wildcard ('/', '+', '#').
 */
#ifndef ST_NAME_CHECK_H
#define ST_NAME_CHECK_H

#include <stddef.h>

#include "station/util/err.h"

#define SAN_DNS_MAX 253 /* RFC 1035 name, without the trailing dot */
#define SAN_URI_MAX 512 /* what the reference device takes (protocol 8.5) */
#define TOPIC_MAX 1024	/* far below MQTT's 65535; a test topic is short */

enum name_kind {
	NAME_DN_VALUE, /* the value of subject attribute `attr` */
	NAME_SAN_DNS,
	NAME_SAN_URI,
	NAME_TOPIC,
};

struct name_slot {
	enum name_kind kind;
	const char *attr; /* NAME_DN_VALUE: "CN", "O", ... (borrowed) */
};

/* How messages name the place: "O", "DNS SAN", "URI SAN", "topic". */
const char *name_slot_label(const struct name_slot *slot);

/*
 * May the bytes s[0..len) appear in the slot?  `inserted` is 1 for a
 * value inserted for a ${reference}, 0 for literal template text.
 * ST_E_POLICY with *why a short phrase ("',' is not allowed").
 */
st_err name_check_piece(const struct name_slot *slot, const char *s, size_t len,
    int inserted, char **why);

/*
 * The whole value: characters as literal text, then the slot's structure
 * and bounds (DNS: LDH labels of 1..63 bytes, no leading or trailing '-'
 * in a label, no empty label, no trailing dot, 1..253 bytes; URI: an RFC
 * 3986 scheme, ':', then URI characters, '%' followed by two hex digits,
 * at most 512 bytes; topic: not empty, no leading '/', valid UTF-8; a
 * subject value: dn_value_check).  ST_E_POLICY with *why a phrase.
 */
st_err name_check_whole(const struct name_slot *slot, const char *value,
    char **why);

#endif
