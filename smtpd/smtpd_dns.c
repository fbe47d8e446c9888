/*
 * smtpd_dns.c - client name lookups for smtpd (see smtpd_dns.h).  Runs
 * in smtpd.  Untrusted input: DNS answers (names are checked against the
 * host name alphabet and SMTP_HOST_MAX; a name counts only when its
 * address records include the client's address) and, trusted, the
 * hosts file, read with bounded lines and entries.
 */
#include "smtpd_dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "htable.h"
#include "xalloc.h"

#define HOSTS_MAX 10000

struct htable *smtpd_dns_load_hosts(void)
{
	struct htable *h = ht_new();
	FILE *fp = fopen("/etc/hosts", "re");
	char line[1024];
	if (fp == NULL)
		return h;
	while (ht_count(h) < HOSTS_MAX && fgets(line, sizeof(line), fp) != NULL) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save, *addr = strtok_r(line, " \t\r\n", &save);
		char *name = addr ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct netaddr_net a;
		char text[INET6_ADDRSTRLEN];
		if (name == NULL || strlen(name) > SMTP_HOST_MAX || !netaddr_parse_addr(addr, &a) ||
		    inet_ntop(a.family, a.addr, text, sizeof(text)) == NULL || ht_get(h, text))
			continue;
		ht_put(h, text, xstrdup(name));
	}
	fclose(fp);
	return h;
}

struct dnsq {
	struct evdns_base *dns;
	struct netaddr_net a;
	char name[SMTP_HOST_MAX + 1];
	void (*done)(void *arg, const char *name);
	void *arg;
};

static void finish(struct dnsq *q, const char *name)
{
	void (*done)(void *, const char *) = q->done;
	void *arg = q->arg;
	char n[SMTP_HOST_MAX + 1];
	snprintf(n, sizeof(n), "%s", name ? name : "");
	free(q);
	done(arg, name ? n : NULL);
}

static void on_forward(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct dnsq *q = arg;
	bool match = false;
	(void)ttl;
	if (result == DNS_ERR_NONE && addrs != NULL) {
		int fam = type == DNS_IPv4_A ? AF_INET : type == DNS_IPv6_AAAA ? AF_INET6 : 0;
		size_t al = fam == AF_INET ? 4 : 16;
		for (int i = 0; fam && fam == q->a.family && i < count; i++)
			if (memcmp((const char *)addrs + (size_t)i * al, q->a.addr, al) == 0)
				match = true;
	}
	finish(q, match ? q->name : NULL);
}

static bool name_ok(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l > SMTP_HOST_MAX)
		return false;
	for (size_t i = 0; i < l; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '-' || n[i] == '.' || n[i] == '_'))
			return false;
	return true;
}

static void on_reverse(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct dnsq *q = arg;
	(void)ttl;
	if (result == DNS_ERR_NONE && type == DNS_PTR && count > 0 && addrs != NULL) {
		const char *n = *(char **)addrs;
		if (n && name_ok(n)) {
			snprintf(q->name, sizeof(q->name), "%s", n);
			struct evdns_request *r =
			    q->a.family == AF_INET
			        ? evdns_base_resolve_ipv4(q->dns, q->name, DNS_QUERY_NO_SEARCH, on_forward, q)
			        : evdns_base_resolve_ipv6(q->dns, q->name, DNS_QUERY_NO_SEARCH, on_forward, q);
			if (r != NULL)
				return;
		}
	}
	finish(q, NULL);
}

void smtpd_dns_client_name(struct evdns_base *dns, struct htable *hosts,
                           const struct netaddr_net *a, const char *addr,
                           void (*done)(void *arg, const char *name), void *arg)
{
	const char *known = hosts ? ht_get(hosts, addr) : NULL;
	if (known != NULL || dns == NULL || a->family == 0) {
		done(arg, known);
		return;
	}
	struct dnsq *q = xcalloc(1, sizeof(*q));
	q->dns = dns;
	q->a = *a;
	q->done = done;
	q->arg = arg;
	struct evdns_request *r =
	    a->family == AF_INET
	        ? evdns_base_resolve_reverse(dns, (const struct in_addr *)(const void *)a->addr, 0,
	                                     on_reverse, q)
	        : evdns_base_resolve_reverse_ipv6(dns, (const struct in6_addr *)(const void *)a->addr,
	                                          0, on_reverse, q);
	if (r == NULL) {
		free(q);
		done(arg, NULL);
	}
}
