/*
 * test_local_req.c - strict checks of DELIVER requests in the local
 * agent: required fields, field forms and order, duplicates, unknown
 * tags, recipient limits, and the RESULT/DONE records it sends back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "ipc.h"
#include "local_req.h"
#include "proto.h"

static struct ipc_in in;

enum { OMIT_NONE = 0 };

/* A valid request; skip names one tag to leave out. */
static void build(struct ipc_out *o, int skip, int nrcpt)
{
	ipc_out_init(o, PROTO_DELIVER);
	if (skip != T_ID) ipc_add_str(o, T_ID, "4XyZ09");
	if (skip != T_SENDER) ipc_add_str(o, T_SENDER, "s@example.org");
	if (skip != T_ARRIVAL) ipc_add_u64(o, T_ARRIVAL, 1700000000);
	if (skip != T_OFFSET) ipc_add_u64(o, T_OFFSET, 100);
	if (skip != T_LENGTH) ipc_add_u64(o, T_LENGTH, 2000);
	if (skip != T_NEXTHOP) ipc_add_str(o, T_NEXTHOP, "example.org");
	if (skip != T_DELAYS) ipc_add_str(o, T_DELAYS, "0.1/0.2");
	if (skip != T_FLAGS) ipc_add_u64(o, T_FLAGS, 0);
	if (skip != T_ENVID) ipc_add_str(o, T_ENVID, "env1");
	if (skip != T_RET) ipc_add_str(o, T_RET, "HDRS");
	for (int i = 0; i < nrcpt; i++) {
		char a[32];
		snprintf(a, sizeof(a), "u%d@example.org", i);
		ipc_add_str(o, T_RCPT, a);
		if (i == 0) {
			ipc_add_str(o, T_ORIG_RCPT, "Orig@example.org");
			ipc_add_str(o, T_ORCPT, "rfc822;u0@example.org");
			ipc_add_u64(o, T_NOTIFY, PROTO_NOTIFY_FAILURE);
		}
	}
}

static struct local_req *parse(struct ipc_out *o, char *err, size_t errlen)
{
	assert_true(ipc_parse(o->buf, o->len, &in, err, errlen));
	return local_req_parse(&in, err, errlen);
}

static void test_valid(void **state)
{
	(void)state;
	struct ipc_out o;
	char err[256];
	build(&o, OMIT_NONE, 3);
	struct local_req *r = parse(&o, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(r->id, "4XyZ09");
	assert_string_equal(r->sender, "s@example.org");
	assert_true(r->arrival == 1700000000 && r->offset == 100 && r->length == 2000);
	assert_string_equal(r->delays, "0.1/0.2");
	assert_string_equal(r->ret, "HDRS");
	assert_int_equal(r->nrcpt, 3);
	assert_string_equal(r->rcpt[0].orig, "Orig@example.org");
	assert_string_equal(r->rcpt[0].orcpt, "rfc822;u0@example.org");
	assert_true(r->rcpt[0].notify == PROTO_NOTIFY_FAILURE);
	assert_string_equal(r->rcpt[2].addr, "u2@example.org");
	assert_string_equal(r->rcpt[2].orig, "u2@example.org"); /* defaults to addr */
	assert_null(r->rcpt[2].orcpt);
	free(r);
	ipc_out_free(&o);
}

static void test_required(void **state)
{
	(void)state;
	int required[] = {T_ID, T_SENDER, T_ARRIVAL, T_OFFSET, T_LENGTH};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct ipc_out o;
		char err[256];
		build(&o, required[i], 1);
		assert_null(parse(&o, err, sizeof(err)));
		assert_non_null(strstr(err, "missing"));
		ipc_out_free(&o);
	}
	/* Optional ones may be left out. */
	int optional[] = {T_NEXTHOP, T_DELAYS, T_FLAGS, T_ENVID, T_RET};
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		struct ipc_out o;
		char err[256];
		build(&o, optional[i], 1);
		struct local_req *r = parse(&o, err, sizeof(err));
		assert_non_null(r);
		free(r);
		ipc_out_free(&o);
	}
	struct ipc_out o;
	char err[256];
	build(&o, OMIT_NONE, 0);
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
}

/* Append one field to a valid request and expect a refusal. */
static void refused_with(void (*add)(struct ipc_out *), int nrcpt)
{
	struct ipc_out o;
	char err[256];
	build(&o, OMIT_NONE, nrcpt);
	add(&o);
	struct local_req *r = parse(&o, err, sizeof(err));
	assert_null(r);
	ipc_out_free(&o);
}

static void add_unknown(struct ipc_out *o) { ipc_add_str(o, 250, "x"); }
static void add_dup_sender_after(struct ipc_out *o) { ipc_add_str(o, T_SENDER, "x"); }
static void add_client(struct ipc_out *o) { ipc_add_str(o, T_CLIENT_ADDR, "1.2.3.4"); }
static void add_crlf_rcpt(struct ipc_out *o) { ipc_add_str(o, T_RCPT, "a\r\nBcc: b"); }
static void add_empty_rcpt(struct ipc_out *o) { ipc_add_str(o, T_RCPT, ""); }
static void add_no_nul(struct ipc_out *o) { ipc_add_bytes(o, T_RCPT, "abc", 3); }
static void add_inner_nul(struct ipc_out *o) { ipc_add_bytes(o, T_RCPT, "a\0b", 4); }
static void add_short_notify(struct ipc_out *o) { ipc_add_bytes(o, T_NOTIFY, "\0\0\0\1", 4); }
static void add_two_orcpt(struct ipc_out *o)
{
	ipc_add_str(o, T_RCPT, "x@y");
	ipc_add_str(o, T_ORCPT, "a");
	ipc_add_str(o, T_ORCPT, "b");
}

static void test_refused(void **state)
{
	(void)state;
	refused_with(add_unknown, 1);
	refused_with(add_dup_sender_after, 1);
	refused_with(add_client, 1);
	refused_with(add_crlf_rcpt, 1);
	refused_with(add_empty_rcpt, 1);
	refused_with(add_no_nul, 1);
	refused_with(add_inner_nul, 1);
	refused_with(add_short_notify, 1);
	refused_with(add_two_orcpt, 1);

	struct ipc_out o;
	char err[256];
	/* Recipient fields before any recipient. */
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ORCPT, "rfc822;x@y");
	ipc_add_str(&o, T_ID, "A");
	ipc_add_str(&o, T_SENDER, "");
	ipc_add_u64(&o, T_ARRIVAL, 1);
	ipc_add_u64(&o, T_OFFSET, 1);
	ipc_add_u64(&o, T_LENGTH, 1);
	ipc_add_str(&o, T_RCPT, "x@y");
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
	/* Wrong type, bad id characters, bad RET, overflowing offset+length. */
	build(&o, OMIT_NONE, 1);
	o.buf[1] = PROTO_RESULT;
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ID, "../etc");
	ipc_add_str(&o, T_SENDER, "");
	ipc_add_u64(&o, T_ARRIVAL, 1);
	ipc_add_u64(&o, T_OFFSET, 1);
	ipc_add_u64(&o, T_LENGTH, 1);
	ipc_add_str(&o, T_RCPT, "x@y");
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ID, "A");
	ipc_add_str(&o, T_SENDER, "");
	ipc_add_u64(&o, T_ARRIVAL, 1);
	ipc_add_u64(&o, T_OFFSET, UINT64_MAX - 1);
	ipc_add_u64(&o, T_LENGTH, 10);
	ipc_add_str(&o, T_RCPT, "x@y");
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ID, "A");
	ipc_add_str(&o, T_SENDER, "");
	ipc_add_u64(&o, T_ARRIVAL, 1);
	ipc_add_u64(&o, T_OFFSET, 1);
	ipc_add_u64(&o, T_LENGTH, 1);
	ipc_add_str(&o, T_RET, "ALL");
	ipc_add_str(&o, T_RCPT, "x@y");
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
}

static void test_rcpt_limit(void **state)
{
	(void)state;
	struct ipc_out o;
	char err[256];
	build(&o, OMIT_NONE, LOCAL_RCPT_MAX);
	struct local_req *r = parse(&o, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->nrcpt, LOCAL_RCPT_MAX);
	free(r);
	ipc_out_free(&o);
	build(&o, OMIT_NONE, LOCAL_RCPT_MAX + 1);
	assert_null(parse(&o, err, sizeof(err)));
	ipc_out_free(&o);
}

static void test_replies(void **state)
{
	(void)state;
	int sv[2];
	uint8_t buf[IPC_RECORD_MAX];
	char err[128];
	int fd;
	uint64_t v;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_true(local_req_result(sv[0], 2, "5.1.1", "unknown user: \"x\""));
	assert_true(local_req_done(sv[0]));
	long n = ipc_recv(sv[1], buf, sizeof(buf), &fd);
	assert_true(n > 0 && ipc_parse(buf, (size_t)n, &in, err, sizeof(err)));
	assert_int_equal(in.type, PROTO_RESULT);
	assert_true(ipc_u64(&in, T_RCPT_INDEX, &v) && v == 2);
	assert_string_equal(ipc_str(&in, T_STATUS), "5.1.1");
	assert_string_equal(ipc_str(&in, T_TEXT), "unknown user: \"x\"");
	assert_string_equal(ipc_str(&in, T_RELAY), "local");
	n = ipc_recv(sv[1], buf, sizeof(buf), &fd);
	assert_true(n > 0 && ipc_parse(buf, (size_t)n, &in, err, sizeof(err)));
	assert_int_equal(in.type, PROTO_DONE);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_rcpt_limit),
		cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
