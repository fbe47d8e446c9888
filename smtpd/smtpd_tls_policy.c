/*
 * smtpd_tls_policy.c - Postfix TLS parameter syntax mapped onto libtls
 * (see smtpd_tls_policy.h).  Runs in smtpd at start-up only; the input
 * is main.cf/master.cf text, trusted but checked: an unknown protocol or
 * cipher grade is an error, never a silent default.
 */
#include "smtpd_tls_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <tls.h>

static const struct {
	const char *name;
	uint32_t bit; /* 0: known to Postfix, not offered by libtls */
} protos[] = {
	{"SSLv2", 0},
	{"SSLv3", 0},
	{"TLSv1", TLS_PROTOCOL_TLSv1_0},
	{"TLSv1.1", TLS_PROTOCOL_TLSv1_1},
	{"TLSv1.2", TLS_PROTOCOL_TLSv1_2},
	{"TLSv1.3", TLS_PROTOCOL_TLSv1_3},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

static int proto_index(const char *s, size_t n)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strlen(protos[i].name) == n && strncasecmp(protos[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

/*
 * Items are separated by commas, colons or white space.  "NAME" includes,
 * "!NAME" excludes, ">=NAME" and "<=NAME" bound the range.  With no
 * including item every protocol is a candidate.
 */
int stls_parse_protocols(const char *spec, uint32_t *mask, char *err, size_t errlen)
{
	uint32_t incl = 0, excl = 0;
	int lo = 0, hi = (int)NPROTOS - 1;
	bool any_incl = false;
	const char *p = spec;
	while (*p) {
		p += strspn(p, ", :\t\r\n");
		size_t n = strcspn(p, ", :\t\r\n");
		if (n == 0)
			break;
		const char *it = p;
		p += n;
		int kind = 0; /* 0 include, 1 exclude, 2 >=, 3 <= */
		if (it[0] == '!')
			kind = 1, it++, n--;
		else if (n >= 2 && it[0] == '>' && it[1] == '=')
			kind = 2, it += 2, n -= 2;
		else if (n >= 2 && it[0] == '<' && it[1] == '=')
			kind = 3, it += 2, n -= 2;
		int k = proto_index(it, n);
		if (k < 0) {
			snprintf(err, errlen, "unknown TLS protocol \"%.*s\"", (int)(n > 40 ? 40 : n), it);
			return -1;
		}
		switch (kind) {
		case 0:
			any_incl = true;
			incl |= 1u << k;
			break;
		case 1:
			excl |= 1u << k;
			break;
		case 2:
			if (k > lo)
				lo = k;
			break;
		default:
			if (k < hi)
				hi = k;
			break;
		}
	}
	uint32_t out = 0;
	for (int i = 0; i < (int)NPROTOS; i++) {
		uint32_t b = 1u << i;
		if (i < lo || i > hi || (excl & b) || (any_incl && !(incl & b)))
			continue;
		out |= protos[i].bit;
	}
	if (out == 0) {
		snprintf(err, errlen, "\"%s\" leaves no TLS protocol that libtls offers (TLSv1 to TLSv1.3)",
		         spec);
		return -1;
	}
	*mask = out;
	return 0;
}

static int add_exclusions(const char *list, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *p = list;
	while (p && *p) {
		p += strspn(p, ", :\t\r\n");
		size_t n = strcspn(p, ", :\t\r\n");
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && strchr("-_.+", p[i]) == NULL) {
				snprintf(err, errlen, "bad cipher name \"%.*s\"", (int)(n > 40 ? 40 : n), p);
				return -1;
			}
		size_t l = strlen(out);
		int w = snprintf(out + l, outlen - l, ":!%.*s", (int)n, p);
		if (w < 0 || (size_t)w >= outlen - l) {
			snprintf(err, errlen, "cipher exclusion list too long");
			return -1;
		}
		p += n;
	}
	return 0;
}

int stls_parse_ciphers(const char *grade, const char *exclude, const char *exclude2, char *out,
                       size_t outlen, char *err, size_t errlen)
{
	const char *base;
	if (strcasecmp(grade, "high") == 0 || strcasecmp(grade, "medium") == 0)
		base = STLS_CIPHERS_SECURE;
	else if (strcasecmp(grade, "low") == 0 || strcasecmp(grade, "export") == 0)
		base = STLS_CIPHERS_COMPAT;
	else if (strcasecmp(grade, "null") == 0) {
		snprintf(err, errlen, "cipher grade \"null\" (no encryption) is not supported");
		return -1;
	} else {
		snprintf(err, errlen, "unknown cipher grade \"%.40s\"", grade);
		return -1;
	}
	if ((size_t)snprintf(out, outlen, "%s", base) >= outlen) {
		snprintf(err, errlen, "cipher string too long");
		return -1;
	}
	if (add_exclusions(exclude, out, outlen, err, errlen) != 0 ||
	    add_exclusions(exclude2, out, outlen, err, errlen) != 0)
		return -1;
	return 0;
}

int stls_parse_level(const char *level, bool use_tls, bool enforce_tls, enum stls_level *out,
                     char *err, size_t errlen)
{
	if (level == NULL || *level == '\0') {
		*out = enforce_tls ? STLS_ENCRYPT : use_tls ? STLS_MAY : STLS_NONE;
		return 0;
	}
	if (strcasecmp(level, "none") == 0)
		*out = STLS_NONE;
	else if (strcasecmp(level, "may") == 0)
		*out = STLS_MAY;
	else if (strcasecmp(level, "encrypt") == 0)
		*out = STLS_ENCRYPT;
	else {
		snprintf(err, errlen, "invalid smtpd_tls_security_level \"%.40s\" (none, may or encrypt)",
		         level);
		return -1;
	}
	return 0;
}

bool stls_hex_colon(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	if (n == 0 || outlen < n * 3) {
		if (outlen)
			out[0] = '\0';
		return n == 0;
	}
	for (size_t i = 0; i < n; i++) {
		out[3 * i] = hex[b[i] >> 4];
		out[3 * i + 1] = hex[b[i] & 15];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
	return true;
}
