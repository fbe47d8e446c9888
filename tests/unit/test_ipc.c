/*
 * test_ipc.c - record building, strict parsing and descriptor passing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static struct ipc_in in; /* large: keep it off the stack */

static void test_roundtrip(void **state)
{
	(void)state;
	struct ipc_out o;
	char err[128];
	ipc_out_init(&o, 0x1234);
	ipc_add_str(&o, 1, "sender@example.com");
	ipc_add_u64(&o, 2, 0x0102030405060708ULL);
	ipc_add_str(&o, 3, "rcpt1");
	ipc_add_str(&o, 3, "rcpt2");
	ipc_add_str(&o, 4, "");
	assert_true(ipc_parse(o.buf, o.len, &in, err, sizeof(err)));
	assert_int_equal(in.type, 0x1234);
	assert_int_equal(in.nfields, 5);
	assert_string_equal(ipc_str(&in, 1), "sender@example.com");
	uint64_t v;
	assert_true(ipc_u64(&in, 2, &v));
	assert_true(v == 0x0102030405060708ULL);
	size_t pos = 0;
	assert_string_equal(ipc_field_str(ipc_find(&in, 3, &pos)), "rcpt1");
	assert_string_equal(ipc_field_str(ipc_find(&in, 3, &pos)), "rcpt2");
	assert_null(ipc_find(&in, 3, &pos));
	assert_string_equal(ipc_str(&in, 4), "");
	assert_null(ipc_str(&in, 9));
	assert_false(ipc_u64(&in, 1, &v)); /* wrong size */
	ipc_out_free(&o);
}

static void test_malformed(void **state)
{
	(void)state;
	char err[128];
	uint8_t buf[64] = {0};
	/* Too short for a type. */
	assert_false(ipc_parse(buf, 1, &in, err, sizeof(err)));
	/* A field header cut short. */
	memcpy(buf, "\x00\x01\x05\x00\x00", 5);
	assert_false(ipc_parse(buf, 5, &in, err, sizeof(err)));
	/* A length past the end, by one. */
	memcpy(buf, "\x00\x01\x05\x00\x00\x00\x02" "a", 8);
	assert_false(ipc_parse(buf, 8, &in, err, sizeof(err)));
	/* Exactly at the end is fine. */
	memcpy(buf, "\x00\x01\x05\x00\x00\x00\x01" "a", 8);
	assert_true(ipc_parse(buf, 8, &in, err, sizeof(err)));
	/* Not a string: no NUL at the end, or one inside. */
	assert_null(ipc_str(&in, 5));
	memcpy(buf, "\x00\x01\x05\x00\x00\x00\x03" "a\0b", 10);
	assert_true(ipc_parse(buf, 10, &in, err, sizeof(err)));
	assert_null(ipc_str(&in, 5));
	/* A huge length does not wrap around. */
	memcpy(buf, "\x00\x01\x05\xff\xff\xff\xff", 7);
	assert_false(ipc_parse(buf, 7, &in, err, sizeof(err)));
}

static void test_limits(void **state)
{
	(void)state;
	struct ipc_out o;
	char err[128];
	size_t room = IPC_RECORD_MAX - 2 - 5;
	char *big = malloc(room + 1);
	memset(big, 'x', room);
	ipc_out_init(&o, 1);
	ipc_add_bytes(&o, 1, big, room);
	assert_false(o.overflow);
	assert_true(ipc_parse(o.buf, o.len, &in, err, sizeof(err)));
	ipc_add_bytes(&o, 2, "", 0); /* one field header more does not fit */
	assert_true(o.overflow);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(ipc_send(sv[0], &o, -1), -1);
	assert_int_equal(errno, EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	ipc_out_free(&o);
	free(big);
}

static void test_fd_passing(void **state)
{
	(void)state;
	int sv[2], p[2];
	uint8_t buf[IPC_RECORD_MAX];
	char err[128];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	struct ipc_out o;
	ipc_out_init(&o, 7);
	ipc_add_str(&o, 1, "here is a pipe");
	assert_int_equal(ipc_send(sv[0], &o, p[1]), 0);
	assert_int_equal(ipc_send(sv[0], &o, -1), 0);
	close(p[1]);
	int fd;
	long n = ipc_recv(sv[1], buf, sizeof(buf), &fd);
	assert_true(n > 0);
	assert_true(fd >= 0);
	assert_true(ipc_parse(buf, (size_t)n, &in, err, sizeof(err)));
	assert_string_equal(ipc_str(&in, 1), "here is a pipe");
	assert_int_equal(write(fd, "x", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(fd);
	/* Second record: same bytes, no descriptor; boundaries kept. */
	n = ipc_recv(sv[1], buf, sizeof(buf), &fd);
	assert_int_equal(n, (long)o.len);
	assert_int_equal(fd, -1);
	/* A record larger than the buffer is refused, not cut. */
	assert_int_equal(ipc_send(sv[0], &o, -1), 0);
	assert_int_equal(ipc_recv(sv[1], buf, 4, &fd), -1);
	assert_int_equal(errno, EBADMSG);
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), &fd), 0);
	close(sv[1]);
	close(p[0]);
	ipc_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fd_passing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
