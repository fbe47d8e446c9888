/*
 * fuzz_aliases.c - libFuzzer target for the aliases(5) parser: the
 * input is a whole aliases file read through mapsrc.  Each entry must
 * have a non-empty bounded name and value; the normalised value is
 * parsed again as the value of a fresh line and must come out the
 * same (postalias's canonical form is a fixed point), except where the
 * first pass closed an unterminated quote or comment.
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
	struct strbuf line, k2, v2;
	const char *k, *v;
	int r;
	char err[256];
	sb_init(&line, 0);
	sb_init(&k2, MAP_KEY_MAX + 1);
	sb_init(&v2, MAP_VALUE_MAX + 1);
	mapsrc_init(&s, fp, "fuzz", MAPSRC_ALIASES);
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
		/* Re-parse "x: value": must succeed, and be stable. */
		sb_reset(&line);
		sb_adds(&line, "x: ");
		sb_adds(&line, v);
		r = mapsrc_parse_alias(line.s, &k2, &v2, err, sizeof(err));
		if (r == MAPSRC_SKIP && strspn(v, ", ") == vl)
			continue; /* only empty elements: nothing to re-parse */
		if (r != MAPSRC_ENTRY && r != MAPSRC_FAIL)
			abort();
		if (r == MAPSRC_ENTRY && strchr(v, '(') == NULL &&
		    strcmp(v2.s, v) != 0)
			abort();
	}
	mapsrc_free(&s);
	sb_free(&line);
	sb_free(&k2);
	sb_free(&v2);
	fclose(fp);
	return 0;
}
