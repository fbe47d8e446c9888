/*
 * smtpd_sasl_parse.c - bounded parsers of SASL input (see
 * smtpd_sasl_parse.h).  Runs in smtpd; untrusted input: the AUTH line
 * and responses from the client, lines from the Dovecot auth server.
 *
 * Base64 is our own on purpose: libsasl2's sasl_decode64 skips
 * characters and tolerates missing padding, and the strictness is the
 * point here (a client's junk gets 501, never a guess).
 */
#include "smtpd_sasl_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
                     size_t *outlen)
{
	*outlen = 0;
	if (len % 4 != 0)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + (size_t)k];
			if (c == '=') {
				/* Only in the last quantum, only as its last one or two. */
				if (i + 4 != len || k < 2)
					return false;
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0)
				return false; /* "a=b=" */
			v[k] = b64_val(c);
			if (v[k] < 0)
				return false;
		}
		/* Bits that padding leaves unused must be zero (canonical form). */
		if (pad == 2 && (v[1] & 0x0f) != 0)
			return false;
		if (pad == 1 && (v[2] & 0x03) != 0)
			return false;
		size_t n = 3 - pad;
		if (outmax - o < n)
			return false;
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
		             (unsigned)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(w >> 8);
		if (n > 2)
			out[o++] = (unsigned char)w;
	}
	*outlen = o;
	return true;
}

bool sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t outmax)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (len + 2) / 3 * 4 + 1;
	if (len > (SIZE_MAX - 3) / 4 * 3 || need > outmax)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned w = (unsigned)in[i] << 16;
		if (i + 1 < len)
			w |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			w |= in[i + 2];
		out[o++] = tab[(w >> 18) & 63];
		out[o++] = tab[(w >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[w & 63] : '=';
	}
	out[o] = '\0';
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

const char *sasl_auth_parse(const char *arg, size_t len, struct sasl_auth_arg *a)
{
	memset(a, 0, sizeof(*a));
	size_t i = 0;
	while (i < len && !is_blank(arg[i]))
		i++;
	if (i == 0)
		return "501 5.5.4 Syntax: AUTH mechanism";
	if (i > SASL_MECH_NAME_MAX)
		return "501 5.5.4 Syntax: AUTH mechanism";
	for (size_t k = 0; k < i; k++) {
		char c = arg[k];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		/* RFC 4422 3.1: upper-case letters, digits, hyphen, underscore. */
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return "501 5.5.4 Syntax: AUTH mechanism";
		a->mech[k] = c;
	}
	a->mech[i] = '\0';
	while (i < len && is_blank(arg[i]))
		i++;
	if (i == len)
		return NULL;
	size_t s = i;
	while (i < len && !is_blank(arg[i]))
		i++;
	size_t e = i;
	while (i < len && is_blank(arg[i]))
		i++;
	if (i != len)
		return "501 5.5.4 Syntax: AUTH mechanism";
	a->has_init = true;
	if (e - s == 1 && arg[s] == '=') { /* RFC 4954 4: an empty response */
		a->init = arg + s + 1;
		a->initlen = 0;
	} else {
		a->init = arg + s;
		a->initlen = e - s;
	}
	return NULL;
}

bool sasl_secopts_parse(const char *value, unsigned *flags, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned flag;
	} words[] = {
	    {"noplaintext", PT_SEC_NOPLAIN}, {"noactive", PT_SEC_NOACTIVE},
	    {"nodictionary", PT_SEC_NODICT}, {"noanonymous", PT_SEC_NOANON},
	    {"mutual_auth", PT_SEC_MUTUAL},  {"forward_secrecy", PT_SEC_FORWARD},
	};
	*flags = 0;
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " \t,\n");
		bool found = false;
		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (strlen(words[k].name) == n && strncasecmp(words[k].name, p, n) == 0) {
				*flags |= words[k].flag;
				found = true;
			}
		/* "none" is Postfix's explicit empty set. */
		if (!found && !(n == 4 && strncasecmp(p, "none", 4) == 0)) {
			snprintf(err, errlen, "unknown SASL security option \"%.*s\"",
			         (int)(n > 64 ? 64 : n), p);
			return false;
		}
		p += n;
	}
	return true;
}

static bool word_match(const char *w, size_t wl, const char *mech, size_t ml)
{
	return wl == ml && strncasecmp(w, mech, wl) == 0;
}

/* 1 include, 0 exclude, for one mechanism. */
static int filter_one(const char *filter, const char *mech, size_t ml)
{
	const char *p = filter;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " \t,\n");
		if (n == 11 && strncasecmp(p, "static:rest", 11) == 0)
			return 1;
		if (n == 10 && strncasecmp(p, "static:all", 10) == 0)
			return 1;
		if (p[0] == '!' && word_match(p + 1, n - 1, mech, ml))
			return 0;
		if (p[0] != '!' && word_match(p, n, mech, ml))
			return 1;
		p += n;
	}
	return 0;
}

void sasl_mech_filter(char *mechs, const char *filter)
{
	char *r = mechs, *w = mechs;
	while (*r) {
		while (*r == ' ')
			r++;
		if (*r == '\0')
			break;
		size_t n = strcspn(r, " ");
		if (filter_one(filter, r, n)) {
			if (w != mechs)
				*w++ = ' ';
			memmove(w, r, n);
			w += n;
		}
		r += n;
	}
	*w = '\0';
}

bool sasl_mech_listed(const char *mechs, const char *mech)
{
	size_t ml = strlen(mech);
	const char *p = mechs;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n > 0 && word_match(p, n, mech, ml))
			return true;
		p += n;
	}
	return false;
}

/* Unescape one field in place; false on a bad escape. */
static bool dv_unescape(char *f)
{
	char *r = f, *w = f;
	while (*r) {
		if (*r != '\001') {
			*w++ = *r++;
			continue;
		}
		switch (r[1]) {
		case '1':
			*w++ = '\001';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		default:
			return false;
		}
		r += 2;
	}
	*w = '\0';
	return true;
}

bool dv_line_parse(char *line, size_t len, struct dv_line *l)
{
	memset(l, 0, sizeof(*l));
	if (len == 0 || len > DOVECOT_LINE_MAX || memchr(line, '\0', len) != NULL)
		return false;
	line[len] = '\0';
	char *fields[DOVECOT_ARGS_MAX + 2];
	size_t nf = 0;
	char *p = line;
	for (;;) {
		if (nf == DOVECOT_ARGS_MAX + 2)
			return false;
		fields[nf++] = p;
		char *t = strchr(p, '\t');
		if (t == NULL)
			break;
		*t = '\0';
		p = t + 1;
	}
	for (size_t i = 0; i < nf; i++)
		if (!dv_unescape(fields[i]))
			return false;
	l->cmd = fields[0];
	if (l->cmd[0] == '\0')
		return false;
	size_t first = 1;
	/* Replies to a request carry its id. */
	if (strcmp(l->cmd, "OK") == 0 || strcmp(l->cmd, "CONT") == 0 ||
	    strcmp(l->cmd, "FAIL") == 0) {
		if (nf < 2 || fields[1][0] == '\0' || strlen(fields[1]) > 10)
			return false;
		char *end;
		for (const char *d = fields[1]; *d; d++)
			if (*d < '0' || *d > '9')
				return false;
		l->id = strtoul(fields[1], &end, 10);
		l->has_id = true;
		first = 2;
	}
	if (nf - first > DOVECOT_ARGS_MAX)
		return false;
	for (size_t i = first; i < nf; i++)
		l->args[l->nargs++] = fields[i];
	return true;
}

const char *dv_arg(const struct dv_line *l, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < l->nargs; i++) {
		const char *a = l->args[i];
		if (strncmp(a, key, kl) == 0 && a[kl] == '=')
			return a + kl + 1;
		if (strcmp(a, key) == 0)
			return "";
	}
	return NULL;
}

bool dv_escape(const char *in, char *out, size_t outmax)
{
	size_t o = 0;
	for (; *in; in++) {
		char esc = *in == '\001' ? '1' : *in == '\t' ? 't' : *in == '\r' ? 'r' : *in == '\n' ? 'n' : 0;
		if (o + 3 > outmax)
			return false;
		if (esc) {
			out[o++] = '\001';
			out[o++] = esc;
		} else {
			out[o++] = *in;
		}
	}
	if (o + 1 > outmax)
		return false;
	out[o] = '\0';
	return true;
}
