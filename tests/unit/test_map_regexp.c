/*
 * test_map_regexp.c - regexp: and regex: tables (regexp_table(5)).
 * Expected answers and warning texts were taken from Postfix 3.7's
 * postmap -q on the same tables.
 */
#include "map_pattern_util.h"

#include "bounds.h"
#include "log.h"
#include "map_regexp.h"

#define END ((const char *)NULL)
#define NF ((const char *)NULL)

static void test_basic(void **state)
{
	(void)state;
	tu_check("regexp",
	         "# comment\n"
	         "\n"
	         "/^postmaster@/   OK\n"
	         "/[%!@].*[%!@]/   550 Sender-specified routing rejected\n"
	         "/^a/  first\n"
	         "/^ab/ second\n",
	         "postmaster@example.com", "OK", "a@b@c", "550 Sender-specified routing rejected",
	         "abc", "first", "xyz", NF, "", NF, END);
}

static void test_case(void **state)
{
	(void)state;
	/* Case-insensitive by default; i toggles; keys are never folded. */
	tu_check("regexp", "/^abc$/ r1\n/^DEF$/i r2\n/^ghi$/ii r3\n",
	         "ABC", "r1", "abc", "r1", "DEF", "r2", "def", NF, "GHI", "r3",
	         END);
}

static void test_delimiters(void **state)
{
	(void)state;
	tu_check("regexp",
	         "|^a/b$| r1\n{^c{ r2\n_^d_ r3\n\"^e\" r4\n",
	         "a/b", "r1", "c", "r2", "d", "r3", "e", "r4", END);
	/* A backslash hides the delimiter and stays in the expression. */
	tu_check("regexp", "/^a\\/b$/ r1\n.^c\\.d$. r2\n/^e\\\\$/ r3\n",
	         "a/b", "r1", "ab", NF, "c.d", "r2", "cxd", NF, "e\\", "r3",
	         END);
}

static void test_flags(void **state)
{
	(void)state;
	/* x off: basic syntax, so + is literal. */
	tu_check("regexp", "/^a+$/x r1\n", "a+", "r1", "aa", NF, END);
	/* m: ^ and $ at newlines, and . stops at them. */
	tu_check("regexp", "/^b/m r1\n/a.b/ r2\n", "a\nb", "r1", "a\nc\nb",
	         "r1", END);
	tu_check("regexp", "/a.b/ r2\n/a.c/m r3\n", "a\nb", "r2", "a\nc", NF,
	         END);
	struct map *m;
	const char *w = tu_open_warnings("regexp", "/a/q r1\n/a/ r2\n", &m);
	tu_has(w, ", line 1: unknown regexp option \"q\": skipping this rule");
	tu_expect(m, "a", "r2");
	map_close(m);
	/* Flags end at white space: "ir1" is not a flag set. */
	w = tu_open_warnings("regexp", "/a/ir1\n", NULL);
	tu_has(w, "unknown regexp option \"r\"");
}

static void test_negation(void **state)
{
	(void)state;
	tu_check("regexp", "!/^a/ not-a\n", "a", NF, "b", "not-a", END);
	/* Each ! toggles; white space may follow it. */
	tu_check("regexp", "!!/^a/ r1\n", "a", "r1", "b", NF, END);
	tu_check("regexp", "! /^a/ r1\n", "a", NF, "b", "r1", END);
	/* /p1/!/p2/: p1 matches and p2 does not. */
	tu_check("regexp", "/a/!/b/ r1\n/c/!!/d/ r2\n/e/i!/f/ r3\n",
	         "a", "r1", "ab", NF, "cd", "r2", "c", NF, "e", "r3", "E", NF,
	         END);
	/* A second pattern needs no white space before its '!' only. */
	tu_check("regexp", "/a/ !/b/ r1\n", "a", "!/b/ r1", END);
	/* Substitution refers to the first pattern. */
	tu_check("regexp", "/(a)/!/(b)/ $1\n", "a", "a", END);
}

static void test_if(void **state)
{
	(void)state;
	tu_check("regexp",
	         "if /a/\n"
	         "/b/ r1\n"
	         "if !/c/\n"
	         "/d/ r2\n"
	         "endif\n"
	         "endif\n"
	         "/./ r3\n",
	         "ab", "r1", "ad", "r2", "acd", "r3", "b", "r3", "", NF, END);
	/* Keywords ignore case; the pattern may follow "if" directly. */
	tu_check("regexp", "IF/a/\n/b/ r1\nEndIf\n/b/ r2\n", "ab", "r1", "b",
	         "r2", END);
	/* if with flags. */
	tu_check("regexp", "if /a/i\n/b/ r1\nendif\n", "Ab", NF, "ab", "r1",
	         END);
}

static void test_if_errors(void **state)
{
	(void)state;
	struct map *m;
	const char *w = tu_open_warnings("regexp",
	                                 "if /a/ foo\n/b/ r1\nendif\n", &m);
	tu_has(w, "line 1: ignoring extra text after IF statement: \"foo\"");
	tu_has(w, "line 1: do not prepend whitespace");
	tu_expect(m, "ab", "r1");
	tu_expect(m, "b", NF);
	map_close(m);

	/* Missing endif: reported at the if's line; the block ends at EOF. */
	w = tu_open_warnings("regexp", "/x/ r0\nif /a/\nif /b/\n/c/ r1\n", &m);
	tu_has(w, "line 3: IF has no matching ENDIF");
	tu_has(w, "line 2: IF has no matching ENDIF");
	tu_expect(m, "abc", "r1");
	tu_expect(m, "ac", NF);
	map_close(m);

	w = tu_open_warnings("regexp", "/b/ r0\nendif\n/a/ r1\n", &m);
	tu_has(w, "line 2: ignoring ENDIF without matching IF");
	tu_expect(m, "a", "r1");
	map_close(m);

	w = tu_open_warnings("regexp", "if /a/\n/b/ r1\nendif foo\n", &m);
	tu_has(w, "line 3: ignoring extra text after ENDIF");
	tu_expect(m, "b", NF);
	map_close(m);

	/* A bad if is skipped, so its block applies to every key. */
	w = tu_open_warnings("regexp", "if /a/q\n/b/ r1\nendif\n", &m);
	tu_has(w, "line 1: unknown regexp option \"q\"");
	tu_has(w, "line 3: ignoring ENDIF without matching IF");
	tu_expect(m, "b", "r1");
	map_close(m);

	/* "if" alone, and a word that only starts like a keyword. */
	w = tu_open_warnings("regexp", "if\nendifx\niffy/a/ r1\n", NULL);
	tu_has(w, "line 1: no regexp: skipping this rule");
	tu_has(w, "line 2: ignoring unrecognized request");
	tu_has(w, "line 3: ignoring unrecognized request");
}

static void test_if_depth(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb, 0);
	for (int i = 0; i < MAP_IF_DEPTH; i++)
		sb_adds(&sb, "if /a/\n");
	sb_adds(&sb, "/b/ deep\n");
	for (int i = 0; i < MAP_IF_DEPTH; i++)
		sb_adds(&sb, "endif\n");
	tu_check("regexp", sb.s, "ab", "deep", "b", NF, END);

	sb_reset(&sb);
	for (int i = 0; i <= MAP_IF_DEPTH; i++)
		sb_adds(&sb, "if /a/\n");
	char want[64];
	snprintf(want, sizeof(want), ", line %d: IF nesting deeper than %d",
	         MAP_IF_DEPTH + 1, MAP_IF_DEPTH);
	tu_open_fails("regexp", sb.s, want);
	sb_free(&sb);
}

static void test_substitution(void **state)
{
	(void)state;
	tu_check("regexp",
	         "/^(.*)-outgoing@(.*)$/ 550 Use ${1}@${2} instead\n"
	         "/^(a)(b)?c$/ [$1][$2][$(1)]$$1\n"
	         "/^(x)(x)(x)(x)(x)(x)(x)(x)(x)(y)$/ ${10} $10 $1\n"
	         "/^(q)$/ $1$1${1}\n",
	         "list-outgoing@example.org", "550 Use list@example.org instead",
	         "ac", "[a][][a]$1", "abc", "[a][b][a]$1",
	         "xxxxxxxxxy", "y y x", "q", "qqq", END);
}

static void test_substitution_errors(void **state)
{
	(void)state;
	static const struct {
		const char *rule, *warning;
	} bad[] = {
		{"/(a)/ x$2 y", "out of range replacement index \"2\": skipping this rule"},
		{"/a/ x$1", "out of range replacement index \"1\""},
		{"/(a)/ x$2y", "non-numeric replacement index \"2y\""},
		{"/(a)/ $x", "non-numeric replacement index \"x\""},
		{"/(a)/ x$", "empty macro name"},
		{"/(a)/ x$ 1", "empty macro name"},
		{"/(a)/ x${}", "empty macro name"},
		{"/(a)/ x${1", "truncated macro reference"},
		{"/(a)/ x$(1}", "truncated macro reference"},
		{"/(a)/ ${0}", "out-of-range replacement index \"0\""},
		{"/(a)/ ${1:x}", "non-numeric replacement index \"1:x\""},
		{"!/(a)/ $1", "$number found in negative match replacement text"},
		{"/(a)/ ${99999999999999999999}", "out of range replacement index"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%s\n/./ fallback\n", bad[i].rule);
		struct map *m;
		const char *w = tu_open_warnings("regexp", text, &m);
		tu_has(w, "line 1: ");
		tu_has(w, bad[i].warning);
		tu_expect(m, "a", "fallback");
		map_close(m);
	}
}

static void test_bad_rules(void **state)
{
	(void)state;
	struct map *m;
	const char *w = tu_open_warnings("regexp",
	                                 "/(/ r1\n"
	                                 "/a r2\n"
	                                 "abc r3\n"
	                                 "/a/\n"
	                                 "/b/ r5\n",
	                                 &m);
	tu_has(w, "line 1: Unmatched ( or \\(");
	tu_has(w, "line 2: no closing regexp delimiter \"/\": skipping this rule");
	tu_has(w, "line 3: ignoring unrecognized request");
	tu_has(w, "line 4: no replacement text: using empty string");
	/* The path is part of every message. */
	tu_has(w, tu_path);
	tu_expect(m, "a", "");
	tu_expect(m, "b", "r5");
	map_close(m);
}

static void test_lines(void **state)
{
	(void)state;
	/* Continuations keep their white space; no final newline needed. */
	tu_check("regexp", "/a/\n  r1\n\tr2\n/b/ r3", "a", "r1\tr2", "b", "r3",
	         END);

	tu_line_limits("regexp", "/^y/ ", "y");
}

static void test_result_limit(void **state)
{
	(void)state;
	/* 20 copies of a 4096-byte key exceed MAP_VALUE_MAX: an error,
	 * never a truncated answer. */
	struct map *m = tu_open("regexp", "/^(.*)$/ $1$1$1$1$1$1$1$1$1$1"
	                                  "$1$1$1$1$1$1$1$1$1$1\n");
	char *key = malloc(MAP_KEY_MAX + 1);
	memset(key, 'k', MAP_KEY_MAX);
	key[MAP_KEY_MAX] = '\0';
	const char *v;
	tu_capture_begin();
	int r = map_lookup(m, key, &v);
	tu_capture_end();
	assert_int_equal(r, MAP_ERROR);
	assert_non_null(strstr(m->err, "result longer than"));
	key[10] = '\0';
	char want[201];
	memset(want, 'k', 200);
	want[200] = '\0';
	tu_expect(m, key, want);
	free(key);
	map_close(m);
}

/* Patterns that would make regcomp() exhaust memory or the stack are
 * refused at open, with a warning; ordinary heavy ones still work. */
static void test_complexity(void **state)
{
	(void)state;
	char deep[2 * 20000 + 32];
	const char *const bad[] = {
		"/a++++++++++++++++++/ r\n",
		"/(a?){5000}/ r\n",
		"/a{0,30000}/ r\n",
		"/((a?){10}){100}/ r\n",
		"/(a{1000}){1000}/ r\n",
		"/a\\{0,30000\\}/x r\n",
		"/^((((a*)+)+)+)+/ r\n",
		"/$a****#********+****+*:b)/ r\n",
		deep,
	};
	char *p = deep;
	*p++ = '/';
	for (int i = 0; i < 20000; i++)
		*p++ = '(';
	*p++ = 'a';
	for (int i = 0; i < 20000; i++)
		*p++ = ')';
	strcpy(p, "/ r\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf sb;
		sb_init(&sb, 0);
		sb_adds(&sb, bad[i]);
		sb_adds(&sb, "/a/ fallback\n");
		struct map *m;
		const char *w = tu_open_warnings("regexp", sb.s, &m);
		tu_has(w, "line 1: regular expression too complex");
		tu_expect(m, "aaa", "fallback");
		map_close(m);
		sb_free(&sb);
	}
	tu_check("regexp",
	         "/^([a-z0-9-]{1,63}\\.){1,127}[a-z]{2,63}$/ host\n"
	         "/^(a?){400}b$/ opt\n"
	         "/^((((((((((c))))))))))$/ nest\n"
	         "/^(((d*)+)+)+$/ loops\n",
	         "mail.example.com", "host", "aab", "opt", "c", "nest", "ddd", "loops", END);
}

static void test_open_errors(void **state)
{
	(void)state;
	assert_null(map_open("regexp:/nonexistent/postern/table", 0, tu_err,
	                     sizeof(tu_err)));
	assert_string_equal(tu_err, "open /nonexistent/postern/table: "
	                            "No such file or directory");
	assert_null(map_open("regexp:", 0, tu_err, sizeof(tu_err)));
	assert_non_null(strstr(tu_err, "missing table name"));
	/* Read-only: no update access. */
	const char *spec = tu_table("regexp", "/a/ b\n");
	assert_null(map_open(spec, MAP_F_WRITE, tu_err, sizeof(tu_err)));
	/* Pattern type: callers must not try partial keys. */
	const struct map_ops *ops = map_type_find("regexp");
	assert_non_null(ops);
	assert_true(ops->props & MAP_P_PATTERN);
	assert_null(ops->update);
}

static void test_inline(void **state)
{
	(void)state;
	char err[512];
	struct map *m = map_open("regexp:{ {/a/ r1}, { /b/ r2 x } {/(c)/ $1$1} }",
	                         0, err, sizeof(err));
	assert_non_null(m);
	tu_expect(m, "a", "r1");
	tu_expect(m, "b", "r2 x");
	tu_expect(m, "c", "cc");
	tu_expect(m, "d", NF);
	map_close(m);
	m = map_open("regexp:{}", 0, err, sizeof(err));
	assert_non_null(m);
	tu_expect(m, "a", NF);
	map_close(m);
	assert_null(map_open("regexp:{ /a/ r1 }", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no '{' at start of text in \"/a/\""));
	assert_null(map_open("regexp:{ {/a/ r1 }", 0, err, sizeof(err)));
	/* Messages name the rule by its position. */
	tu_capture_begin();
	m = map_open("regexp:{ {/a/ r1}, {/(/ r2} }", 0, err, sizeof(err));
	const char *w = tu_capture_end();
	assert_non_null(m);
	tu_has(w, "regexp map { {/a/ r1}, {/(/ r2} }, line 2: ");
	map_close(m);
}

static void test_regex_alias(void **state)
{
	(void)state;
	tu_check("regex", "if /a/\n/(b)/ got $1\nendif\n!/z/ other\n", "ab",
	         "got b", "b", "other", "z", NF, END);
	struct map *m = tu_open("regex", "/a/ r1\n");
	assert_string_equal(m->type, "regex");
	map_close(m);
}

static void test_key_bytes(void **state)
{
	(void)state;
	/* Keys with high bytes and newlines are plain data. */
	tu_check("regexp", "/^\xc3\xa9$/ e-acute\n/^a$/ a\n", "\xc3\xa9",
	         "e-acute", "a\n", NF, "\xff", NF, END);
}

static int teardown(void **state)
{
	(void)state;
	tu_cleanup();
	return 0;
}

int main(void)
{
	log_init("postern", LOG_TO_STDERR, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_basic, teardown),
		cmocka_unit_test_teardown(test_case, teardown),
		cmocka_unit_test_teardown(test_delimiters, teardown),
		cmocka_unit_test_teardown(test_flags, teardown),
		cmocka_unit_test_teardown(test_negation, teardown),
		cmocka_unit_test_teardown(test_if, teardown),
		cmocka_unit_test_teardown(test_if_errors, teardown),
		cmocka_unit_test_teardown(test_if_depth, teardown),
		cmocka_unit_test_teardown(test_substitution, teardown),
		cmocka_unit_test_teardown(test_substitution_errors, teardown),
		cmocka_unit_test_teardown(test_bad_rules, teardown),
		cmocka_unit_test_teardown(test_lines, teardown),
		cmocka_unit_test_teardown(test_result_limit, teardown),
		cmocka_unit_test_teardown(test_complexity, teardown),
		cmocka_unit_test_teardown(test_open_errors, teardown),
		cmocka_unit_test_teardown(test_inline, teardown),
		cmocka_unit_test_teardown(test_regex_alias, teardown),
		cmocka_unit_test_teardown(test_key_bytes, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
