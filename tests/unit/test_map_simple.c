/*
 * test_map_simple.c - static:, inline:, unionmap:, pipemap:, fail:.
 * Expected answers were taken from Postfix 3.7's postmap -q.
 */
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
#include "log.h"
#include "map.h"
#include "map_simple.h"
#include "strbuf.h"

static char err[512];

static struct map *must_open(const char *spec, int flags)
{
	err[0] = '\0';
	struct map *m = map_open(spec, flags, err, sizeof(err));
	if (m == NULL)
		fail_msg("open %s: %s", spec, err);
	return m;
}

static void open_fails(const char *spec, const char *errpart)
{
	err[0] = '\0';
	struct map *m = map_open(spec, 0, err, sizeof(err));
	if (m != NULL) {
		map_close(m);
		fail_msg("open %s succeeded", spec);
	}
	if (errpart != NULL && strstr(err, errpart) == NULL)
		fail_msg("open %s: error \"%s\" lacks \"%s\"", spec, err, errpart);
}

/* One query: want NULL means "not found". */
static void query_flags(const char *spec, int flags, const char *key, const char *want)
{
	struct map *m = must_open(spec, flags);
	const char *v = NULL;
	int r = map_lookup(m, key, &v);
	if (want == NULL) {
		if (r != MAP_NOTFOUND)
			fail_msg("%s -q %s: want not found, got %d", spec, key, r);
	} else {
		if (r != MAP_FOUND)
			fail_msg("%s -q %s: want \"%s\", got %d (%s)", spec, key,
			         want, r, m->err);
		assert_string_equal(v, want);
	}
	map_close(m);
}

static void query(const char *spec, const char *key, const char *want)
{
	query_flags(spec, 0, key, want);
}

static void query_error(const char *spec, const char *key)
{
	struct map *m = must_open(spec, 0);
	const char *v;
	assert_int_equal(map_lookup(m, key, &v), MAP_ERROR);
	assert_true(m->err[0] != '\0');
	map_close(m);
}

static void test_static(void **state)
{
	(void)state;
	query("static:foo bar", "x", "foo bar");
	query("static:{ foo bar }", "anything", "foo bar");
	query("static:{ foo, bar }", "x", "foo, bar");
	query("static:{}", "x", "");
	query("static:{ }", "x", "");
	query("static:}", "x", "}");
	query("static:a}", "x", "a}");
	query("static:OK", "", "OK");
	open_fails("static:{foo}x", "static");
	open_fails("static:{a}{b}", "static");
	open_fails("static:{", "static");
	open_fails("static:", "static");
	struct map *m = must_open("static:x", 0);
	assert_int_equal(map_simple_props(m) & MAP_P_FIXED, MAP_P_FIXED);
	map_close(m);

	/* Values: MAP_VALUE_MAX bytes are fine, one more is refused. */
	struct strbuf sb, val;
	sb_init(&sb, 0);
	sb_init(&val, 0);
	for (int i = 0; i < MAP_VALUE_MAX; i++)
		sb_addc(&val, 'v');
	sb_printf(&sb, "static:{ %s }", val.s);
	query(sb.s, "x", val.s);
	sb_reset(&sb);
	sb_printf(&sb, "inline:{ {k = %s } }", val.s);
	query(sb.s, "k", val.s);
	sb_addc(&val, 'v');
	sb_reset(&sb);
	sb_printf(&sb, "static:{ %s }", val.s);
	open_fails(sb.s, "longer than");
	sb_reset(&sb);
	sb_printf(&sb, "inline:{ {k = %s } }", val.s);
	open_fails(sb.s, "too long");
	sb_free(&sb);
	sb_free(&val);
}

static void test_fail(void **state)
{
	(void)state;
	query_error("fail:foo", "x");
	query_error("fail:{a}", "");
	open_fails("fail:", NULL);
	/* Not writable: map.c refuses write access to non-update types. */
	struct map *m = map_open("fail:x", MAP_F_WRITE, err, sizeof(err));
	assert_null(m);
}

static void test_inline_basic(void **state)
{
	(void)state;
	const char *t = "inline:{foo=bar, {Key = text with, commas}}";
	query(t, "foo", "bar");
	query(t, "key", "text with, commas");
	query(t, "Key", "text with, commas");
	query(t, "KEY", "text with, commas");
	query(t, "nope", NULL);
	query("inline:{Foo=bar}", "FOO", "bar");
	query("inline:{ foo=a=b }", "foo", "a=b");
	query("inline:{ {foo = { x }} }", "foo", "{ x }");
	query("inline:{ a={b} }", "a", "{b}");
	query("inline:{ {a = {b, c}} }", "a", "{b, c}");
	query("inline:{a=b c=d}", "c", "d");
	query("inline:{a=b\tc=d}", "c", "d");
	query("inline:{a=b,,c=d}", "c", "d");
	query("inline:{ { a = b } , { c = d } }", "a", "b");
	query("inline:{ { a = b } , { c = d } }", "c", "d");
	/* An empty key and an empty value are both accepted. */
	query("inline:{=bar}", "", "bar");
	query("inline:{=bar}", "foo", NULL);
	query("inline:{foo=}", "foo", "");
	query("inline:{{ a = }}", "a", "");
	/* The later duplicate wins, as with Postfix. */
	query("inline:{foo=1,foo=2}", "foo", "2");
	query("inline:{foo=1,FOO=2,foo=3}", "Foo", "3");
	/* Only ASCII is folded. */
	query("inline:{ \xc3\x89=x }", "\xc3\xa9", NULL);
}

static void test_inline_nofold(void **state)
{
	(void)state;
	/* postmap -f. */
	query_flags("inline:{Foo=bar}", MAP_F_NOFOLD, "Foo", "bar");
	query_flags("inline:{Foo=bar}", MAP_F_NOFOLD, "foo", NULL);
	query_flags("inline:{Foo=bar}", MAP_F_NOFOLD, "FOO", NULL);
	query_flags("inline:{Foo=bar}", 0, "FOO", "bar");
	/* Components of composites inherit it. */
	query_flags("unionmap:{inline:{Foo=bar}}", MAP_F_NOFOLD, "FOO", NULL);
	query_flags("unionmap:{inline:{Foo=bar}}", MAP_F_NOFOLD, "Foo", "bar");
}

static void test_inline_errors(void **state)
{
	(void)state;
	open_fails("inline:{foo}", "missing '='");
	open_fails("inline:{ foo = bar }", "missing '='");
	open_fails("inline:{ foo = { x } }", "missing '='");
	open_fails("inline:{{ a b = c d }}", "missing '='");
	open_fails("inline:{ {a=b}x }", NULL);
	open_fails("inline:{}", "inline");
	open_fails("inline:{ }", "empty table");
	open_fails("inline:", NULL);
	open_fails("inline:foo", "bad syntax");
	open_fails("inline:{ a=b} ", "bad syntax");
	open_fails("inline: {a=b}", "bad syntax");
	open_fails("inline:{a=b}}", "bad syntax");
	open_fails("inline:{{a=b}", "bad syntax");
	open_fails("inline:{a=b", "bad syntax");
}

static void test_inline_seq_and_limits(void **state)
{
	(void)state;
	struct map *m = must_open("inline:{b=1,A=2,b=3}", 0);
	const char *k, *v;
	int seen = 0;
	for (int r = map_seq(m, true, &k, &v); r == MAP_FOUND;
	     r = map_seq(m, false, &k, &v)) {
		if (strcmp(k, "a") == 0)
			assert_string_equal(v, "2");
		else if (strcmp(k, "b") == 0)
			assert_string_equal(v, "3");
		else
			fail_msg("unexpected key %s", k);
		seen++;
	}
	assert_int_equal(seen, 2);
	map_close(m);

	/* A key of exactly MAP_KEY_MAX bytes is stored and found; one
	 * byte more is refused at open time. */
	struct strbuf sb;
	sb_init(&sb, 0);
	char *key = malloc(MAP_KEY_MAX + 2);
	memset(key, 'k', MAP_KEY_MAX + 1);
	key[MAP_KEY_MAX] = '\0';
	sb_printf(&sb, "inline:{%s=v}", key);
	query(sb.s, key, "v");
	key[MAP_KEY_MAX] = 'k';
	key[MAP_KEY_MAX + 1] = '\0';
	sb_reset(&sb);
	sb_printf(&sb, "inline:{%s=v}", key);
	open_fails(sb.s, "too long");
	free(key);

	/* Many entries: every one is found. */
	sb_reset(&sb);
	sb_adds(&sb, "inline:{");
	for (int i = 0; i < 2000; i++)
		sb_printf(&sb, "k%d=v%d, ", i, i);
	sb_adds(&sb, "}");
	m = must_open(sb.s, 0);
	for (int i = 0; i < 2000; i++) {
		char kk[32], vv[32];
		snprintf(kk, sizeof(kk), "K%d", i);
		snprintf(vv, sizeof(vv), "v%d", i);
		assert_int_equal(map_lookup(m, kk, &v), MAP_FOUND);
		assert_string_equal(v, vv);
	}
	assert_int_equal(map_lookup(m, "k2000", &v), MAP_NOTFOUND);
	map_close(m);
	sb_free(&sb);
}

static void test_unionmap(void **state)
{
	(void)state;
	query("unionmap:{inline:{a=1}, inline:{a=2}}", "a", "1,2");
	query("unionmap:{inline:{a=1}, inline:{b=2}}", "a", "1");
	query("unionmap:{inline:{a=1}, inline:{b=2}}", "b", "2");
	query("unionmap:{inline:{a=1}, inline:{b=2}}", "c", NULL);
	query("unionmap:{inline:{a=1}, static:{x, y}}", "a", "1,x, y");
	query("unionmap:{inline:{a=1}}", "a", "1");
	query("unionmap:{inline:{a=1} static:z}", "a", "1,z");
	query("unionmap:{inline:{a=1},static:{z z}}", "a", "1,z z");
	/* Empty results: no comma while nothing has been collected, and an
	 * empty final answer is "not found". */
	query("unionmap:{inline:{a=1},static:{}}", "a", "1,");
	query("unionmap:{static:{},inline:{a=1}}", "a", "1");
	query("unionmap:{static:{},static:{}}", "a", NULL);
	query("unionmap:{inline:{a=1},inline:{a=1}}", "a", "1,1");
	/* Components fold by their own rules. */
	query("unionmap:{inline:{a=1},inline:{a=2}}", "A", "1,2");
	query_flags("unionmap:{inline:{a=1},inline:{a=2}}", MAP_F_NOFOLD, "A", NULL);
	/* Any error is an error, even after a hit. */
	query_error("unionmap:{inline:{a=1}, fail:x}", "a");
	query_error("unionmap:{fail:x, inline:{a=1}}", "a");
	query_error("unionmap:{inline:{b=1}, fail:x}", "a");
}

static void test_pipemap(void **state)
{
	(void)state;
	query("pipemap:{inline:{a=b}, inline:{b=c}}", "a", "c");
	query("pipemap:{inline:{a=b}, inline:{x=c}}", "a", NULL);
	query("pipemap:{inline:{a=b}, inline:{b=c}}", "x", NULL);
	query("pipemap:{inline:{a=b}}", "a", "b");
	query("pipemap:{inline:{a=B}, inline:{b=c}}", "a", "c");
	query_flags("pipemap:{inline:{a=B}, inline:{b=c}}", MAP_F_NOFOLD, "a", NULL);
	/* The whole result is the next key; it is not split at commas. */
	query("pipemap:{inline:{{a=b,c}}, inline:{b=1, c=2, {b,c=3}}}", "a", "3");
	query("pipemap:{static:{}, inline:{=c}}", "a", "c");
	query("pipemap:{inline:{a=b}, static:{}}", "a", "");
	query("pipemap:{inline:{a=b}, unionmap:{inline:{b=1}, inline:{b=2}}}", "a", "1,2");
	query("pipemap:{unionmap:{inline:{a=1}, inline:{a=2}}, inline:{1=x, 2=y, {1,2=z}}}",
	      "a", "z");
	query_error("pipemap:{inline:{a=b}, fail:x}", "a");
	/* A miss stops the pipe before a failing table is reached. */
	query("pipemap:{inline:{x=b}, fail:x}", "a", NULL);
}

static void test_multi_errors(void **state)
{
	(void)state;
	open_fails("unionmap:{}", "bad syntax");
	open_fails("unionmap:{ }", "bad syntax");
	open_fails("unionmap:inline:{a=1}", "bad syntax");
	open_fails("unionmap:{inline:{a=1},{static:z z}}", "unsupported dictionary type");
	open_fails("unionmap:{inline:{a=1},nosuch:x}", "unsupported dictionary type: nosuch");
	open_fails("unionmap:{inline:{a=1},bogus}", "bad syntax");
	open_fails("unionmap:{inline:{a=1},inline:{b}}", "missing '='");
	open_fails("pipemap:{}", "bad syntax");
	open_fails("pipemap:{inline:{a=1}", "bad syntax");
	open_fails("pipemap:{inline:{a=1}}}", "bad syntax");
	open_fails("unionmap:", NULL);
}

static void nest(struct strbuf *sb, int depth)
{
	sb_reset(sb);
	for (int i = 0; i < depth; i++)
		sb_adds(sb, "unionmap:{");
	sb_adds(sb, "inline:{a=1}");
	for (int i = 0; i < depth; i++)
		sb_adds(sb, "}");
}

static void test_limits(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb, 0);
	nest(&sb, MAP_SPEC_DEPTH);
	query(sb.s, "a", "1");
	nest(&sb, MAP_SPEC_DEPTH + 1);
	open_fails(sb.s, "nested");
	/* Very deep nesting is refused, not a stack overflow. */
	nest(&sb, 100000);
	open_fails(sb.s, "nested");

	/* MAP_SPEC_ITEMS_MAX components are fine, one more is not. */
	sb_reset(&sb);
	sb_adds(&sb, "unionmap:{");
	for (int i = 0; i < MAP_SPEC_ITEMS_MAX; i++)
		sb_printf(&sb, "static:%d ", i % 10);
	sb_adds(&sb, "}");
	struct map *m = must_open(sb.s, 0);
	const char *v;
	assert_int_equal(map_lookup(m, "x", &v), MAP_FOUND);
	assert_int_equal(strlen(v), 2 * MAP_SPEC_ITEMS_MAX - 1);
	map_close(m);
	sb_truncate(&sb, sb.len - 1);
	sb_adds(&sb, "static:x}");
	open_fails(sb.s, "more than");

	/* A joined result past MAP_VALUE_MAX is an error, not a cut. */
	sb_reset(&sb);
	sb_adds(&sb, "unionmap:{");
	for (int i = 0; i < 5; i++) {
		sb_adds(&sb, "static:{");
		for (int j = 0; j < MAP_VALUE_MAX / 4; j++)
			sb_addc(&sb, 'v');
		sb_adds(&sb, "} ");
	}
	sb_adds(&sb, "}");
	m = must_open(sb.s, 0);
	assert_int_equal(map_lookup(m, "x", &v), MAP_ERROR);
	assert_non_null(strstr(m->err, "longer than"));
	map_close(m);
	sb_free(&sb);
}

static void test_props(void **state)
{
	(void)state;
	struct map *m = must_open("unionmap:{inline:{a=1}, static:x}", 0);
	assert_true(map_simple_props(m) & MAP_P_FIXED);
	map_close(m);
	m = must_open("pipemap:{fail:x}", 0);
	assert_int_equal(map_simple_props(m), 0);
	map_close(m);
	m = must_open("inline:{a=1}", 0);
	assert_true(map_simple_props(m) & MAP_P_FIXED);
	map_close(m);
}

/* Components that are files (landed with texthash:, regexp:, cidr:). */
static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_file_components(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_map_simple.XXXXXX";
	char th[64], rx[64], cd[64], spec[512];
	assert_non_null(mkdtemp(dir));
	snprintf(th, sizeof(th), "%s/th", dir);
	snprintf(rx, sizeof(rx), "%s/rx", dir);
	snprintf(cd, sizeof(cd), "%s/cd", dir);
	write_file(th, "Foo bar\nuser@example.com texthash-hit\n");
	write_file(rx, "/^a(.*)$/ R$1\n");
	write_file(cd, "192.0.2.0/24 CIDR\n");

	snprintf(spec, sizeof(spec), "unionmap:{texthash:%s, inline:{foo=x}}", th);
	query(spec, "FOO", "bar,x");
	snprintf(spec, sizeof(spec), "pipemap:{regexp:%s, inline:{rbc=final}}", rx);
	query(spec, "abc", "final");
	snprintf(spec, sizeof(spec), "unionmap:{regexp:%s, texthash:%s}", rx, th);
	query(spec, "abc", "Rbc");
	snprintf(spec, sizeof(spec), "unionmap:{cidr:%s, inline:{192.0.2.9=in}}", cd);
	query(spec, "192.0.2.9", "CIDR,in");
	struct map *m = must_open(spec, 0);
	assert_int_equal(map_simple_props(m) & (MAP_P_FIXED | MAP_P_PATTERN),
	                 MAP_P_FIXED | MAP_P_PATTERN);
	map_close(m);
	snprintf(spec, sizeof(spec), "pipemap:{regexp:%s}", rx);
	m = must_open(spec, 0);
	assert_int_equal(map_simple_props(m) & (MAP_P_FIXED | MAP_P_PATTERN),
	                 MAP_P_PATTERN);
	map_close(m);
	/* A component that cannot be opened fails the whole spec. */
	snprintf(spec, sizeof(spec), "unionmap:{inline:{a=1}, texthash:%s/nonexist}",
	         dir);
	open_fails(spec, "nonexist");

	unlink(th);
	unlink(rx);
	unlink(cd);
	rmdir(dir);
}

int main(void)
{
	log_init("test_map_simple", 0, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_inline_basic),
		cmocka_unit_test(test_inline_nofold),
		cmocka_unit_test(test_inline_errors),
		cmocka_unit_test(test_inline_seq_and_limits),
		cmocka_unit_test(test_unionmap),
		cmocka_unit_test(test_pipemap),
		cmocka_unit_test(test_multi_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_props),
		cmocka_unit_test(test_file_components),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
