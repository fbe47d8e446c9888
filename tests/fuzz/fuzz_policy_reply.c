/*
 * fuzz_policy_reply.c - libFuzzer target for the policy server reply
 * parser (smtpd/smtpd_policy.c: policy_reply_parse).  Checks: what it
 * consumes lies inside the input and ends with an empty line; the action
 * fits its buffer; a prefix of the input never completes where the whole
 * input needs more or is malformed (fed one byte at a time as a socket
 * would deliver it, the verdict is the same).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/bounds.h"
#include "../../smtpd/smtpd_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char action[POLICY_LINE_MAX + 1], a2[POLICY_LINE_MAX + 1];
	const char *buf = (const char *)data;
	long n = policy_reply_parse(buf, size, action, sizeof(action));
	if (n > (long)size || n < -1)
		abort();
	if (strlen(action) >= sizeof(action))
		abort();
	if (n > 0 && buf[n - 1] != '\n')
		abort();
	/* incremental: the first prefix with a verdict decides */
	long m = 0;
	size_t i;
	for (i = 1; i <= size && i <= 4096; i++) {
		m = policy_reply_parse(buf, i, a2, sizeof(a2));
		if (m != 0)
			break;
	}
	if (m > 0 && (n != m || strcmp(action, a2) != 0))
		abort();
	if (m < 0 && n >= 0 && i <= size)
		abort();
	return 0;
}
