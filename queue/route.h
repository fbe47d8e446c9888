/*
 * route.h - where a recipient goes: Postfix's trivial-rewrite resolve
 * step inside qmgr.  Address class (mydestination -> local_transport,
 * relay_domains -> relay_transport, else default_transport), relayhost
 * and sender_dependent_relayhost_maps for the next hop, then
 * transport_maps (transport(5)) over all of it.  The transports "error"
 * and "retry" and "discard" are done by qmgr itself.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

struct cfg;

enum route_kind {
	ROUTE_DELIVER, /* to transport's agent with nexthop */
	ROUTE_ERROR,   /* fail the recipient: status and text */
	ROUTE_DISCARD, /* drop it, delivered: text for the log */
	ROUTE_DEFER,   /* temporary trouble (a table lookup failed, retry:) */
};

struct route {
	enum route_kind kind;
	char *transport;  /* allocated */
	char *nexthop;    /* allocated */
	char status[16];  /* ERROR / DEFER: "5.0.0" */
	char *text;       /* ERROR / DEFER / DISCARD, allocated */
};

/* Open the tables (before privileges drop). */
void route_init(struct cfg *cfg);
void route_resolve(const char *rcpt, const char *sender, struct route *r);
void route_clear(struct route *r);
void route_free_all(void);

#endif
