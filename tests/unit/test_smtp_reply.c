/*
 * test_smtp_reply.c - the smtp client's reply reader and parser
 * (delivery/smtp_reply.c): single and multi-line replies, enhanced
 * status codes, whole and one byte at a time, line length at the limit
 * and one past it, the line-count limit, malformed lines, EHLO keywords.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "../../delivery/smtp_reply.h"

struct src {
	const char *p;
	size_t left, chunk;
};

static ssize_t rd(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	if (s->left == 0)
		return 0;
	size_t n = len < s->chunk ? len : s->chunk;
	if (n > s->left)
		n = s->left;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	return (ssize_t)n;
}

static struct smtp_rbuf rb;
static struct smtp_reply r;

static enum smtp_reply_err parse(const char *text, size_t len, size_t chunk)
{
	static struct src s;
	s.p = text;
	s.left = len;
	s.chunk = chunk;
	smtp_rbuf_init(&rb, rd, &s);
	return smtp_reply_read(&rb, &r);
}

static void test_single(void **st)
{
	(void)st;
	for (size_t chunk = 1; chunk <= 64; chunk += 63) {
		const char *t = "250 2.1.0 Ok\r\n";
		assert_int_equal(parse(t, strlen(t), chunk), SMTP_REPLY_OK);
		assert_int_equal(r.code, 250);
		assert_string_equal(r.dsn, "2.1.0");
		assert_true(r.dsn_given);
		assert_string_equal(r.text, "250 2.1.0 Ok");
	}
}

static void test_multi(void **st)
{
	(void)st;
	const char *t = "550-5.1.1 first\r\n550 5.1.1 second\n";
	for (size_t chunk = 1; chunk <= 100; chunk += 99) {
		assert_int_equal(parse(t, strlen(t), chunk), SMTP_REPLY_OK);
		assert_int_equal(r.code, 550);
		assert_int_equal(r.nlines, 2);
		assert_string_equal(r.text, "550-5.1.1 first 550 5.1.1 second");
	}
}

static void test_no_enhanced(void **st)
{
	(void)st;
	const char *t = "451 try later\r\n";
	assert_int_equal(parse(t, strlen(t), 100), SMTP_REPLY_OK);
	assert_string_equal(r.dsn, "4.0.0");
	assert_false(r.dsn_given);
	/* an enhanced code of the wrong class is not taken */
	t = "550 4.1.1 odd\r\n";
	assert_int_equal(parse(t, strlen(t), 100), SMTP_REPLY_OK);
	assert_string_equal(r.dsn, "5.0.0");
	t = "250\r\n";
	assert_int_equal(parse(t, strlen(t), 100), SMTP_REPLY_OK);
	assert_int_equal(r.code, 250);
}

static void test_line_limit(void **st)
{
	(void)st;
	size_t n = SMTPC_LINE_MAX + 3;
	char *t = malloc(n + 1);
	memcpy(t, "250 ", 4);
	memset(t + 4, 'x', SMTPC_LINE_MAX - 4);
	memcpy(t + SMTPC_LINE_MAX, "\r\n", 3);
	/* exactly the limit: accepted */
	assert_int_equal(parse(t, SMTPC_LINE_MAX + 2, 7), SMTP_REPLY_OK);
	/* one past it: refused cleanly */
	memset(t + 4, 'x', SMTPC_LINE_MAX - 3);
	memcpy(t + SMTPC_LINE_MAX + 1, "\r\n", 2);
	assert_int_equal(parse(t, SMTPC_LINE_MAX + 3, 7), SMTP_REPLY_TOOLONG);
	free(t);
	/* a megabyte without a line end */
	size_t big = 1024 * 1024;
	t = malloc(big);
	memcpy(t, "220 ", 4);
	memset(t + 4, 'y', big - 4);
	assert_int_equal(parse(t, big, 8192), SMTP_REPLY_TOOLONG);
	free(t);
}

static void test_count_limit(void **st)
{
	(void)st;
	size_t cap = 20 * (SMTPC_REPLY_LINES_MAX + 10), len = 0;
	char *t = malloc(cap);
	for (int i = 0; i < SMTPC_REPLY_LINES_MAX - 1; i++)
		len += (size_t)snprintf(t + len, cap - len, "250-l%d\r\n", i);
	len += (size_t)snprintf(t + len, cap - len, "250 end\r\n");
	assert_int_equal(parse(t, len, 4096), SMTP_REPLY_OK);
	assert_int_equal(r.nlines, SMTPC_REPLY_LINES_MAX);
	assert_true(strlen(r.text) <= SMTPC_REPLY_TEXT_MAX);
	len = 0;
	for (int i = 0; i < SMTPC_REPLY_LINES_MAX; i++)
		len += (size_t)snprintf(t + len, cap - len, "250-l%d\r\n", i);
	len += (size_t)snprintf(t + len, cap - len, "250 end\r\n");
	assert_int_equal(parse(t, len, 4096), SMTP_REPLY_TOOMANY);
	free(t);
}

static void test_malformed(void **st)
{
	(void)st;
	const char *bad[] = {"25\r\n", "abc ok\r\n", "250xok\r\n", "150 no\r\n", "650 no\r\n",
	                     "250-a\r\n251 b\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], strlen(bad[i]), 3), SMTP_REPLY_SYNTAX);
	char nul[] = "250 a\0b\r\n";
	assert_int_equal(parse(nul, sizeof(nul) - 1, 100), SMTP_REPLY_SYNTAX);
	assert_int_equal(parse("250-more", 8, 100), SMTP_REPLY_EOF);
	assert_int_equal(parse("", 0, 100), SMTP_REPLY_EOF);
}

static void test_ehlo(void **st)
{
	(void)st;
	const char *t = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
	                "250-SIZEX\r\n250 8bitmime\r\n";
	assert_int_equal(parse(t, strlen(t), 5), SMTP_REPLY_OK);
	const char *p;
	size_t pl;
	assert_true(smtp_reply_ehlo_has(&r, "PIPELINING", NULL, NULL));
	assert_true(smtp_reply_ehlo_has(&r, "8BITMIME", NULL, NULL));
	assert_true(smtp_reply_ehlo_has(&r, "SIZE", &p, &pl));
	assert_int_equal(pl, 4);
	assert_memory_equal(p, "1000", 4);
	assert_false(smtp_reply_ehlo_has(&r, "DSN", NULL, NULL));
	/* the greeting line's name is not a keyword */
	assert_false(smtp_reply_ehlo_has(&r, "mx.example", NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),    cmocka_unit_test(test_multi),
		cmocka_unit_test(test_no_enhanced), cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_count_limit), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ehlo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
