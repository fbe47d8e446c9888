/*
 * test_local_copy.c - the local agent's message copy: "From " line,
 * Return-Path/X-Original-To/Delivered-To, ">From " quoting (also when
 * "From " straddles the 64 KiB read chunks), final newline and blank
 * line; Delivered-To loop detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "local_copy.h"

static int mkfile(const char *data, size_t len)
{
	int fd = memfd_create("content", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* Copy and return what was written (allocated, NUL-terminated). */
static char *copy(const char *content, size_t len, size_t off, int flags, const char *sender,
                  size_t *outlen)
{
	char *buf = malloc(off + len + 1);
	memset(buf, 'Z', off);
	memcpy(buf + off, content, len);
	int in = mkfile(buf, off + len);
	free(buf);
	int out = memfd_create("out", 0);
	struct local_msg m = {.fd = in, .offset = off, .length = len, .sender = sender,
	                      .orig_rcpt = "orig@example", .delivered_to = "user@example"};
	assert_true(local_copy(&m, out, flags, 0));
	off_t n = lseek(out, 0, SEEK_END);
	char *r = malloc((size_t)n + 1);
	assert_int_equal(pread(out, r, (size_t)n, 0), n);
	r[n] = '\0';
	*outlen = (size_t)n;
	close(in);
	close(out);
	return r;
}

static void test_mbox_form(void **state)
{
	(void)state;
	const char *msg = "Subject: x\n\nFrom me\n>From you\nFromage\nFrom";
	size_t n;
	char *r = copy(msg, strlen(msg), 7, LOCAL_COPY_MBOX, "s@example", &n);
	assert_string_equal(r, "From s@example  Thu Jan  1 00:00:00 1970\n"
	                       "Return-Path: <s@example>\n"
	                       "X-Original-To: orig@example\n"
	                       "Delivered-To: user@example\n"
	                       "Subject: x\n\n>From me\n>From you\nFromage\nFrom\n\n");
	free(r);
	r = copy(msg, strlen(msg), 0, LOCAL_COPY_MBOX, "", &n);
	assert_non_null(strstr(r, "From MAILER-DAEMON  Thu Jan  1 00:00:00 1970\nReturn-Path: <>\n"));
	free(r);
	/* Maildir form: no envelope line, no quoting, no blank line. */
	r = copy(msg, strlen(msg), 0, LOCAL_COPY_RPATH | LOCAL_COPY_ORIG | LOCAL_COPY_DELIVERED,
	         "s@example", &n);
	assert_string_equal(r, "Return-Path: <s@example>\nX-Original-To: orig@example\n"
	                       "Delivered-To: user@example\nSubject: x\n\nFrom me\n>From you\n"
	                       "Fromage\nFrom\n");
	free(r);
	/* A first line that is "From " is quoted too. */
	r = copy("From x\n", 7, 0, LOCAL_COPY_QUOTE, "", &n);
	assert_string_equal(r, ">From x\n");
	free(r);
	r = copy("", 0, 0, LOCAL_COPY_QUOTE, "", &n);
	assert_string_equal(r, "");
	free(r);
}

/* Reference: line by line. */
static char *reference(const char *in, size_t len, size_t *outlen)
{
	char *out = malloc(len * 2 + 2);
	size_t o = 0;
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		if (bol && len - i >= 5 && memcmp(in + i, "From ", 5) == 0)
			out[o++] = '>';
		out[o++] = in[i];
		bol = in[i] == '\n';
	}
	if (len == 0 || in[len - 1] != '\n')
		out[o++] = '\n';
	*outlen = o;
	return out;
}

static void test_quote_chunks(void **state)
{
	(void)state;
	/* "From " placed across every position around the 64 KiB chunk
	 * boundaries, plus near misses. */
	for (size_t shift = 0; shift < 8; shift++) {
		size_t len = 3 * 65536 + 100;
		char *in = malloc(len);
		for (size_t i = 0; i < len; i++)
			in[i] = 'a';
		for (size_t b = 65536; b < len; b += 65536) {
			size_t p = b - shift;
			in[p - 1] = '\n';
			memcpy(in + p, "From ", 5);
			in[p + 20] = '\n';
			memcpy(in + p + 21, "From", 4); /* not quoted */
			in[p + 40] = '\n';
			memcpy(in + p + 41, "Frm ", 4);
		}
		size_t rn, n;
		char *ref = reference(in, len, &rn);
		char *got = copy(in, len, 3, LOCAL_COPY_QUOTE, "", &n);
		assert_int_equal(n, rn);
		assert_memory_equal(got, ref, n);
		free(in);
		free(ref);
		free(got);
	}
	/* Random lines. */
	srand(7);
	for (int round = 0; round < 20; round++) {
		size_t len = 70000 + (size_t)(rand() % 140000);
		char *in = malloc(len);
		for (size_t i = 0; i < len; i++) {
			int r = rand() % 12;
			in[i] = r == 0 ? '\n' : "From XYZ>\r\0"[r % 11];
		}
		size_t rn, n;
		char *ref = reference(in, len, &rn);
		char *got = copy(in, len, 0, LOCAL_COPY_QUOTE, "", &n);
		assert_int_equal(n, rn);
		assert_memory_equal(got, ref, n);
		free(in);
		free(ref);
		free(got);
	}
}

static int seen(const char *content, const char *addr)
{
	int fd = mkfile(content, strlen(content));
	struct local_msg m = {.fd = fd, .offset = 0, .length = strlen(content)};
	int r = local_copy_seen(&m, addr);
	close(fd);
	return r;
}

static void test_seen(void **state)
{
	(void)state;
	assert_int_equal(seen("Subject: a\nDelivered-To: u@x\n\nb\n", "u@x"), 1);
	assert_int_equal(seen("delivered-to:   U@X  \n\nb\n", "u@x"), 1);
	assert_int_equal(seen("Delivered-To: u@x\r\n\r\nb\n", "u@x"), 1);
	assert_int_equal(seen("Delivered-To: v@x\n\nDelivered-To: u@x\n", "u@x"), 0);
	assert_int_equal(seen("Delivered-To: uu@x\n\n", "u@x"), 0);
	assert_int_equal(seen("X-Delivered-To: u@x\n\n", "u@x"), 0);
	assert_int_equal(seen("", "u@x"), 0);
	/* A very long header line is skipped, not matched in pieces. */
	size_t big = 100000;
	char *h = malloc(big + 64);
	strcpy(h, "Delivered-To: ");
	memset(h + 14, 'a', big);
	strcpy(h + 14 + big, "\nDelivered-To: u@x\n\n");
	assert_int_equal(seen(h, "u@x"), 1);
	free(h);
	/* Content shorter than the request says: an error. */
	int fd = mkfile("abc", 3);
	struct local_msg m = {.fd = fd, .offset = 0, .length = 10};
	assert_int_equal(local_copy_seen(&m, "u@x"), -1);
	close(fd);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbox_form),
		cmocka_unit_test(test_quote_chunks),
		cmocka_unit_test(test_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
