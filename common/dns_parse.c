/*
 * dns_parse.c - bounded parsers for DNS record data and names (see
 * dns.h), and the small helpers around them.  Runs in every process that
 * resolves.  Untrusted input: record data from DNS answers (any length,
 * any bytes); nothing here allocates before checking a length against
 * bounds.h.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

static const struct {
	enum dns_type t;
	const char *name;
} types[] = {
    {DNS_T_A, "A"},     {DNS_T_NS, "NS"},     {DNS_T_PTR, "PTR"},   {DNS_T_MX, "MX"},
    {DNS_T_TXT, "TXT"}, {DNS_T_AAAA, "AAAA"}, {DNS_T_TLSA, "TLSA"},
};

const char *dns_type_name(enum dns_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == t)
			return types[i].name;
	return "?";
}

bool dns_type_parse(const char *s, enum dns_type *t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0) {
			*t = types[i].t;
			return true;
		}
	return false;
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "?";
}

static bool label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool dns_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	size_t lab = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (!label_char((unsigned char)name[i]) || ++lab > 63) {
			return false;
		}
	}
	return lab > 0;
}

bool dns_parse_name(const unsigned char *p, size_t len, size_t *off, char *out, size_t outlen)
{
	size_t o = *off, w = 0, wire = 0;
	if (outlen == 0)
		return false;
	for (;;) {
		if (o >= len)
			return false;
		unsigned l = p[o++];
		wire += l + 1;
		if (wire > 255)
			return false;
		if (l == 0)
			break;
		/* Compression pointers and extended labels do not occur in the
		 * uncompressed rdata libunbound hands us. */
		if (l > 63 || l > len - o)
			return false;
		if (w > 0) {
			if (w + 1 >= outlen)
				return false;
			out[w++] = '.';
		}
		if (w + l >= outlen)
			return false;
		for (unsigned i = 0; i < l; i++) {
			if (!label_char(p[o + i]))
				return false;
			out[w++] = (char)p[o + i];
		}
		o += l;
	}
	out[w] = '\0';
	*off = o;
	return true;
}

static bool parse_txt(const unsigned char *p, size_t len, struct dns_rr *rr)
{
	char buf[DNS_TXT_MAX + 1];
	size_t w = 0, o = 0;
	if (len == 0)
		return false;
	while (o < len) {
		size_t l = p[o++];
		if (l > len - o)
			return false;
		for (size_t i = 0; i < l && w < DNS_TXT_MAX; i++) {
			unsigned char c = p[o + i];
			buf[w++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		o += l;
	}
	buf[w] = '\0';
	rr->text = xstrdup(buf);
	return true;
}

bool dns_parse_rdata(enum dns_type type, const unsigned char *p, size_t len, struct dns_rr *rr)
{
	size_t off = 0;
	rr->type = type;
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t al = type == DNS_T_A ? 4 : 16;
		if (len != al)
			return false;
		rr->family = type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(rr->addr, p, al);
		return true;
	}
	case DNS_T_MX:
		if (len < 3)
			return false;
		rr->pref = (unsigned)p[0] << 8 | p[1];
		off = 2;
		/* FALLTHROUGH */
	case DNS_T_PTR:
	case DNS_T_NS:
		if (!dns_parse_name(p, len, &off, rr->name, sizeof(rr->name)) || off != len)
			return false;
		/* Only MX may name the root ("." : RFC 7505 null MX). */
		return rr->name[0] != '\0' || type == DNS_T_MX;
	case DNS_T_TXT:
		return parse_txt(p, len, rr);
	case DNS_T_TLSA:
		if (len < 4 || len - 3 > DNS_TLSA_DATA_MAX)
			return false;
		rr->usage = p[0];
		rr->selector = p[1];
		rr->mtype = p[2];
		rr->data_len = len - 3;
		rr->data = xmalloc(rr->data_len);
		memcpy(rr->data, p + 3, rr->data_len);
		return true;
	}
	return false;
}

void dns_rr_clear(struct dns_rr *rr)
{
	free(rr->text);
	free(rr->data);
	rr->text = NULL;
	rr->data = NULL;
}

void dns_result_free(struct dns_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		dns_rr_clear(&r->rr[i]);
	free(r->rr);
	free(r);
}

bool dns_reverse_name(int family, const unsigned char *addr, const char *zone, char *out,
                      size_t outlen)
{
	size_t w = 0;
	int n;
	if (family == AF_INET) {
		n = snprintf(out, outlen, "%u.%u.%u.%u.%s", addr[3], addr[2], addr[1], addr[0],
		             zone ? zone : "in-addr.arpa");
		return n > 0 && (size_t)n < outlen;
	}
	if (family != AF_INET6)
		return false;
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--) {
		if (w + 4 >= outlen)
			return false;
		out[w++] = hex[addr[i] & 0xf];
		out[w++] = '.';
		out[w++] = hex[addr[i] >> 4];
		out[w++] = '.';
	}
	n = snprintf(out + w, outlen - w, "%s", zone ? zone : "ip6.arpa");
	return n > 0 && (size_t)n < outlen - w;
}
