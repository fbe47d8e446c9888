/*
 * map_pattern_util.h - helpers shared by the regexp:, pcre: and cidr:
 * unit tests: write a table to a temporary file, open it, query it,
 * and capture the warnings the open logs.  Included by one test
 * program at a time, so everything here is static.
 */
#ifndef POSTERN_TEST_MAP_PATTERN_UTIL_H
#define POSTERN_TEST_MAP_PATTERN_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "map.h"
#include "strbuf.h"

static char tu_err[512];
static char tu_path[64];
static char tu_spec[128];
static int tu_saved_stderr = -1;
static FILE *tu_capture;
static char tu_warnings[65536];

/* Write text to a fresh temporary file; returns "type:/tmp/...". */
static __attribute__((unused)) const char *tu_table(const char *type, const char *text)
{
	if (tu_path[0] != '\0')
		unlink(tu_path);
	snprintf(tu_path, sizeof(tu_path), "/tmp/postern-test-XXXXXX");
	int fd = mkstemp(tu_path);
	if (fd < 0)
		fail_msg("mkstemp failed");
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		fail_msg("write failed");
	close(fd);
	snprintf(tu_spec, sizeof(tu_spec), "%s:%s", type, tu_path);
	return tu_spec;
}

static __attribute__((unused)) void tu_cleanup(void)
{
	if (tu_path[0] != '\0')
		unlink(tu_path);
	tu_path[0] = '\0';
}

/* Start collecting stderr (where log_warn writes) into a buffer. */
static __attribute__((unused)) void tu_capture_begin(void)
{
	fflush(stderr);
	tu_capture = tmpfile();
	if (tu_capture == NULL)
		fail_msg("tmpfile failed");
	tu_saved_stderr = dup(2);
	dup2(fileno(tu_capture), 2);
}

static __attribute__((unused)) const char *tu_capture_end(void)
{
	fflush(stderr);
	dup2(tu_saved_stderr, 2);
	close(tu_saved_stderr);
	rewind(tu_capture);
	size_t n = fread(tu_warnings, 1, sizeof(tu_warnings) - 1, tu_capture);
	tu_warnings[n] = '\0';
	fclose(tu_capture);
	return tu_warnings;
}

/* Open a table given as text; fails the test if the open fails. */
static __attribute__((unused)) struct map *tu_open(const char *type, const char *text)
{
	const char *spec = tu_table(type, text);
	tu_capture_begin();
	struct map *m = map_open(spec, 0, tu_err, sizeof(tu_err));
	tu_capture_end();
	if (m == NULL)
		fail_msg("open %s: %s", spec, tu_err);
	return m;
}

/* Open a table and return the warnings logged while reading it. */
static __attribute__((unused)) const char *tu_open_warnings(const char *type, const char *text,
                                    struct map **mp)
{
	const char *spec = tu_table(type, text);
	tu_capture_begin();
	struct map *m = map_open(spec, 0, tu_err, sizeof(tu_err));
	const char *w = tu_capture_end();
	if (m == NULL)
		fail_msg("open %s: %s", spec, tu_err);
	if (mp != NULL)
		*mp = m;
	else
		map_close(m);
	return w;
}

/* The open must fail with an error that contains errpart. */
static __attribute__((unused)) void tu_open_fails(const char *type, const char *text, const char *errpart)
{
	const char *spec = tu_table(type, text);
	tu_capture_begin();
	struct map *m = map_open(spec, 0, tu_err, sizeof(tu_err));
	tu_capture_end();
	if (m != NULL) {
		map_close(m);
		fail_msg("open %s succeeded", spec);
	}
	if (strstr(tu_err, errpart) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", tu_err, errpart);
}

/* want NULL: the key must not be found. */
static __attribute__((unused)) void tu_expect(struct map *m, const char *key, const char *want)
{
	const char *v = NULL;
	int r = map_lookup(m, key, &v);
	if (want == NULL) {
		if (r != MAP_NOTFOUND)
			fail_msg("%s -q \"%s\": want not found, got %d (%s)", m->spec,
			         key, r, r == MAP_FOUND ? v : m->err);
		return;
	}
	if (r != MAP_FOUND)
		fail_msg("%s -q \"%s\": want \"%s\", got %d (%s)", m->spec, key,
		         want, r, m->err);
	if (strcmp(v, want) != 0)
		fail_msg("%s -q \"%s\": want \"%s\", got \"%s\"", m->spec, key,
		         want, v);
}

/* One table, several "key", "want" pairs; a NULL want is not found. */
static __attribute__((unused)) void tu_check(const char *type, const char *text, ...)
{
	struct map *m = tu_open(type, text);
	va_list ap;
	va_start(ap, text);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *want = va_arg(ap, const char *);
		tu_expect(m, key, want);
	}
	va_end(ap);
	map_close(m);
}

/* The warnings must contain part. */
static __attribute__((unused)) void tu_has(const char *warnings, const char *part)
{
	if (strstr(warnings, part) == NULL)
		fail_msg("warnings lack \"%s\":\n%s", part, warnings);
}

/* A line of exactly len bytes: prefix, then fill up with 'x'. */
static __attribute__((unused)) char *tu_long_line(const char *prefix, size_t len)
{
	size_t pl = strlen(prefix);
	char *s = malloc(len + 2);
	if (s == NULL || pl > len)
		fail_msg("tu_long_line");
	memcpy(s, prefix, pl);
	memset(s + pl, 'x', len - pl);
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}


/*
 * A table line exactly MAP_LINE_MAX bytes long works; one byte more is
 * skipped with a warning and the next line still counts.  prefix is
 * "RULE " whose result the long line fills up; key matches RULE.
 */
static __attribute__((unused)) void tu_line_limits(const char *type, const char *prefix,
                                                   const char *key)
{
	char *at = tu_long_line(prefix, MAP_LINE_MAX);
	struct map *m = tu_open(type, at);
	const char *v;
	assert_int_equal(map_lookup(m, key, &v), MAP_FOUND);
	assert_int_equal(strlen(v), MAP_LINE_MAX - strlen(prefix));
	map_close(m);
	free(at);

	char *over = tu_long_line(prefix, MAP_LINE_MAX + 1);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_adds(&sb, over);
	sb_printf(&sb, "%sshort\n", prefix);
	const char *w = tu_open_warnings(type, sb.s, &m);
	tu_has(w, "line 1: line longer than");
	tu_expect(m, key, "short");
	map_close(m);
	sb_free(&sb);
	free(over);
}

#endif
