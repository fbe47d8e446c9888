/*
 * smtp_sts.h - MTA-STS (RFC 8461), an extension of ours (Postfix needs
 * an external policy server for it): with postern_smtp_mta_sts = yes the
 * smtp client looks for "_mta-sts.DOMAIN" TXT "v=STSv1; id=...", fetches
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt over verified TLS
 * (libtls), caches the policy in postern_smtp_mta_sts_cache (one file
 * per domain, kept until max_age) and applies it: "enforce" delivers
 * only to MX hosts the policy lists and only over TLS with a certificate
 * verified for the MX host name; "testing" logs what enforce would have
 * refused.  TLS-RPT reporting is not done.
 */
#ifndef POSTERN_SMTP_STS_H
#define POSTERN_SMTP_STS_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_conf;

#define STS_MX_MAX 16

enum sts_mode { STS_NONE, STS_TESTING, STS_ENFORCE };

struct sts_policy {
	enum sts_mode mode;
	char mx[STS_MX_MAX][256];
	size_t nmx;
	long max_age;
};

/* The domain's policy; false when it has none (or none could be had). */
bool smtp_sts_get(const struct smtp_conf *sc, const char *domain, struct sts_policy *p);
/* Whether an MX host name matches one of the policy's mx patterns. */
bool smtp_sts_mx_ok(const struct sts_policy *p, const char *host);
/* Parse a policy body (exported for tests and fuzzing). */
bool smtp_sts_parse(const char *text, size_t len, struct sts_policy *p);

#endif
