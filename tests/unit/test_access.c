/*
 * test_access.c - access(5) search orders.  A recording map backend
 * (defined here, never registered) captures the exact sequence of keys
 * tried; inline: tables check the same orders through a real map.
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

#include "access.h"
#include "bounds.h"
#include "log.h"
#include "map.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- recording backend ---- */

#define REC_MAX 64
static char *rec_keys[REC_MAX];
static int rec_n;
static const char *rec_hit;   /* this key is found ... */
static const char *rec_error; /* ... and this one fails */

static void rec_reset(void)
{
	for (int i = 0; i < rec_n; i++)
		free(rec_keys[i]);
	rec_n = 0;
	rec_hit = rec_error = NULL;
}

static int rec_lookup(struct map *m, const char *key, const char **value)
{
	if (rec_n >= REC_MAX)
		fail_msg("too many lookups");
	rec_keys[rec_n++] = xstrdup(key);
	if (rec_error != NULL && strcmp(key, rec_error) == 0)
		return map_set_err(m, "recorded failure");
	if (rec_hit != NULL && strcmp(key, rec_hit) == 0) {
		*value = "HIT";
		return MAP_FOUND;
	}
	return MAP_NOTFOUND;
}

static void rec_close(struct map *m)
{
	map_free(m);
}

static const struct map_ops rec_fixed_ops = {
	.type = "recfixed", .props = MAP_P_FIXED, .lookup = rec_lookup,
	.close = rec_close,
};
static const struct map_ops rec_pattern_ops = {
	.type = "recpattern", .props = MAP_P_PATTERN, .lookup = rec_lookup,
	.close = rec_close,
};

static struct map *rec_fixed, *rec_pattern;

/* Compare the recorded keys with a NULL-terminated list. */
static void expect_keys(const char *const *want)
{
	int i;
	for (i = 0; want[i] != NULL; i++) {
		if (i >= rec_n)
			fail_msg("key %d: want \"%s\", nothing looked up", i, want[i]);
		if (strcmp(rec_keys[i], want[i]) != 0)
			fail_msg("key %d: want \"%s\", got \"%s\"", i, want[i],
			         rec_keys[i]);
	}
	if (rec_n != i)
		fail_msg("%d keys looked up, want %d (extra: \"%s\")", rec_n, i,
		         rec_keys[i]);
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct access_opts dot_plus = {.delimiters = "+"};
static const struct access_opts parent_plus = {.parent_style = true,
                                               .delimiters = "+"};

static int addr(struct map *m, const char *a, const struct access_opts *o)
{
	const char *v;
	rec_reset();
	return access_find_addr(m, a, o, &v, NULL, 0);
}

static int setup(void **state)
{
	(void)state;
	rec_fixed = map_alloc(sizeof(struct map), &rec_fixed_ops, "x", 0);
	rec_pattern = map_alloc(sizeof(struct map), &rec_pattern_ops, "x", 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rec_reset();
	map_close(rec_fixed);
	map_close(rec_pattern);
	return 0;
}

/* ---- mail addresses ---- */

static void test_addr_order(void **state)
{
	(void)state;
	assert_int_equal(addr(rec_fixed, "user+ext@host.sub.example.com", &dot_plus),
	                 MAP_NOTFOUND);
	expect_keys(KEYS("user+ext@host.sub.example.com", "user@host.sub.example.com",
	                 "host.sub.example.com", ".sub.example.com", ".example.com",
	                 ".com", "user+ext@", "user@"));

	assert_int_equal(addr(rec_fixed, "user+ext@host.sub.example.com", &parent_plus),
	                 MAP_NOTFOUND);
	expect_keys(KEYS("user+ext@host.sub.example.com", "user@host.sub.example.com",
	                 "host.sub.example.com", "sub.example.com", "example.com",
	                 "com", "user+ext@", "user@"));

	addr(rec_fixed, "user@example.com", &dot_plus);
	expect_keys(KEYS("user@example.com", "example.com", ".com", "user@"));

	/* No delimiter configured: "+" is part of the user name. */
	addr(rec_fixed, "user+ext@example.com", NULL);
	expect_keys(KEYS("user+ext@example.com", "example.com", ".com", "user+ext@"));

	/* Pattern tables see the whole address only. */
	addr(rec_pattern, "user+ext@host.example.com", &parent_plus);
	expect_keys(KEYS("user+ext@host.example.com"));
}

static void test_addr_stop(void **state)
{
	(void)state;
	const char *v;
	char matched[64];

	rec_reset();
	rec_hit = ".example.com";
	assert_int_equal(access_find_addr(rec_fixed, "u+x@a.example.com", &dot_plus,
	                                  &v, matched, sizeof(matched)),
	                 MAP_FOUND);
	assert_string_equal(v, "HIT");
	assert_string_equal(matched, ".example.com");
	expect_keys(KEYS("u+x@a.example.com", "u@a.example.com", "a.example.com",
	                 ".example.com"));

	/* The first map error ends the search. */
	rec_reset();
	rec_error = "a.example.com";
	assert_int_equal(access_find_addr(rec_fixed, "u+x@a.example.com", &dot_plus,
	                                  &v, matched, sizeof(matched)),
	                 MAP_ERROR);
	assert_null(v);
	assert_string_equal(matched, "");
	expect_keys(KEYS("u+x@a.example.com", "u@a.example.com", "a.example.com"));

	/* The matched key is cut to fit, never overflows. */
	rec_reset();
	rec_hit = "user@";
	assert_int_equal(access_find_addr(rec_fixed, "user@example.com", NULL, &v,
	                                  matched, 4),
	                 MAP_FOUND);
	assert_string_equal(matched, "use");
}

static void test_null_sender(void **state)
{
	(void)state;
	addr(rec_fixed, "", &dot_plus);
	expect_keys(KEYS("<>"));
	addr(rec_pattern, "", NULL);
	expect_keys(KEYS("<>"));
	struct access_opts o = {.null_key = "<null>"};
	addr(rec_fixed, "", &o);
	expect_keys(KEYS("<null>"));
}

static void test_delimiters(void **state)
{
	(void)state;
	struct access_opts o = {.delimiters = "+-"};
	/* The first of any delimiter character starts the extension. */
	addr(rec_fixed, "a-b+c@d", &o);
	expect_keys(KEYS("a-b+c@d", "a@d", "d", "a-b+c@", "a@"));
	addr(rec_fixed, "a+b-c@d", &o);
	expect_keys(KEYS("a+b-c@d", "a@d", "d", "a+b-c@", "a@"));
	/* An empty extension is still split off. */
	addr(rec_fixed, "user+@d", &o);
	expect_keys(KEYS("user+@d", "user@d", "d", "user+@", "user@"));
	/* Never an empty user name. */
	addr(rec_fixed, "+foo@d", &o);
	expect_keys(KEYS("+foo@d", "d", "+foo@"));
	/* Role and list names stay whole. */
	addr(rec_fixed, "Postmaster+x@d", &o);
	expect_keys(KEYS("Postmaster+x@d", "Postmaster@d", "d", "Postmaster+x@",
	                 "Postmaster@"));
	addr(rec_fixed, "owner-list@d", &o);
	expect_keys(KEYS("owner-list@d", "d", "owner-list@"));
	addr(rec_fixed, "list-request@d", &o);
	expect_keys(KEYS("list-request@d", "d", "list-request@"));
	/* With only "+" as delimiter those are ordinary names. */
	addr(rec_fixed, "owner+x@d", &dot_plus);
	expect_keys(KEYS("owner+x@d", "owner@d", "d", "owner+x@", "owner@"));
}

static void test_ext_split(void **state)
{
	(void)state;
	assert_int_equal(access_ext_split("user+ext", 8, "+", NULL), 4);
	assert_int_equal(access_ext_split("user+ext", 8, NULL, NULL), 8);
	assert_int_equal(access_ext_split("user+ext", 8, "", NULL), 8);
	assert_int_equal(access_ext_split("user", 4, "+", NULL), 4);
	assert_int_equal(access_ext_split("+ext", 4, "+", NULL), 4);
	assert_int_equal(access_ext_split("a.b+c", 5, "+.", NULL), 1);
	/* Only the first len bytes count: "user" of "user+ext". */
	assert_int_equal(access_ext_split("user+ext", 4, "+", NULL), 4);
	/* Role names are never split, whatever the delimiters. */
	assert_int_equal(access_ext_split("postmaster", 10, "t", NULL), 10);
	assert_int_equal(access_ext_split("PostMaster", 10, "t", NULL), 10);
	assert_int_equal(access_ext_split("postmasters", 11, "t", NULL), 3);
	assert_int_equal(access_ext_split("mailer-daemon", 13, "e", NULL), 13);
	assert_int_equal(access_ext_split("MAILER-DAEMON", 13, "-", NULL), 13);
	assert_int_equal(access_ext_split("double-bounce", 13, "-", NULL), 13);
	assert_int_equal(access_ext_split("double-bounce", 13, "-", "bounce-me"), 6);
	assert_int_equal(access_ext_split("bounce-me", 9, "-", "bounce-me"), 9);
	assert_int_equal(access_ext_split("owner-x", 7, "-", NULL), 7);
	assert_int_equal(access_ext_split("owner-x", 7, "+", NULL), 7);
	assert_int_equal(access_ext_split("owner+x", 7, "+", NULL), 5);
	assert_int_equal(access_ext_split("x-request", 9, "-", NULL), 9);
	assert_int_equal(access_ext_split("-request", 8, "-", NULL), 8);
	assert_int_equal(access_ext_split("ab-request", 10, "+-", NULL), 10);
	assert_int_equal(access_ext_split("ab+request", 10, "+-", NULL), 2);
}

static void test_addr_odd(void **state)
{
	(void)state;
	/* A quoted local part holding '@': the domain is after the last one. */
	addr(rec_fixed, "\"a@b+c\"@example.com", &dot_plus);
	expect_keys(KEYS("\"a@b+c\"@example.com", "\"a@b@example.com", "example.com",
	                 ".com", "\"a@b+c\"@", "\"a@b@"));
	/* No '@' at all. */
	addr(rec_fixed, "user+ext", &dot_plus);
	expect_keys(KEYS("user+ext", "user", "user+ext@", "user@"));
	/* Empty local part. */
	addr(rec_fixed, "@example.com", &dot_plus);
	expect_keys(KEYS("@example.com", "example.com", ".com"));
	/* Empty domain. */
	addr(rec_fixed, "user+x@", &dot_plus);
	expect_keys(KEYS("user+x@", "user@"));
	addr(rec_fixed, "@", &dot_plus);
	expect_keys(KEYS("@"));
	/* Trailing dot: no lookup of "." or "". */
	addr(rec_fixed, "u@example.com.", &dot_plus);
	expect_keys(KEYS("u@example.com.", "example.com.", ".com.", "u@"));
	addr(rec_fixed, "u@example.com.", &parent_plus);
	expect_keys(KEYS("u@example.com.", "example.com.", "com.", "u@"));
	/* Domain literal: looked up whole, no "parents". */
	addr(rec_fixed, "u@[192.0.2.1]", &parent_plus);
	expect_keys(KEYS("u@[192.0.2.1]", "[192.0.2.1]", "u@"));
	/* Case is the map's business: keys go out as given. */
	addr(rec_fixed, "User@Example.COM", &dot_plus);
	expect_keys(KEYS("User@Example.COM", "Example.COM", ".COM", "User@"));
	/* Garbage does not crash and is looked up literally. */
	addr(rec_fixed, "@@..@.", &parent_plus);
	expect_keys(KEYS("@@..@.", ".", "@@..@"));
}

static void test_addr_limits(void **state)
{
	(void)state;
	char *a = xmalloc(MAP_KEY_MAX + 2);
	/* Exactly MAP_KEY_MAX: looked up, and so are its shorter forms. */
	memset(a, 'u', MAP_KEY_MAX);
	memcpy(a + MAP_KEY_MAX - 6, "+x@d.e", 6);
	a[MAP_KEY_MAX] = '\0';
	addr(rec_fixed, a, &dot_plus);
	assert_int_equal(rec_n, 6);
	assert_int_equal(strlen(rec_keys[0]), MAP_KEY_MAX);
	assert_string_equal(rec_keys[2], "d.e");
	/* One more byte: nothing can match, nothing is looked up. */
	memset(a, 'u', MAP_KEY_MAX + 1);
	a[MAP_KEY_MAX + 1] = '\0';
	assert_int_equal(addr(rec_fixed, a, &dot_plus), MAP_NOTFOUND);
	assert_int_equal(rec_n, 0);
	rec_reset();
	const char *v;
	assert_int_equal(access_find_domain(rec_fixed, a, NULL, &v, NULL, 0),
	                 MAP_NOTFOUND);
	assert_int_equal(access_find_client_addr(rec_fixed, a, NULL, &v, NULL, 0),
	                 MAP_NOTFOUND);
	assert_int_equal(rec_n, 0);
	free(a);
}

/* ---- domains ---- */

static int dom(struct map *m, const char *d, const struct access_opts *o)
{
	const char *v;
	rec_reset();
	return access_find_domain(m, d, o, &v, NULL, 0);
}

static void test_domain_order(void **state)
{
	(void)state;
	dom(rec_fixed, "host.sub.example.com", NULL);
	expect_keys(KEYS("host.sub.example.com", ".sub.example.com", ".example.com",
	                 ".com"));
	dom(rec_fixed, "host.sub.example.com", &parent_plus);
	expect_keys(KEYS("host.sub.example.com", "sub.example.com", "example.com",
	                 "com"));
	dom(rec_pattern, "host.sub.example.com", &parent_plus);
	expect_keys(KEYS("host.sub.example.com"));
	dom(rec_fixed, "localhost", NULL);
	expect_keys(KEYS("localhost"));
	dom(rec_fixed, "", NULL);
	assert_int_equal(rec_n, 0);
	dom(rec_fixed, ".example.com", &parent_plus);
	expect_keys(KEYS(".example.com", "com"));
	dom(rec_fixed, "a..b", &parent_plus);
	expect_keys(KEYS("a..b", ".b"));
	dom(rec_fixed, "a..b", NULL);
	expect_keys(KEYS("a..b", "..b", ".b"));
	dom(rec_fixed, ".", NULL);
	expect_keys(KEYS("."));
	dom(rec_fixed, "[IPv6:2001:db8::1]", NULL);
	expect_keys(KEYS("[IPv6:2001:db8::1]"));

	const char *v;
	rec_reset();
	rec_hit = "example.com";
	assert_int_equal(access_find_domain(rec_fixed, "a.b.example.com", &parent_plus,
	                                    &v, NULL, 0), MAP_FOUND);
	expect_keys(KEYS("a.b.example.com", "b.example.com", "example.com"));
	rec_reset();
	rec_error = "a.b.example.com";
	assert_int_equal(access_find_domain(rec_fixed, "a.b.example.com", &parent_plus,
	                                    &v, NULL, 0), MAP_ERROR);
	expect_keys(KEYS("a.b.example.com"));
}

/* ---- client addresses ---- */

static int client(struct map *m, const char *a)
{
	const char *v;
	rec_reset();
	return access_find_client_addr(m, a, NULL, &v, NULL, 0);
}

static void test_client_order(void **state)
{
	(void)state;
	client(rec_fixed, "192.0.2.14");
	expect_keys(KEYS("192.0.2.14", "192.0.2", "192.0", "192"));
	client(rec_pattern, "192.0.2.14");
	expect_keys(KEYS("192.0.2.14"));
	/* IPv6 in compressed lower-case form, then cut at each ':'. */
	client(rec_fixed, "2001:DB8:0:0:0:0:0:1");
	expect_keys(KEYS("2001:db8::1", "2001:db8:", "2001:db8", "2001"));
	client(rec_fixed, "2001:db8:1:2:3:4:5:6");
	expect_keys(KEYS("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5",
	                 "2001:db8:1:2:3:4", "2001:db8:1:2:3", "2001:db8:1:2",
	                 "2001:db8:1", "2001:db8", "2001"));
	client(rec_fixed, "2001:db8::");
	expect_keys(KEYS("2001:db8::", "2001:db8:", "2001:db8", "2001"));
	client(rec_fixed, "::1");
	expect_keys(KEYS("::1", ":"));
	/* IPv4-mapped addresses are searched as IPv4. */
	client(rec_fixed, "::ffff:10.0.0.1");
	expect_keys(KEYS("10.0.0.1", "10.0.0", "10.0", "10"));
	/* Zone ids are dropped. */
	client(rec_fixed, "fe80::1%eth0");
	expect_keys(KEYS("fe80::1", "fe80:", "fe80"));
	client(rec_pattern, "fe80::1%eth0");
	expect_keys(KEYS("fe80::1"));
	/* Not an address: whole string only. */
	client(rec_fixed, "unknown");
	expect_keys(KEYS("unknown"));
	client(rec_fixed, "01.2.3.4");
	expect_keys(KEYS("01.2.3.4"));
	client(rec_fixed, "1.2.3.4%eth0");
	expect_keys(KEYS("1.2.3.4%eth0"));
	client(rec_fixed, "[::1]");
	expect_keys(KEYS("[::1]"));
	client(rec_fixed, "");
	expect_keys(KEYS(""));

	const char *v;
	char matched[64];
	rec_reset();
	rec_hit = "192.0";
	assert_int_equal(access_find_client_addr(rec_fixed, "192.0.2.14", NULL, &v,
	                                         matched, sizeof(matched)),
	                 MAP_FOUND);
	assert_string_equal(matched, "192.0");
	expect_keys(KEYS("192.0.2.14", "192.0.2", "192.0"));
	rec_reset();
	rec_error = "192.0.2";
	assert_int_equal(access_find_client_addr(rec_fixed, "192.0.2.14", NULL, &v,
	                                         NULL, 0),
	                 MAP_ERROR);
	expect_keys(KEYS("192.0.2.14", "192.0.2"));
}

static void test_addr_form(void **state)
{
	(void)state;
	char out[64];
	assert_true(access_addr_form("2001:0DB8::0001", out, sizeof(out)));
	assert_string_equal(out, "2001:db8::1");
	assert_true(access_addr_form("::ffff:192.0.2.1", out, sizeof(out)));
	assert_string_equal(out, "192.0.2.1");
	assert_false(access_addr_form("2001:db8::1", out, 5));
	assert_false(access_addr_form("999.1.1.1", out, sizeof(out)));
	assert_true(access_addr_form("FE80::1%", out, sizeof(out)));
	assert_string_equal(out, "fe80::1");
	assert_false(access_addr_form("", out, sizeof(out)));
	assert_false(access_addr_form("1.2.3.4 ", out, sizeof(out)));
}

/* ---- the same orders through real inline: tables ---- */

/*
 * keys[] in search order: a table holding keys[i..] must answer with
 * the value of keys[i], for every i.
 */
static void check_order_inline(int which, const char *input,
                               const struct access_opts *o,
                               const char *const *keys)
{
	for (int i = 0; keys[i] != NULL; i++) {
		struct strbuf sb;
		char err[256];
		sb_init(&sb, 0);
		sb_adds(&sb, "inline:{");
		/* Listed backwards so table order cannot be what decides. */
		int n = 0;
		while (keys[n] != NULL)
			n++;
		for (int j = n - 1; j >= i; j--)
			sb_printf(&sb, "{%s=v%d} ", keys[j], j);
		sb_adds(&sb, "}");
		struct map *m = map_open(sb.s, 0, err, sizeof(err));
		if (m == NULL)
			fail_msg("%s: %s", sb.s, err);
		const char *v = NULL;
		char want[16];
		int r;
		if (which == 0)
			r = access_find_addr(m, input, o, &v, NULL, 0);
		else if (which == 1)
			r = access_find_domain(m, input, o, &v, NULL, 0);
		else
			r = access_find_client_addr(m, input, o, &v, NULL, 0);
		snprintf(want, sizeof(want), "v%d", i);
		if (r != MAP_FOUND || strcmp(v, want) != 0)
			fail_msg("%s with %s: got %d %s, want %s", input, sb.s, r,
			         r == MAP_FOUND ? v : "", want);
		map_close(m);
		sb_free(&sb);
	}
}

static void test_inline_orders(void **state)
{
	(void)state;
	check_order_inline(0, "User+Ext@Host.Example.COM", &dot_plus,
	                   KEYS("user+ext@host.example.com", "user@host.example.com",
	                        "host.example.com", ".example.com", ".com",
	                        "user+ext@", "user@"));
	check_order_inline(0, "user+ext@host.example.com", &parent_plus,
	                   KEYS("user+ext@host.example.com", "user@host.example.com",
	                        "host.example.com", "example.com", "com",
	                        "user+ext@", "user@"));
	check_order_inline(0, "", NULL, KEYS("<>"));
	check_order_inline(1, "a.b.c", &parent_plus, KEYS("a.b.c", "b.c", "c"));
	check_order_inline(2, "10.1.2.3", NULL, KEYS("10.1.2.3", "10.1.2", "10.1", "10"));
	check_order_inline(2, "2001:db8::1", NULL,
	                   KEYS("2001:db8::1", "2001:db8:", "2001:db8", "2001"));
	/* A dot-form entry does not match the domain itself, and a plain
	 * entry does not match subdomains in dot style. */
	char err[256];
	const char *v;
	struct map *m = map_open("inline:{.example.com=sub, other.org=exact}", 0, err,
	                         sizeof(err));
	assert_non_null(m);
	assert_int_equal(access_find_domain(m, "example.com", NULL, &v, NULL, 0),
	                 MAP_NOTFOUND);
	assert_int_equal(access_find_domain(m, "a.example.com", NULL, &v, NULL, 0),
	                 MAP_FOUND);
	assert_string_equal(v, "sub");
	assert_int_equal(access_find_domain(m, "a.other.org", NULL, &v, NULL, 0),
	                 MAP_NOTFOUND);
	assert_int_equal(access_find_domain(m, "a.other.org", &parent_plus, &v, NULL,
	                                    0),
	                 MAP_FOUND);
	assert_string_equal(v, "exact");
	map_close(m);
}

static void test_composite_fixed(void **state)
{
	(void)state;
	char err[256];
	const char *v;
	char matched[64];
	/* A unionmap of fixed tables gets partial keys. */
	struct map *m = map_open("unionmap:{inline:{example.com=A}, inline:{x=y}}", 0,
	                         err, sizeof(err));
	assert_non_null(m);
	assert_true(access_map_fixed(m));
	assert_int_equal(access_find_addr(m, "u@example.com", NULL, &v, NULL, 0),
	                 MAP_FOUND);
	assert_string_equal(v, "A");
	map_close(m);
	/* fail: is not a fixed table: one lookup, which fails. */
	m = map_open("fail:x", 0, err, sizeof(err));
	assert_non_null(m);
	assert_false(access_map_fixed(m));
	assert_int_equal(access_find_addr(m, "u@example.com", NULL, &v, NULL, 0),
	                 MAP_ERROR);
	map_close(m);
	/* cidr: is a pattern table: only the whole address is searched.
	 * Inside a unionmap with a fixed table, partial keys are tried and
	 * reach the cidr table harmlessly. */
	char dir[] = "/tmp/test_access.XXXXXX", path[64], spec[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cidr", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("192.0.2.0/24 NET\n198.51.0.0/16 WIDE\n", fp);
	fclose(fp);
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s: %s", spec, err);
	assert_false(access_map_fixed(m));
	assert_int_equal(access_find_client_addr(m, "192.0.2.9", NULL, &v, NULL, 0),
	                 MAP_FOUND);
	assert_string_equal(v, "NET");
	assert_int_equal(access_find_client_addr(m, "203.0.113.1", NULL, &v, NULL, 0),
	                 MAP_NOTFOUND);
	map_close(m);
	snprintf(spec, sizeof(spec), "unionmap:{cidr:%s, inline:{203.0=X}}", path);
	m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s: %s", spec, err);
	assert_true(access_map_fixed(m));
	assert_int_equal(access_find_client_addr(m, "203.0.113.1", NULL, &v, matched,
	                                         sizeof(matched)),
	                 MAP_FOUND);
	assert_string_equal(v, "X");
	assert_string_equal(matched, "203.0");
	assert_int_equal(access_find_client_addr(m, "198.51.100.7", NULL, &v, NULL, 0),
	                 MAP_FOUND);
	assert_string_equal(v, "WIDE");
	map_close(m);
	unlink(path);
	rmdir(dir);

	/* static: answers the first key. */
	m = map_open("static:OK", 0, err, sizeof(err));
	assert_int_equal(access_find_client_addr(m, "1.2.3.4", NULL, &v, matched,
	                                         sizeof(matched)),
	                 MAP_FOUND);
	assert_string_equal(matched, "1.2.3.4");
	map_close(m);
}

int main(void)
{
	log_init("test_access", 0, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_order),
		cmocka_unit_test(test_addr_stop),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_ext_split),
		cmocka_unit_test(test_addr_odd),
		cmocka_unit_test(test_addr_limits),
		cmocka_unit_test(test_domain_order),
		cmocka_unit_test(test_client_order),
		cmocka_unit_test(test_addr_form),
		cmocka_unit_test(test_inline_orders),
		cmocka_unit_test(test_composite_fixed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
