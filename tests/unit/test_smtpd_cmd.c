/*
 * test_smtpd_cmd.c - the SMTP command line parser (smtpd/smtpd_cmd.c):
 * verbs, paths, ESMTP parameters, the replies for bad syntax, and the
 * limits at and one past their bound.  The parser is compiled in here
 * (smtpd/ is not part of libpostern).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_cmd.c"

static struct smtp_cmd c;

static bool parse(const char *s)
{
	return smtp_cmd_parse(s, strlen(s), &c);
}

static void test_verbs(void **state)
{
	(void)state;
	assert_true(parse("EHLO client.example"));
	assert_int_equal(c.verb, SMTP_EHLO);
	assert_int_equal(c.arglen, strlen("client.example"));
	assert_true(parse("helo   x  "));
	assert_int_equal(c.verb, SMTP_HELO);
	assert_int_equal(c.arglen, 1);
	assert_false(parse("EHLO"));
	assert_string_equal(c.err, "501 Syntax: EHLO hostname");
	assert_false(parse("FOO bar"));
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	assert_string_equal(c.err, "500 5.5.2 Error: command not recognized");
	assert_true(parse("quit"));
	assert_int_equal(c.verb, SMTP_QUIT);
	assert_false(parse("QUIT now"));
	assert_false(parse("DATA x"));
	assert_true(parse("NOOP anything at all"));
	assert_false(parse("NOOP a\rb"));
	char nul[] = "NOOP a\0b";
	assert_false(smtp_cmd_parse(nul, sizeof(nul) - 1, &c));
}

static void test_mail(void **state)
{
	(void)state;
	assert_true(parse("MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS "
	                  "ENVID=x+2Bx AUTH=<>"));
	assert_int_equal(c.verb, SMTP_MAIL);
	assert_string_equal(c.addr, "a@b.example");
	assert_true(c.has_size);
	assert_true(c.size == 100);
	assert_int_equal(c.body, SMTP_BODY_8BITMIME);
	assert_true(c.smtputf8);
	assert_int_equal(c.ret, SMTP_RET_HDRS);
	assert_string_equal(c.envid, "x+x");
	assert_true(parse("MAIL FROM:<>"));
	assert_string_equal(c.addr, "");
	assert_true(parse("mail from: <a@b>"));
	assert_string_equal(c.addr, "a@b");
	assert_true(parse("MAIL FROM:a@b"));
	assert_string_equal(c.addr, "a@b");
	assert_false(parse("MAIL FROM <a@b>"));
	assert_string_equal(c.err, "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_false(parse("MAIL"));
	assert_false(parse("MAIL FROM:<a@b"));
	assert_string_equal(c.err, "501 5.1.7 Bad sender address syntax");
	assert_false(parse("MAIL FROM:<a b@c>"));
	assert_true(parse("MAIL FROM:<\"a b\"@c>"));
	assert_string_equal(c.addr, "a b@c");
	assert_false(parse("MAIL FROM:<a@b> <c@d>"));
	assert_string_equal(c.err, "555 5.5.4 Unsupported option: <c@d>");
	assert_false(parse("MAIL FROM:<a@b> BODY=FOO"));
	assert_string_equal(c.err, "555 5.5.4 Unsupported option: BODY=FOO");
	assert_false(parse("MAIL FROM:<a@b> BODY=BINARYMIME"));
	assert_false(parse("MAIL FROM:<a@b> SIZE=12x"));
	assert_string_equal(c.err, "501 5.5.4 Bad message size syntax");
	assert_false(parse("MAIL FROM:<a@b> SIZE=99999999999999999999"));
	assert_true(parse("MAIL FROM:<a@b> SIZE=18446744073709551615"));
	assert_false(parse("MAIL FROM:<a@b> SIZE=18446744073709551616"));
	assert_false(parse("MAIL FROM:<a@b> SIZE=1 SIZE=2"));
	assert_false(parse("MAIL FROM:<a@b> RET=ALL"));
	assert_false(parse("MAIL FROM:<a@b> ENVID=a+4"));
	assert_false(parse("MAIL FROM:<a@b> ENVID=a+0A"));
	assert_false(parse("MAIL FROM:<a@b> NOTIFY=NEVER"));
	assert_false(parse("MAIL FROM:<a@b> ENVID=a=b"));
}

static void test_rcpt(void **state)
{
	(void)state;
	assert_true(parse("RCPT TO:<user@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40x"));
	assert_string_equal(c.addr, "user@example.com");
	assert_int_equal(c.at, 4);
	assert_int_equal(c.notify, PROTO_NOTIFY_SUCCESS | PROTO_NOTIFY_FAILURE);
	assert_string_equal(c.orcpt, "rfc822;u@x");
	assert_false(parse("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS"));
	assert_string_equal(c.err, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
	assert_false(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS"));
	assert_false(parse("RCPT TO:<a@b> ORCPT=foo"));
	assert_string_equal(c.err, "501 5.5.4 Error: Bad ORCPT parameter syntax");
	assert_false(parse("RCPT TO:<a@b> SIZE=10"));
	assert_false(parse("RCPT TO:<>"));
	assert_string_equal(c.err, "501 5.1.3 Bad recipient address syntax");
	/* Source routes are dropped. */
	assert_true(parse("RCPT TO:<@a.example,@b.example:user@c.example>"));
	assert_string_equal(c.addr, "user@c.example");
	assert_string_equal(c.addr_ext, "@a.example,@b.example:user@c.example");
	assert_false(parse("RCPT TO:<@a.example user@c.example>"));
	assert_false(parse("RCPT TO:<@:user@c.example>"));
	/* Quoted local parts keep their '@' in the internal form. */
	assert_true(parse("RCPT TO:<\"x@elsewhere.example\"@ours.example>"));
	assert_string_equal(c.addr, "x@elsewhere.example@ours.example");
	assert_int_equal(c.at, strlen("x@elsewhere.example"));
	assert_true(parse("RCPT TO:<\"a\\\"b\"@c>"));
	assert_string_equal(c.addr, "a\"b@c");
	assert_false(parse("RCPT TO:<x@elsewhere.example@ours.example>"));
	assert_true(parse("RCPT TO:<user@example.com.>"));
	assert_string_equal(c.addr, "user@example.com.");
	assert_false(parse("RCPT TO:<user@example.com..>"));
	assert_false(parse("RCPT TO:<user@example..com>"));
	assert_false(parse("RCPT TO:<user@-bad->"));
	assert_false(parse("RCPT TO:<user@>"));
	assert_true(parse("RCPT TO:<user@[192.0.2.1]>"));
	assert_true(c.addr_literal);
	assert_true(parse("RCPT TO:<user@[IPv6:2001:db8::1]>"));
	assert_false(parse("RCPT TO:<user@[999.1.1.1]>"));
	assert_false(parse("RCPT TO:<user@[foo:bar]>"));
	assert_true(parse("RCPT TO:<postmaster>"));
	assert_string_equal(c.addr, "postmaster");
	assert_int_equal(c.at, (size_t)-1);
	assert_true(parse("RCPT TO:<x%y@ours.example>"));
	assert_true(parse("RCPT TO:<y!x@ours.example>"));
	assert_true(parse("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc.example>"));
}

static void test_bdat(void **state)
{
	(void)state;
	assert_true(parse("BDAT 1000"));
	assert_true(c.chunk == 1000);
	assert_false(c.last);
	assert_true(parse("BDAT 0 LAST"));
	assert_true(c.chunk == 0);
	assert_true(c.last);
	assert_false(parse("BDAT"));
	assert_false(parse("BDAT -1"));
	assert_false(parse("BDAT 10 FIRST"));
	assert_false(parse("BDAT 99999999999999999999999"));
}

static void test_limits(void **state)
{
	(void)state;
	char line[SMTP_LINE_MAX + 2];
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	assert_true(smtp_cmd_parse(line, SMTP_LINE_MAX, &c));
	assert_false(smtp_cmd_parse(line, SMTP_LINE_MAX + 1, &c));
	assert_string_equal(c.err, "500 5.5.2 Error: line too long");

	/* Address at SMTP_ADDR_MAX and one past. */
	char buf[SMTP_ADDR_MAX + 64];
	size_t dom = strlen("@example.com");
	size_t local = SMTP_ADDR_MAX - dom;
	int n = snprintf(buf, sizeof(buf), "RCPT TO:<%.*s@example.com>", (int)local,
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_true(parse(buf));
	assert_int_equal(strlen(c.addr), SMTP_ADDR_MAX);
	memmove(buf + 10, buf + 9, strlen(buf + 9) + 1);
	buf[9] = 'a';
	assert_false(parse(buf));

	/* ENVID: 100 decoded bytes, then 101. */
	char env[200];
	snprintf(env, sizeof(env), "MAIL FROM:<> ENVID=%.100s",
	         "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	         "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	assert_true(parse(env));
	strcat(env, "e");
	assert_false(parse(env));

	/* Host name at 255 and 256. */
	char helo[300];
	memset(helo, 'h', sizeof(helo));
	memcpy(helo, "HELO ", 5);
	assert_true(smtp_cmd_parse(helo, 5 + SMTP_HOST_MAX, &c));
	assert_false(smtp_cmd_parse(helo, 5 + SMTP_HOST_MAX + 1, &c));
}

static void test_xtext(void **state)
{
	(void)state;
	char out[8];
	assert_true(smtp_xtext_decode("a+2Bb", 5, out, sizeof(out)));
	assert_string_equal(out, "a+b");
	assert_false(smtp_xtext_decode("a+2", 3, out, sizeof(out)));
	assert_false(smtp_xtext_decode("+", 1, out, sizeof(out)));
	assert_false(smtp_xtext_decode("+zz", 3, out, sizeof(out)));
	assert_true(smtp_xtext_decode("1234567", 7, out, sizeof(out)));
	assert_false(smtp_xtext_decode("12345678", 8, out, sizeof(out)));
}

/* Every prefix of a valid line parses or fails cleanly (one byte at a time). */
static void test_prefixes(void **state)
{
	(void)state;
	const char *lines[] = {
	    "MAIL FROM:<\"q\\\"x\"@[IPv6:2001:db8::1]> SIZE=1 BODY=7BIT ENVID=a+2B RET=FULL",
	    "RCPT TO:<@a,@b:u@c.example> NOTIFY=DELAY ORCPT=rfc822;u+40c",
	    "BDAT 12 LAST",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = strlen(lines[i]);
		for (size_t k = 0; k <= n; k++) {
			char *copy = malloc(k + 1);
			memcpy(copy, lines[i], k);
			copy[k] = '\0';
			if (!smtp_cmd_parse(copy, k, &c))
				assert_non_null(c.err);
			free(copy);
		}
		assert_true(smtp_cmd_parse(lines[i], n, &c));
	}
}

/* MAIL AUTH= (RFC 4954 5): xtext decoded, kept, bounded, not twice. */
static void test_mail_auth(void **state)
{
	(void)state;
	assert_true(parse("MAIL FROM:<a@b> AUTH=alice+40example.com"));
	assert_true(c.has_auth);
	assert_string_equal(c.auth, "alice@example.com");
	assert_true(parse("MAIL FROM:<a@b> AUTH=<>"));
	assert_string_equal(c.auth, "<>");
	assert_true(parse("MAIL FROM:<a@b>"));
	assert_false(c.has_auth);
	assert_false(parse("MAIL FROM:<a@b> AUTH=a AUTH=b"));
	assert_string_equal(c.err, "503 5.5.4 Error: multiple AUTH= options");
	assert_false(parse("MAIL FROM:<a@b> AUTH=a+0Ab"));
	assert_false(parse("MAIL FROM:<a@b> AUTH=a+4"));
	char line[600];
	int n = snprintf(line, sizeof(line), "MAIL FROM:<a@b> AUTH=%0255d", 0);
	assert_true(n > 0 && smtp_cmd_parse(line, (size_t)n, &c));
	assert_int_equal(strlen(c.auth), 255);
	n = snprintf(line, sizeof(line), "MAIL FROM:<a@b> AUTH=%0256d", 0);
	assert_false(smtp_cmd_parse(line, (size_t)n, &c));
}

static void test_forbidden(void **state)
{
	(void)state;
	assert_true(smtp_cmd_forbidden("GET / HTTP/1.0", 14));
	assert_true(smtp_cmd_forbidden("post /x", 7));
	assert_true(smtp_cmd_forbidden("CONNECT a:25", 12));
	assert_true(smtp_cmd_forbidden(".", 1));
	assert_true(smtp_cmd_forbidden("\x16\x03\x01", 3));
	assert_false(smtp_cmd_forbidden("GETX", 4));
	assert_false(smtp_cmd_forbidden("FOO bar", 7));
	assert_false(smtp_cmd_forbidden("", 0));
	char out[8];
	smtp_printable(out, sizeof(out), "a\x01" "b\xff" "c d", 7);
	assert_string_equal(out, "a?b?c d");
	smtp_printable(out, sizeof(out), "0123456789", 10);
	assert_string_equal(out, "0123456");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verbs), cmocka_unit_test(test_mail),
	    cmocka_unit_test(test_rcpt),  cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_limits), cmocka_unit_test(test_xtext),
	    cmocka_unit_test(test_prefixes), cmocka_unit_test(test_forbidden),
	    cmocka_unit_test(test_mail_auth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
