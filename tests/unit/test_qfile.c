/*
 * test_qfile.c - the queue file format: a whole file written and read
 * back, cut at every byte position, mutated record by record, fields at
 * the length limit and one past, the recipient limit, the in-place
 * status update, and defer logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "proto.h"
#include "qfile.h"
#include "xalloc.h"

static char err[256];

static int tmpfd(void)
{
	char path[] = "/tmp/test_qfile.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static uint8_t *slurp(int fd, size_t *len)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *b = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	*len = (size_t)st.st_size;
	return b;
}

/* A complete file: head, content, n recipients (second with extras). */
static int make_file(const char *sender, const char *content, size_t nrcpt)
{
	struct qfile q;
	qfile_init(&q);
	q.id = xstrdup("6B03F2EE9448E");
	q.arrival = 1700000000;
	q.arrival_usec = 123456;
	q.sender = xstrdup(sender);
	q.flags = PROTO_FLAG_BOUNCE;
	q.uid = 1000;
	q.client_addr = xstrdup("192.0.2.1");
	q.client_name = xstrdup("client.example");
	q.helo = xstrdup("helo.example");
	q.protocol = xstrdup("ESMTP");
	q.ret = xstrdup("HDRS");
	q.envid = xstrdup("env-1");
	q.body = xstrdup("8BITMIME");
	q.smtputf8 = true;
	int fd = tmpfd();
	assert_int_equal(qfile_write_head(fd, &q), 0);
	size_t clen = strlen(content);
	assert_int_equal(pwrite(fd, content, clen, q.content_off), (ssize_t)clen);
	struct qfile_rcpt_in *r = xcalloc(nrcpt, sizeof(*r));
	char **names = xcalloc(nrcpt, sizeof(char *));
	for (size_t i = 0; i < nrcpt; i++) {
		names[i] = xmalloc(48);
		snprintf(names[i], 48, "u%zu@example.com", i);
		r[i].addr = names[i];
	}
	if (nrcpt > 1) {
		r[1].orcpt = "rfc822;orig@example.com";
		r[1].orig = "alias@example.com";
		r[1].notify = PROTO_NOTIFY_SUCCESS | PROTO_NOTIFY_FAILURE;
	}
	assert_int_equal(qfile_write_commit(fd, &q, (off_t)clen, r, nrcpt), 0);
	for (size_t i = 0; i < nrcpt; i++)
		free(names[i]);
	free(names);
	free(r);
	qfile_free(&q);
	return fd;
}

static void test_roundtrip(void **state)
{
	(void)state;
	const char *content = "Subject: hi\n\nbody\n";
	int fd = make_file("alice@example.com", content, 3);
	struct qfile q;
	assert_true(qfile_parse_fd(fd, &q, err, sizeof(err)));
	assert_string_equal(q.id, "6B03F2EE9448E");
	assert_string_equal(q.sender, "alice@example.com");
	assert_true(q.arrival == 1700000000);
	assert_int_equal(q.arrival_usec, 123456);
	assert_int_equal(q.flags, PROTO_FLAG_BOUNCE);
	assert_int_equal(q.uid, 1000);
	assert_string_equal(q.client_addr, "192.0.2.1");
	assert_string_equal(q.helo, "helo.example");
	assert_string_equal(q.ret, "HDRS");
	assert_string_equal(q.envid, "env-1");
	assert_string_equal(q.body, "8BITMIME");
	assert_true(q.smtputf8);
	assert_false(q.warned);
	assert_true(q.warned_off > 0);
	assert_null(q.sasl_user);
	assert_int_equal(q.content_len, strlen(content));
	char buf[64] = {0};
	assert_int_equal(pread(fd, buf, (size_t)q.content_len, q.content_off), q.content_len);
	assert_string_equal(buf, content);
	assert_int_equal(q.nrcpts, 3);
	assert_string_equal(q.rcpts[0].addr, "u0@example.com");
	assert_null(q.rcpts[0].orcpt);
	assert_int_equal(q.rcpts[0].notify, 0);
	assert_string_equal(q.rcpts[1].orcpt, "rfc822;orig@example.com");
	assert_string_equal(q.rcpts[1].orig, "alias@example.com");
	assert_int_equal(q.rcpts[1].notify, PROTO_NOTIFY_SUCCESS | PROTO_NOTIFY_FAILURE);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(q.rcpts[i].status, QFILE_ST_PENDING);

	/* The status byte is updated in place and read back. */
	assert_int_equal(qfile_set_status(fd, q.rcpts[1].status_off, QFILE_ST_DONE), 0);
	assert_int_equal(qfile_set_status(fd, q.rcpts[2].status_off, QFILE_ST_FAILED), 0);
	assert_int_equal(qfile_set_status(fd, q.warned_off, '1'), 0);
	qfile_free(&q);
	assert_true(qfile_parse_fd(fd, &q, err, sizeof(err)));
	assert_true(q.warned);
	assert_int_equal(q.rcpts[0].status, QFILE_ST_PENDING);
	assert_int_equal(q.rcpts[1].status, QFILE_ST_DONE);
	assert_int_equal(q.rcpts[2].status, QFILE_ST_FAILED);
	qfile_free(&q);

	/* The same bytes from memory. */
	size_t len;
	uint8_t *b = slurp(fd, &len);
	assert_true(qfile_parse_mem(b, len, &q, err, sizeof(err)));
	assert_string_equal(q.rcpts[2].addr, "u2@example.com");
	qfile_free(&q);
	free(b);
	close(fd);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	int fd = make_file("", "Subject: x\n\n\n", 2);
	size_t len;
	uint8_t *b = slurp(fd, &len);
	struct qfile q;
	for (size_t i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so a read past it is an ASan error. */
		uint8_t *cut = xmalloc(i ? i : 1);
		memcpy(cut, b, i);
		if (qfile_parse_mem(cut, i, &q, err, sizeof(err)))
			fail_msg("a file cut at %zu of %zu bytes parsed", i, len);
		free(cut);
	}
	assert_true(qfile_parse_mem(b, len, &q, err, sizeof(err)));
	qfile_free(&q);
	/* One byte more is data after the end record. */
	uint8_t *more = xmalloc(len + 1);
	memcpy(more, b, len);
	more[len] = 'E';
	assert_false(qfile_parse_mem(more, len + 1, &q, err, sizeof(err)));
	free(more);
	free(b);
	close(fd);
}

/* Build files record by record for malformed cases. */
struct fb {
	uint8_t b[65536];
	size_t n;
};

static void rec(struct fb *f, char type, const void *data, size_t n)
{
	f->b[f->n++] = (uint8_t)type;
	for (int i = 3; i >= 0; i--)
		f->b[f->n++] = (uint8_t)(n >> (8 * i));
	memcpy(f->b + f->n, data, n);
	f->n += n;
}

static void recs(struct fb *f, char type, const char *s)
{
	rec(f, type, s, strlen(s));
}

static void content(struct fb *f, const char *s, uint64_t claimed)
{
	f->b[f->n++] = 'C';
	for (int i = 7; i >= 0; i--)
		f->b[f->n++] = (uint8_t)(claimed >> (8 * i));
	memcpy(f->b + f->n, s, strlen(s));
	f->n += strlen(s);
}

static void head(struct fb *f)
{
	f->n = 0;
	recs(f, 'V', "1");
	recs(f, 'I', "ID");
	recs(f, 'T', "1.5");
	recs(f, 'S', "s@x");
}

static bool parses(struct fb *f)
{
	struct qfile q;
	bool ok = qfile_parse_mem(f->b, f->n, &q, err, sizeof(err));
	if (ok)
		qfile_free(&q);
	return ok;
}

static void test_malformed(void **state)
{
	(void)state;
	static struct fb f;

	head(&f); content(&f, "ab", 2); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_true(parses(&f));
	/* Wrong version, or no version first. */
	head(&f); f.b[5] = '2'; content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	f.n = 0; recs(&f, 'I', "ID"); recs(&f, 'V', "1");
	assert_false(parses(&f));
	/* A repeated head record. */
	head(&f); recs(&f, 'S', "t@x"); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* Unknown record types, in the head and after the content. */
	head(&f); recs(&f, 'Z', "?"); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); content(&f, "", 0); recs(&f, 'R', "Pr@x"); recs(&f, 'S', "x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* A required head record missing. */
	f.n = 0; recs(&f, 'V', "1"); recs(&f, 'I', "ID"); recs(&f, 'T', "1.5");
	content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* Content length one past the end of the file. */
	head(&f); content(&f, "ab", 3);
	assert_false(parses(&f));
	head(&f); content(&f, "ab", UINT64_MAX);
	assert_false(parses(&f));
	/* No recipients; a bad status byte; an empty address. */
	head(&f); content(&f, "", 0); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); content(&f, "", 0); recs(&f, 'R', "Zr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); content(&f, "", 0); recs(&f, 'R', "P"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* Recipient extras before any recipient, or twice. */
	head(&f); content(&f, "", 0); recs(&f, 'O', "rfc822;a"); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); content(&f, "", 0); recs(&f, 'R', "Pr@x"); recs(&f, 'N', "2"); recs(&f, 'N', "4"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* A delay warning byte other than 0 or 1. */
	head(&f); recs(&f, 'w', "2"); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); recs(&f, 'w', "1"); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_true(parses(&f));
	/* NOTIFY out of range; bad time; bad uid. */
	head(&f); content(&f, "", 0); recs(&f, 'R', "Pr@x"); recs(&f, 'N', "16"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	f.n = 0; recs(&f, 'V', "1"); recs(&f, 'I', "ID"); recs(&f, 'T', "1.1000000"); recs(&f, 'S', "");
	content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	head(&f); recs(&f, 'U', "99999999999"); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* A NUL inside a string. */
	head(&f); content(&f, "", 0); rec(&f, 'R', "Pr\0x", 4); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* An end record with data; a length field of 0xffffffff. */
	head(&f); content(&f, "", 0); recs(&f, 'R', "Pr@x"); recs(&f, 'E', "x");
	assert_false(parses(&f));
	head(&f); content(&f, "", 0); f.b[f.n++] = 'R'; memset(f.b + f.n, 0xff, 4); f.n += 4;
	assert_false(parses(&f));
	/* Empty input. */
	f.n = 0;
	assert_false(parses(&f));
}

static void test_limits(void **state)
{
	(void)state;
	static struct fb f;
	char *big = xmalloc(QFILE_FIELD_MAX + 3);

	/* A head field at the limit parses, one past does not. */
	memset(big, 'a', QFILE_FIELD_MAX + 2);
	big[QFILE_FIELD_MAX] = '\0';
	head(&f); recs(&f, 'e', big); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_true(parses(&f));
	big[QFILE_FIELD_MAX] = 'a';
	big[QFILE_FIELD_MAX + 1] = '\0';
	head(&f); recs(&f, 'e', big); content(&f, "", 0); recs(&f, 'R', "Pr@x"); rec(&f, 'E', "", 0);
	assert_false(parses(&f));
	/* A recipient: status byte plus an address at the limit, and one past. */
	big[0] = 'P';
	big[QFILE_FIELD_MAX + 1] = '\0';
	head(&f); content(&f, "", 0); recs(&f, 'R', big); rec(&f, 'E', "", 0);
	assert_true(parses(&f));
	big[QFILE_FIELD_MAX + 1] = 'a';
	big[QFILE_FIELD_MAX + 2] = '\0';
	head(&f); content(&f, "", 0); recs(&f, 'R', big); rec(&f, 'E', "", 0);
	assert_false(parses(&f));

	/* The writer refuses what the parser would refuse. */
	struct qfile q;
	qfile_init(&q);
	q.id = xstrdup("X");
	q.sender = xstrdup(big + 1); /* QFILE_FIELD_MAX + 1 bytes */
	int fd = tmpfd();
	assert_int_equal(qfile_write_head(fd, &q), -1);
	assert_int_equal(errno, EINVAL);
	big[QFILE_FIELD_MAX + 1] = '\0';
	free(q.sender);
	q.sender = xstrdup(big + 1); /* QFILE_FIELD_MAX bytes */
	assert_int_equal(qfile_write_head(fd, &q), 0);
	struct qfile_rcpt_in r = {.addr = big + 1};
	assert_int_equal(qfile_write_commit(fd, &q, 0, &r, 1), 0);
	struct qfile p;
	assert_true(qfile_parse_fd(fd, &p, err, sizeof(err)));
	assert_int_equal(strlen(p.rcpts[0].addr), QFILE_FIELD_MAX);
	qfile_free(&p);
	qfile_free(&q);
	close(fd);
	free(big);
}

static void test_rcpt_limit(void **state)
{
	(void)state;
	int fd = make_file("s@x", "", QFILE_RCPTS_MAX);
	struct qfile q;
	assert_true(qfile_parse_fd(fd, &q, err, sizeof(err)));
	assert_int_equal(q.nrcpts, QFILE_RCPTS_MAX);
	/* One more recipient record after the last: refused. */
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t extra[] = {'R', 0, 0, 0, 4, 'P', 'a', '@', 'b', 'E', 0, 0, 0, 0};
	assert_int_equal(pwrite(fd, extra, sizeof(extra), end - 5), (ssize_t)sizeof(extra));
	qfile_free(&q);
	assert_false(qfile_parse_fd(fd, &q, err, sizeof(err)));
	assert_non_null(strstr(err, "recipients"));
	close(fd);
	/* The writer refuses none and too many. */
	fd = tmpfd();
	qfile_init(&q);
	q.id = xstrdup("X");
	assert_int_equal(qfile_write_head(fd, &q), 0);
	struct qfile_rcpt_in r = {.addr = "a@b"};
	assert_int_equal(qfile_write_commit(fd, &q, 0, &r, 0), -1);
	assert_int_equal(qfile_write_commit(fd, &q, 0, &r, QFILE_RCPTS_MAX + 1), -1);
	qfile_free(&q);
	close(fd);
}

struct seen {
	int n;
	char buf[256];
};

static void reason_cb(void *arg, size_t index, const char *status, const char *text)
{
	struct seen *s = arg;
	size_t used = strlen(s->buf);
	snprintf(s->buf + used, sizeof(s->buf) - used, "%zu|%s|%s;", index, status, text);
	s->n++;
}

static void test_reasons(void **state)
{
	(void)state;
	int fd = tmpfd();
	assert_int_equal(qfile_reason_append(fd, 0, "4.2.0", "mailbox busy"), 0);
	assert_int_equal(qfile_reason_append(fd, 7, "4.4.1", "connect to x: refused"), 0);
	size_t len;
	uint8_t *b = slurp(fd, &len);
	struct seen s = {0};
	assert_true(qfile_reasons_parse(b, len, reason_cb, &s, err, sizeof(err)));
	assert_string_equal(s.buf, "0|4.2.0|mailbox busy;7|4.4.1|connect to x: refused;");
	for (size_t i = 1; i < len; i++) {
		memset(&s, 0, sizeof(s));
		uint8_t *cut = xmalloc(i);
		memcpy(cut, b, i);
		bool ok = qfile_reasons_parse(cut, i, reason_cb, &s, err, sizeof(err));
		free(cut);
		/* Only a cut exactly after the first record is a valid log. */
		if (ok)
			assert_int_equal(s.n, 1);
	}
	free(b);
	/* A very long reason is cut, not refused. */
	char *lng = xmalloc(3 * QFILE_REASON_MAX);
	memset(lng, 'x', 3 * QFILE_REASON_MAX - 1);
	lng[3 * QFILE_REASON_MAX - 1] = '\0';
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(qfile_reason_append(fd, 1, "4.0.0", lng), 0);
	b = slurp(fd, &len);
	memset(&s, 0, sizeof(s));
	assert_true(qfile_reasons_parse(b, len, reason_cb, &s, err, sizeof(err)));
	assert_int_equal(s.n, 1);
	/* Malformed: no index. */
	uint8_t bad[] = {'W', 0, 0, 0, 5, 'x', ' ', '4', ' ', 't'};
	assert_false(qfile_reasons_parse(bad, sizeof(bad), reason_cb, &s, err, sizeof(err)));
	free(b);
	free(lng);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_rcpt_limit),
		cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
