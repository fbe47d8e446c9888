/*
 * test_smtpd_route.c - the routing decision at RCPT (smtpd/smtpd_route.c)
 * with the default relay rule: local recipients, relay_domains,
 * mynetworks, the classic relay tricks, local_recipient_maps through the
 * unix: and proxy: map types, and the computed mynetworks.
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
#include "../../smtpd/smtpd_route.c"
#include "map_unix.h"

static struct route *rt;
static struct cfg *cfg;

static int setup(void **state)
{
	(void)state;
	static const char text[] =
	    "compatibility_level = 3.6\n"
	    "myhostname = mx.example\n"
	    "mydomain = example\n"
	    "mydestination = $myhostname, localhost, .sub.example\n"
	    "relay_domains = relay.example\n"
	    "mynetworks = 192.0.2.0/24, [2001:db8::]/32, !198.51.100.7, 198.51.100.0/24\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "proxy_interfaces = 203.0.113.5\n"
	    "alias_maps = inline:{ postmaster=root, list=a }\n"
	    "recipient_delimiter = +\n";
	cfg = cfg_load_text(text, sizeof(text) - 1, "main.cf", NULL);
	assert_non_null(cfg);
	rt = route_init(cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	route_free(rt);
	cfg_free(cfg);
	return 0;
}

/* The reply for rcpt from client, "" when accepted. */
static const char *decide(const char *rcpt, const char *client)
{
	static char reply[1024];
	static struct smtp_cmd c;
	struct netaddr_net a;
	char line[600];
	bool local;
	snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt);
	assert_true(smtp_cmd_parse(line, strlen(line), &c));
	assert_true(netaddr_parse_addr(client, &a));
	reply[0] = '\0';
	if (route_rcpt(rt, &c, &a, &local, reply, sizeof(reply)) == ROUTE_ACCEPT)
		return "";
	return reply;
}

static void test_local(void **state)
{
	(void)state;
	const char *out = "10.1.1.1";
	assert_string_equal(decide("root@mx.example", out), "");
	assert_string_equal(decide("root+box@mx.example", out), "");
	assert_string_equal(decide("Root@MX.example", out), "");
	assert_string_equal(decide("list@localhost", out), "");
	assert_string_equal(decide("postmaster", out), "");
	assert_string_equal(decide("root@a.sub.example", out), "");
	assert_string_equal(decide("root@[127.0.0.1]", out), "");
	assert_string_equal(decide("root@[203.0.113.5]", out), "");
	assert_string_equal(decide("nosuch@mx.example", out),
	                    "550 5.1.1 <nosuch@mx.example>: Recipient address rejected: User "
	                    "unknown in local recipient table");
	assert_string_equal(decide("x@relay.example", out), "");
	assert_string_equal(decide("x@deep.relay.example", out), "");
}

static void test_no_open_relay(void **state)
{
	(void)state;
	const char *out = "10.1.1.1";
	const char *tricks[] = {
	    "x@elsewhere.example",
	    "x%elsewhere.example@mx.example",
	    "@mx.example:x@elsewhere.example",
	    "@mx.example,@relay.example:x@elsewhere.example",
	    "elsewhere.example!x@mx.example",
	    "\"x@elsewhere.example\"@mx.example",
	    "\"x%elsewhere.example\"@relay.example",
	    "x@elsewhere.example.",
	    "x@mx.example.elsewhere.example",
	    "x@sub.example", /* ".sub.example" is subdomains only */
	    "root@[192.0.2.1]",
	    "root@[IPv6:2001:db8::1]",
	    "x@notrelay.example",
	};
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		const char *r = decide(tricks[i], out);
		assert_true(strncmp(r, "454 4.7.1 <", 11) == 0);
		assert_non_null(strstr(r, ">: Relay access denied"));
	}
}

static void test_mynetworks(void **state)
{
	(void)state;
	assert_string_equal(decide("x@elsewhere.example", "192.0.2.44"), "");
	assert_string_equal(decide("x@elsewhere.example", "2001:db8:1::5"), "");
	assert_string_equal(decide("x@elsewhere.example", "::ffff:192.0.2.9"), "");
	assert_string_equal(decide("x@elsewhere.example", "198.51.100.8"), "");
	/* "!198.51.100.7" comes first and excludes it. */
	assert_string_not_equal(decide("x@elsewhere.example", "198.51.100.7"), "");
	assert_string_not_equal(decide("x@elsewhere.example", "192.0.3.1"), "");
}

static void test_unix_map(void **state)
{
	(void)state;
	char err[256];
	const char *v;
	struct map *m = map_open("proxy:unix:passwd.byname", 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(map_lookup(m, "root", &v), MAP_FOUND);
	assert_true(strncmp(v, "root:", 5) == 0);
	assert_int_equal(map_lookup(m, "no-such-user-here", &v), MAP_NOTFOUND);
	map_close(m);
	m = map_open("unix:group.byname", 0, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(map_lookup(m, "root", &v), MAP_FOUND);
	map_close(m);
	assert_null(map_open("unix:shadow.byname", 0, err, sizeof(err)));
	assert_null(map_open("proxy:proxy:unix:passwd.byname", 0, err, sizeof(err)));
}

static void test_mynetworks_default(void **state)
{
	(void)state;
	char *host = netaddr_mynetworks_default("host");
	char *subnet = netaddr_mynetworks_default("subnet");
	assert_non_null(strstr(host, "127.0.0.1/32"));
	assert_non_null(strstr(subnet, "127.0.0.0/8"));
	free(host);
	free(subnet);
	struct netaddr_net n;
	assert_true(netaddr_parse_net("192.0.2.0/24", &n));
	assert_false(netaddr_parse_net("192.0.2.1/24", &n)); /* host bits set */
	assert_false(netaddr_parse_net("192.0.2.0/33", &n));
	assert_true(netaddr_parse_net("[2001:db8::]/32", &n));
}

/* permit_sasl_authenticated: an authenticated session may relay. */
static void test_permit_sasl(void **state)
{
	(void)state;
	static const char text[] =
	    "compatibility_level = 3.6\n"
	    "myhostname = mx.example\n"
	    "mydestination = $myhostname\n"
	    "mynetworks = 192.0.2.0/24\n"
	    "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
	    "alias_maps =\n";
	struct cfg *c2 = cfg_load_text(text, sizeof(text) - 1, "main.cf", NULL);
	assert_non_null(c2);
	struct route *r2 = route_init(c2);
	struct smtp_cmd c;
	struct netaddr_net a;
	char reply[512];
	bool local;
	const char *line = "RCPT TO:<bob@elsewhere.example>";
	assert_true(smtp_cmd_parse(line, strlen(line), &c));
	assert_true(netaddr_parse_addr("10.1.1.1", &a));
	assert_int_equal(route_rcpt_sasl(r2, &c, &a, true, &local, reply, sizeof(reply)),
	                 ROUTE_ACCEPT);
	assert_int_equal(route_rcpt_sasl(r2, &c, &a, false, &local, reply, sizeof(reply)),
	                 ROUTE_REJECT);
	assert_int_equal(route_rcpt(r2, &c, &a, &local, reply, sizeof(reply)), ROUTE_REJECT);
	/* Not even mynetworks passes "permit_sasl_authenticated, reject". */
	assert_true(netaddr_parse_addr("192.0.2.9", &a));
	assert_int_equal(route_rcpt_sasl(r2, &c, &a, false, &local, reply, sizeof(reply)),
	                 ROUTE_REJECT);
	route_free(r2);
	cfg_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local), cmocka_unit_test(test_no_open_relay),
	    cmocka_unit_test(test_mynetworks), cmocka_unit_test(test_unix_map),
	    cmocka_unit_test(test_mynetworks_default), cmocka_unit_test(test_permit_sasl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
