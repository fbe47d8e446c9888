/*
 * fuzz_mime.c - libFuzzer target for the content scanner
 * (common/mime.c).  The first two bytes pick the options (small limits,
 * so that every limit is reached) and a split point; the items of the
 * message fed in two pieces must equal those of it fed whole, and
 * every item must be within its limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void collect(void *ctx, const struct mime_item *it)
{
	struct strbuf *sb = ctx;
	sb_printf(sb, "%d/%d/%d/%d/%zu:", (int)it->kind, (int)it->hclass, it->mime_hdr, it->eol,
	          it->len);
	sb_add(sb, it->text, it->len);
	if (it->kind == MIME_I_BODY && it->len > 200)
		abort(); /* line_max below */
	if (it->kind == MIME_I_HEADER && it->len > 300)
		abort(); /* header_max below */
}

static char *scan(const struct mime_opts *o, const char *p, size_t n, size_t split, int *err)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	struct mime m;
	mime_init(&m, o, collect, &sb);
	if (split > n)
		split = n;
	mime_feed(&m, p, split);
	mime_feed(&m, p + split, n - split);
	mime_finish(&m);
	*err = (int)m.err;
	mime_free(&m);
	return sb_steal(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct mime_opts o = {
		.disabled = data[0] & 1,
		.nesting_limit = (data[0] >> 1) & 7,
		.boundary_max = 1 + (data[0] >> 4),
		.header_max = 300,
		.line_max = 200,
		.strict_7bit_hdr = data[1] & 1,
		.strict_8bit_body = data[1] & 2,
		.strict_domain = data[1] & 4,
	};
	size_t split = data[1] >> 3;
	const char *p = (const char *)data + 2;
	size_t n = size - 2;
	int e1, e2;
	char *a = scan(&o, p, n, n + 1, &e1);
	char *b = scan(&o, p, n, split, &e2);
	if (strcmp(a, b) != 0 || e1 != e2)
		abort();
	free(a);
	free(b);
	return 0;
}
