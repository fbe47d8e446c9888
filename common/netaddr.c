/*
 * netaddr.c - IP networks and interface addresses (see netaddr.h).
 * Runs in smtpd and the configuration tools.  Input: main.cf text
 * (trusted but checked) and client addresses from the kernel.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "strbuf.h"
#include "xalloc.h"

static void mask_bits(struct netaddr_net *n)
{
	int len = n->family == AF_INET ? 4 : 16;
	for (int i = 0; i < len; i++) {
		int keep = n->prefix - i * 8;
		if (keep >= 8)
			continue;
		n->addr[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

bool netaddr_parse_addr(const char *s, struct netaddr_net *n)
{
	char buf[64];
	size_t l = strlen(s);
	memset(n, 0, sizeof(*n));
	if (l >= sizeof(buf))
		return false;
	memcpy(buf, s, l + 1);
	char *pct = strchr(buf, '%');
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		n->prefix = 32;
		return true;
	}
	if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(n->addr, mapped, 12) == 0) {
			memmove(n->addr, n->addr + 12, 4);
			memset(n->addr + 4, 0, 12);
			n->family = AF_INET;
			n->prefix = 32;
			return true;
		}
		n->family = AF_INET6;
		n->prefix = 128;
		return true;
	}
	return false;
}

bool netaddr_parse_net(const char *s, struct netaddr_net *n)
{
	char buf[80];
	size_t l = strlen(s);
	if (l >= sizeof(buf))
		return false;
	memcpy(buf, s, l + 1);
	char *slash = strchr(buf, '/');
	long prefix = -1;
	if (slash) {
		char *end;
		*slash = '\0';
		prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || prefix < 0)
			return false;
	}
	char *a = buf;
	size_t al = strlen(a);
	if (al >= 2 && a[0] == '[' && a[al - 1] == ']') {
		a[al - 1] = '\0';
		a++;
	}
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, a, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, a, n->addr) == 1)
		n->family = AF_INET6;
	else
		return false;
	int max = n->family == AF_INET ? 32 : 128;
	if (prefix > max)
		return false;
	n->prefix = prefix < 0 ? max : (int)prefix;
	struct netaddr_net m = *n;
	mask_bits(&m);
	return memcmp(m.addr, n->addr, sizeof(m.addr)) == 0;
}

bool netaddr_match(const struct netaddr_net *net, const struct netaddr_net *addr)
{
	if (net->family != addr->family)
		return false;
	struct netaddr_net m = *addr;
	m.prefix = net->prefix;
	mask_bits(&m);
	int len = net->family == AF_INET ? 4 : 16;
	return memcmp(m.addr, net->addr, (size_t)len) == 0;
}

static int mask_len(const struct sockaddr *sa)
{
	const unsigned char *p;
	int len, bits = 0;
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		len = 4;
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		len = 16;
	}
	for (int i = 0; i < len; i++)
		for (int b = 7; b >= 0; b--)
			if (p[i] & (1 << b))
				bits++;
	return bits;
}

int netaddr_interfaces(struct netaddr_net *out, size_t max, bool with_mask)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;
	if (getifaddrs(&ifa) != 0)
		return -1;
	for (i = ifa; i != NULL && n < max; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		int fam = i->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		struct netaddr_net *o = &out[n];
		memset(o, 0, sizeof(*o));
		o->family = fam;
		if (fam == AF_INET) {
			memcpy(o->addr, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			o->prefix = 32;
		} else {
			/* Link-local (fe80::/64) included, as Postfix lists it. */
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
			memcpy(o->addr, a6, 16);
			o->prefix = 128;
		}
		int ml = with_mask ? mask_len(i->ifa_netmask) : -1;
		if (ml >= 0 && ml <= o->prefix) {
			o->prefix = ml;
			mask_bits(o);
		}
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			if (out[k].family == o->family && out[k].prefix == o->prefix &&
			    memcmp(out[k].addr, o->addr, 16) == 0)
				dup = true;
		if (!dup)
			n++;
	}
	freeifaddrs(ifa);
	return (int)n;
}

void netaddr_format(const struct netaddr_net *n, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (inet_ntop(n->family, n->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	if (n->family == AF_INET6)
		snprintf(buf, len, "[%s]/%d", a, n->prefix);
	else
		snprintf(buf, len, "%s/%d", a, n->prefix);
}

char *netaddr_mynetworks_default(const char *style)
{
	return netaddr_mynetworks_for(style, NULL);
}

char *netaddr_mynetworks_for(const char *style, const char *inet_protocols)
{
	bool v4 = true, v6 = true;
	if (inet_protocols != NULL && strcasestr(inet_protocols, "all") == NULL) {
		v4 = strcasestr(inet_protocols, "ipv4") != NULL;
		v6 = strcasestr(inet_protocols, "ipv6") != NULL;
	}
	struct netaddr_net nets[256];
	bool host = style != NULL && strcasecmp(style, "host") == 0;
	bool class = style != NULL && strcasecmp(style, "class") == 0;
	int n = netaddr_interfaces(nets, 256, !host);
	struct strbuf sb;
	sb_init(&sb, 0);
	for (int i = 0; i < n; i++) {
		struct netaddr_net *x = &nets[i];
		if ((x->family == AF_INET && !v4) || (x->family == AF_INET6 && !v6))
			continue;
		if (class && x->family == AF_INET) {
			/* The class A/B/C network of the address, as Postfix. */
			unsigned b = x->addr[0];
			x->prefix = b < 128 ? 8 : b < 192 ? 16 : b < 224 ? 24 : 32;
			mask_bits(x);
		}
		bool dup = false;
		for (int k = 0; k < i; k++)
			if (nets[k].family == x->family && nets[k].prefix == x->prefix &&
			    memcmp(nets[k].addr, x->addr, 16) == 0)
				dup = true;
		if (dup)
			continue;
		char buf[80];
		netaddr_format(x, buf, sizeof(buf));
		sb_printf(&sb, "%s%s", sb.len ? " " : "", buf);
	}
	return sb_steal(&sb);
}
