/*
 * fuzz_smtp_reply.c - libFuzzer target for the smtp client's reply
 * reader and parser (delivery/smtp_reply.c): the input is what a remote
 * server sends, read in pieces whose sizes come from the input's first
 * byte, replies parsed until the reader gives up.  Checks the bounds the
 * parser promises: text and body NUL-terminated within their arrays,
 * line count within SMTPC_REPLY_LINES_MAX, a code of 200..599.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t left, chunk;
};

static ssize_t rd(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	if (s->left == 0)
		return 0;
	size_t n = len < s->chunk ? len : s->chunk;
	if (n > s->left)
		n = s->left;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	return (ssize_t)n;
}

static struct smtp_rbuf rb;
static struct smtp_reply r;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct src s = {.p = data + 1, .left = size - 1, .chunk = (size_t)data[0] + 1};
	smtp_rbuf_init(&rb, rd, &s);
	for (int i = 0; i < 10000; i++) {
		enum smtp_reply_err e = smtp_reply_read(&rb, &r);
		if (e != SMTP_REPLY_OK)
			break;
		if (r.code < 200 || r.code > 599 || r.nlines == 0 ||
		    r.nlines > SMTPC_REPLY_LINES_MAX ||
		    memchr(r.text, '\0', sizeof(r.text)) == NULL ||
		    memchr(r.body, '\0', sizeof(r.body)) == NULL ||
		    memchr(r.dsn, '\0', sizeof(r.dsn)) == NULL || r.dsn[0] != '0' + r.code / 100)
			abort();
		(void)smtp_reply_ehlo_has(&r, "PIPELINING", NULL, NULL);
		const char *p;
		size_t pl;
		if (smtp_reply_ehlo_has(&r, "SIZE", &p, &pl) && p + pl > r.body + sizeof(r.body))
			abort();
	}
	return 0;
}
