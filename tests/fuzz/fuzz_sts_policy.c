/*
 * fuzz_sts_policy.c - libFuzzer target for the MTA-STS policy parser
 * (delivery/smtp_sts.c, smtp_sts_parse) and the mx pattern match: what
 * an HTTPS policy server sends.  Checks the promised bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sts_policy p;
	if (!smtp_sts_parse((const char *)data, size, &p))
		return 0;
	if (p.nmx > STS_MX_MAX || p.max_age < 0 || p.max_age > 31557600L)
		abort();
	for (size_t i = 0; i < p.nmx; i++)
		if (memchr(p.mx[i], '\0', sizeof(p.mx[i])) == NULL)
			abort();
	(void)smtp_sts_mx_ok(&p, "mx1.example.com");
	(void)smtp_sts_mx_ok(&p, "example.com.");
	return 0;
}
