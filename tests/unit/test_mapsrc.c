/*
 * test_mapsrc.c - the postmap and aliases(5) source parser: single
 * lines, whole files fed at once and one byte at a time, lengths at the
 * limits and one past them.  Expected alias values were produced by
 * Debian's postalias 3.7 from the same input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "mapsrc.h"

static char err[512];

static int line(const char *in, char **k, char **v)
{
	static char buf[MAP_LINE_MAX + 16];
	snprintf(buf, sizeof(buf), "%s", in);
	return mapsrc_parse_line(buf, k, v, err, sizeof(err));
}

static void test_line_basic(void **state)
{
	char *k, *v;
	(void)state;
	assert_int_equal(line("Key value", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "Key"); /* folding is the map's business */
	assert_string_equal(v, "value");
	assert_int_equal(line("k\t \tv a l  \t", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "k");
	assert_string_equal(v, "v a l");
	assert_int_equal(line("k v # not a comment", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(v, "v # not a comment");
}

static void test_line_quotes(void **state)
{
	char *k, *v;
	(void)state;
	/* postmap keeps quotes and backslashes in the stored key */
	assert_int_equal(line("\"a b\" v1", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "\"a b\"");
	assert_string_equal(v, "v1");
	assert_int_equal(line("\"q\\\"x\" v2", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "\"q\\\"x\"");
	assert_int_equal(line("a\\ b v", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "a\\ b");
	assert_int_equal(line("e\\\"f g", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "e\\\"f");
	assert_int_equal(line("\"m\"n\"o p\" v3", &k, &v), MAPSRC_ENTRY);
	assert_string_equal(k, "\"m\"n\"o p\"");
	assert_int_equal(line("\"unterminated v3", &k, &v), MAPSRC_SKIP);
	assert_non_null(strstr(err, "unbalanced"));
	assert_int_equal(line("k\"q v6", &k, &v), MAPSRC_SKIP);
}

static void test_line_bad(void **state)
{
	char *k, *v;
	(void)state;
	assert_int_equal(line("onlykey", &k, &v), MAPSRC_SKIP);
	assert_string_equal(err, "expected format: key whitespace value");
	assert_int_equal(line("k   ", &k, &v), MAPSRC_SKIP);
	assert_int_equal(line("z\\", &k, &v), MAPSRC_SKIP);
	assert_int_equal(line("", &k, &v), MAPSRC_SKIP);
	assert_int_equal(line(" v", &k, &v), MAPSRC_SKIP);
}

static void test_line_key_limit(void **state)
{
	char *k, *v;
	char *buf = malloc(MAP_KEY_MAX + 8);
	(void)state;
	memset(buf, 'k', MAP_KEY_MAX);
	strcpy(buf + MAP_KEY_MAX, " v");
	assert_int_equal(line(buf, &k, &v), MAPSRC_ENTRY);
	assert_int_equal(strlen(k), MAP_KEY_MAX);
	memset(buf, 'k', MAP_KEY_MAX + 1);
	strcpy(buf + MAP_KEY_MAX + 1, " v");
	assert_int_equal(line(buf, &k, &v), MAPSRC_FAIL);
	assert_non_null(strstr(err, "key longer"));
	free(buf);
}

/* A stream that hands out one byte per read. */
struct drip {
	const char *p;
	size_t left;
};

static ssize_t drip_read(void *c, char *buf, size_t n)
{
	struct drip *d = c;
	if (d->left == 0 || n == 0)
		return 0;
	buf[0] = *d->p++;
	d->left--;
	return 1;
}

static FILE *open_text(const char *text, size_t len, bool drip, struct drip *d)
{
	if (!drip)
		return fmemopen((void *)text, len, "r");
	d->p = text;
	d->left = len;
	cookie_io_functions_t io = {.read = drip_read};
	return fopencookie(d, "r", io);
}

/* Run a whole source through mapsrc; results as "R|key|value|err\n". */
static char *run(const char *text, size_t len, enum mapsrc_kind kind, bool drip)
{
	struct drip d;
	FILE *fp = open_text(text, len, drip, &d);
	assert_non_null(fp);
	struct mapsrc s;
	struct strbuf out;
	const char *k, *v;
	int r;
	sb_init(&out, 0);
	mapsrc_init(&s, fp, "src", kind);
	while ((r = mapsrc_next(&s, &k, &v)) != MAPSRC_EOF) {
		if (r == MAPSRC_ENTRY)
			sb_printf(&out, "E|%s|%s\n", k, v);
		else
			sb_printf(&out, "%c|%s\n", r == MAPSRC_SKIP ? 'S' : 'F', s.err);
	}
	mapsrc_free(&s);
	fclose(fp);
	return sb_steal(&out);
}

static const char whole_src[] =
	"# comment\n"
	"\n"
	"Foo bar\n"
	"KEY2 v a l\n"
	"  cont\n"
	"   # indented comment line\n"
	"onlykey\n"
	"x@Y.com  OK\r\n"
	"last value";

static const char whole_want[] =
	"E|Foo|bar\n"
	"E|KEY2|v a l  cont\n"
	"S|src:7: expected format: key whitespace value\n"
	"E|x@Y.com|OK\n"
	"E|last|value\n";

static void test_file_whole_and_drip(void **state)
{
	(void)state;
	for (int drip = 0; drip <= 1; drip++) {
		char *got = run(whole_src, strlen(whole_src), MAPSRC_POSTMAP, drip);
		assert_string_equal(got, whole_want);
		free(got);
	}
}

static void test_file_line_limit(void **state)
{
	(void)state;
	/* "k " + value: exactly MAP_LINE_MAX bytes, then one more. */
	size_t n = MAP_LINE_MAX + 1;
	char *text = malloc(n + 8);
	memcpy(text, "k ", 2);
	memset(text + 2, 'v', MAP_LINE_MAX - 2);
	strcpy(text + MAP_LINE_MAX, "\n");
	char *got = run(text, strlen(text), MAPSRC_POSTMAP, false);
	assert_int_equal(strncmp(got, "E|k|vvv", 7), 0);
	assert_int_equal(strlen(got), 4 + (MAP_LINE_MAX - 2) + 1);
	free(got);
	memset(text + 2, 'v', MAP_LINE_MAX - 1);
	strcpy(text + MAP_LINE_MAX + 1, "\nok 1\n");
	got = run(text, strlen(text), MAPSRC_POSTMAP, false);
	assert_non_null(strstr(got, "F|src:1: line longer than"));
	assert_non_null(strstr(got, "E|ok|1\n")); /* the reader goes on */
	free(got);
	free(text);
}

static void test_file_nul(void **state)
{
	(void)state;
	static const char text[] = "a 1\nb \0 2\nc 3\n";
	char *got = run(text, sizeof(text) - 1, MAPSRC_POSTMAP, false);
	assert_string_equal(got, "E|a|1\nF|src:2: NUL byte in line\nE|c|3\n");
	free(got);
}

/* Input and postalias 3.7's stored key and value (NULL: skipped). */
static const struct {
	const char *in, *key, *value;
} alias_cases[] = {
	{"Root: Admin, bob", "Root", "Admin, bob"},
	{"\"a b\": x", "a b", "x"},
	{"postmaster:root  , more", "postmaster", "root, more"},
	{"\"c:d\": e", "c:d", "e"},
	{"foo : bar", "foo", "bar"},
	{"k:v:w", "k", "v:w"},
	{"A b: x", "A b", "x"},
	{"foo\\@bar: y", "foo@bar", "y"},
	{"\"x@y\": z", "x@y", "z"},
	{"Mixed: \"|/bin/Echo Hi\"  ,  /Var/x", "Mixed", "\"|/bin/Echo Hi\", /Var/x"},
	{"a1: Joe Smith <joe@x.com>", "a1", "Joe Smith <joe@x.com>"},
	{"a2: joe@x.com (Joe),bob", "a2", "joe@x.com (Joe), bob"},
	{"a3: :include:/etc/list, a ,b,, c", "a3", ":include:/etc/list, a, b, , c"},
	{"a4: \"x y\"@example.com , z", "a4", "\"x y\"@example.com, z"},
	{"a5:   |\"/usr/bin/prog -a\"", "a5", "|\"/usr/bin/prog -a\""},
	{"a6: a  b  c", "a6", "a b c"},
	{"a10: \"unterminated", "a10", "\"unterminated\""},
	{"a11: (comment only)", "a11", "(comment only)"},
	{"a13: \\abc, \\root", "a13", "abc, root"},
	{"a14: a,   ", "a14", "a, "},
	{"a18: \"a\\\"b\" c", "a18", "\"a\\\"b\" c"},
	{"b1: Joe Smith<joe@x.com>", "b1", "Joe Smith <joe@x.com>"},
	{"b2: joe @ x.com", "b2", "joe@x.com"},
	{"b3: a|\"b\"", "b3", "a|\"b\""},
	{"b6: a\"b\"", "b6", "a \"b\""},
	{"b8: a(c)b", "b8", "a (c) b"},
	{"b9: <a@b>c", "b9", "<a@b>c"},
	{"b10: a . b", "b10", "a.b"},
	{"b12: a:b:c ; d", "b12", "a:b:c;d"},
	{"b13: (unterminated", "b13", "(unterminated"},
	{"b14: a\\ b", "b14", "\"a b\""},
	{"b15: \"a\\ b\"", "b15", "\"a b\""},
	{"b18: a > b", "b18", "a>b"},
	{"b19: \"\" x", "b19", "\"\" x"},
	{"b21: a (x (y) z) b", "b21", "a (x (y) z) b"},
	{"b22: ,a", "b22", ", a"},
	{"b24: a\\", "b24", "a"},
	{"c1: |/usr/bin/procmail -a foo", "c1", "|/usr/bin/procmail -a foo"},
	{"c6: a\\,b", "c6", "\"a,b\""},
	{"c9: (a,b) c", "c9", "(a,b) c"},
	{"c11: a\\\"b", "c11", "\"a\\\"b\""},
	{"nocolon value", NULL, "need name:value pair"},
	{": empty", NULL, "need name:value pair"},
	{"empty:", NULL, "need name:value pair"},
	{"empty2:   ", NULL, "need name:value pair"},
	{"q\"x: y", NULL, "need name:value pair"},
	{"\"unterm: z", NULL, "need name:value pair"},
	{"x@y: w", NULL, "name must be local"},
};

static void test_alias_lines(void **state)
{
	struct strbuf k, v;
	(void)state;
	sb_init(&k, MAP_KEY_MAX + 1);
	sb_init(&v, MAP_VALUE_MAX + 1);
	for (size_t i = 0; i < sizeof(alias_cases) / sizeof(alias_cases[0]); i++) {
		int r = mapsrc_parse_alias(alias_cases[i].in, &k, &v, err, sizeof(err));
		if (alias_cases[i].key == NULL) {
			if (r != MAPSRC_SKIP || strcmp(err, alias_cases[i].value) != 0)
				fail_msg("%s: got %d %s", alias_cases[i].in, r, err);
			continue;
		}
		if (r != MAPSRC_ENTRY || strcmp(k.s, alias_cases[i].key) != 0 ||
		    strcmp(v.s, alias_cases[i].value) != 0)
			fail_msg("%s: got %d [%s] [%s]", alias_cases[i].in, r, k.s, v.s);
	}
	sb_free(&k);
	sb_free(&v);
}

static void test_alias_limits(void **state)
{
	struct strbuf k, v;
	char *buf = malloc(MAP_LINE_MAX + 16);
	(void)state;
	sb_init(&k, MAP_KEY_MAX + 1);
	sb_init(&v, MAP_VALUE_MAX + 1);
	memset(buf, 'n', MAP_KEY_MAX);
	strcpy(buf + MAP_KEY_MAX, ": x");
	assert_int_equal(mapsrc_parse_alias(buf, &k, &v, err, sizeof(err)), MAPSRC_ENTRY);
	assert_int_equal(k.len, MAP_KEY_MAX);
	memset(buf, 'n', MAP_KEY_MAX + 1);
	strcpy(buf + MAP_KEY_MAX + 1, ": x");
	assert_int_equal(mapsrc_parse_alias(buf, &k, &v, err, sizeof(err)), MAPSRC_FAIL);
	/* Normalising can grow a value ("a,a" -> "a, a"): still bounded. */
	strcpy(buf, "n: ");
	size_t i = 3;
	while (i + 2 < MAP_LINE_MAX) {
		buf[i++] = 'a';
		buf[i++] = ',';
	}
	buf[i] = '\0';
	assert_int_equal(mapsrc_parse_alias(buf, &k, &v, err, sizeof(err)), MAPSRC_FAIL);
	assert_non_null(strstr(err, "value longer"));
	sb_free(&k);
	sb_free(&v);
	free(buf);
}

static void test_alias_file(void **state)
{
	(void)state;
	static const char text[] =
		"# aliases\n"
		"postmaster: root\n"
		"list: a,\n"
		"\tb, \"c d\"@x\n"
		"bad line\n";
	for (int drip = 0; drip <= 1; drip++) {
		char *got = run(text, strlen(text), MAPSRC_ALIASES, drip);
		assert_string_equal(got, "E|postmaster|root\n"
		                         "E|list|a, b, \"c d\"@x\n"
		                         "S|src:5: need name:value pair\n");
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_basic),
		cmocka_unit_test(test_line_quotes),
		cmocka_unit_test(test_line_bad),
		cmocka_unit_test(test_line_key_limit),
		cmocka_unit_test(test_file_whole_and_drip),
		cmocka_unit_test(test_file_line_limit),
		cmocka_unit_test(test_file_nul),
		cmocka_unit_test(test_alias_lines),
		cmocka_unit_test(test_alias_limits),
		cmocka_unit_test(test_alias_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
