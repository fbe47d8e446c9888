/*
 * test_dsn.c - dsn_compose: every kind, RET forms, the size limit,
 * hostile envelope values and boundary collisions.  Each DSN is parsed
 * by Python's email package (tests/unit/dsn_check.py), an independent
 * MIME parser, besides the byte checks here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../queue/dsn.h"

static const char orig_msg[] =
	"Received: by client.example (x) id 1\n"
	"From: S <s@example.net>\n"
	"To: nouser@localhost\n"
	"Subject: test bounce\n"
	"Message-ID: <t1@example.net>\n"
	"\n"
	"body line 1\n"
	".dot line\n"
	"last line\n";

static int content_fd(const char *text, size_t len)
{
	int fd = memfd_create("orig", MFD_CLOEXEC);
	assert_true(fd >= 0);
	/* Some junk first: the content starts at an offset, as in a queue file. */
	assert_int_equal(write(fd, "ENVELOPE\n", 9), 9);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

/* Compose into a temp file; returns its path (static) and the text. */
static char *compose(const struct dsn_input *in, int *rc, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/test_dsn.XXXXXX");
	int out = mkstemp(path);
	assert_true(out >= 0);
	char err[256] = "";
	*rc = dsn_compose(in, out, err, sizeof(err));
	if (*rc != 0)
		fprintf(stderr, "dsn_compose: %s\n", err);
	off_t len = lseek(out, 0, SEEK_END);
	char *buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(out, buf, (size_t)len, 0), len);
	buf[len] = '\0';
	close(out);
	return buf;
}

/* Run the Python checker on the file; true when it accepts it. */
static bool py_check(const char *path, const char *expect_json)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("python3", "python3", "tests/unit/dsn_check.py", path, expect_json,
		       (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static struct dsn_input base_input(int fd, const struct dsn_rcpt *r, size_t n)
{
	struct dsn_input in = {
		.reporting_mta = "mx.example.org",
		.queue_id = "4Qx7Yz1AbcD",
		.sender = "s@example.net",
		.arrival = 1795420537,
		.kind = DSN_FAILURE,
		.rcpts = r,
		.nrcpts = n,
		.content_fd = fd,
		.content_off = 9,
		.content_len = (off_t)(sizeof(orig_msg) - 1),
		.max_returned = 50000,
	};
	return in;
}

static const struct dsn_rcpt bounce_rcpt[] = {
	{.addr = "nouser@localhost", .orcpt = "rfc822;Orig@Example.net",
	 .status = "5.1.1", .action = "failed",
	 .diag = "smtp; 550 5.1.1 <nouser@localhost>: Recipient address rejected: "
	         "User unknown in local recipient table, and this text goes on long "
	         "enough to be folded",
	 .remote_mta = "mx2.example.com"},
	{.addr = "other@localhost", .orig = "alias@localhost", .status = "5.0.0",
	 .action = "failed", .diag = "unknown user: \"other\""},
};

static void test_failure_full(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd, bounce_rcpt, 2);
	in.envid = "env123";
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Subject: Undelivered Mail Returned to Sender\n"));
	assert_non_null(strstr(out, "\nContent-Type: message/rfc822\n"));
	assert_non_null(strstr(out, "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"));
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\", \"envid\": \"env123\","
		" \"third\": \"message/rfc822\", \"orig_subject\": \"test bounce\","
		" \"returned_contains\": [\".dot line\\n\", \"last line\\n\"],"
		" \"text_contains\": [\"<nouser@localhost>: 550 5.1.1\","
		"   \"<other@localhost> (expanded from <alias@localhost>): unknown user\"],"
		" \"rcpts\": ["
		"  {\"Final-Recipient\": \"rfc822; nouser@localhost\","
		"   \"Original-Recipient\": \"rfc822;Orig@Example.net\", \"Action\": \"failed\","
		"   \"Status\": \"5.1.1\", \"Remote-MTA\": \"dns; mx2.example.com\","
		"   \"Diagnostic-Code\": \"smtp; 550 5.1.1 <nouser@localhost>: Recipient address"
		" rejected: User unknown in local recipient table, and this text goes on long"
		" enough to be folded\"},"
		"  {\"Final-Recipient\": \"rfc822; other@localhost\","
		"   \"Original-Recipient\": \"rfc822; alias@localhost\", \"Action\": \"failed\","
		"   \"Status\": \"5.0.0\", \"Remote-MTA\": null,"
		"   \"Diagnostic-Code\": \"X-Postern; unknown user: \\\"other\\\"\"}]}"));
	/* The long diagnostic was folded. */
	assert_non_null(strstr(out, "\n   "));
	unlink(path);
	free(out);
	close(fd);
}

static void test_failure_hdrs(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd, bounce_rcpt, 1);
	in.ret = "HDRS";
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Content-Description: Undelivered Message Headers\n"));
	assert_null(strstr(out, "body line 1"));
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\","
		" \"third\": \"text/rfc822-headers\","
		" \"returned_contains\": [\"Subject: test bounce\\n\"],"
		" \"returned_lacks\": [\"body line\"],"
		" \"rcpts\": [{\"Action\": \"failed\", \"Status\": \"5.1.1\"}]}"));
	unlink(path);
	free(out);
	close(fd);
}

/* Larger than bounce_size_limit: headers only, as Postfix 2.5 and later. */
static void test_size_limit(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd, bounce_rcpt, 1);
	in.ret = "FULL";
	in.max_returned = sizeof(orig_msg) - 2; /* one byte short */
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Content-Type: text/rfc822-headers\n"));
	assert_null(strstr(out, "body line 1"));
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\","
		" \"third\": \"text/rfc822-headers\", \"returned_contains\": [\"Message-ID:\"],"
		" \"rcpts\": [{\"Action\": \"failed\"}]}"));
	free(out);
	unlink(path);

	/* Exactly at the limit: the whole message. */
	in.max_returned = sizeof(orig_msg) - 1;
	out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Content-Type: message/rfc822\n"));
	assert_non_null(strstr(out, "\nlast line\n"));
	free(out);
	unlink(path);

	/* Headers alone longer than the limit: cut at a line end. */
	in.max_returned = 50;
	out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	char *part = strstr(out, "Content-Type: text/rfc822-headers\n");
	assert_non_null(part);
	part = strstr(part, "\n\n") + 2;
	assert_true(strncmp(part, "Received: by client.example (x) id 1\n\n--", 40) == 0);
	free(out);
	unlink(path);

	/* Zero: no third part. */
	in.max_returned = 0;
	out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "rfc822-headers"));
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\", \"third\": null,"
		" \"rcpts\": [{\"Action\": \"failed\"}]}"));
	free(out);
	unlink(path);
	close(fd);
}

static void test_delay_and_success(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_rcpt r = {.addr = "x@unreach.example", .status = "4.4.1",
	                     .action = "delayed",
	                     .diag = "X-Postfix; connect to 127.0.0.1[127.0.0.1]:9: refused"};
	struct dsn_input in = base_input(fd, &r, 1);
	in.kind = DSN_DELAY;
	in.ret = "FULL"; /* a delay warning returns headers all the same */
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Content-Description: Undelivered Message Headers\n"));
	assert_true(py_check(path,
		"{\"subject\": \"Delayed Mail (still being retried)\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\","
		" \"third\": \"text/rfc822-headers\", \"returned_lacks\": [\"body\"],"
		" \"text_contains\": [\"WARNING\", \"<x@unreach.example>: connect to\"],"
		" \"rcpts\": [{\"Action\": \"delayed\", \"Status\": \"4.4.1\","
		"   \"Diagnostic-Code\": \"X-Postfix; connect to 127.0.0.1[127.0.0.1]:9: refused\"}]}"));
	free(out);
	unlink(path);

	struct dsn_rcpt ok = {.addr = "nobody@localhost", .status = "2.0.0",
	                      .action = "delivered", .diag = "X-Postfix; delivered to mailbox"};
	in.rcpts = &ok;
	in.kind = DSN_SUCCESS;
	in.ret = NULL;
	out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Content-Description: Message Headers\n"));
	assert_true(py_check(path,
		"{\"subject\": \"Successful Mail Delivery Report\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\","
		" \"third\": \"text/rfc822-headers\","
		" \"rcpts\": [{\"Action\": \"delivered\", \"Status\": \"2.0.0\","
		"   \"Final-Recipient\": \"rfc822; nobody@localhost\"}]}"));
	free(out);
	unlink(path);
	close(fd);
}

/* Envelope values with CR/LF and header-looking text stay inside their field. */
static void test_hostile_envelope(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_rcpt r = {
		.addr = "a@b\r\nBcc: victim@evil.example",
		.orcpt = "rfc822;x@y\nX-Injected: 1",
		.status = "5.1.1",
		.action = "failed",
		.diag = "smtp; 550 line one\r\n--fake-boundary\r\nContent-Type: text/html\x01",
		.remote_mta = "evil\nX-Evil: 1",
	};
	struct dsn_input in = base_input(fd, &r, 1);
	in.sender = "s@example.net>, <victim@evil.example\r\nBcc: x@evil.example";
	in.envid = "e\r\nX-Envid-Injected: 1";
	in.queue_id = "Q\nX-Q: 1";
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "\nBcc:"));
	assert_null(strstr(out, "\nX-Injected"));
	assert_null(strstr(out, "\nX-Envid-Injected"));
	assert_null(strstr(out, "\nX-Evil"));
	assert_null(strstr(out, "\nX-Q"));
	assert_null(strstr(out, "\n--fake-boundary"));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x01'));
	/* The To: header names one address, whatever the sender holds. */
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"\\\"s@example.net>, <victim@evil.example Bcc: x\\\"@evil.example\","
		" \"queue_id\": \"Q X-Q: 1\", \"envid\": \"e X-Envid-Injected: 1\","
		" \"third\": \"message/rfc822\", \"orig_subject\": \"test bounce\","
		" \"rcpts\": [{\"Final-Recipient\": \"rfc822; a@b Bcc: victim@evil.example\","
		"   \"Action\": \"failed\", \"Remote-MTA\": \"dns; evil X-Evil: 1\"}]}"));
	free(out);
	unlink(path);

	/* Bad status or action, no recipients, null sender: refused. */
	char err[128];
	r.status = "5.1.1\nX: y";
	assert_int_equal(dsn_compose(&in, 1, err, sizeof(err)), -1);
	r.status = "5.1.1";
	r.action = "failed\n";
	assert_int_equal(dsn_compose(&in, 1, err, sizeof(err)), -1);
	r.action = "failed";
	in.nrcpts = 0;
	assert_int_equal(dsn_compose(&in, 1, err, sizeof(err)), -1);
	in.nrcpts = 1;
	in.sender = "";
	assert_int_equal(dsn_compose(&in, 1, err, sizeof(err)), -1);
	in.sender = "s@example.net";
	in.kind = 7;
	assert_int_equal(dsn_compose(&in, 1, err, sizeof(err)), -1);
	close(fd);
}

/* A quoted message that holds the boundary we would pick gets another one. */
static void test_boundary_collision(void **state)
{
	(void)state;
	/* Make a first DSN to learn the boundary form, then quote a message
	 * holding every boundary the next second could give. */
	int fd0 = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd0, bounce_rcpt, 1);
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	char *b = strstr(out, "boundary=\"");
	assert_non_null(b);
	b += 10;
	char *e = strchr(b, '"');
	char bnd[128];
	snprintf(bnd, sizeof(bnd), "%.*s", (int)(e - b), b);
	free(out);
	unlink(path);
	close(fd0);

	/* bnd is ID.TIME/HOST: put the same for the next few seconds in the body. */
	char *dot = strchr(bnd, '.');
	char *slash = strchr(bnd, '/');
	assert_non_null(dot);
	assert_non_null(slash);
	long long t0 = strtoll(dot + 1, NULL, 10);
	char msg[4096];
	int n = snprintf(msg, sizeof(msg), "Subject: evil\n\n");
	for (long long t = t0; t < t0 + 5; t++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "--%.*s.%lld%s\nContent-Type: text/plain\n\nfake\n",
		              (int)(dot - bnd), bnd, t, slash);
	int fd = content_fd(msg, (size_t)n);
	in = base_input(fd, bounce_rcpt, 1);
	in.content_len = n;
	out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	b = strstr(out, "boundary=\"") + 10;
	e = strchr(b, '"');
	snprintf(bnd, sizeof(bnd), "%.*s", (int)(e - b), b);
	assert_true(strlen(bnd) <= 70);
	assert_null(strstr(msg, bnd));
	assert_true(py_check(path,
		"{\"subject\": \"Undelivered Mail Returned to Sender\", \"host\": \"mx.example.org\","
		" \"to\": \"s@example.net\", \"queue_id\": \"4Qx7Yz1AbcD\","
		" \"third\": \"message/rfc822\", \"orig_subject\": \"evil\","
		" \"returned_contains\": [\"fake\"], \"rcpts\": [{\"Action\": \"failed\"}]}"));
	free(out);
	unlink(path);
	close(fd);
}

/* A long host name still gives a boundary within RFC 2046's 70. */
static void test_boundary_length(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd, bounce_rcpt, 1);
	in.reporting_mta = "a-very-long-host-name.in.a.very-long-subdomain.of-an-example.example.org";
	in.queue_id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char path[64];
	int rc;
	char *out = compose(&in, &rc, path, sizeof(path));
	assert_int_equal(rc, 0);
	char *b = strstr(out, "boundary=\"") + 10;
	assert_true(strchr(b, '"') - b <= 61);
	free(out);
	unlink(path);
	close(fd);
}

/* A content descriptor shorter than content_len is an error, not garbage. */
static void test_short_content(void **state)
{
	(void)state;
	int fd = content_fd(orig_msg, sizeof(orig_msg) - 1);
	struct dsn_input in = base_input(fd, bounce_rcpt, 1);
	in.content_len += 100;
	char err[128];
	int out = memfd_create("out", MFD_CLOEXEC);
	assert_int_equal(dsn_compose(&in, out, err, sizeof(err)), -1);
	assert_int_equal(lseek(out, 0, SEEK_END), 0);
	close(out);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_full),
		cmocka_unit_test(test_failure_hdrs),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_delay_and_success),
		cmocka_unit_test(test_hostile_envelope),
		cmocka_unit_test(test_boundary_collision),
		cmocka_unit_test(test_boundary_length),
		cmocka_unit_test(test_short_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
