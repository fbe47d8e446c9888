/*
 * test_smtpd_tls_policy.c - Postfix TLS parameter syntax mapped onto
 * libtls (smtpd/smtpd_tls_policy.c): protocol lists in both the old
 * exclusion form and the ">=" form, cipher grades and exclusions, the
 * security level with the legacy booleans, fingerprint formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_tls_policy.c"

#define V10 TLS_PROTOCOL_TLSv1_0
#define V11 TLS_PROTOCOL_TLSv1_1
#define V12 TLS_PROTOCOL_TLSv1_2
#define V13 TLS_PROTOCOL_TLSv1_3

static uint32_t protoset(const char *spec)
{
	uint32_t m = 0xdead;
	char err[256];
	if (stls_parse_protocols(spec, &m, err, sizeof(err)) != 0)
		return 0;
	return m;
}

static void test_protocols(void **state)
{
	(void)state;
	assert_int_equal(protoset(">=TLSv1"), V10 | V11 | V12 | V13);
	assert_int_equal(protoset(">=TLSv1.2"), V12 | V13);
	assert_int_equal(protoset(">=tlsv1.3"), V13);
	assert_int_equal(protoset("<=TLSv1.2"), V10 | V11 | V12);
	assert_int_equal(protoset(">=TLSv1.1 <=TLSv1.2"), V11 | V12);
	assert_int_equal(protoset("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"), V12 | V13);
	assert_int_equal(protoset("!SSLv2:!SSLv3:!TLSv1"), V11 | V12 | V13);
	assert_int_equal(protoset("TLSv1.2 TLSv1.3"), V12 | V13);
	assert_int_equal(protoset("TLSv1.2, TLSv1.3, !TLSv1.3"), V12);
	assert_int_equal(protoset(""), V10 | V11 | V12 | V13);
	assert_int_equal(protoset(">=TLSv1.2, !TLSv1.3"), V12);
	/* Nothing left, or names we do not know: errors. */
	assert_int_equal(protoset("SSLv3"), 0);
	assert_int_equal(protoset(">=TLSv1.3 <=TLSv1.2"), 0);
	assert_int_equal(protoset("!TLSv1 !TLSv1.1 !TLSv1.2 !TLSv1.3"), 0);
	assert_int_equal(protoset("TLSv1.4"), 0);
	assert_int_equal(protoset(">=TLSv"), 0);
	assert_int_equal(protoset("!"), 0);
	char err[256];
	uint32_t m;
	assert_int_equal(stls_parse_protocols("TLSv9", &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TLSv9"));
}

static const char *ciphers(const char *grade, const char *ex, const char *ex2)
{
	static char out[512];
	char err[256];
	if (stls_parse_ciphers(grade, ex, ex2, out, sizeof(out), err, sizeof(err)) != 0)
		return NULL;
	return out;
}

static void test_ciphers(void **state)
{
	(void)state;
	assert_string_equal(ciphers("medium", "", NULL), STLS_CIPHERS_SECURE);
	assert_string_equal(ciphers("HIGH", NULL, NULL), STLS_CIPHERS_SECURE);
	assert_string_equal(ciphers("low", "", ""), STLS_CIPHERS_COMPAT);
	assert_string_equal(ciphers("export", "", ""), STLS_CIPHERS_COMPAT);
	assert_string_equal(ciphers("medium", "aNULL, RC4", "3DES"),
	                    STLS_CIPHERS_SECURE ":!aNULL:!RC4:!3DES");
	assert_string_equal(ciphers("high", "ECDHE-RSA-AES128-GCM-SHA256", NULL),
	                    STLS_CIPHERS_SECURE ":!ECDHE-RSA-AES128-GCM-SHA256");
	assert_null(ciphers("null", "", NULL));
	assert_null(ciphers("strong", "", NULL));
	assert_null(ciphers("medium", "RC4;rm", NULL));
	/* An exclusion list that does not fit is an error, not a cut. */
	char big[600];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(ciphers("medium", big, NULL));
}

static void test_level(void **state)
{
	(void)state;
	enum stls_level l;
	char err[256];
	assert_int_equal(stls_parse_level("", false, false, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_NONE);
	assert_int_equal(stls_parse_level("", true, false, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_MAY);
	assert_int_equal(stls_parse_level("", true, true, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_ENCRYPT);
	assert_int_equal(stls_parse_level("", false, true, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_ENCRYPT);
	/* The level wins over the legacy booleans. */
	assert_int_equal(stls_parse_level("may", false, true, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_MAY);
	assert_int_equal(stls_parse_level("none", true, true, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_NONE);
	assert_int_equal(stls_parse_level("Encrypt", false, false, &l, err, sizeof(err)), 0);
	assert_int_equal(l, STLS_ENCRYPT);
	assert_int_equal(stls_parse_level("verify", false, false, &l, err, sizeof(err)), -1);
	assert_int_equal(stls_parse_level("dane", false, false, &l, err, sizeof(err)), -1);
}

static void test_hex(void **state)
{
	(void)state;
	const unsigned char b[] = {0x00, 0xab, 0x7f};
	char out[16];
	assert_true(stls_hex_colon(b, 3, out, sizeof(out)));
	assert_string_equal(out, "00:AB:7F");
	assert_true(stls_hex_colon(b, 3, out, 9));
	assert_string_equal(out, "00:AB:7F");
	assert_false(stls_hex_colon(b, 3, out, 8));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_protocols),
	    cmocka_unit_test(test_ciphers),
	    cmocka_unit_test(test_level),
	    cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
