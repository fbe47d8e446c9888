/*
 * fuzz_map_spec.c - libFuzzer target for map specs that carry their
 * table in the spec (static:, inline:, unionmap:, pipemap:, fail:) and
 * for the access(5) search orders run against the opened map.
 *
 * Input: the first line is the spec; each further line is a lookup key,
 * tried as a plain key, as a mail address, a domain and a client
 * address.  The first byte of the key line (if any) picks the
 * access options.
 *
 * Specs that would name a file-based map type anywhere (hash:, cidr:,
 * ...) are skipped, so the fuzzer never opens files; only the five
 * in-line types are allowed before any ':'.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "log.h"
#include "map.h"

#define SEPS ", \t\r\n{}"
#define MAX_KEYS 16

static bool only_inline_types(const char *spec)
{
	static const char *const allowed[] = {"static", "inline", "unionmap",
	                                      "pipemap", "fail"};
	for (const char *c = strchr(spec, ':'); c != NULL; c = strchr(c + 1, ':')) {
		const char *start = c;
		while (start > spec && strchr(SEPS, start[-1]) == NULL)
			start--;
		size_t len = (size_t)(c - start);
		char type[64];
		if (len == 0 || len >= sizeof(type))
			continue; /* cannot name a registered type */
		memcpy(type, start, len);
		type[len] = '\0';
		if (map_type_find(type) == NULL)
			continue;
		bool ok = false;
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(type, allowed[i]) == 0)
				ok = true;
		if (!ok)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz_map_spec", 0, NULL); /* no output */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *next;
	char err[256], matched[64];
	const char *v;

	memcpy(text, data, size);
	text[size] = '\0';
	next = strchr(text, '\n');
	if (next != NULL)
		*next++ = '\0';
	if (!only_inline_types(text)) {
		free(text);
		return 0;
	}
	struct map *m = map_open(text, 0, err, sizeof(err));
	if (m == NULL) {
		free(text);
		return 0;
	}
	for (int n = 0; next != NULL && n < MAX_KEYS; n++) {
		line = next;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		unsigned char sel = (unsigned char)line[0];
		struct access_opts o = {
			.parent_style = (sel & 1) != 0,
			.delimiters = (sel & 2) ? "+-." : (sel & 4) ? "+" : NULL,
			.null_key = (sel & 8) ? "<null>" : NULL,
			.double_bounce = (sel & 16) ? "bounce-x" : NULL,
		};
		if (map_lookup(m, line, &v) == MAP_FOUND && strlen(v) > 65536)
			abort(); /* values are bounded by MAP_VALUE_MAX */
		(void)access_find_addr(m, line, &o, &v, matched, sizeof(matched));
		(void)access_find_domain(m, line, &o, &v, NULL, 0);
		(void)access_find_client_addr(m, line, &o, &v, matched, sizeof(matched));
		(void)access_ext_split(line, strlen(line), o.delimiters,
		                       o.double_bounce);
	}
	const char *k;
	for (int r = map_seq(m, true, &k, &v); r == MAP_FOUND;
	     r = map_seq(m, false, &k, &v))
		;
	map_close(m);
	free(text);
	return 0;
}
