/*
 * map_cidr.c - the cidr: lookup table, cidr_table(5): "network/prefix
 * result", bare addresses, "!pattern", "if pattern" ... "endif", IPv4
 * and IPv6.  Runs in every process that opens such a table (smtpd for
 * client restrictions, the postern command), before privileges are
 * dropped.  Untrusted input: the table text, parsed and converted to
 * binary once at open, and lookup keys (client IP address strings).
 */
#include "map_cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "map_pattern.h"
#include "xalloc.h"

enum { C_MATCH, C_IF };

struct crule {
	int kind;
	bool neg;
	int family;
	int bits;
	unsigned char addr[16];
	char *result;
	size_t end; /* C_IF: index just past the block */
};

struct cmap {
	struct map head;
	struct crule *rules;
	size_t n, cap;
};

/* Address family of a textual address, as its syntax suggests. */
static int family_of(const char *s, size_t *len)
{
	if (strchr(s, ':') != NULL) {
		*len = 16;
		return AF_INET6;
	}
	*len = 4;
	return AF_INET;
}

/* Zero the bits past the prefix; true when any was set. */
static bool clear_host_bits(unsigned char *a, size_t alen, int bits)
{
	bool dirty = false;

	for (size_t i = 0; i < alen; i++) {
		int keep = bits - (int)i * 8;
		unsigned char mask = keep >= 8 ? 0xff
		                     : keep <= 0 ? 0
		                                 : (unsigned char)(0xff << (8 - keep));
		if (a[i] & ~mask)
			dirty = true;
		a[i] &= mask;
	}
	return dirty;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b,
                         int bits)
{
	size_t whole = (size_t)bits / 8;
	int rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/*
 * Parse one address pattern: "a.b.c.d", "a.b.c.d/n", IPv6 likewise,
 * optionally in brackets ("[::1]/128" or "[::1/128]").  The network
 * part must have no bits set past the prefix.
 */
static bool parse_net(const char *pat, struct crule *r, char *msg, size_t msglen)
{
	char text[256];
	const char *slash;

	if (strlen(pat) >= sizeof(text)) {
		snprintf(msg, msglen, "bad address pattern: \"%.100s...\"", pat);
		return false;
	}
	if (pat[0] == '[') {
		const char *close = strchr(pat, ']');
		if (close == NULL) {
			snprintf(msg, msglen, "missing ']' character after \"%s\"", pat);
			return false;
		}
		if (close[1] != '\0' && close[1] != '/') {
			snprintf(msg, msglen, "garbage after \"%.*s\"",
			         (int)(close - pat + 1), pat);
			return false;
		}
		snprintf(text, sizeof(text), "%.*s%s", (int)(close - pat - 1),
		         pat + 1, close + 1);
	} else {
		snprintf(text, sizeof(text), "%s", pat);
	}
	size_t alen;
	r->family = family_of(text, &alen);
	int maxbits = (int)alen * 8;
	if ((slash = strchr(text, '/')) == NULL) {
		if (inet_pton(r->family, text, r->addr) != 1) {
			snprintf(msg, msglen, "bad address pattern: \"%s\"", text);
			return false;
		}
		r->bits = maxbits;
		return true;
	}
	const char *m = slash + 1;
	long bits = 0;
	if (*m == '\0' || strspn(m, "0123456789") != strlen(m)) {
		snprintf(msg, msglen, "bad mask value in \"%s\"", text);
		return false;
	}
	for (; *m; m++)
		if (bits <= maxbits)
			bits = bits * 10 + (*m - '0');
	if (bits > maxbits) {
		snprintf(msg, msglen, "bad mask length in \"%s\"", text);
		return false;
	}
	char net[256];
	snprintf(net, sizeof(net), "%.*s", (int)(slash - text), text);
	if (inet_pton(r->family, net, r->addr) != 1) {
		snprintf(msg, msglen, "bad network value in \"%s\"", text);
		return false;
	}
	r->bits = (int)bits;
	if (clear_host_bits(r->addr, alen, r->bits)) {
		char shown[INET6_ADDRSTRLEN];
		if (inet_ntop(r->family, r->addr, shown, sizeof(shown)) == NULL)
			snprintf(shown, sizeof(shown), "?");
		snprintf(msg, msglen,
		         "non-null host address bits in \"%s\", perhaps you "
		         "should use \"%s/%d\" instead",
		         text, shown, r->bits);
		return false;
	}
	return true;
}

/* Leading "!", each one toggling, white space allowed after each. */
static char *skip_negation(char *p, bool *neg)
{
	*neg = false;
	while (*p == '!') {
		*neg = !*neg;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	return p;
}

static struct crule *new_rule(struct cmap *cm)
{
	if (cm->n == cm->cap) {
		cm->cap = cm->cap ? cm->cap * 2 : 16;
		cm->rules = xreallocarray(cm->rules, cm->cap, sizeof(*cm->rules));
	}
	struct crule *r = &cm->rules[cm->n];
	memset(r, 0, sizeof(*r));
	return r;
}

static void parse_rule(struct cmap *cm, const struct map_src *src, char *line)
{
	char msg[512];
	struct crule *r = new_rule(cm);
	char *p = skip_negation(line, &r->neg), *pat = p;

	r->kind = C_MATCH;
	while (*p && !isspace((unsigned char)*p))
		p++;
	char *res = p;
	while (isspace((unsigned char)*res))
		res++;
	*p = '\0';
	if (*pat == '\0') {
		map_src_warn(src, "no address pattern: skipping this rule");
		return;
	}
	if (!parse_net(pat, r, msg, sizeof(msg))) {
		map_src_warn(src, "%s: skipping this rule", msg);
		return;
	}
	if (*res == '\0') {
		map_src_warn(src, "no lookup result: skipping this rule");
		return;
	}
	r->result = xstrdup(res);
	cm->n++;
}

/* "if pattern"; false when the open must fail. */
static bool parse_if(struct cmap *cm, const struct map_src *src, char *rest,
                     struct map_ifstack *st, char *err, size_t errlen)
{
	char msg[512];
	struct crule *r = new_rule(cm);
	char *pat = skip_negation(rest, &r->neg);

	r->kind = C_IF;
	if (*pat == '\0') {
		map_src_warn(src, "no address pattern: skipping this rule");
		return true;
	}
	if (!parse_net(pat, r, msg, sizeof(msg))) {
		map_src_warn(src, "%s: skipping this rule", msg);
		return true;
	}
	if (st->depth >= MAP_IF_DEPTH) {
		map_src_err(src, err, errlen, "IF nesting deeper than %d",
		            MAP_IF_DEPTH);
		return false;
	}
	st->rule[st->depth] = cm->n;
	st->line[st->depth] = map_src_line(src);
	st->depth++;
	cm->n++;
	return true;
}

static void cidr_close(struct map *m)
{
	struct cmap *cm = (struct cmap *)m;

	for (size_t i = 0; i < cm->n; i++)
		free(cm->rules[i].result);
	free(cm->rules);
	map_free(m);
}

static struct map *cidr_open(const char *name, int flags, char *err,
                             size_t errlen)
{
	struct map_src src;
	struct map_ifstack st = {0};
	char *line, *rest;
	int r;

	if (!map_src_open(&src, "cidr", name, err, errlen))
		return NULL;
	struct cmap *cm = map_alloc(sizeof(*cm), &map_cidr_ops, name,
	                            flags & ~MAP_F_FOLD);
	while ((r = map_src_next(&src, &line, err, errlen)) == LR_LINE) {
		if ((rest = map_keyword(line, "if")) != NULL) {
			if (!parse_if(cm, &src, rest, &st, err, errlen))
				goto fail;
		} else if ((rest = map_keyword(line, "endif")) != NULL) {
			if (*rest != '\0')
				map_src_warn(&src, "garbage after ENDIF: skipping this rule");
			else if (st.depth == 0)
				map_src_warn(&src, "ENDIF without IF: skipping this rule");
			else
				cm->rules[st.rule[--st.depth]].end = cm->n;
		} else {
			parse_rule(cm, &src, line);
		}
	}
	if (r == LR_ERR)
		goto fail;
	while (st.depth > 0) {
		st.depth--;
		map_src_warn_at(&src, st.line[st.depth], "IF has no matching ENDIF");
		cm->rules[st.rule[st.depth]].end = cm->n;
	}
	map_src_close(&src);
	return &cm->head;
fail:
	map_src_close(&src);
	cidr_close(&cm->head);
	return NULL;
}

static int cidr_lookup(struct map *m, const char *key, const char **value)
{
	struct cmap *cm = (struct cmap *)m;
	unsigned char addr[16];
	size_t alen;
	int family = family_of(key, &alen);

	if (inet_pton(family, key, addr) != 1)
		return MAP_NOTFOUND;
	for (size_t i = 0; i < cm->n;) {
		const struct crule *r = &cm->rules[i];
		/* An address of the other family matches neither way. */
		bool hit = r->family == family &&
		           prefix_equal(addr, r->addr, r->bits) != r->neg;
		if (r->kind == C_IF) {
			i = hit ? i + 1 : r->end;
			continue;
		}
		if (hit) {
			*value = r->result;
			return MAP_FOUND;
		}
		i++;
	}
	return MAP_NOTFOUND;
}

const struct map_ops map_cidr_ops = {
	.type = "cidr",
	.props = MAP_P_PATTERN | MAP_P_FILE,
	.open = cidr_open,
	.lookup = cidr_lookup,
	.close = cidr_close,
};
