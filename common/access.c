/*
 * access.c - the access(5) key search orders (see access.h).
 *
 * Runs in smtpd (client, HELO, sender and recipient checks), in local
 * delivery (aliases, local_recipient_maps) and in the postern command.
 * Every input here is untrusted: addresses, host names and HELO names
 * come straight from SMTP clients.  Keys are built in one fixed buffer
 * of MAP_KEY_MAX + 1 bytes with every length checked first; a key that
 * would not fit is skipped, since no table can hold it (map_lookup
 * treats longer keys as not found).  Case folding is the map's job.
 */
#include "access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "map_simple.h"

#define DEFAULT_NULL_KEY "<>"
#define DEFAULT_DOUBLE_BOUNCE "double-bounce"

struct search {
	struct map *m;
	const char **value;
	char *matched;
	size_t matchedlen;
	char key[MAP_KEY_MAX + 1];
};

/* Look up a followed by b (b may be NULL); the key is a[0..alen) b. */
static int probe2(struct search *s, const char *a, size_t alen, const char *b)
{
	size_t blen = b ? strlen(b) : 0;

	if (alen > MAP_KEY_MAX || blen > MAP_KEY_MAX - alen)
		return MAP_NOTFOUND;
	memcpy(s->key, a, alen);
	if (blen)
		memcpy(s->key + alen, b, blen);
	s->key[alen + blen] = '\0';
	int r = map_lookup(s->m, s->key, s->value);
	if (r == MAP_FOUND && s->matched != NULL && s->matchedlen > 0)
		snprintf(s->matched, s->matchedlen, "%s", s->key); /* cut by design */
	return r;
}

static int probe(struct search *s, const char *key)
{
	return probe2(s, key, strlen(key), NULL);
}

static void search_init(struct search *s, struct map *m, const char **value,
                        char *matched, size_t matchedlen)
{
	s->m = m;
	s->value = value;
	s->matched = matched;
	s->matchedlen = matchedlen;
	*value = NULL;
	if (matched != NULL && matchedlen > 0)
		matched[0] = '\0';
}

bool access_map_fixed(const struct map *m)
{
	return (map_simple_props(m) & MAP_P_FIXED) != 0;
}

static bool same_name(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

size_t access_ext_split(const char *local, size_t len, const char *delimiters,
                        const char *double_bounce)
{
	if (delimiters == NULL || *delimiters == '\0')
		return len;
	if (double_bounce == NULL)
		double_bounce = DEFAULT_DOUBLE_BOUNCE;
	/* Role addresses keep their exact name whatever the delimiter. */
	if (same_name(local, len, "postmaster") ||
	    same_name(local, len, "mailer-daemon") ||
	    same_name(local, len, double_bounce))
		return len;
	/* Mailing-list conventions that predate address extensions. */
	if (strchr(delimiters, '-') != NULL) {
		if (len >= 6 && strncasecmp(local, "owner-", 6) == 0)
			return len;
		if (len > 8 && strncasecmp(local + len - 8, "-request", 8) == 0)
			return len;
	}
	for (size_t i = 0; i < len; i++) {
		if (local[i] != '\0' && strchr(delimiters, local[i]) != NULL)
			return i == 0 ? len : i; /* never leave an empty user */
	}
	return len;
}

/* The name, then its parents; the name itself only when full is set. */
static int domain_search(struct search *s, const char *domain, bool full,
                         bool parent_style)
{
	int r;

	if (*domain == '\0')
		return MAP_NOTFOUND;
	if (full && (r = probe(s, domain)) != MAP_NOTFOUND)
		return r;
	if (!access_map_fixed(s->m) || domain[0] == '[')
		return MAP_NOTFOUND;
	for (const char *p = domain;;) {
		const char *dot = strchr(p + 1, '.');
		/* A trailing dot leaves no parent worth a lookup. */
		if (dot == NULL || dot[1] == '\0')
			return MAP_NOTFOUND;
		p = parent_style ? dot + 1 : dot;
		if ((r = probe(s, p)) != MAP_NOTFOUND)
			return r;
	}
}

int access_find_domain(struct map *m, const char *domain,
                       const struct access_opts *o, const char **value,
                       char *matched, size_t matchedlen)
{
	struct search s;
	search_init(&s, m, value, matched, matchedlen);
	if (strlen(domain) > MAP_KEY_MAX)
		return MAP_NOTFOUND;
	return domain_search(&s, domain, true, o != NULL && o->parent_style);
}

int access_find_addr(struct map *m, const char *addr, const struct access_opts *o,
                     const char **value, char *matched, size_t matchedlen)
{
	struct search s;
	size_t len = strlen(addr), loclen, base;
	const char *at;
	int r;

	search_init(&s, m, value, matched, matchedlen);
	if (len == 0)
		return probe(&s, o && o->null_key ? o->null_key : DEFAULT_NULL_KEY);
	if (len > MAP_KEY_MAX)
		return MAP_NOTFOUND;
	if ((r = probe(&s, addr)) != MAP_NOTFOUND || !access_map_fixed(m))
		return r;

	/* A quoted local part may hold '@'; the domain follows the last. */
	at = strrchr(addr, '@');
	loclen = at ? (size_t)(at - addr) : len;
	base = access_ext_split(addr, loclen, o ? o->delimiters : NULL,
	                        o ? o->double_bounce : NULL);
	if (base < loclen && (r = probe2(&s, addr, base, at)) != MAP_NOTFOUND)
		return r;
	if (at != NULL &&
	    (r = domain_search(&s, at + 1, true, o && o->parent_style)) != MAP_NOTFOUND)
		return r;
	/* With nothing after the '@', "user+ext@" and "user@" were the
	 * first two keys already. */
	if (loclen == 0 || (at != NULL && at[1] == '\0'))
		return MAP_NOTFOUND;
	if ((r = probe2(&s, addr, loclen, "@")) != MAP_NOTFOUND)
		return r;
	if (base < loclen)
		return probe2(&s, addr, base, "@");
	return MAP_NOTFOUND;
}

bool access_addr_form(const char *addr, char *out, size_t outlen)
{
	char buf[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = strcspn(addr, "%");

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, addr, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (addr[n] == '%') /* zones belong to IPv6 only */
			return false;
		if (inet_ntop(AF_INET, &a4, text, sizeof(text)) == NULL)
			return false;
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
			if (inet_ntop(AF_INET, &a4, text, sizeof(text)) == NULL)
				return false;
		} else if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL) {
			return false;
		}
	} else {
		return false;
	}
	int w = snprintf(out, outlen, "%s", text);
	return w >= 0 && (size_t)w < outlen;
}

int access_find_client_addr(struct map *m, const char *addr,
                            const struct access_opts *o, const char **value,
                            char *matched, size_t matchedlen)
{
	char form[INET6_ADDRSTRLEN];
	struct search s;
	int r;

	(void)o; /* no option changes the address search today */
	search_init(&s, m, value, matched, matchedlen);
	if (!access_addr_form(addr, form, sizeof(form))) {
		if (strlen(addr) > MAP_KEY_MAX)
			return MAP_NOTFOUND;
		return probe(&s, addr);
	}
	if ((r = probe(&s, form)) != MAP_NOTFOUND || !access_map_fixed(m))
		return r;
	char delim = strchr(form, ':') ? ':' : '.';
	for (size_t len = strlen(form); len > 0;) {
		const char *cut = memrchr(form, delim, len);
		if (cut == NULL || cut == form)
			break;
		len = (size_t)(cut - form);
		if ((r = probe2(&s, form, len, NULL)) != MAP_NOTFOUND)
			return r;
	}
	return MAP_NOTFOUND;
}
