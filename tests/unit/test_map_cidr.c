/*
 * test_map_cidr.c - cidr: tables (cidr_table(5)).  Expected answers and
 * warning texts were taken from Postfix 3.7's postmap -q on the same
 * tables.
 */
#include "map_pattern_util.h"

#include "bounds.h"
#include "log.h"
#include "map_cidr.h"
#include "strbuf.h"

#define END ((const char *)NULL)
#define NF ((const char *)NULL)

static void test_basic(void **state)
{
	(void)state;
	tu_check("cidr",
	         "# Rule order matters.\n"
	         "192.168.1.1             OK\n"
	         "192.168.0.0/16          REJECT\n"
	         "2001:db8::1             OK6\n"
	         "2001:db8::/32           REJECT6\n"
	         "10.0.0.0/8\tspaced  result  \n"
	         "0.0.0.0/0               any4\n",
	         "192.168.1.1", "OK", "192.168.1.2", "REJECT", "192.168.255.255",
	         "REJECT", "2001:db8::1", "OK6", "2001:DB8:0:0::2", "REJECT6",
	         "2001:db9::1", NF, "10.1.2.3", "spaced  result", "8.8.8.8", "any4",
	         END);
}

static void test_keys(void **state)
{
	(void)state;
	/* Keys are plain addresses; anything else is simply not found. */
	tu_check("cidr", "0.0.0.0/0 v4\n::/0 v6\n",
	         "1.2.3.4", "v4", "::1", "v6", "::ffff:1.2.3.4", "v6",
	         "1:2:3:4:5:6:7:8", "v6", "[1.2.3.4]", NF, "01.2.3.4", NF,
	         "1.2.3", NF, "1.2.3.4 ", NF, "foo", NF, "", NF,
	         "1:2:3:4:5:6:7:8:9", NF, "fe80::1%eth0", NF, "ipv6:::1", NF,
	         END);
	/* No mapping between families. */
	tu_check("cidr", "::ffff:1.2.3.4 mapped\n", "::ffff:1.2.3.4", "mapped",
	         "1.2.3.4", NF, END);
}

static void test_prefixes(void **state)
{
	(void)state;
	tu_check("cidr",
	         "1.2.3.128/25 a\n"
	         "1.2.3.0/31 b\n"
	         "1.2.0.0/0000000000000000000000016 c\n"
	         "2001:db8:8000::/33 d\n"
	         "::/0 e\n",
	         "1.2.3.200", "a", "1.2.3.1", "b", "1.2.3.2", "c", "1.2.255.0", "c",
	         "1.3.0.0", NF, "2001:db8:ffff::1", "d", "2001:db8:7fff::1", "e",
	         END);
}

static void test_brackets(void **state)
{
	(void)state;
	tu_check("cidr", "[1.2.3.4] a\n[1.2.4.0]/24 b\n[1.2.5.0/24] c\n[::1] d\n"
	                 "[2001:db8::]/32 e\n",
	         "1.2.3.4", "a", "1.2.4.9", "b", "1.2.5.9", "c", "::1", "d",
	         "2001:db8::5", "e", END);
}

static void test_negation(void **state)
{
	(void)state;
	tu_check("cidr", "!1.2.3.0/24 outside\n", "1.2.3.4", NF, "1.2.4.4",
	         "outside", "::1", NF, END);
	tu_check("cidr", "!!1.2.3.4 r2\n! 1.2.3.5 r3\n", "1.2.3.4", "r2",
	         "1.2.3.5", NF, "1.2.3.6", "r3", END);
}

static void test_if(void **state)
{
	(void)state;
	tu_check("cidr",
	         "if 1.2.0.0/16\n"
	         "if !1.2.3.0/24\n"
	         "0.0.0.0/0 in16-not24\n"
	         "endif\n"
	         "1.2.3.4 exact\n"
	         "endif\n"
	         "1.2.3.5 outside-if\n",
	         "1.2.9.9", "in16-not24", "1.2.3.4", "exact", "1.2.3.5",
	         "outside-if", "1.3.0.0", NF, END);
	/* Keywords ignore case; the other family never enters an if. */
	tu_check("cidr", "IF !1.2.3.0/24\n::/0 v6\n0.0.0.0/0 v4\nENDIF\n",
	         "::1", NF, "1.2.3.4", NF, "1.2.4.4", "v4", END);
}

static void test_if_errors(void **state)
{
	(void)state;
	struct map *m;
	const char *w = tu_open_warnings("cidr", "if 1.2.3.0/24\n0.0.0.0/0 r1\n",
	                                 &m);
	tu_has(w, "line 1: IF has no matching ENDIF");
	tu_expect(m, "1.2.3.4", "r1");
	tu_expect(m, "1.2.4.4", NF);
	map_close(m);

	w = tu_open_warnings("cidr", "endif\n0.0.0.0/0 r1\n", &m);
	tu_has(w, "line 1: ENDIF without IF: skipping this rule");
	tu_expect(m, "1.2.3.4", "r1");
	map_close(m);

	/* Text after the if pattern belongs to the pattern. */
	w = tu_open_warnings("cidr", "if 1.2.3.0/24 foo\n0.0.0.0/0 r1\nendif\n",
	                     &m);
	tu_has(w, "line 1: bad mask value in \"1.2.3.0/24 foo\": skipping this rule");
	tu_has(w, "line 3: ENDIF without IF");
	tu_expect(m, "9.9.9.9", "r1");
	map_close(m);

	/* Garbage after endif skips it, leaving the if open. */
	w = tu_open_warnings("cidr", "if 1.2.3.0/24\n0.0.0.0/0 r1\nendif x\n"
	                             "9.9.9.9 r2\n", &m);
	tu_has(w, "line 3: garbage after ENDIF: skipping this rule");
	tu_has(w, "line 1: IF has no matching ENDIF");
	tu_expect(m, "9.9.9.9", NF);
	map_close(m);

	w = tu_open_warnings("cidr", "if\n!\niffy r1\nif1.2.3.4\n", NULL);
	tu_has(w, "line 1: no address pattern: skipping this rule");
	tu_has(w, "line 2: no address pattern: skipping this rule");
	tu_has(w, "line 3: bad address pattern: \"iffy\"");
	tu_has(w, "line 4: bad address pattern: \"if1.2.3.4\"");

	struct strbuf sb;
	sb_init(&sb, 0);
	for (int i = 0; i < MAP_IF_DEPTH; i++)
		sb_adds(&sb, "if 1.0.0.0/8\n");
	sb_adds(&sb, "1.2.3.4 deep\n");
	tu_check("cidr", sb.s, "1.2.3.4", "deep", "2.2.3.4", NF, END);
	sb_adds(&sb, "if 1.0.0.0/8\n");
	char want[64];
	snprintf(want, sizeof(want), ", line %d: IF nesting deeper than %d",
	         MAP_IF_DEPTH + 2, MAP_IF_DEPTH);
	tu_open_fails("cidr", sb.s, want);
	sb_free(&sb);
}

static void test_bad_rules(void **state)
{
	(void)state;
	static const struct {
		const char *rule, *warning;
	} bad[] = {
		{"1.2.3.4/24 r", "non-null host address bits in \"1.2.3.4/24\", "
		                 "perhaps you should use \"1.2.3.0/24\" instead: "
		                 "skipping this rule"},
		{"2001:db8::1/64 r", "non-null host address bits in \"2001:db8::1/64\", "
		                     "perhaps you should use \"2001:db8::/64\" instead"},
		{"1.2.3.0/33 r", "bad mask length in \"1.2.3.0/33\": skipping this rule"},
		{"::/129 r", "bad mask length in \"::/129\""},
		{"foo/33 r", "bad mask length in \"foo/33\""},
		{"1.2.3.0/-1 r", "bad mask value in \"1.2.3.0/-1\""},
		{"1.2.3.0/ r", "bad mask value in \"1.2.3.0/\""},
		{"1.2.3.0/+24 r", "bad mask value in \"1.2.3.0/+24\""},
		{"1.2.3.0/24r1", "bad mask value in \"1.2.3.0/24r1\""},
		{"1.2.3.4/32/2 r", "bad mask value in \"1.2.3.4/32/2\""},
		{"foo/24 r", "bad network value in \"foo/24\""},
		{"/8 r", "bad network value in \"/8\""},
		{"[]/8 r", "bad network value in \"/8\""},
		{"foo r", "bad address pattern: \"foo\": skipping this rule"},
		{"01.2.3.4 r", "bad address pattern: \"01.2.3.4\""},
		{"1.2.3.4] r", "bad address pattern: \"1.2.3.4]\""},
		{"[1.2.3.4 r", "missing ']' character after \"[1.2.3.4\""},
		{"[[1.2.3.4]] r", "garbage after \"[[1.2.3.4]\""},
		{"[1.2.3.4]x r", "garbage after \"[1.2.3.4]\""},
		{"1.2.3.4", "no lookup result: skipping this rule"},
		{"! r1", "bad address pattern: \"r1\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%s\n0.0.0.0/0 fallback\n::/0 f6\n",
		         bad[i].rule);
		struct map *m;
		const char *w = tu_open_warnings("cidr", text, &m);
		tu_has(w, "cidr map ");
		tu_has(w, ", line 1: ");
		tu_has(w, bad[i].warning);
		tu_expect(m, "1.2.3.4", "fallback");
		tu_expect(m, "2001:db8::1", "f6");
		map_close(m);
	}
}

static void test_lines(void **state)
{
	(void)state;
	tu_check("cidr", "1.2.3.4\n  multi\n  line\n5.6.7.8 last", "1.2.3.4",
	         "multi  line", "5.6.7.8", "last", END);

	tu_line_limits("cidr", "1.2.3.4 ", "1.2.3.4");

	/* A very long pattern is refused, not truncated into a match. */
	char *longpat = tu_long_line("1.2.3.4/", 400);
	longpat[400] = '\0';
	struct strbuf sb;
	struct map *m;
	sb_init(&sb, 0);
	sb_adds(&sb, longpat);
	sb_adds(&sb, " r1\n");
	const char *w = tu_open_warnings("cidr", sb.s, &m);
	tu_has(w, "line 1: bad address pattern");
	tu_expect(m, "1.2.3.4", NF);
	map_close(m);
	sb_free(&sb);
	free(longpat);
}

static void test_open_errors(void **state)
{
	(void)state;
	assert_null(map_open("cidr:/nonexistent/postern/table", 0, tu_err,
	                     sizeof(tu_err)));
	assert_string_equal(tu_err, "open /nonexistent/postern/table: "
	                            "No such file or directory");
	const struct map_ops *ops = map_type_find("cidr");
	assert_non_null(ops);
	assert_true(ops->props & MAP_P_PATTERN);
	assert_null(ops->update);
	const char *spec = tu_table("cidr", "1.2.3.4 a\n");
	assert_null(map_open(spec, MAP_F_CREATE, tu_err, sizeof(tu_err)));

	char err[512];
	struct map *m = map_open("cidr:{ {1.2.3.4 one}, {!1.2.3.0/24 other} }",
	                         0, err, sizeof(err));
	assert_non_null(m);
	tu_expect(m, "1.2.3.4", "one");
	tu_expect(m, "9.9.9.9", "other");
	tu_expect(m, "1.2.3.5", NF);
	map_close(m);
	assert_null(map_open("cidr:{", 0, err, sizeof(err)));
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
		cmocka_unit_test_teardown(test_keys, teardown),
		cmocka_unit_test_teardown(test_prefixes, teardown),
		cmocka_unit_test_teardown(test_brackets, teardown),
		cmocka_unit_test_teardown(test_negation, teardown),
		cmocka_unit_test_teardown(test_if, teardown),
		cmocka_unit_test_teardown(test_if_errors, teardown),
		cmocka_unit_test_teardown(test_bad_rules, teardown),
		cmocka_unit_test_teardown(test_lines, teardown),
		cmocka_unit_test_teardown(test_open_errors, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
