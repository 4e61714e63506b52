/*
 * Inside the PKCS#11 key (pkcs11.c, pkcs11_uri.c).  Not for use outside
 * station/ca/.
 *
 * The PKCS#11 declarations are p11-kit's pkcs11.h (the OASIS header, under
 * /usr/include/p11-kit-1/ on Debian: libp11-kit-dev), included by path so
 * the build needs no extra -I.
 */
#ifndef ST_CA_PKCS11_INT_H
#define ST_CA_PKCS11_INT_H

#include <p11-kit-1/p11-kit/pkcs11.h>

#include "station/ca/pkcs11.h"

/* The PIN as a new string (free with pkcs11_pin_free, which wipes it). */
st_err pkcs11_read_pin(const struct pkcs11_opts *o, char **pin, char **cause);
void pkcs11_pin_free(char *pin);

#endif
