/*
 * test_smtpd_etrn.c - the ETRN argument parser (smtpd/smtpd_etrn.c):
 * the replies Postfix 3.7 gives for each form (checked against a private
 * Postfix, see tests/e2e/smtpd_check_postfix.sh), lengths at the limit
 * and one past it, and fast_flush_domains through route_fast_flush.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_etrn.h"
#include "../../smtpd/smtpd_route.h"
#include "bounds.h"
#include "cfg.h"

static const char *parse(const char *arg, char *dom, size_t len)
{
	return smtpd_etrn_parse(arg, strlen(arg), dom, len);
}

static void test_forms(void **state)
{
	(void)state;
	char dom[SMTP_HOST_MAX + 1];
	static const struct {
		const char *arg, *reply, *dom;
	} cases[] = {
	    {"relay.example", NULL, "relay.example"},
	    {"@relay.example", NULL, "relay.example"},
	    {"#relay.example", NULL, "relay.example"},
	    {"RELAY.Example", NULL, "RELAY.Example"},
	    {"a_b.relay.example", NULL, "a_b.relay.example"},
	    {"[127.0.0.1]", NULL, "[127.0.0.1]"},
	    {"[IPv6:2001:db8::1]", NULL, "[IPv6:2001:db8::1]"},
	    {"", "500 Syntax: ETRN domain", NULL},
	    {"relay.example extra", "500 Syntax: ETRN domain", NULL},
	    {"relay.example\textra", "500 Syntax: ETRN domain", NULL},
	    {"@", "501 Error: invalid parameter syntax", NULL},
	    {"bad..name", "501 Error: invalid parameter syntax", NULL},
	    {"relay.example.", "501 Error: invalid parameter syntax", NULL},
	    {"1.2.3.4", "501 Error: invalid parameter syntax", NULL},
	    {"[1.2.3.4", "501 Error: invalid parameter syntax", NULL},
	    {"[not.an.address]", "501 Error: invalid parameter syntax", NULL},
	    {"-x.example", "501 Error: invalid parameter syntax", NULL},
	    {"a/b.example", "501 Error: invalid parameter syntax", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = parse(cases[i].arg, dom, sizeof(dom));
		if (cases[i].reply == NULL) {
			assert_null(r);
			assert_string_equal(dom, cases[i].dom);
		} else {
			assert_non_null(r);
			assert_string_equal(r, cases[i].reply);
		}
	}
	/* a NUL inside the argument */
	assert_non_null(smtpd_etrn_parse("a\0b.example", 11, dom, sizeof(dom)));
}

static void test_lengths(void **state)
{
	(void)state;
	char dom[SMTP_HOST_MAX + 1];
	char arg[SMTP_HOST_MAX + 3];
	/* four labels of 63 with their dots: 255, at the limit */
	for (int i = 0; i < 4; i++) {
		memset(arg + i * 64, 'a' + i, 63);
		arg[i * 64 + 63] = '.';
	}
	arg[255] = '\0';
	assert_int_equal(strlen(arg), SMTP_HOST_MAX);
	assert_null(parse(arg, dom, sizeof(dom)));
	/* one past it */
	arg[255] = 'd';
	arg[256] = '\0';
	assert_string_equal(parse(arg, dom, sizeof(dom)), "501 Error: invalid parameter syntax");
	/* a label of 64 */
	memset(arg, 'a', 64);
	strcpy(arg + 64, ".example");
	assert_string_equal(parse(arg, dom, sizeof(dom)), "501 Error: invalid parameter syntax");
	/* a small output buffer is never overrun */
	char small[8];
	assert_non_null(parse("relay.example", small, sizeof(small)));
}

static void test_fast_flush(void **state)
{
	(void)state;
	static const char text[] = "compatibility_level = 3.6\n"
	                           "myhostname = mx.example\n"
	                           "mydestination = $myhostname\n"
	                           "alias_maps =\n"
	                           "local_recipient_maps =\n"
	                           "relay_domains = relay.example, other.example\n";
	struct cfg *cfg = cfg_load_text(text, sizeof(text) - 1, "main.cf", NULL);
	assert_non_null(cfg);
	struct route *rt = route_init(cfg);
	assert_int_equal(route_fast_flush(rt, "relay.example"), 1);
	assert_int_equal(route_fast_flush(rt, "RELAY.EXAMPLE"), 1);
	assert_int_equal(route_fast_flush(rt, "sub.relay.example"), 1); /* parent style */
	assert_int_equal(route_fast_flush(rt, "mx.example"), 0);
	assert_int_equal(route_fast_flush(rt, "xrelay.example"), 0);
	route_free(rt);
	cfg_free(cfg);

	static const char text2[] = "compatibility_level = 3.6\n"
	                            "alias_maps =\n"
	                            "local_recipient_maps =\n"
	                            "relay_domains = relay.example\n"
	                            "fast_flush_domains = only.example\n";
	cfg = cfg_load_text(text2, sizeof(text2) - 1, "main.cf", NULL);
	assert_non_null(cfg);
	rt = route_init(cfg);
	assert_int_equal(route_fast_flush(rt, "relay.example"), 0);
	assert_int_equal(route_fast_flush(rt, "only.example"), 1);
	route_free(rt);
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_fast_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
