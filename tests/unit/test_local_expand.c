/*
 * test_local_expand.c - splitting alias values, .forward and :include:
 * texts into destinations (local_expand_tokens): commas and newlines,
 * quotes, comments, the count limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "local_expand.h"

static char got[16][256];
static int ngot;

static void collect(void *arg, const char *tok)
{
	(void)arg;
	assert_true(ngot < 16);
	snprintf(got[ngot++], sizeof(got[0]), "%s", tok);
}

static int split(const char *text, size_t max)
{
	ngot = 0;
	return local_expand_tokens(text, max, collect, NULL);
}

static void test_tokens(void **state)
{
	(void)state;
	assert_int_equal(split("a, b ,c", 10), 3);
	assert_string_equal(got[0], "a");
	assert_string_equal(got[1], "b");
	assert_string_equal(got[2], "c");
	assert_int_equal(split("\"|cmd a, b > /x\", user", 10), 2);
	assert_string_equal(got[0], "|cmd a, b > /x");
	assert_string_equal(got[1], "user");
	assert_int_equal(split("# comment, with comma\nbob\n\n  \\alice  \n:include:/etc/list", 10), 3);
	assert_string_equal(got[0], "bob");
	assert_string_equal(got[1], "\\alice");
	assert_string_equal(got[2], ":include:/etc/list");
	assert_int_equal(split("bob\n   # indented comment, x\n\talice # not a comment", 10), 2);
	assert_string_equal(got[0], "bob");
	assert_string_equal(got[1], "alice # not a comment");
	assert_int_equal(split("a, #b", 10), 2);
	assert_string_equal(got[1], "#b");
	assert_int_equal(split("\"a \\\" b\"", 10), 1);
	assert_string_equal(got[0], "a \" b");
	assert_int_equal(split("", 10), 0);
	assert_int_equal(split(" , ,\n", 10), 0);
	assert_int_equal(split("a,b,c", 2), -1);
	assert_int_equal(split("/var/mail/x, |cmd", 10), 2);
	assert_string_equal(got[1], "|cmd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
