/*
 * test_smtpd_policy.c - the policy reply parser (smtpd/smtpd_policy.c,
 * policy_reply_parse): whole replies and one byte at a time, CRLF, the
 * first action wins, lines at POLICY_LINE_MAX and one past, replies past
 * POLICY_REPLY_MAX, NUL bytes, lines without '='.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_policy.h"
#include "bounds.h"

static char act[POLICY_LINE_MAX + 1];

static long parse(const char *s, size_t n)
{
	return policy_reply_parse(s, n, act, sizeof(act));
}

static void test_whole(void **state)
{
	(void)state;
	const char r[] = "action=DUNNO\n\n";
	assert_int_equal(parse(r, sizeof(r) - 1), (long)(sizeof(r) - 1));
	assert_string_equal(act, "DUNNO");
	const char r2[] = "foo=bar\r\naction=450 4.7.1 greylisted\r\naction=OK\r\n\r\nnext";
	assert_int_equal(parse(r2, sizeof(r2) - 1), (long)(sizeof(r2) - 1 - 4));
	assert_string_equal(act, "450 4.7.1 greylisted");
	const char r3[] = "foo=bar\n\n";
	assert_int_equal(parse(r3, sizeof(r3) - 1), (long)(sizeof(r3) - 1));
	assert_string_equal(act, "");
}

static void test_bytewise(void **state)
{
	(void)state;
	const char r[] = "action=PREPEND X-Greylist: delayed 3 seconds\n\n";
	size_t n = sizeof(r) - 1;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(parse(r, i), 0);
	assert_int_equal(parse(r, n), (long)n);
	assert_string_equal(act, "PREPEND X-Greylist: delayed 3 seconds");
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse("garbage\n\n", 9), -1);
	assert_int_equal(parse("=x\n\n", 4), -1);
	assert_int_equal(parse("action=O\0K\n\n", 12), -1);
}

static void test_limits(void **state)
{
	(void)state;
	size_t n = POLICY_LINE_MAX + 10;
	char *b = malloc(n);
	/* a line of exactly POLICY_LINE_MAX bytes is fine */
	memcpy(b, "action=", 7);
	memset(b + 7, 'x', POLICY_LINE_MAX - 7);
	memcpy(b + POLICY_LINE_MAX, "\n\n", 2);
	assert_int_equal(parse(b, POLICY_LINE_MAX + 2), POLICY_LINE_MAX + 2);
	assert_int_equal(strlen(act), POLICY_LINE_MAX - 7);
	/* one more is not, complete or not */
	memset(b + 7, 'x', POLICY_LINE_MAX - 6);
	memcpy(b + POLICY_LINE_MAX + 1, "\n\n", 2);
	assert_int_equal(parse(b, POLICY_LINE_MAX + 3), -1);
	assert_int_equal(parse(b, POLICY_LINE_MAX + 1), -1);
	free(b);
	/* many short lines past POLICY_REPLY_MAX */
	size_t big = POLICY_REPLY_MAX + 100;
	b = malloc(big);
	for (size_t i = 0; i + 4 <= big; i += 4)
		memcpy(b + i, "a=b\n", 4);
	assert_int_equal(parse(b, big - big % 4), -1);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_bytewise),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
