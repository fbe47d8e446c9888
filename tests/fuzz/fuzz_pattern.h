/*
 * fuzz_pattern.h - the body shared by the regexp:, pcre: and cidr:
 * fuzz targets.  The input is a table source: it is written to a
 * memfd and opened through map_open("TYPE:/proc/self/fd/N"), or, when
 * it starts with '{', passed as Postfix 3.7's inline table in the spec
 * itself.  Lines starting "#k " (comments to the table) are lookup
 * keys, tried after a fixed set of keys.
 */
#ifndef POSTERN_FUZZ_PATTERN_H
#define POSTERN_FUZZ_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "map.h"

static const char *const fuzz_fixed_keys[] = {
	"", "a", "abc", "user@example.com", "1.2.3.4", "192.168.1.1", "::1",
	"2001:db8::1", "foo\nbar", "$1", NULL,
};

static void fuzz_lookups(struct map *m, const char *text)
{
	const char *v;
	for (size_t i = 0; fuzz_fixed_keys[i] != NULL; i++)
		(void)map_lookup(m, fuzz_fixed_keys[i], &v);
	int n = 0;
	for (const char *p = text; p != NULL && *p && n < 16;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= 3 && memcmp(p, "#k ", 3) == 0) {
			char *key = strndup(p + 3, len - 3);
			if (key != NULL) {
				(void)map_lookup(m, key, &v);
				free(key);
			}
			n++;
		}
		p = nl ? nl + 1 : NULL;
	}
}

static int fuzz_pattern_one(const char *type, const uint8_t *data, size_t size)
{
	static bool quiet;
	char spec[64], err[512];
	struct map *m;

	if (!quiet) {
		log_init("fuzz", 0, NULL);
		quiet = true;
	}
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (size > 0 && data[0] == '{' && memchr(data, '\0', size) == NULL) {
		size_t sl = strlen(type) + 1 + size + 1;
		char *ispec = malloc(sl);
		if (ispec != NULL) {
			snprintf(ispec, sl, "%s:%s", type, text);
			m = map_open(ispec, 0, err, sizeof(err));
			if (m != NULL) {
				fuzz_lookups(m, text);
				map_close(m);
			}
			free(ispec);
		}
		free(text);
		return 0;
	}
	int fd = memfd_create("fuzz-table", MFD_CLOEXEC);
	if (fd < 0) {
		free(text);
		return 0;
	}
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(spec, sizeof(spec), "%s:/proc/self/fd/%d", type, fd);
		m = map_open(spec, 0, err, sizeof(err));
		if (m != NULL) {
			fuzz_lookups(m, text);
			map_close(m);
		}
	}
	close(fd);
	free(text);
	return 0;
}

#endif
