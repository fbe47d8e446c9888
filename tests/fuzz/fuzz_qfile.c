/*
 * fuzz_qfile.c - libFuzzer target for the queue file parser and the
 * defer log parser (common/qfile.c): whatever the bytes, no crash, no
 * read outside them, no leak; what parses has consistent offsets.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reason_cb(void *arg, size_t index, const char *status, const char *text)
{
	(void)arg, (void)index;
	if (strlen(status) + strlen(text) > 1u << 20)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct qfile q;
	if (qfile_parse_mem(data, size, &q, err, sizeof(err))) {
		if (q.content_off < 0 || q.content_len < 0 ||
		    (uint64_t)q.content_off + (uint64_t)q.content_len > size || q.nrcpts == 0)
			abort();
		for (size_t i = 0; i < q.nrcpts; i++)
			if (q.rcpts[i].status_off <= 0 || (size_t)q.rcpts[i].status_off >= size ||
			    data[q.rcpts[i].status_off] != (uint8_t)q.rcpts[i].status)
				abort();
		qfile_free(&q);
	}
	(void)qfile_reasons_parse(data, size, reason_cb, NULL, err, sizeof(err));
	return 0;
}
