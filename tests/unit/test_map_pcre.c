/*
 * test_map_pcre.c - pcre: tables (pcre_table(5)), built on PCRE2.
 * Expected answers and warning texts were taken from Postfix 3.7's
 * postmap -q on the same tables.
 */
#include "map_pattern_util.h"

#include <time.h>

#include "bounds.h"
#include "log.h"
#include "map_regexp.h"

#define END ((const char *)NULL)
#define NF ((const char *)NULL)

static void test_basic(void **state)
{
	(void)state;
	tu_check("pcre",
	         "# Protect your outgoing majordomo exploders\n"
	         "/^(?!owner-)(.*)-outgoing@(.*)/ 550 Use ${1}@${2} instead\n"
	         "/^(friend@(?!my\\.domain$).*)$/  550 Stick this in your pipe $1\n"
	         "/^noddy@my\\.domain$/\n"
	         " 550 This user is a funny one.\n",
	         "list-outgoing@example.org", "550 Use list@example.org instead",
	         "owner-list-outgoing@example.org", NF,
	         "friend@other.example", "550 Stick this in your pipe friend@other.example",
	         "friend@my.domain", NF,
	         "NODDY@my.domain", "550 This user is a funny one.", END);
}

static void test_flags(void **state)
{
	(void)state;
	/* Defaults: caseless, dot matches newline. */
	tu_check("pcre", "/^abc$/ r1\n/^x.y$/ r2\n", "ABC", "r1", "x\ny", "r2",
	         END);
	tu_check("pcre", "/^abc$/i r1\n/^x.y$/s r2\n", "ABC", NF, "abc", "r1",
	         "x\ny", NF, "xzy", "r2", END);
	tu_check("pcre", "/^b/m r1\n", "a\nb", "r1", END);
	tu_check("pcre", "/^b/ r1\n", "a\nb", NF, END);
	tu_check("pcre", "/a b/x r1\n", "ab", "r1", "a b", NF, END);
	tu_check("pcre", "/b/A r1\n", "ab", NF, "ba", "r1", END);
	tu_check("pcre", "/a$/E r1\n", "a\n", NF, "a", "r1", END);
	tu_check("pcre", "/a$/ r1\n", "a\n", "r1", END);
	tu_check("pcre", "/^(a+)/U $1\n", "aaa", "a", END);
	tu_check("pcre", "/^(a+)/ $1\n", "aaa", "aaa", END);

	struct map *m;
	const char *w = tu_open_warnings("pcre", "/a/X r1\n", &m);
	tu_has(w, "line 1: ignoring obsolete regexp option \"X\"");
	tu_expect(m, "a", "r1");
	map_close(m);

	static const char unknown[] = "abcdefghjklnopqrtuvwyzBCDFGHIJKLMNOPQRSTVWYZ!";
	for (const char *f = unknown; *f; f++) {
		char text[64], want[64];
		snprintf(text, sizeof(text), "/a/%c r1\n/a/ r2\n", *f);
		snprintf(want, sizeof(want), "unknown regexp option \"%c\"", *f);
		w = tu_open_warnings("pcre", text, &m);
		tu_has(w, want);
		tu_expect(m, "a", "r2");
		map_close(m);
	}
}

static void test_negation_and_if(void **state)
{
	(void)state;
	tu_check("pcre", "!/^a/ not-a\n!!/^b/ b\n", "a", NF, "c", "not-a",
	         END);
	tu_check("pcre", "!!/^b/ b\n", "b", "b", "c", NF, END);
	tu_check("pcre",
	         "if /^a/\n"
	         "if !/c/\n"
	         "/(b)/ got $1\n"
	         "endif\n"
	         "endif\n"
	         "/./ any\n",
	         "ab", "got b", "abc", "any", "b", "any", END);
	struct map *m;
	const char *w = tu_open_warnings("pcre", "if /a/\n/b/ r1\n", &m);
	tu_has(w, "line 1: IF has no matching ENDIF");
	tu_expect(m, "ab", "r1");
	map_close(m);
	w = tu_open_warnings("pcre", "endif\n/b/ r1\nendif x\n", NULL);
	tu_has(w, "line 1: ignoring ENDIF without matching IF");
	tu_has(w, "line 3: ignoring extra text after ENDIF");
}

static void test_substitution(void **state)
{
	(void)state;
	tu_check("pcre",
	         "/^(a)|(b)$/ [$1][$2]\n"
	         "/^(?<n>c)(d)?$/ [$1][${2}][$(1)]$$\n",
	         "a", "[a][]", "b", "[][b]", "c", "[c][][c]$", "cd", "[c][d][c]$",
	         END);
	/* \K moves the start of the whole match; groups are unaffected. */
	tu_check("pcre", "/(a)\\Kb/ $1\n", "ab", "a", END);

	struct map *m;
	const char *w = tu_open_warnings("pcre", "/(a)|(b)/ x$3 z\n/./ f\n", &m);
	tu_has(w, "line 1: out of range replacement index \"3\": skipping this rule");
	tu_expect(m, "a", "f");
	map_close(m);
	w = tu_open_warnings("pcre", "/(a)/ x$1y\n/./ f\n", &m);
	tu_has(w, "non-numeric replacement index \"1y\"");
	tu_has(w, "bad replacement syntax: skipping this rule");
	tu_expect(m, "a", "f");
	map_close(m);
	w = tu_open_warnings("pcre", "!/(a)/ $1\n", NULL);
	tu_has(w, "$number found in negative match replacement text");
}

static void test_bad_rules(void **state)
{
	(void)state;
	struct map *m;
	const char *w = tu_open_warnings("pcre",
	                                 "/(/ r1\n"
	                                 "/a/!/b/ r2\n"
	                                 "/a r3\n"
	                                 "word r4\n"
	                                 "/a/ r5\n",
	                                 &m);
	tu_has(w, "line 1: error in regex at offset 1: missing closing parenthesis");
	tu_has(w, "line 2: unknown regexp option \"!\"");
	tu_has(w, "line 3: no closing regexp delimiter \"/\"");
	tu_has(w, "line 4: ignoring unrecognized request");
	tu_expect(m, "a", "r5");
	map_close(m);
}

/* Catastrophic backtracking stops at the match limit: no match, a
 * warning, and the next rule still gets its turn. */
static void test_backtracking(void **state)
{
	(void)state;
	struct map *m = tu_open("pcre", "/^(\\w+\\s?)*$/ evil\n/!$/ tail\n");
	char key[64];
	memset(key, 'a', 40);
	strcpy(key + 40, "!");
	const char *v;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tu_capture_begin();
	int r = map_lookup(m, key, &v);
	const char *w = tu_capture_end();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r, MAP_FOUND);
	assert_string_equal(v, "tail");
	tu_has(w, "line 1: match limit exceeded");
	/* Generous for sanitizer builds; unbounded matching takes hours. */
	assert_true(t1.tv_sec - t0.tv_sec < 30);
	map_close(m);

	/* Negation does not turn an undecided match into a hit. */
	m = tu_open("pcre", "!/^(\\w+\\s?)*$/ evil\n");
	tu_capture_begin();
	r = map_lookup(m, key, &v);
	tu_capture_end();
	assert_int_equal(r, MAP_NOTFOUND);
	map_close(m);
}

static void test_lines(void **state)
{
	(void)state;
	tu_line_limits("pcre", "/^y/ ", "y");

	/* A NUL byte spoils its line only. */
	static const char nul[] = "/a\0b/ r1\n/a/ r2\n";
	const char *spec = tu_table("pcre", "");
	FILE *fp = fopen(tu_path, "w");
	fwrite(nul, 1, sizeof(nul) - 1, fp);
	fclose(fp);
	tu_capture_begin();
	struct map *m = map_open(spec, 0, tu_err, sizeof(tu_err));
	const char *w = tu_capture_end();
	assert_non_null(m);
	tu_has(w, "line 1: NUL byte in line");
	tu_expect(m, "a", "r2");
	map_close(m);
}

static void test_open_errors(void **state)
{
	(void)state;
	assert_null(map_open("pcre:/nonexistent/postern/table", 0, tu_err,
	                     sizeof(tu_err)));
	assert_string_equal(tu_err, "open /nonexistent/postern/table: "
	                            "No such file or directory");
	const struct map_ops *ops = map_type_find("pcre");
	assert_non_null(ops);
	assert_true(ops->props & MAP_P_PATTERN);
	char err[512];
	struct map *m = map_open("pcre:{ {/^(a)/ x$1}, {/b/ y} }", 0, err,
	                         sizeof(err));
	assert_non_null(m);
	tu_expect(m, "ab", "xa");
	tu_expect(m, "b", "y");
	map_close(m);
}

static void test_key_bytes(void **state)
{
	(void)state;
	/* Byte semantics (no UTF mode): invalid UTF-8 keys are plain data. */
	tu_check("pcre", "/^.$/ one-byte\n/^\xff/ ff\n", "\xc3\xa9", NF, "a",
	         "one-byte", "\xff\xfe", "ff", END);
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
		cmocka_unit_test_teardown(test_flags, teardown),
		cmocka_unit_test_teardown(test_negation_and_if, teardown),
		cmocka_unit_test_teardown(test_substitution, teardown),
		cmocka_unit_test_teardown(test_bad_rules, teardown),
		cmocka_unit_test_teardown(test_backtracking, teardown),
		cmocka_unit_test_teardown(test_lines, teardown),
		cmocka_unit_test_teardown(test_open_errors, teardown),
		cmocka_unit_test_teardown(test_key_bytes, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
