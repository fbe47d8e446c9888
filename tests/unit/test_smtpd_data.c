/*
 * test_smtpd_data.c - the DATA/BDAT content decoder
 * (smtpd/smtpd_data.c): the end of DATA, dot-unstuffing, bare LF and
 * bare CR (SMTP smuggling forms), Message-ID, the size limit; each input
 * is fed whole and one byte at a time and must give the same result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_data.c"

struct result {
	enum sdata_result r;
	size_t used;
	char out[4096];
	size_t outlen;
	char msgid[SMTP_MSGID_MAX + 1];
	bool too_big;
};

static void run(const char *in, size_t n, bool dot, bool reject, uint64_t limit, size_t step,
                struct result *res)
{
	struct sdata d;
	sdata_init(&d, dot, reject, limit);
	size_t off = 0;
	res->r = SDATA_MORE;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, used;
		res->r = sdata_feed(&d, in + off, k, &used);
		off += used;
		if (res->r != SDATA_MORE)
			break;
	}
	res->used = off;
	if (res->r == SDATA_END || !dot)
		sdata_finish(&d);
	assert_true(d.out.len < sizeof(res->out));
	memcpy(res->out, d.out.s, d.out.len);
	res->outlen = d.out.len;
	res->out[res->outlen] = '\0';
	snprintf(res->msgid, sizeof(res->msgid), "%s", sdata_msgid(&d));
	res->too_big = d.too_big;
	sdata_free(&d);
}

/* Whole and one byte at a time must agree; returns the whole result. */
static struct result check(const char *in, bool dot, bool reject, uint64_t limit)
{
	struct result a, b;
	size_t n = strlen(in);
	run(in, n, dot, reject, limit, n ? n : 1, &a);
	run(in, n, dot, reject, limit, 1, &b);
	assert_int_equal(a.r, b.r);
	assert_int_equal(a.used, b.used);
	assert_int_equal(a.outlen, b.outlen);
	assert_memory_equal(a.out, b.out, a.outlen);
	assert_string_equal(a.msgid, b.msgid);
	return a;
}

static void test_plain(void **state)
{
	(void)state;
	struct result r = check("Subject: x\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "Subject: x\n\nbody\n.dot\n");
	assert_int_equal(r.used, strlen("Subject: x\r\n\r\nbody\r\n..dot\r\n.\r\n"));
	r = check(".\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_int_equal(r.outlen, 0);
	r = check("no end yet\r\n.", true, false, 0);
	assert_int_equal(r.r, SDATA_MORE);
}

static void test_smuggling(void **state)
{
	(void)state;
	/* Bare LF before or after the dot never ends the message. */
	struct result r = check("a\n.\nMAIL FROM:<x>\r\n.\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "a\n.\nMAIL FROM:<x>\n");
	r = check("a\r\n.\nb\r\n.\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "a\n.\nb\n");
	r = check("a\n.\r\nb\r\n.\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "a\n.\nb\n");
	/* Bare CR is content, never a line end. */
	r = check("a\r.\rb\r\n.\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "a\r.\rb\n");
	r = check("a\r\n.\r\r\n.\r\n", true, false, 0);
	assert_int_equal(r.r, SDATA_END);
	assert_string_equal(r.out, "a\n.\r\n");
	/* reject mode: a bare LF is refused. */
	r = check("a\nb\r\n.\r\n", true, true, 0);
	assert_int_equal(r.r, SDATA_BARE_LF);
	assert_int_equal(r.used, 2);
}

static void test_msgid(void **state)
{
	(void)state;
	struct result r = check("From: a\r\nMessage-ID:  <abc@d>\r\n\r\n.\r\n", true, false, 0);
	assert_string_equal(r.msgid, "<abc@d>");
	r = check("message-id:\r\n <folded@x>\r\nX: y\r\n\r\n.\r\n", true, false, 0);
	assert_string_equal(r.msgid, "<folded@x>");
	r = check("X: y\r\n\r\nMessage-ID: <body@x>\r\n.\r\n", true, false, 0);
	assert_string_equal(r.msgid, "");
}

static void test_limit(void **state)
{
	(void)state;
	struct result r = check("12345\r\n.\r\n", true, false, 6);
	assert_false(r.too_big);
	r = check("123456\r\n.\r\n", true, false, 6);
	assert_true(r.too_big);
	assert_int_equal(r.r, SDATA_END);
}

static void test_bdat(void **state)
{
	(void)state;
	struct result r = check("a\r\nb\r\n.\r\nc", false, false, 0);
	assert_int_equal(r.r, SDATA_MORE);
	assert_string_equal(r.out, "a\nb\n.\nc\n");
	r = check("x\r", false, false, 0);
	assert_string_equal(r.out, "x\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain), cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_msgid), cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_bdat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
