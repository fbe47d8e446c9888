/*
 * test_route.c - qmgr's recipient routing (queue/route.c): address
 * classes, relayhost, relay_domains with subdomains, transport(5)
 * semantics of null/non-null transport and next-hop fields, the lookup
 * order (user+ext@domain, user@domain, domain, .parent, *), error:,
 * retry:, discard:, sender_dependent_relayhost_maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "../../queue/qmgr.h"
#include "../../queue/route.h"

struct qmgr qmgr;
static char *mydest[] = {"here.test", "localhost", NULL};

static const char text[] =
	"myhostname = mx.here.test\n"
	"recipient_delimiter = +\n"
	"relayhost = [smart.test]:587\n"
	"relay_domains = relayed.test\n"
	"transport_maps = inline:{"
	" nochange.test=: ,"
	" slow.test=slow: ,"
	" hop.test=:[10.0.0.1]:2525 ,"
	" both.test=lmtp:unix:private/dovecot-lmtp ,"
	" { err.test = error:5.1.2 no such domain } ,"
	" { later.test = retry:4.3.2 later please } ,"
	" here.test=: , relayed.test=: , .relayed.test=: ,"
	" gone.test=discard: ,"
	" .parent.test=smtp:[parent.hop] ,"
	" vip@users.test=smtp:[vip.hop] ,"
	" users.test=smtp:[users.hop] ,"
	" *=smtp:[wild.hop] }\n"
	"sender_dependent_relayhost_maps = inline:{ boss@corp.test=[boss.hop], @corp.test=[corp.hop] }\n";

static struct cfg *cfg;

static int setup(void **st)
{
	(void)st;
	cfg = cfg_load_text(text, sizeof(text) - 1, "main.cf", NULL);
	assert_non_null(cfg);
	qmgr.cfg = cfg;
	qmgr.myhostname = "mx.here.test";
	qmgr.mydestination = mydest;
	route_init(cfg);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	route_free_all();
	cfg_free(cfg);
	return 0;
}

static void want(const char *rcpt, const char *sender, enum route_kind kind,
                 const char *tr, const char *nh)
{
	struct route r;
	route_resolve(rcpt, sender, &r);
	if (r.kind != kind)
		fail_msg("%s: kind %d, want %d", rcpt, r.kind, kind);
	if (kind == ROUTE_DELIVER) {
		if (strcmp(r.transport, tr) != 0 || strcmp(r.nexthop, nh) != 0)
			fail_msg("%s: %s:%s, want %s:%s", rcpt, r.transport, r.nexthop, tr, nh);
	} else {
		/* tr: status, nh: text */
		if (strcmp(r.status, tr) != 0 || strcmp(r.text, nh) != 0)
			fail_msg("%s: %s \"%s\", want %s \"%s\"", rcpt, r.status, r.text, tr, nh);
	}
	route_clear(&r);
}

static void test_classes(void **st)
{
	(void)st;
	want("u@here.test", "s@x.test", ROUTE_DELIVER, "local", "mx.here.test");
	/* "*" matches every address, local ones too (transport(5)) */
	want("u@localhost", "s@x.test", ROUTE_DELIVER, "smtp", "[wild.hop]");
	want("u@relayed.test", "s@x.test", ROUTE_DELIVER, "relay", "[smart.test]:587");
	want("u@sub.relayed.test", "s@x.test", ROUTE_DELIVER, "relay", "[smart.test]:587");
}

static void test_transport_fields(void **st)
{
	(void)st;
	/* ":" changes nothing: default transport, relayhost */
	want("u@nochange.test", "s@x.test", ROUTE_DELIVER, "smtp", "[smart.test]:587");
	/* "slow:" resets the next hop to the recipient domain */
	want("u@slow.test", "s@x.test", ROUTE_DELIVER, "slow", "slow.test");
	/* ":nexthop" keeps the transport */
	want("u@hop.test", "s@x.test", ROUTE_DELIVER, "smtp", "[10.0.0.1]:2525");
	want("u@both.test", "s@x.test", ROUTE_DELIVER, "lmtp", "unix:private/dovecot-lmtp");
}

static void test_order(void **st)
{
	(void)st;
	want("vip@users.test", "s@x.test", ROUTE_DELIVER, "smtp", "[vip.hop]");
	want("vip+tag@users.test", "s@x.test", ROUTE_DELIVER, "smtp", "[vip.hop]");
	want("other@users.test", "s@x.test", ROUTE_DELIVER, "smtp", "[users.hop]");
	want("u@a.b.parent.test", "s@x.test", ROUTE_DELIVER, "smtp", "[parent.hop]");
	/* the parent form does not match the domain itself */
	want("u@parent.test", "s@x.test", ROUTE_DELIVER, "smtp", "[wild.hop]");
	want("u@anything.test", "s@x.test", ROUTE_DELIVER, "smtp", "[wild.hop]");
}

static void test_special(void **st)
{
	(void)st;
	want("u@err.test", "s@x.test", ROUTE_ERROR, "5.1.2", "no such domain");
	want("u@later.test", "s@x.test", ROUTE_DEFER, "4.3.2", "later please");
	/* "discard:" has a null next hop: the recipient domain, as in Postfix */
	want("u@gone.test", "s@x.test", ROUTE_DISCARD, "2.0.0", "gone.test");
}

static void test_sender_dependent(void **st)
{
	(void)st;
	/* the transport table's "*" wins over any relayhost; use a
	 * domain the table leaves alone */
	want("u@nochange.test", "boss@corp.test", ROUTE_DELIVER, "smtp", "[boss.hop]");
	want("u@nochange.test", "staff@corp.test", ROUTE_DELIVER, "smtp", "[corp.hop]");
	want("u@nochange.test", "", ROUTE_DELIVER, "smtp", "[smart.test]:587");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes), cmocka_unit_test(test_transport_fields),
		cmocka_unit_test(test_order), cmocka_unit_test(test_special),
		cmocka_unit_test(test_sender_dependent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
