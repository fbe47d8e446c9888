/*
 * smtp_dane.h - DANE for SMTP (RFC 7672) in the smtp client: TLSA
 * records of "_port._tcp.host" from a DNSSEC-validated answer, and the
 * check of the server's certificate chain against them: DANE-EE(3)
 * matches the server certificate (no name or date checks), DANE-TA(2)
 * matches a certificate of the presented chain that must then sign the
 * server certificate, whose name must match.  PKIX usages 0 and 1 are
 * unusable for SMTP and ignored.
 */
#ifndef POSTERN_SMTP_DANE_H
#define POSTERN_SMTP_DANE_H

#include <stdbool.h>
#include <stddef.h>

struct dns_ctx;
struct dns_result;
struct tls;

/*
 * The usable TLSA records for host:port when the answer is secure; NULL
 * when there are none (insecure, no records, or only unusable ones).
 * *tempfail is set when the lookup failed or was bogus (the delivery
 * must then defer at dane and dane-only alike).
 */
struct dns_result *smtp_dane_tlsa(struct dns_ctx *ctx, const char *host, unsigned port,
                                  bool *tempfail);

/* Whether the peer's chain matches; names[] are the reference
 * identifiers for DANE-TA. */
bool smtp_dane_match(struct tls *t, const struct dns_result *tlsa, const char *const *names,
                     size_t nnames, char *why, size_t whylen);

#endif
