/*
 * netaddr.h - IP networks as main.cf writes them ("192.0.2.0/24",
 * "[2001:db8::]/32", bare addresses), matching a client address against
 * them, and the computed default of mynetworks from the host's
 * interfaces per mynetworks_style (host, subnet, class).  Used by smtpd
 * (mynetworks, IP literals of our own) and by the configuration code for
 * "postern conf -d mynetworks".
 */
#ifndef POSTERN_NETADDR_H
#define POSTERN_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct netaddr_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

/* Parse an address (prefix = full length) or address/prefix, IPv6
 * optionally in brackets.  Host bits must be zero, as Postfix wants. */
bool netaddr_parse_net(const char *s, struct netaddr_net *n);
/* Parse a plain address text (IPv4-mapped IPv6 becomes IPv4). */
bool netaddr_parse_addr(const char *s, struct netaddr_net *n);
bool netaddr_match(const struct netaddr_net *net, const struct netaddr_net *addr);

/*
 * Addresses of the host's interfaces (up ones), as /32 or /128 "nets",
 * or with their interface netmask when with_mask.  Returns the count
 * (at most max) or -1.
 */
int netaddr_interfaces(struct netaddr_net *out, size_t max, bool with_mask);

/* mynetworks computed as Postfix does when it is not set, for style
 * "host", "subnet" or "class": "127.0.0.0/8 [::1]/128 ..." (allocated). */
char *netaddr_mynetworks_default(const char *style);

/* The same for the address families inet_protocols names ("all",
 * "ipv4", "ipv6", "ipv4, ipv6"; NULL is all). */
char *netaddr_mynetworks_for(const char *style, const char *inet_protocols);

/* "1.2.3.0/24" or "[2001:db8::]/32" into buf. */
void netaddr_format(const struct netaddr_net *n, char *buf, size_t len);

#endif
