/*
 * fuzz_dsn.c - libFuzzer target for DSN composition (queue/dsn.c): the
 * input is split into envelope values (sender, recipient, ORCPT, ENVID,
 * diagnostic) and a returned message; the output must hold no CR, no
 * header line longer than 998 bytes, and its boundary must occur only as
 * the part delimiters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../queue/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next NUL-separated piece of the input. */
static char *piece(const uint8_t **p, size_t *left)
{
	const uint8_t *z = memchr(*p, 0, *left);
	size_t n = z != NULL ? (size_t)(z - *p) : *left;
	char *s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += z != NULL ? n + 1 : n;
	*left -= z != NULL ? n + 1 : n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int kind = data[0] % 3;
	size_t limit = data[1] * 16;
	const uint8_t *p = data + 2;
	size_t left = size - 2;
	char *sender = piece(&p, &left), *addr = piece(&p, &left), *orcpt = piece(&p, &left);
	char *envid = piece(&p, &left), *diag = piece(&p, &left);
	int in_fd = memfd_create("in", 0), out_fd = memfd_create("out", 0);
	if (in_fd < 0 || out_fd < 0)
		abort();
	if (left > 0 && write(in_fd, p, left) != (ssize_t)left)
		abort();
	struct dsn_rcpt r = {.addr = addr, .orcpt = orcpt, .status = "5.1.1",
	                     .action = "failed", .diag = diag, .remote_mta = envid};
	struct dsn_input in = {.reporting_mta = "mx.example", .queue_id = "ABC",
	                       .sender = sender[0] ? sender : "s@x", .envid = envid,
	                       .ret = kind ? "HDRS" : NULL, .arrival = 0, .kind = kind,
	                       .rcpts = &r, .nrcpts = 1, .content_fd = in_fd,
	                       .content_off = 0, .content_len = (off_t)left,
	                       .max_returned = limit};
	char err[256];
	if (dsn_compose(&in, out_fd, err, sizeof(err)) != 0) {
		fprintf(stderr, "dsn_compose: %s\n", err);
		abort();
	}
	off_t n = lseek(out_fd, 0, SEEK_END);
	char *out = malloc((size_t)n + 1);
	if (pread(out_fd, out, (size_t)n, 0) != n)
		abort();
	out[n] = '\0';
	/* The Content-Type header at the start of a line: the To: field may
	 * quote a sender that itself holds "boundary=\"" (continuation lines
	 * of a folded field start with white space, so cannot match). */
	static const char ct[] = "\nContent-Type: multipart/report; "
	                         "report-type=delivery-status;\n\tboundary=\"";
	char *b = strstr(out, ct);
	if (b == NULL)
		abort();
	b += sizeof(ct) - 1;
	char *e = strchr(b, '"');
	char bnd[128];
	snprintf(bnd, sizeof(bnd), "\n--%.*s\n", (int)(e - b), b);
	/* The boundary occurs only as the delimiters: three parts (two when
	 * nothing is returned) and the close. */
	char bare[128];
	snprintf(bare, sizeof(bare), "%.*s", (int)(e - b), b);
	int count = 0;
	for (char *q = out; (q = memmem(q, (size_t)(out + n - q), bare, strlen(bare))) != NULL; q++)
		count++;
	if (count != (limit > 0 ? 5 : 4)) /* +1: the Content-Type parameter */
		abort();
	/* Up to the returned message (the third part): no CR, lines within
	 * 998 bytes. */
	char *part = out;
	for (int i = 0; i < 3 && part != NULL; i++)
		part = memmem(part + 1, (size_t)(out + n - part - 1), bnd, strlen(bnd));
	size_t check_len = part != NULL ? (size_t)(part - out) : (size_t)n;
	size_t col = 0;
	for (size_t i = 0; i < check_len; i++) {
		if (out[i] == '\r')
			abort();
		col = out[i] == '\n' ? 0 : col + 1;
		if (col > 998)
			abort();
	}
	free(out);
	close(in_fd);
	close(out_fd);
	free(sender), free(addr), free(orcpt), free(envid), free(diag);
	return 0;
}
