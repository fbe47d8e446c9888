/*
 * test_addrlist.c - the address-list parser of postern sendmail: the
 * forms To:/Cc:/Bcc: use, fed whole and one byte at a time (every
 * prefix must parse without reading past its end), limits at the bound
 * and one past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/addrlist.h"
#include "bounds.h"

struct got {
	char buf[8192];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static bool collect(void *arg, const char *addr)
{
	struct got *g = arg;
	size_t len = strlen(g->buf);
	snprintf(g->buf + len, sizeof(g->buf) - len, "%s%s", len ? "|" : "", addr);
	g->n++;
	return g->stop_after == 0 || g->n < g->stop_after;
}

static const char *parse(const char *text, bool *ok)
{
	static struct got g;
	memset(&g, 0, sizeof(g));
	*ok = addrlist_parse(text, strlen(text), collect, &g);
	return g.buf;
}

static void test_forms(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"a@b", "a@b"},
		{" a@b , c@d ", "a@b|c@d"},
		{"Bob <bob@x.example>, carol", "bob@x.example|carol"},
		{"\"Dave, D.\" <dave@x.example> (comment, with comma)", "dave@x.example"},
		{"a@b (nested (comment) here), c@d", "a@b|c@d"},
		{"team: a@b, c@d;, e@f", "a@b|c@d|e@f"},
		{"empty-group:;", ""},
		{"<@route1,@route2:user@x.example>", "user@x.example"},
		{"\"quoted local\"@x.example", "\"quoted local\"@x.example"},
		{"\"esc\\\"aped\"@x", "\"esc\\\"aped\"@x"},
		{"user@[192.0.2.1]", "user@[192.0.2.1]"},
		{"a@b,\r\n c@d", "a@b|c@d"},
		{",,,", ""},
		{"", ""},
		{"<>", ""},
		{"Name <a@b> trailing junk", "a@b"},
		{"unterminated <a@b", "a@b"},
		{"\"unterminated quote", "\"unterminated quote\""},
		{"(unterminated comment", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok;
		const char *out = parse(cases[i].in, &ok);
		if (strcmp(out, cases[i].out) != 0)
			fprintf(stderr, "case %zu: %s -> %s\n", i, cases[i].in, out);
		assert_true(ok);
		assert_string_equal(out, cases[i].out);
	}
}

/* Every prefix, in a buffer of exactly its size: ASan catches a read
 * past the end. */
static void test_prefixes(void **state)
{
	(void)state;
	const char *text = "\"A, b\" <a@b.example> (c (d) e), grp: x@y, \"q\\\"\"@z;, "
	                   "<@r:u@v>, w@[1.2.3.4], last";
	size_t len = strlen(text);
	for (size_t n = 0; n <= len; n++) {
		char *buf = malloc(n ? n : 1);
		memcpy(buf, text, n);
		struct got g = {.n = 0};
		addrlist_parse(buf, n, collect, &g);
		free(buf);
	}
	bool ok;
	assert_string_equal(parse(text, &ok), "a@b.example|x@y|\"q\\\"\"@z|u@v|w@[1.2.3.4]|last");
}

static void test_limits(void **state)
{
	(void)state;
	char *long_addr = malloc(ADDRLIST_ADDR_MAX + 10);
	memset(long_addr, 'a', ADDRLIST_ADDR_MAX);
	long_addr[ADDRLIST_ADDR_MAX] = '\0';
	bool ok;
	struct got g = {.n = 0};
	ok = addrlist_parse(long_addr, ADDRLIST_ADDR_MAX, collect, &g);
	assert_true(ok);
	assert_int_equal(g.n, 1);
	long_addr[ADDRLIST_ADDR_MAX] = 'a';
	g = (struct got){.n = 0};
	ok = addrlist_parse(long_addr, ADDRLIST_ADDR_MAX + 1, collect, &g);
	assert_false(ok);
	free(long_addr);

	char nest[ADDRLIST_COMMENT_DEPTH * 2 + 8];
	size_t n = 0;
	for (int i = 0; i < ADDRLIST_COMMENT_DEPTH; i++)
		nest[n++] = '(';
	for (int i = 0; i < ADDRLIST_COMMENT_DEPTH; i++)
		nest[n++] = ')';
	memcpy(nest + n, "a@b", 4);
	assert_string_equal(parse(nest, &ok), "a@b");
	assert_true(ok);
	memmove(nest + 1, nest, strlen(nest) + 1);
	nest[0] = '(';
	parse(nest, &ok);
	assert_false(ok);

	/* The callback stops the parse. */
	g = (struct got){.stop_after = 2};
	assert_false(addrlist_parse("a,b,c,d", 7, collect, &g));
	assert_int_equal(g.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
