/*
 * fuzz_mapsrc.c - libFuzzer target for the postmap source parser: the
 * input is a whole table source file, read through mapsrc (lreader's
 * logical lines, then "key whitespace value" with quotes).  Each entry
 * is checked against the parser's promises: bounded, non-empty key and
 * value, no white space at either end of the value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "mapsrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *fp = fmemopen((void *)data, size, "r");
	if (fp == NULL)
		return 0;
	struct mapsrc s;
	const char *k, *v;
	int r;
	mapsrc_init(&s, fp, "fuzz", MAPSRC_POSTMAP);
	while ((r = mapsrc_next(&s, &k, &v)) != MAPSRC_EOF) {
		if (r != MAPSRC_ENTRY) {
			if (s.err[0] == '\0')
				abort();
			if (r == MAPSRC_FAIL && s.lr.io_error)
				break;
			continue;
		}
		size_t kl = strlen(k), vl = strlen(v);
		if (kl == 0 || kl > MAP_KEY_MAX || vl == 0 || vl > MAP_VALUE_MAX)
			abort();
		if (v[0] == ' ' || v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t')
			abort();
	}
	mapsrc_free(&s);
	fclose(fp);
	return 0;
}
