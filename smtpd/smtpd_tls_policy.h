/*
 * smtpd_tls_policy.h - Postfix's TLS settings turned into what libtls
 * takes: protocol lists (">=TLSv1.2", "!SSLv2, !SSLv3") into a
 * TLS_PROTOCOL_* mask, cipher grades and exclusions into a cipher
 * string, the security level from smtpd_tls_security_level or the
 * legacy smtpd_use_tls / smtpd_enforce_tls.  Pure functions over trusted
 * configuration text; see docs/tls.md for the mapping.
 */
#ifndef POSTERN_SMTPD_TLS_POLICY_H
#define POSTERN_SMTPD_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stls_level { STLS_NONE, STLS_MAY, STLS_ENCRYPT };

/* The cipher strings (TLSv1.2 and below; TLSv1.3 suites are all AEAD
 * and stay the library's) the grades map to: forward-secret AEAD only
 * for high/medium, libtls' "compat" for low/export. */
#define STLS_CIPHERS_SECURE "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL"
#define STLS_CIPHERS_COMPAT "HIGH:!aNULL"

/* A Postfix protocol list into TLS_PROTOCOL_* bits; 0 or -1 with err. */
int stls_parse_protocols(const char *spec, uint32_t *mask, char *err, size_t errlen);

/* Grade ("high", "medium", "low", "export"; "null" is refused) plus the
 * exclusion lists (either may be NULL) into a libtls cipher string. */
int stls_parse_ciphers(const char *grade, const char *exclude, const char *exclude2, char *out,
                       size_t outlen, char *err, size_t errlen);

/* level: smtpd_tls_security_level (may be ""), then the legacy booleans. */
int stls_parse_level(const char *level, bool use_tls, bool enforce_tls, enum stls_level *out,
                     char *err, size_t errlen);

/* Bytes as "AB:CD:..."; false when out is too small. */
bool stls_hex_colon(const unsigned char *b, size_t n, char *out, size_t outlen);

#endif
