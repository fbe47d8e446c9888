/*
 * test_cfg.c - main.cf parsing, defaults and expansion.  Expected
 * values were taken from Postfix 3.7's postconf on the same input.
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
#include "cfg.h"
#include "lreader.h"

struct collect {
	struct diag d;
	char text[8192];
};

static void collect_emit(void *arg, const char *file, int line,
                         enum diag_sev sev, const char *text)
{
	struct collect *c = arg;
	size_t n = strlen(c->text);
	(void)file;
	snprintf(c->text + n, sizeof(c->text) - n, "%d:%d:%s\n", line, (int)sev, text);
}

static struct cfg *load(const char *text, struct collect *col)
{
	memset(col, 0, sizeof(*col));
	col->d.emit = collect_emit;
	col->d.arg = col;
	return cfg_load_text(text, strlen(text), "main.cf", &col->d);
}

static char *expand(struct cfg *c, const char *text, char *err, size_t errlen)
{
	return cfg_expand(c, text, NULL, NULL, err, errlen);
}

static void test_table_sorted(void **state)
{
	(void)state;
	size_t n;
	const struct cfg_param *t = cfg_param_table(&n);
	assert_true(n > 800);
	for (size_t i = 1; i < n; i++)
		if (strcmp(t[i - 1].name, t[i].name) >= 0)
			fail_msg("params.def not sorted at %s / %s", t[i - 1].name,
			         t[i].name);
	assert_non_null(cfg_param_find("smtpd_recipient_restrictions"));
	assert_null(cfg_param_find("no_such_parameter"));
}

static void test_basic_and_continuation(void **state)
{
	(void)state;
	struct collect col;
	struct cfg *c = load("# comment\n"
	                     "myhostname = mail.example.com\n"
	                     "mydestination = $myhostname,   localhost.$mydomain,\n"
	                     "    localhost\n"
	                     "  # indented comment inside a continuation\n"
	                     "\n"
	                     "smtpd_banner=$myhostname   ESMTP  \n",
	                     &col);
	assert_string_equal(cfg_get(c, "myhostname"), "mail.example.com");
	assert_string_equal(cfg_get(c, "mydomain"), "example.com");
	assert_string_equal(cfg_raw(c, "mydestination"),
	                    "$myhostname,   localhost.$mydomain,    localhost");
	assert_string_equal(cfg_get(c, "mydestination"),
	                    "mail.example.com,   localhost.example.com,    localhost");
	assert_string_equal(cfg_get(c, "smtpd_banner"), "mail.example.com   ESMTP");
	const char *file;
	int line;
	assert_true(cfg_origin(c, "mydestination", &file, &line));
	assert_int_equal(line, 3);
	assert_string_equal(col.text, "");
	cfg_free(c);
}

static void test_last_wins_with_warning(void **state)
{
	(void)state;
	struct collect col;
	struct cfg *c = load("foo = bar\nfoo = baz\n", &col);
	assert_string_equal(cfg_get(c, "foo"), "baz");
	assert_non_null(strstr(col.text, "2:1:overriding earlier entry: foo=bar"));
	assert_int_equal(cfg_count(c), 1);
	cfg_free(c);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	struct collect col;
	struct cfg *c = load("foo\nfoo bar = x\n= x\n  orphan = 1\nok = 1\n", &col);
	/* "  orphan" continues "= x", which is bad anyway. */
	assert_non_null(strstr(col.text, "1:0:missing '=' after attribute name: \"foo\""));
	assert_non_null(strstr(col.text, "2:0:missing '=' after attribute name"));
	assert_non_null(strstr(col.text, "3:0:missing attribute name"));
	assert_string_equal(cfg_get(c, "ok"), "1");
	cfg_free(c);

	c = load("   leading = white\nok = 1\n", &col);
	assert_non_null(strstr(col.text, "must not start with white space"));
	assert_false(cfg_is_set(c, "leading"));
	assert_string_equal(cfg_get(c, "ok"), "1");
	cfg_free(c);
}

static void test_conditionals(void **state)
{
	(void)state;
	struct collect col;
	char err[256];
	struct cfg *c = load("full = x\nempty =\n", &col);
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"${full?yes}", "yes"},
		{"${empty?yes}", ""},
		{"${nope?yes}", ""},
		{"${full:no}", ""},
		{"${empty:no}", "no"},
		{"${full?{a, b}}", "a, b"},
		{"${full?{a}:{b}}", "a"},
		{"${empty?{a}:{b}}", "b"},
		{"${empty?{a}:b c}", "b c"},
		{"${full?a}:b", "a:b"},
		{"${full?{a}:b}", "a"},
		{"$(full)", "x"},
		{"${ full }", "x"},
		{"a $$ b", "a $ b"},
		{"$full-x ${full}x", "x-x xx"},
		{"${full?$full$full}", "xx"},
		{"${{3.6} <level {2} ? {lt} : {ge}}", "ge"},
		{"${{1} <level {2} ? {lt} : {ge}}", "lt"},
		{"${{1.2.3} <=level {1.2} ? {le} : {gt}}", "gt"},
		{"${{3.6} >=level {3.6} ? {ge}}", "ge"},
		{"${{10} < {9} ? {lt} : {ge}}", "ge"},
		{"${{abc} == {ABC} ? {eq} : {ne}}", "ne"},
		{"${{a}=={a}?{t}}", "t"},
		{"${{a} != {a} ? {t}}", ""},
		{"${{$full} == {x} ? {yes} : {no}}", "yes"},
		{"${{010} == {10} ? {same} : {diff}}", "same"},
		{"${{1} == {1}}", "true"},
		{"${{1} == {2}}", ""},
		{"a ${{1} != {2}} b", "a true b"},
		{"${{3.7} <level {3.10}}", "true"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v = expand(c, cases[i].in, err, sizeof(err));
		if (strcmp(v, cases[i].out) != 0 || err[0])
			fail_msg("%s: got \"%s\" want \"%s\" (%s)", cases[i].in, v,
			         cases[i].out, err);
		free(v);
	}
	cfg_free(c);
}

static void test_expansion_errors(void **state)
{
	(void)state;
	struct collect col;
	char err[256];
	struct cfg *c = load("a = $b\nb = $a\nself = x $self\n", &col);
	static const char *const bad[] = {
		"a $ x", "$", "${mail_name", "${{a} =~ {a} ? {t}}",
		"${zz?{a}:{b} junk}", "${{a}}", "$a", "$self", "${{x} <level {1} ? {a}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *v = expand(c, bad[i], err, sizeof(err));
		if (err[0] == '\0')
			fail_msg("%s: expected an error, got \"%s\"", bad[i], v);
		free(v);
	}
	/* cfg_get reports once through the diag and returns what it has. */
	(void)cfg_get(c, "a");
	assert_non_null(strstr(col.text, "unreasonable macro call nesting"));
	cfg_free(c);
}

static void undef(void *arg, const char *name)
{
	strcat(arg, name);
	strcat(arg, ";");
}

static void test_undefined_and_defaults(void **state)
{
	(void)state;
	struct collect col;
	char err[256], names[256] = "";
	struct cfg *c = load("compatibility_level = 3.6\n", &col);
	char *v = cfg_expand(c, "[$nope1 ${nope2?x} ${nope3:y}]", undef, names, err,
	                     sizeof(err));
	assert_string_equal(v, "[  y]");
	assert_string_equal(names, "nope1;nope2;nope3;");
	free(v);
	/* Postfix's compatibility-level dependent defaults. */
	assert_string_equal(cfg_get(c, "smtpd_relay_restrictions"),
	                    "permit_mynetworks, permit_sasl_authenticated, "
	                    "defer_unauth_destination");
	assert_string_equal(cfg_get(c, "mynetworks_style"), "host");
	assert_string_equal(cfg_get(c, "relay_domains"), "");
	cfg_free(c);
	c = load("", &col);
	assert_string_equal(cfg_get(c, "mynetworks_style"), "subnet");
	assert_string_equal(cfg_get(c, "myorigin"), cfg_get(c, "myhostname"));
	assert_int_equal(cfg_get_time(c, "maximal_queue_lifetime"), 5 * 86400);
	assert_int_equal(cfg_get_time(c, "smtpd_timeout"), 300);
	assert_int_equal(cfg_get_long(c, "message_size_limit"), 10240000);
	assert_true(cfg_get_bool(c, "disable_vrfy_command") == false);
	cfg_free(c);
}

static void test_hostname_derivation(void **state)
{
	(void)state;
	struct collect col;
	static const struct {
		const char *host, *domain;
	} cases[] = {
		{"host.com", "com"},
		{"a.b.c", "b.c"},
		{"mail.example.co.uk", "example.co.uk"},
		{"single", "localdomain"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "myhostname = %s\n", cases[i].host);
		struct cfg *c = load(text, &col);
		assert_string_equal(cfg_get(c, "mydomain"), cases[i].domain);
		cfg_free(c);
	}
	struct cfg *c = load("mydomain = ex.org\n", &col);
	const char *h = cfg_get(c, "myhostname");
	/* A host name without a dot is qualified with $mydomain. */
	assert_true(strchr(h, '.') != NULL);
	cfg_free(c);
}

static void test_overrides(void **state)
{
	(void)state;
	struct collect col;
	struct cfg *c = load("a = 1\nb = $a\n", &col);
	assert_string_equal(cfg_get(c, "b"), "1");
	cfg_set(c, "a", "2", "master.cf", 7);
	assert_string_equal(cfg_get(c, "b"), "2");
	cfg_set(c, "b", "", "master.cf", 8);
	assert_string_equal(cfg_get(c, "b"), "");
	cfg_free(c);
}

static void test_values(void **state)
{
	(void)state;
	long l;
	bool b;
	assert_true(cfg_parse_time("10", 'd', &l) && l == 864000);
	assert_true(cfg_parse_time("10s", 'd', &l) && l == 10);
	assert_true(cfg_parse_time("2w", 's', &l) && l == 2 * 604800);
	assert_false(cfg_parse_time("10x", 's', &l));
	assert_false(cfg_parse_time("10ss", 's', &l));
	assert_false(cfg_parse_time("", 's', &l));
	assert_false(cfg_parse_time("-1", 's', &l));
	assert_false(cfg_parse_time("99999999999999999999", 's', &l));
	assert_true(cfg_parse_bool("YES", &b) && b);
	assert_true(cfg_parse_bool("no", &b) && !b);
	assert_false(cfg_parse_bool("maybe", &b));
	assert_true(cfg_parse_long("10240000", &l) && l == 10240000);
	assert_false(cfg_parse_long("10k", &l));
	assert_false(cfg_parse_long("", &l));
}

static void test_limits(void **state)
{
	(void)state;
	struct collect col;
	/* A logical line exactly at the limit is fine, one byte more is not. */
	size_t n = CFG_LINE_MAX;
	char *text = malloc(n + 16);
	memcpy(text, "a = ", 4);
	memset(text + 4, 'x', n - 4);
	strcpy(text + n, "\nb = 1\n");
	struct cfg *c = load(text, &col);
	assert_int_equal(strlen(cfg_raw(c, "a")), n - 4);
	assert_string_equal(col.text, "");
	cfg_free(c);
	memset(text + 4, 'x', n - 3);
	strcpy(text + n + 1, "\nb = 1\n");
	c = load(text, &col);
	assert_false(cfg_is_set(c, "a"));
	assert_string_equal(cfg_get(c, "b"), "1");
	assert_non_null(strstr(col.text, "longer than"));
	cfg_free(c);
	free(text);

	/* Deep nesting ends in an error, not a crash. */
	char deep[4096] = "";
	for (int i = 0; i < 300; i++)
		strcat(deep, "${a?");
	strcat(deep, "x");
	for (int i = 0; i < 300; i++)
		strcat(deep, "}");
	c = load("a = 1\n", &col);
	char err[256];
	char *v = expand(c, deep, err, sizeof(err));
	assert_true(err[0] != '\0');
	free(v);
	cfg_free(c);
}

static void test_byte_at_a_time_equivalence(void **state)
{
	(void)state;
	/* The reader must give the same lines whether the text comes whole
	 * or through a stream that yields one byte per read. */
	const char *text = "a = 1\n  2\n# c\nb = $a\r\n\n c\nd=4";
	struct collect col;
	struct cfg *whole = load(text, &col);
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	setvbuf(fp, NULL, _IONBF, 0);
	struct lreader lr;
	lr_init(&lr, fp, "x", CFG_LINE_MAX);
	char *line;
	int n = 0;
	while (lr_next(&lr, &line) == LR_LINE)
		n++;
	lr_free(&lr);
	fclose(fp);
	assert_int_equal(n, 3);
	assert_string_equal(cfg_raw(whole, "a"), "1  2");
	assert_string_equal(cfg_raw(whole, "b"), "$a c");
	assert_string_equal(cfg_raw(whole, "d"), "4");
	cfg_free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted),
		cmocka_unit_test(test_basic_and_continuation),
		cmocka_unit_test(test_last_wins_with_warning),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_conditionals),
		cmocka_unit_test(test_expansion_errors),
		cmocka_unit_test(test_undefined_and_defaults),
		cmocka_unit_test(test_hostname_derivation),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_byte_at_a_time_equivalence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
