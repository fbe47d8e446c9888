/*
 * test_smtpd_dnsck.c - the parts of smtpd/smtpd_dnsck.c that need no DNS
 * server (tests/e2e/dns_smtpd.sh runs the lookups): DNS list specs and
 * their "=d.d.d.d" filters, reply templates ($name, ${name?text},
 * ${name:text}), reply parsing with the added enhanced status code, and
 * reject_unknown_(reverse_)client_hostname from the name status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_dnsck.c"

static void test_spec(void **state)
{
	(void)state;
	char zone[DNS_NAME_MAX + 1], err[256];
	struct dnsck_filter f;
	unsigned char a2[4] = {127, 0, 0, 2}, a3[4] = {127, 0, 0, 3}, a10[4] = {127, 0, 1, 10};

	assert_true(dnsck_parse_spec("zen.example", zone, sizeof(zone), &f, err, sizeof(err)));
	assert_string_equal(zone, "zen.example");
	assert_true(f.any);
	assert_true(dnsck_filter_match(&f, a3));

	assert_true(dnsck_parse_spec("zen.example.=127.0.0.2", zone, sizeof(zone), &f, err, sizeof(err)));
	assert_string_equal(zone, "zen.example");
	assert_true(dnsck_filter_match(&f, a2));
	assert_false(dnsck_filter_match(&f, a3));

	assert_true(dnsck_parse_spec("z.example=127.0.[0..1].[2;10..11]", zone, sizeof(zone), &f, err,
	                             sizeof(err)));
	assert_true(dnsck_filter_match(&f, a2));
	assert_false(dnsck_filter_match(&f, a3));
	assert_true(dnsck_filter_match(&f, a10));

	static const char *const bad[] = {
	    "",
	    "=127.0.0.2",
	    "z.example=",
	    "z.example=127.0.0",
	    "z.example=127.0.0.2.1",
	    "z.example=127.0.0.256",
	    "z.example=127.0.0.[5..2]",
	    "z.example=127.0.0.[",
	    "z.example=127.0.0.[]",
	    "z.example=127.0.0.[1;;2]",
	    "z.example=127.0.0.x",
	    "z.example=127.0.0.[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17]",
	    "bad zone=127.0.0.2",
	    "z..example",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool ok = dnsck_parse_spec(bad[i], zone, sizeof(zone), &f, err, sizeof(err));
		if (ok)
			print_error("accepted: %s\n", bad[i]);
		assert_false(ok);
	}
}

static void test_expand(void **state)
{
	(void)state;
	struct dnsck_vars v = {0};
	char out[256];
	addvar(&v, "rbl_code", "554");
	addvar(&v, "rbl_reason", "listed");
	addvar(&v, "empty", "");
	assert_true(dnsck_expand("$rbl_code x${rbl_reason?; $rbl_reason}${empty?no}${empty:yes} $$ "
	                         "${rbl_code}$(rbl_code)$unknown.",
	                         &v, out, sizeof(out)));
	assert_string_equal(out, "554 x; listedyes $ 554554.");
	assert_true(dnsck_expand("${rbl_reason?{nested ${rbl_code}}}", &v, out, sizeof(out)));
	assert_string_equal(out, "{nested 554}");
	assert_false(dnsck_expand("${rbl_code", &v, out, sizeof(out)));
	assert_false(dnsck_expand("${rbl code}", &v, out, sizeof(out)));
	assert_false(dnsck_expand("$rbl_code and more", &v, out, 8));
	assert_true(dnsck_expand("trailing $", &v, out, sizeof(out)));
	assert_string_equal(out, "trailing $");
}

static void test_reply(void **state)
{
	(void)state;
	struct dnsck_result r;
	parse_reply("554 Service unavailable; blocked", 554, &r);
	assert_int_equal(r.code, 554);
	assert_string_equal(r.dsn, "5.7.1");
	assert_string_equal(r.text, "Service unavailable; blocked");
	parse_reply("450 4.7.9 try later", 554, &r);
	assert_int_equal(r.code, 450);
	assert_string_equal(r.dsn, "4.7.9");
	assert_string_equal(r.text, "try later");
	/* class mismatch: our own DSN, text kept */
	parse_reply("450 5.7.9 odd", 554, &r);
	assert_string_equal(r.dsn, "4.7.1");
	assert_string_equal(r.text, "5.7.9 odd");
	/* no code: the configured one */
	parse_reply("blocked", 554, &r);
	assert_int_equal(r.code, 554);
	assert_string_equal(r.text, "blocked");
	parse_reply("250 fine", 554, &r);
	assert_int_equal(r.code, 554);
}

static void test_unknown_client(void **state)
{
	(void)state;
	struct dnsck_conf c = {.unknown_client_code = 550};
	struct smtpd_client_names n = {"unknown", "host.example", SMTPD_NAME_FORGED, SMTPD_NAME_OK};
	struct dnsck_facts f = {.client_addr = "192.0.2.1", .names = &n};
	struct dnsck_result r;
	dnsck_unknown_client(&c, &f, false, &r);
	assert_int_equal(r.action, DNSCK_REJECT);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.dsn, "5.7.25");
	assert_string_equal(r.text, "Client host rejected: cannot find your hostname, [192.0.2.1]");
	dnsck_unknown_client(&c, &f, true, &r);
	assert_int_equal(r.action, DNSCK_DUNNO);
	n.name_status = n.reverse_status = SMTPD_NAME_TEMP;
	dnsck_unknown_client(&c, &f, true, &r);
	assert_int_equal(r.action, DNSCK_DEFER);
	assert_int_equal(r.code, 450);
	assert_string_equal(r.dsn, "4.7.25");
	assert_string_equal(r.text, "Client host rejected: cannot find your reverse hostname, [192.0.2.1]");
	assert_string_equal(r.tempfail_param, "reject_tempfail_action");
	n.name_status = SMTPD_NAME_PERM;
	c.unknown_client_code = 450;
	dnsck_unknown_client(&c, &f, false, &r);
	assert_int_equal(r.action, DNSCK_REJECT);
	assert_string_equal(r.dsn, "4.7.25");
}

static int calls;
static struct dnsck_result last;
static void done(void *arg, const struct dnsck_result *r)
{
	(void)arg;
	calls++;
	last = *r;
}

static void test_nothing_to_look_up(void **state)
{
	(void)state;
	/* Without a resolver or a name, DNS lists say dunno at once. */
	struct dnsck_conf c = {.rbl_code = 554};
	struct smtpd_client_names n = {"unknown", "unknown", SMTPD_NAME_PERM, SMTPD_NAME_PERM};
	struct dnsck_facts f = {.client_addr = "192.0.2.1", .names = &n, .sender = ""};
	struct dnsck_req *req;
	char err[128];
	calls = 0;
	assert_true(dnsck_rbl(NULL, &c, &f, DNSCK_RHSBL_SENDER, "rhs.example", done, NULL, &req, err,
	                      sizeof(err)));
	assert_null(req);
	assert_int_equal(calls, 1);
	assert_int_equal(last.action, DNSCK_DUNNO);
	assert_false(dnsck_rbl(NULL, &c, &f, DNSCK_RBL_CLIENT, "x.example=1", done, NULL, &req, err,
	                       sizeof(err)));
	assert_int_equal(calls, 1);
	assert_null(dnsck_unknown_helo(NULL, &c, &f, done, NULL));
	assert_int_equal(calls, 2);
	assert_int_equal(last.action, DNSCK_DUNNO);
	/* A domain but no resolver: a temporary failure. */
	f.sender = "user@example.com";
	assert_null(dnsck_unknown_domain(NULL, &c, &f, false, done, NULL));
	assert_int_equal(calls, 3);
	assert_int_equal(last.action, DNSCK_DEFER);
	assert_int_equal(last.code, 450);
	assert_string_equal(last.text, "<user@example.com>: Sender address rejected: Domain not found");
	f.helo = "[192.0.2.1]";
	assert_null(dnsck_unknown_helo(NULL, &c, &f, done, NULL));
	assert_int_equal(calls, 4);
	assert_int_equal(last.action, DNSCK_DUNNO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec),
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_unknown_client),
	    cmocka_unit_test(test_nothing_to_look_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
