/*
 * test_smtpd_sasl.c - the SASL parsers of smtpd (smtpd/smtpd_sasl_parse.c):
 * strict base64 both ways, the AUTH argument, security options, the
 * mechanism filter, and Dovecot auth protocol lines, with lengths at
 * and one past their bounds.  The parser is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_sasl_parse.c"

static bool dec(const char *in, char *out, size_t outmax)
{
	size_t n = 0;
	bool ok = sasl_b64_decode(in, strlen(in), (unsigned char *)out, outmax, &n);
	if (ok)
		out[n] = '\0';
	return ok;
}

static void test_b64_vectors(void **state)
{
	(void)state;
	/* RFC 4648 10. */
	static const char *v[][2] = {{"", ""},         {"Zg==", "f"},     {"Zm8=", "fo"},
	                             {"Zm9v", "foo"},  {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
	                             {"Zm9vYmFy", "foobar"}};
	char out[64], enc[64];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_true(dec(v[i][0], out, sizeof(out) - 1));
		assert_string_equal(out, v[i][1]);
		assert_true(sasl_b64_encode((const unsigned char *)v[i][1], strlen(v[i][1]), enc,
		                            sizeof(enc)));
		assert_string_equal(enc, v[i][0]);
	}
	/* AUTH PLAIN "\0alice\0secret" */
	size_t n;
	unsigned char b[64];
	assert_true(sasl_b64_decode("AGFsaWNlAHNlY3JldA==", 20, b, sizeof(b), &n));
	assert_int_equal(n, 13);
	assert_memory_equal(b, "\0alice\0secret", 13);
}

static void test_b64_strict(void **state)
{
	(void)state;
	char out[64];
	/* Lengths 4n+1, 4n+2, 4n+3 (CVE-2018-6789 lived in a decoder that
	 * mis-sized these). */
	assert_false(dec("Z", out, sizeof(out)));
	assert_false(dec("Zg", out, sizeof(out)));
	assert_false(dec("Zm9", out, sizeof(out)));
	assert_false(dec("AGFsaWNlAHNlY3JldA=", out, sizeof(out)));
	/* Characters outside the alphabet, whitespace, padding misplaced. */
	assert_false(dec("Zm9v YmFy", out, sizeof(out)));
	assert_false(dec("Zm9v\nYmFy", out, sizeof(out)));
	assert_false(dec("Zm*v", out, sizeof(out)));
	assert_false(dec("Zm9-", out, sizeof(out)));
	assert_false(dec("Zg==Zg==", out, sizeof(out)));
	assert_false(dec("Z===", out, sizeof(out)));
	assert_false(dec("====", out, sizeof(out)));
	assert_false(dec("Zm=v", out, sizeof(out)));
	/* Non-canonical: bits that padding leaves unused are set. */
	assert_false(dec("Zh==", out, sizeof(out)));
	assert_false(dec("Zm9=", out, sizeof(out)));
	/* A NUL inside. */
	size_t n;
	unsigned char b[8];
	assert_false(sasl_b64_decode("Zm\0v", 4, b, sizeof(b), &n));
}

static void test_b64_bounds(void **state)
{
	(void)state;
	unsigned char b[6];
	size_t n;
	assert_true(sasl_b64_decode("Zm9vYmFy", 8, b, 6, &n));
	assert_int_equal(n, 6);
	assert_false(sasl_b64_decode("Zm9vYmFy", 8, b, 5, &n));
	assert_true(sasl_b64_decode("Zm9vYg==", 8, b, 4, &n));
	assert_false(sasl_b64_decode("Zm9vYg==", 8, b, 3, &n));
	char e[9];
	assert_true(sasl_b64_encode((const unsigned char *)"foobar", 6, e, 9));
	assert_false(sasl_b64_encode((const unsigned char *)"foobar", 6, e, 8));
	assert_true(sasl_b64_encode((const unsigned char *)"", 0, e, 1));
	assert_string_equal(e, "");
}

static void test_auth_arg(void **state)
{
	(void)state;
	struct sasl_auth_arg a;
#define P(s) sasl_auth_parse(s, strlen(s), &a)
	assert_null(P("PLAIN"));
	assert_string_equal(a.mech, "PLAIN");
	assert_false(a.has_init);
	assert_null(P("plain AGFsaWNlAHNlY3JldA=="));
	assert_string_equal(a.mech, "PLAIN");
	assert_true(a.has_init);
	assert_int_equal(a.initlen, 20);
	assert_memory_equal(a.init, "AGFsaWNlAHNlY3JldA==", 20);
	assert_null(P("PLAIN ="));
	assert_true(a.has_init);
	assert_int_equal(a.initlen, 0);
	assert_null(P("CRAM-MD5"));
	assert_null(P("SCRAM-SHA-256  "));
	assert_string_equal(a.mech, "SCRAM-SHA-256");
	assert_non_null(P(""));
	assert_non_null(P("PLAIN a b"));
	assert_non_null(P("PL/AIN"));
	assert_non_null(P("PLAIN\001"));
	/* 20 characters is the longest name (RFC 4422 3.1). */
	assert_null(P("ABCDEFGHIJKLMNOPQRST"));
	assert_string_equal(P("ABCDEFGHIJKLMNOPQRSTU"), "501 5.5.4 Syntax: AUTH mechanism");
#undef P
}

static void test_secopts(void **state)
{
	(void)state;
	unsigned f;
	char err[128];
	assert_true(sasl_secopts_parse("noanonymous", &f, err, sizeof(err)));
	assert_int_equal(f, PT_SEC_NOANON);
	assert_true(sasl_secopts_parse("noplaintext, noanonymous,nodictionary noactive mutual_auth",
	                               &f, err, sizeof(err)));
	assert_int_equal(f, PT_SEC_NOANON | PT_SEC_NOPLAIN | PT_SEC_NODICT | PT_SEC_NOACTIVE |
	                        PT_SEC_MUTUAL);
	assert_true(sasl_secopts_parse("", &f, err, sizeof(err)));
	assert_int_equal(f, 0);
	assert_true(sasl_secopts_parse("none", &f, err, sizeof(err)));
	assert_false(sasl_secopts_parse("noanonymous, bogus", &f, err, sizeof(err)));
	assert_non_null(strstr(err, "bogus"));
}

static void test_mech_filter(void **state)
{
	(void)state;
	char m[128];
	strcpy(m, "PLAIN LOGIN EXTERNAL CRAM-MD5");
	sasl_mech_filter(m, "!external, static:rest");
	assert_string_equal(m, "PLAIN LOGIN CRAM-MD5");
	strcpy(m, "PLAIN LOGIN EXTERNAL CRAM-MD5");
	sasl_mech_filter(m, "plain, login");
	assert_string_equal(m, "PLAIN LOGIN");
	strcpy(m, "PLAIN");
	sasl_mech_filter(m, "!plain static:all");
	assert_string_equal(m, "");
	assert_true(sasl_mech_listed("PLAIN LOGIN", "LOGIN"));
	assert_false(sasl_mech_listed("PLAIN LOGIN", "LOG"));
	assert_false(sasl_mech_listed("", "PLAIN"));
}

static void test_dovecot_lines(void **state)
{
	(void)state;
	struct dv_line l;
	char b[DOVECOT_LINE_MAX + 2];
#define L(s) (strcpy(b, s), dv_line_parse(b, strlen(s), &l))
	assert_true(L("VERSION\t1\t2"));
	assert_string_equal(l.cmd, "VERSION");
	assert_int_equal(l.nargs, 2);
	assert_true(L("MECH\tPLAIN\tplaintext"));
	assert_string_equal(l.args[0], "PLAIN");
	assert_true(L("OK\t17\tuser=carol"));
	assert_true(l.has_id);
	assert_int_equal(l.id, 17);
	assert_string_equal(dv_arg(&l, "user"), "carol");
	assert_true(L("FAIL\t3\tuser=a\001tb\treason=bad\ttemp"));
	assert_string_equal(dv_arg(&l, "user"), "a\tb");
	assert_string_equal(dv_arg(&l, "temp"), "");
	assert_null(dv_arg(&l, "nope"));
	assert_true(L("CONT\t4\t"));
	assert_string_equal(l.args[0], "");
	assert_false(L("OK"));
	assert_false(L("OK\tx1"));
	assert_false(L("OK\t12345678901"));
	assert_false(L("FAIL\t1\tbad\001x"));
	assert_false(L(""));
	assert_false(L("\tx"));
	/* At the line bound and one past. */
	memset(b, 'a', DOVECOT_LINE_MAX);
	assert_true(dv_line_parse(b, DOVECOT_LINE_MAX, &l));
	memset(b, 'a', DOVECOT_LINE_MAX + 1);
	assert_false(dv_line_parse(b, DOVECOT_LINE_MAX + 1, &l));
	/* Field count bound. */
	char *m = b;
	strcpy(m, "X");
	for (int i = 0; i < DOVECOT_ARGS_MAX; i++)
		strcat(m, "\ta");
	assert_true(dv_line_parse(b, strlen(b), &l));
	strcpy(m, "X");
	for (int i = 0; i < DOVECOT_ARGS_MAX + 1; i++)
		strcat(m, "\ta");
	assert_false(dv_line_parse(b, strlen(b), &l));
	char e[16];
	assert_true(dv_escape("a\tb\n\001", e, sizeof(e)));
	assert_string_equal(e, "a\001tb\001n\0011");
	assert_false(dv_escape("a\tb", e, 4));
#undef L
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_vectors),  cmocka_unit_test(test_b64_strict),
	    cmocka_unit_test(test_b64_bounds),   cmocka_unit_test(test_auth_arg),
	    cmocka_unit_test(test_secopts),      cmocka_unit_test(test_mech_filter),
	    cmocka_unit_test(test_dovecot_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
