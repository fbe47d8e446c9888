/*
 * test_smtpd_check.c - the restriction chain (smtpd/smtpd_check.c),
 * table-driven: main.cf lines, the stage, what the session knows, the
 * expected reply ("" accepted) and a log line (or part of one) that must
 * appear.  Holds Postfix's documented examples and the seeds' examples
 * (helo_checks, roleaccount_exceptions, reject_multi_recipient_bounce,
 * warn_if_reject).  Replies checked against Postfix 3.7 by
 * tests/e2e/smtpd_check_postfix.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../smtpd/smtpd_check.h"
#include "../../smtpd/smtpd_cmd.h"
#include "../../smtpd/smtpd_route.h"
#include "cfg.h"
#include "log.h"

static char dir[] = "/tmp/test_smtpd_check.XXXXXX";
static FILE *logf_;

static const char base_cfg[] = "compatibility_level = 3.6\n"
                               "myhostname = mx.example\n"
                               "mydomain = example\n"
                               "mydestination = $myhostname, localhost\n"
                               "relay_domains = relay.example\n"
                               "mynetworks = 127.0.0.0/8\n"
                               "inet_interfaces = 127.0.0.1\n"
                               "alias_maps =\n"
                               "local_recipient_maps = inline:{ root=x, bob=x }\n"
                               "recipient_delimiter = +\n";

struct tcase {
	const char *cfg; /* extra main.cf lines; "@" is the table directory */
	enum chk_stage stage;
	const char *client; /* "ip" or "ip,name" */
	const char *helo, *sender, *rcpt;
	unsigned nrcpt;
	const char *sasl; /* login name or NULL */
	bool tls_cert, pipelined;
	const char *reply; /* "" accepted */
	const char *log;   /* must appear in the log, or NULL */
};

#define OUT "192.0.2.1"

static const struct tcase cases[] = {
    /* The default relay rule (compatibility_level >= 1). */
    {"", CHK_RCPT, OUT, "client.example", "a@b.example", "x@else.example", 0, NULL, false, false,
     "454 4.7.1 <x@else.example>: Relay access denied",
     "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 454 4.7.1 <x@else.example>: Relay access "
     "denied; from=<a@b.example> to=<x@else.example> proto=ESMTP helo=<client.example>"},
    {"", CHK_RCPT, OUT, "c.example", "a@b.example", "root@mx.example", 0, NULL, false, false, "",
     NULL},
    {"", CHK_RCPT, OUT, "c.example", "a@b.example", "x@relay.example", 0, NULL, false, false, "",
     NULL},
    {"", CHK_RCPT, "127.0.0.1", "c.example", "a@b.example", "x@else.example", 0, NULL, false,
     false, "", NULL},
    {"", CHK_RCPT, OUT, "c.example", "a@b.example", "x@else.example", 0, "bob", false, false, "",
     NULL},
    {"", CHK_RCPT, OUT, "c.example", "a@b.example", "nosuch@mx.example", 0, NULL, false, false,
     "550 5.1.1 <nosuch@mx.example>: Recipient address rejected: User unknown in local "
     "recipient table",
     NULL},
    {"smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, "
     "reject_unauth_destination\n",
     CHK_RCPT, OUT, "c.example", "a@b.example", "x@else.example", 0, NULL, false, false,
     "554 5.7.1 <x@else.example>: Relay access denied", NULL},
    /* Tricks: never an authorized destination. */
    {"", CHK_RCPT, OUT, "c", "a@b.example", "x%else.example@mx.example", 0, NULL, false, false,
     "454 4.7.1 <x%else.example@mx.example>: Relay access denied", NULL},
    {"", CHK_RCPT, OUT, "c", "a@b.example", "\"x@else.example\"@mx.example", 0, NULL, false,
     false, "454 4.7.1 <x@else.example@mx.example>: Relay access denied", NULL},
    {"", CHK_RCPT, OUT, "c", "a@b.example", "else.example!x@mx.example", 0, NULL, false, false,
     "454 4.7.1 <else.example!x@mx.example>: Relay access denied", NULL},
    /* Seed: helo_checks with "my.host.name 550 Don't use my hostname". */
    {"smtpd_helo_restrictions = check_helo_access texthash:@/helo_checks\n", CHK_RCPT, OUT,
     "my.host.name", "a@b.example", "root@mx.example", 0, NULL, false, false,
     "550 5.7.1 <my.host.name>: Helo command rejected: Don't use my hostname",
     "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 550 5.7.1 <my.host.name>: Helo command "
     "rejected: Don't use my hostname; from=<a@b.example> to=<root@mx.example> proto=ESMTP "
     "helo=<my.host.name>"},
    /* Seed: roleaccount_exceptions before stricter checks. */
    {"smtpd_recipient_restrictions = check_recipient_access texthash:@/roleaccount_exceptions, "
     "reject_invalid_helo_hostname, reject_non_fqdn_recipient\n",
     CHK_RCPT, OUT, "bad_name!", "a@b.example", "postmaster@mx.example", 0, NULL, false, false,
     "", NULL},
    {"smtpd_recipient_restrictions = check_recipient_access texthash:@/roleaccount_exceptions, "
     "reject_invalid_helo_hostname, reject_non_fqdn_recipient\n",
     CHK_RCPT, OUT, "bad_name!", "a@b.example", "root@mx.example", 0, NULL, false, false,
     "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name", NULL},
    /* Seed: reject_multi_recipient_bounce with MAIL FROM:<> and two RCPTs. */
    {"smtpd_data_restrictions = reject_multi_recipient_bounce\n", CHK_DATA, OUT, "c.example", "",
     NULL, 2, NULL, false, false,
     "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce",
     "reject: DATA from unknown[192.0.2.1]: 550 5.5.3 <DATA>: Data command rejected: "
     "Multi-recipient bounce; from=<> proto=ESMTP helo=<c.example>"},
    {"smtpd_data_restrictions = reject_multi_recipient_bounce\n", CHK_DATA, OUT, "c.example", "",
     NULL, 1, NULL, false, false, "", NULL},
    {"smtpd_data_restrictions = reject_multi_recipient_bounce\n", CHK_DATA, OUT, "c.example",
     "a@b.example", NULL, 2, NULL, false, false, "", NULL},
    {"smtpd_recipient_restrictions = reject_multi_recipient_bounce\n", CHK_RCPT, OUT, "c", "",
     "bob@mx.example", 1, NULL, false, false,
     "550 5.5.3 <bob@mx.example>: Recipient address rejected: Multi-recipient bounce", NULL},
    /* Seed: warn_if_reject logs and lets the mail through. */
    {"smtpd_sender_restrictions = warn_if_reject reject_non_fqdn_sender\n", CHK_RCPT, OUT,
     "c.example", "user", "root@mx.example", 0, NULL, false, false, "",
     "NOQUEUE: reject_warning: RCPT from unknown[192.0.2.1]: 504 5.5.2 <user>: Sender address "
     "rejected: need fully-qualified address; from=<user> to=<root@mx.example>"},
    {"smtpd_sender_restrictions = reject_non_fqdn_sender\n", CHK_RCPT, OUT, "c.example", "user",
     "root@mx.example", 0, NULL, false, false,
     "504 5.5.2 <user>: Sender address rejected: need fully-qualified address", NULL},
    /* Seed: smtpd_helo_restrictions of 003. */
    {"smtpd_helo_restrictions = permit_mynetworks, reject_invalid_helo_hostname, "
     "reject_non_fqdn_helo_hostname\n",
     CHK_RCPT, OUT, "shortname", "a@b.example", "root@mx.example", 0, NULL, false, false,
     "504 5.5.2 <shortname>: Helo command rejected: need fully-qualified hostname", NULL},
    {"smtpd_helo_restrictions = permit_mynetworks, reject_invalid_helo_hostname, "
     "reject_non_fqdn_helo_hostname\n",
     CHK_RCPT, "127.0.0.1", "shortname", "a@b.example", "root@mx.example", 0, NULL, false, false,
     "", NULL},
    {"smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname\n",
     CHK_RCPT, OUT, "[192.0.2.1]", "a@b.example", "root@mx.example", 0, NULL, false, false, "",
     NULL},
    /* access(5) results. */
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n"
     "smtpd_restriction_classes = restrictive\nrestrictive = reject\n",
     CHK_RCPT, OUT, "c.example", "x@class.example", "root@mx.example", 0, NULL, false, false,
     "554 5.7.1 <x@class.example>: Sender address rejected: Access denied", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@list.example", "root@mx.example", 0, NULL, false, false,
     "554 5.7.1 <x@list.example>: Sender address rejected: Access denied", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT,
     "127.0.0.1", "c.example", "x@list.example", "root@mx.example", 0, NULL, false, false, "",
     NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@dsn.example", "root@mx.example", 0, NULL, false, false,
     "554 5.7.2 <x@dsn.example>: Sender address rejected: custom text", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@num.example", "root@mx.example", 0, NULL, false, false,
     "421 4.7.0 <x@num.example>: Sender address rejected: busy", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@dip.example", "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <x@dip.example>: Sender address rejected: not now", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@defer.example", "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <x@defer.example>: Sender address rejected: Access denied", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@ok.example", "root@mx.example", 0, NULL, false, false, "", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@discard.example", "root@mx.example", 0, NULL, false, false, "",
     "NOQUEUE: discard: RCPT from unknown[192.0.2.1]: <x@discard.example>: Sender address "
     "triggers DISCARD action; from=<x@discard.example>"},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@loop.example", "root@mx.example", 0, NULL, false, false,
     "451 4.3.5 Server configuration error", "nested deeper than"},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@dir.example", "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <x@dir.example>: Sender address rejected: defer_if_reject requested", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@warn.example", "root@mx.example", 0, NULL, false, false, "",
     "NOQUEUE: warn: RCPT from unknown[192.0.2.1]: odd sender;"},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "", "root@mx.example", 0, NULL, false, false,
     "550 5.7.1 <>: Sender address rejected: no bounces", NULL},
    {"smtpd_sender_restrictions = check_sender_access texthash:@/senders\n", CHK_RCPT, OUT,
     "c.example", "x@ctl.example", "root@mx.example", 0, NULL, false, false,
     "550 5.7.1 <x@ctl.example>: Sender address rejected: bad?injected", NULL},
    /* Generic restrictions. */
    {"smtpd_client_restrictions = defer_if_permit\n", CHK_RCPT, OUT, "c", "a@b.example",
     "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <unknown[192.0.2.1]>: Client host rejected: defer_if_permit requested", NULL},
    {"smtpd_client_restrictions = defer_if_reject, reject\n", CHK_RCPT, OUT, "c", "a@b.example",
     "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <unknown[192.0.2.1]>: Client host rejected: defer_if_reject requested", NULL},
    {"smtpd_client_restrictions = permit, reject\n", CHK_RCPT, OUT, "c", "a@b.example",
     "x@else.example", 0, NULL, false, false, "454 4.7.1 <x@else.example>: Relay access denied",
     NULL},
    {"smtpd_client_restrictions = reject\n", CHK_RCPT, OUT, "c", "a@b.example", "root@mx.example",
     0, NULL, false, false, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied",
     NULL},
    {"smtpd_client_restrictions = defer\n", CHK_RCPT, "192.0.2.1,host.example", "c",
     "a@b.example", "root@mx.example", 0, NULL, false, false,
     "450 4.7.1 <host.example[192.0.2.1]>: Client host rejected: Access denied", NULL},
    {"smtpd_data_restrictions = reject_unauth_pipelining\n", CHK_DATA, OUT, "c", "a@b.example",
     NULL, 1, NULL, false, true,
     "554 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining", NULL},
    {"smtpd_data_restrictions = reject_unauth_pipelining\n", CHK_DATA, OUT, "c", "a@b.example",
     NULL, 1, NULL, false, false, "", NULL},
    {"smtpd_end_of_data_restrictions = reject\n", CHK_EOD, OUT, "c", "a@b.example", NULL, 1,
     NULL, false, false, "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied", NULL},
    /* Client tables: names, then addresses and their prefixes. */
    {"smtpd_client_restrictions = check_client_access texthash:@/clients\n", CHK_RCPT,
     "192.0.2.77", "c", "a@b.example", "root@mx.example", 0, NULL, false, false,
     "554 5.7.1 <unknown[192.0.2.77]>: Client host rejected: net blocked", NULL},
    {"smtpd_client_restrictions = check_client_access texthash:@/clients\n", CHK_RCPT,
     "198.51.100.1,mail.bad.example", "c", "a@b.example", "root@mx.example", 0, NULL, false,
     false, "554 5.7.1 <mail.bad.example[198.51.100.1]>: Client host rejected: Access denied",
     NULL},
    /* SASL and TLS. */
    {"smtpd_sender_login_maps = texthash:@/logins\n"
     "smtpd_sender_restrictions = reject_sender_login_mismatch\n",
     CHK_RCPT, OUT, "c", "bob@example.com", "root@mx.example", 0, "alice", false, false,
     "553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user alice", NULL},
    {"smtpd_sender_login_maps = texthash:@/logins\n"
     "smtpd_sender_restrictions = reject_sender_login_mismatch\n",
     CHK_RCPT, OUT, "c", "bob@example.com", "root@mx.example", 0, NULL, false, false,
     "553 5.7.1 <bob@example.com>: Sender address rejected: not logged in", NULL},
    {"smtpd_sender_login_maps = texthash:@/logins\n"
     "smtpd_sender_restrictions = reject_sender_login_mismatch\n",
     CHK_RCPT, OUT, "c", "bob@example.com", "root@mx.example", 0, "bob", false, false, "", NULL},
    {"smtpd_sender_login_maps = texthash:@/logins\n"
     "smtpd_sender_restrictions = reject_known_sender_login_mismatch\n",
     CHK_RCPT, OUT, "c", "x@other.example", "root@mx.example", 0, "alice", false, false, "",
     NULL},
    {"smtpd_sender_login_maps = texthash:@/logins\n"
     "smtpd_sender_restrictions = reject_sender_login_mismatch\n",
     CHK_RCPT, OUT, "c", "x@other.example", "root@mx.example", 0, "alice", false, false,
     "553 5.7.1 <x@other.example>: Sender address rejected: not owned by user alice", NULL},
    {"smtpd_relay_restrictions = permit_tls_all_clientcerts, reject_unauth_destination\n",
     CHK_RCPT, OUT, "c", "a@b.example", "x@else.example", 0, NULL, true, false, "", NULL},
    {"smtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination\n"
     "relay_clientcerts = texthash:@/certs\n",
     CHK_RCPT, OUT, "c", "a@b.example", "x@else.example", 0, NULL, true, false, "", NULL},
    {"smtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination\n",
     CHK_RCPT, OUT, "c", "a@b.example", "x@else.example", 0, NULL, true, false,
     "554 5.7.1 <x@else.example>: Relay access denied", NULL},
    /* Recipient checks. */
    {"smtpd_recipient_restrictions = reject_non_fqdn_recipient\n", CHK_RCPT, OUT, "c",
     "a@b.example", "root", 0, NULL, false, false,
     "504 5.5.2 <root>: Recipient address rejected: need fully-qualified address", NULL},
    {"smtpd_recipient_restrictions = reject_unlisted_recipient\n"
     "smtpd_reject_unlisted_recipient = no\n",
     CHK_RCPT, OUT, "c", "a@b.example", "nosuch@mx.example", 0, NULL, false, false,
     "550 5.1.1 <nosuch@mx.example>: Recipient address rejected: User unknown in local "
     "recipient table",
     NULL},
    {"smtpd_reject_unlisted_recipient = no\n", CHK_RCPT, OUT, "c", "a@b.example",
     "nosuch@mx.example", 0, NULL, false, false, "", NULL},
    {"smtpd_sender_restrictions = reject_unlisted_sender\n", CHK_RCPT, OUT, "c",
     "nosuch@mx.example", "root@mx.example", 0, NULL, false, false,
     "550 5.1.0 <nosuch@mx.example>: Sender address rejected: User unknown in local recipient "
     "table",
     NULL},
    {"smtpd_reject_unlisted_sender = yes\n", CHK_RCPT, OUT, "c", "nosuch@mx.example",
     "root@mx.example", 0, NULL, false, false,
     "550 5.1.0 <nosuch@mx.example>: Sender address rejected: User unknown in local recipient "
     "table",
     NULL},
    {"smtpd_reject_unlisted_sender = yes\n", CHK_RCPT, OUT, "c", "bob@mx.example",
     "root@mx.example", 0, NULL, false, false, "", NULL},
    {"smtpd_recipient_restrictions = permit_auth_destination, reject\n", CHK_RCPT, OUT, "c",
     "a@b.example", "root@mx.example", 0, NULL, false, false, "", NULL},
    /* DNS restrictions answer "dunno" until the resolver is wired. */
    {"smtpd_client_restrictions = reject_rbl_client zen.spamhaus.org\n", CHK_RCPT, OUT, "c",
     "a@b.example", "root@mx.example", 0, NULL, false, false, "",
     "reject_rbl_client is not yet supported"},
    /* A seed's "ablehnen" (a translated "reject") is no restriction. */
    {"smtpd_client_restrictions = permit_sasl_authenticated, ablehnen\n", CHK_RCPT, OUT, "c",
     "a@b.example", "root@mx.example", 0, NULL, false, false,
     "451 4.3.5 Server configuration error", "unknown smtpd restriction: \"ablehnen\""},
    {"smtpd_client_restrictions = permit_sasl_authenticated, ablehnen\n", CHK_RCPT, OUT, "c",
     "a@b.example", "root@mx.example", 0, "bob", false, false, "", NULL},
    /* No decision at all: accepted. */
    {"smtpd_helo_restrictions = check_helo_access texthash:@/helo_checks\n", CHK_HELO, OUT,
     "other.example", NULL, NULL, 0, NULL, false, false, "", NULL},
};

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file("helo_checks", "my.host.name 550 Don't use my hostname\n");
	write_file("roleaccount_exceptions", "postmaster@ OK\nabuse@ OK\nhostmaster@ OK\n");
	write_file("senders", "class.example restrictive\n"
	                      "list.example permit_mynetworks, reject\n"
	                      "dsn.example REJECT 5.7.2 custom text\n"
	                      "num.example 421 4.7.0 busy\n"
	                      "dip.example DEFER_IF_PERMIT not now\n"
	                      "dir.example DEFER_IF_REJECT, reject\n"
	                      "defer.example DEFER\n"
	                      "ok.example OK\n"
	                      "discard.example DISCARD\n"
	                      "warn.example WARN odd sender\n"
	                      "<> 550 no bounces\n"
	                      "ctl.example 550 bad\rinjected\n");
	/* a table whose answer consults itself: bounded nesting */
	char loop[512];
	snprintf(loop, sizeof(loop), "loop.example check_sender_access texthash:%s/senders\n", dir);
	FILE *fp = fopen("/dev/null", "r");
	fclose(fp);
	char path[256];
	snprintf(path, sizeof(path), "%s/senders", dir);
	fp = fopen(path, "a");
	fputs(loop, fp);
	fclose(fp);
	write_file("clients", "192.0.2 REJECT net blocked\nbad.example REJECT\n");
	write_file("logins", "bob@example.com bob\n");
	write_file("certs", "AB:CD:EF x\n");
	snprintf(path, sizeof(path), "%s/log", dir);
	logf_ = fopen(path, "w+");
	log_init("postern/smtpd", LOG_TO_FILE, NULL);
	log_set_file(fileno(logf_), "host");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	fclose(logf_);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct cfg *load(const char *extra)
{
	char text[4096], ex[2048];
	size_t o = 0;
	for (const char *p = extra; *p && o + 100 < sizeof(ex); p++) {
		if (*p == '@')
			o += (size_t)snprintf(ex + o, sizeof(ex) - o, "%s", dir);
		else
			ex[o++] = *p;
	}
	ex[o] = '\0';
	int n = snprintf(text, sizeof(text), "%s%s", base_cfg, ex);
	struct cfg *cfg = cfg_load_text(text, (size_t)n, "main.cf", NULL);
	assert_non_null(cfg);
	return cfg;
}

static void done_unused(void *ctx, enum chk_verdict v, const char *reply)
{
	(void)ctx;
	(void)v;
	(void)reply;
	fail_msg("the chain paused without a network hook");
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];
		struct cfg *cfg = load(t->cfg);
		struct route *rt = route_init(cfg);
		struct chk *c = chk_init(cfg, rt);
		struct chk_txn *tx = chk_txn_new();
		char addr[64], name[128] = "unknown";
		snprintf(addr, sizeof(addr), "%s", t->client);
		char *comma = strchr(addr, ',');
		if (comma) {
			*comma = '\0';
			snprintf(name, sizeof(name), "%s", comma + 1);
		}
		struct netaddr_net net;
		assert_true(netaddr_parse_addr(addr, &net));
		struct smtpd_sasl_facts sf = {0};
		struct smtpd_tls_facts tf = {0};
		if (t->sasl) {
			sf.authenticated = true;
			snprintf(sf.username, sizeof(sf.username), "%s", t->sasl);
		}
		if (t->tls_cert) {
			tf.active = tf.cert_present = tf.cert_verified = true;
			snprintf(tf.cert_fpt, sizeof(tf.cert_fpt), "AB:CD:EF");
		}
		struct chk_input in = {.client_addr = addr, .client_name = name, .client = &net,
		                       .helo = t->helo, .esmtp = true, .sender = t->sender,
		                       .recipient = t->rcpt, .recipient_ext = t->rcpt,
		                       .nrcpt = t->nrcpt, .tls = &tf, .sasl = &sf,
		                       .pipelined = t->pipelined, .queue_id = ""};
		/* as the session gives it: internal form plus the parsed command */
		static struct smtp_cmd rc;
		if (t->rcpt) {
			assert_true(smtp_addr_parse(t->rcpt, strlen(t->rcpt), false, &rc));
			in.recipient = rc.addr;
			in.rcpt_cmd = &rc;
		}
		long before;
		fseek(logf_, 0, SEEK_END);
		before = ftell(logf_);
		const char *rep;
		static const char *cmd[CHK_NSTAGES] = {"CONNECT", "HELO", "MAIL", "RCPT", "RCPT",
		                                       "DATA", "END-OF-MESSAGE", "ETRN"};
		enum chk_verdict v =
		    chk_check(c, tx, t->stage, cmd[t->stage], &in, done_unused, NULL, &rep);
		assert_int_not_equal(v, CHK_PENDING);
		const char *got = v == CHK_REJECT || v == CHK_DEFER ? rep : "";
		if (strcmp(got, t->reply) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, t->reply);
		if (t->log) {
			char buf[8192];
			fflush(logf_);
			fseek(logf_, before, SEEK_SET);
			size_t n = fread(buf, 1, sizeof(buf) - 1, logf_);
			buf[n] = '\0';
			if (strstr(buf, t->log) == NULL)
				fail_msg("case %zu: log lacks \"%s\":\n%s", i, t->log, buf);
		}
		if (strstr(t->cfg, "discard") || (t->sender && strstr(t->sender, "discard")))
			assert_true(chk_txn_actions(tx)->discard);
		chk_txn_free(tx);
		chk_free(c);
		route_free(rt);
		cfg_free(cfg);
	}
}

/* Actions that change the message are collected for the session. */
static void test_actions(void **state)
{
	(void)state;
	write_file("acts", "a@x.example REDIRECT other@else.example\n"
	                   "b@x.example BCC copy@else.example\n"
	                   "c@x.example PREPEND X-Tag: yes\n"
	                   "d@x.example HOLD\n"
	                   "e@x.example FILTER smtp:[127.0.0.1]:10025\n"
	                   "f@x.example PREPEND not a header\n");
	struct cfg *cfg = load("smtpd_recipient_restrictions = check_recipient_access "
	                       "texthash:@/acts, permit_mynetworks, reject_unauth_destination\n");
	struct route *rt = route_init(cfg);
	struct chk *c = chk_init(cfg, rt);
	struct chk_txn *tx = chk_txn_new();
	struct netaddr_net net;
	assert_true(netaddr_parse_addr("127.0.0.1", &net));
	const char *rcpts[] = {"a@x.example", "b@x.example", "c@x.example", "d@x.example",
	                       "e@x.example"};
	for (size_t i = 0; i < 5; i++) {
		struct chk_input in = {.client_addr = "127.0.0.1", .client_name = "localhost",
		                       .client = &net, .helo = "h", .sender = "s@x.example",
		                       .recipient = rcpts[i]};
		const char *rep;
		assert_int_equal(chk_check(c, tx, CHK_RCPT, "RCPT", &in, done_unused, NULL, &rep),
		                 CHK_OK);
	}
	const struct chk_actions *a = chk_txn_actions(tx);
	assert_string_equal(a->redirect, "other@else.example");
	assert_string_equal(a->bcc[0], "copy@else.example");
	assert_string_equal(a->prepend[0], "X-Tag: yes");
	assert_true(a->hold);
	assert_string_equal(a->filter, "smtp:[127.0.0.1]:10025");
	struct chk_input in = {.client_addr = "127.0.0.1", .client_name = "localhost",
	                       .client = &net, .helo = "h", .sender = "s@x.example",
	                       .recipient = "f@x.example"};
	const char *rep;
	assert_int_equal(chk_check(c, tx, CHK_RCPT, "RCPT", &in, done_unused, NULL, &rep),
	                 CHK_DEFER);
	assert_string_equal(rep, "451 4.3.5 Server configuration error");
	chk_txn_reset(tx);
	assert_null(chk_txn_actions(tx)->bcc);
	chk_txn_free(tx);
	chk_free(c);
	route_free(rt);
	cfg_free(cfg);
}

/* A configuration that would relay for anyone, or names an unknown
 * restriction, is refused at start-up (fatal: exit status 1). */
static int init_status(const char *extra)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);
		dup2(null, 2);
		struct cfg *cfg = load(extra);
		chk_init(cfg, route_init(cfg));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_startup_checks(void **state)
{
	(void)state;
	assert_int_equal(init_status("smtpd_relay_restrictions =\n"
	                             "smtpd_recipient_restrictions = permit_mynetworks\n"),
	                 1);
	assert_int_equal(init_status("smtpd_relay_restrictions = permit_mynetworks, permit\n"), 1);
	/* as Postfix: an unknown name starts, and fails what reaches it */
	assert_int_equal(init_status("smtpd_client_restrictions = reject_everything\n"), 0);
	assert_int_equal(init_status("smtpd_client_restrictions = check_client_access\n"), 1);
	assert_int_equal(init_status("smtpd_client_restrictions = {unbalanced\n"), 1);
	assert_int_equal(init_status(""), 0);
	/* the seed's submission line, translated: nothing stops relaying */
	assert_int_equal(init_status("smtpd_recipient_restrictions =\n"
	                             "smtpd_relay_restrictions = permit_sasl_authenticated, ablehnen\n"),
	                 1);
	assert_int_equal(init_status("smtpd_relay_restrictions =\n"
	                             "smtpd_recipient_restrictions = permit_mynetworks, "
	                             "reject_unauth_destination\n"),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_startup_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
