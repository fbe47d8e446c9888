/*
 * fuzz_smtp_data.c - libFuzzer target for smtpd's DATA/BDAT decoder
 * (smtpd/smtpd_data.c, compiled in).  The first byte picks the mode and
 * a split point; feeding the rest in two pieces must give the same
 * output as feeding it whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../smtpd/smtpd_data.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(struct sdata *d, const char *p, size_t n, size_t split, size_t *total,
                 enum sdata_result *res)
{
	size_t used = 0;
	*res = SDATA_MORE;
	*total = 0;
	if (split > n)
		split = n;
	*res = sdata_feed(d, p, split, &used);
	*total = used;
	if (*res == SDATA_MORE) {
		*res = sdata_feed(d, p + split, n - split, &used);
		*total += used;
	}
	sdata_finish(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool dot = data[0] & 1, reject = data[0] & 2;
	size_t split = data[0] >> 2;
	const char *p = (const char *)data + 1;
	size_t n = size - 1, t1, t2;
	enum sdata_result r1, r2;
	struct sdata a, b;
	sdata_init(&a, dot, reject, (data[0] & 0x80) ? 64 : 0);
	sdata_init(&b, dot, reject, (data[0] & 0x80) ? 64 : 0);
	feed(&a, p, n, n, &t1, &r1);
	feed(&b, p, n, split, &t2, &r2);
	if (r1 != r2 || t1 != t2 || a.out.len != b.out.len ||
	    memcmp(a.out.s, b.out.s, a.out.len) != 0 || a.size != b.size)
		__builtin_trap();
	if (a.out.len > n + 2)
		__builtin_trap();
	(void)sdata_msgid(&a);
	sdata_free(&a);
	sdata_free(&b);
	return 0;
}
