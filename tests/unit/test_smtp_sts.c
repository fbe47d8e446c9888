/*
 * test_smtp_sts.c - the MTA-STS policy parser and mx pattern matching
 * (delivery/smtp_sts.c): required fields, modes, max_age cap, bad
 * lines, too many mx lines, wildcard patterns covering one label only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../delivery/smtp_sts.h"

static bool parse(const char *t, struct sts_policy *p)
{
	return smtp_sts_parse(t, strlen(t), p);
}

static void test_good(void **st)
{
	(void)st;
	struct sts_policy p;
	assert_true(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\n"
	                  "mx: *.example.net\nmax_age: 604800\n", &p));
	assert_int_equal(p.mode, STS_ENFORCE);
	assert_int_equal(p.nmx, 2);
	assert_int_equal(p.max_age, 604800);
	assert_true(parse("version: STSv1\r\nmode: testing\r\nmx: a.b\r\nmax_age: 99999999999\r\n"
	                  "future: x\r\n", &p));
	assert_int_equal(p.mode, STS_TESTING);
	assert_int_equal(p.max_age, 31557600);
	assert_true(parse("version: STSv1\nmode: none\nmax_age: 0\n", &p));
	assert_int_equal(p.mode, STS_NONE);
}

static void test_bad(void **st)
{
	(void)st;
	struct sts_policy p;
	assert_false(parse("", &p));
	assert_false(parse("version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", &p));
	assert_false(parse("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", &p));
	assert_false(parse("version: STSv1\nmode: enforce\nmax_age: 1\n", &p)); /* no mx */
	assert_false(parse("version: STSv1\nmode: enforce\nmx: a\n", &p));     /* no max_age */
	assert_false(parse("version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n", &p));
	assert_false(parse("version: STSv1\nmode: enforce\nmx: a\nmax_age: 1x\n", &p));
	assert_false(parse("version: STSv1\ngarbage line\nmode: enforce\nmx: a\nmax_age: 1\n", &p));
	char big[4000] = "version: STSv1\nmode: enforce\nmax_age: 1\n";
	for (int i = 0; i <= STS_MX_MAX; i++)
		strcat(big, "mx: a.example\n");
	assert_false(parse(big, &p));
	char longline[600] = "mx: ";
	memset(longline + 4, 'a', 400);
	assert_false(parse(longline, &p));
}

static void test_match(void **st)
{
	(void)st;
	struct sts_policy p;
	assert_true(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\n"
	                  "mx: *.example.net\nmax_age: 1\n", &p));
	assert_true(smtp_sts_mx_ok(&p, "mail.example.com"));
	assert_true(smtp_sts_mx_ok(&p, "MAIL.Example.COM."));
	assert_false(smtp_sts_mx_ok(&p, "x.mail.example.com"));
	assert_true(smtp_sts_mx_ok(&p, "mx1.example.net"));
	assert_false(smtp_sts_mx_ok(&p, "example.net"));
	assert_false(smtp_sts_mx_ok(&p, "a.b.example.net"));
	assert_false(smtp_sts_mx_ok(&p, "mx1.example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good), cmocka_unit_test(test_bad),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
