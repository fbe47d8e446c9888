/*
 * test_dns.c - the bounded DNS parsers of common/dns_parse.c: wire names
 * (labels, lengths at the limit and one past, compression refused, bad
 * characters), record data of every type, whole and cut at every length,
 * TXT joining and truncation, the host name check and reverse names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "dns.h"

/* "a.b" style text to wire form. */
static size_t wire(const char *name, unsigned char *out)
{
	size_t w = 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		out[w++] = (unsigned char)l;
		memcpy(out + w, p, l);
		w += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[w++] = 0;
	return w;
}

static void test_name(void **state)
{
	(void)state;
	unsigned char buf[600];
	char out[DNS_NAME_MAX + 1];
	size_t off = 0, n = wire("mx1.Example.COM", buf);
	assert_true(dns_parse_name(buf, n, &off, out, sizeof(out)));
	assert_string_equal(out, "mx1.Example.COM");
	assert_int_equal(off, n);
	/* root */
	buf[0] = 0;
	off = 0;
	assert_true(dns_parse_name(buf, 1, &off, out, sizeof(out)));
	assert_string_equal(out, "");
	/* every cut is refused */
	n = wire("a.bc.def", buf);
	for (size_t cut = 0; cut < n; cut++) {
		off = 0;
		assert_false(dns_parse_name(buf, cut, &off, out, sizeof(out)));
	}
	/* compression pointer refused */
	buf[0] = 0xc0;
	buf[1] = 0x0c;
	off = 0;
	assert_false(dns_parse_name(buf, 2, &off, out, sizeof(out)));
	/* bad characters */
	n = wire("a b.example", buf);
	off = 0;
	assert_false(dns_parse_name(buf, n, &off, out, sizeof(out)));
	n = wire("a.exa\001mple", buf);
	off = 0;
	assert_false(dns_parse_name(buf, n, &off, out, sizeof(out)));
	/* label of 63 ok, 64 refused */
	char lab[70];
	memset(lab, 'x', 63);
	lab[63] = '\0';
	n = wire(lab, buf);
	off = 0;
	assert_true(dns_parse_name(buf, n, &off, out, sizeof(out)));
	buf[0] = 64;
	off = 0;
	assert_false(dns_parse_name(buf, n, &off, out, sizeof(out)));
}

static void test_name_length(void **state)
{
	(void)state;
	/* 253 characters of text = 255 wire bytes: ok; one more label byte: not. */
	char name[300];
	unsigned char buf[600];
	char out[DNS_NAME_MAX + 1];
	size_t w = 0;
	for (int i = 0; i < 4; i++) {
		memset(name + w, 'a' + i, i < 3 ? 63 : 61);
		w += i < 3 ? 63 : 61;
		if (i < 3)
			name[w++] = '.';
	}
	name[w] = '\0';
	assert_int_equal(strlen(name), 253);
	assert_true(dns_name_ok(name));
	size_t n = wire(name, buf), off = 0;
	assert_int_equal(n, 255);
	assert_true(dns_parse_name(buf, n, &off, out, sizeof(out)));
	assert_string_equal(out, name);
	strcat(name, "b");
	assert_false(dns_name_ok(name));
	n = wire(name, buf);
	off = 0;
	assert_false(dns_parse_name(buf, n, &off, out, sizeof(out)));
	/* output buffer too small */
	n = wire("abc.def", buf);
	off = 0;
	assert_false(dns_parse_name(buf, n, &off, out, 7));
	off = 0;
	assert_true(dns_parse_name(buf, n, &off, out, 8));
}

static void test_name_ok(void **state)
{
	(void)state;
	assert_true(dns_name_ok("example.com"));
	assert_true(dns_name_ok("example.com."));
	assert_true(dns_name_ok("_25._tcp.mx.example"));
	assert_true(dns_name_ok("localhost"));
	assert_false(dns_name_ok(""));
	assert_false(dns_name_ok("."));
	assert_false(dns_name_ok("a..b"));
	assert_false(dns_name_ok(".a"));
	assert_false(dns_name_ok("a b"));
	assert_false(dns_name_ok("a@b"));
	assert_false(dns_name_ok("[1.2.3.4]"));
}

static void test_rdata(void **state)
{
	(void)state;
	struct dns_rr rr;
	unsigned char buf[600];
	char a[64];

	memset(&rr, 0, sizeof(rr));
	unsigned char v4[4] = {192, 0, 2, 7};
	assert_true(dns_parse_rdata(DNS_T_A, v4, 4, &rr));
	assert_string_equal(inet_ntop(rr.family, rr.addr, a, sizeof(a)), "192.0.2.7");
	assert_false(dns_parse_rdata(DNS_T_A, v4, 3, &rr));
	assert_false(dns_parse_rdata(DNS_T_A, buf, 5, &rr));

	unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_AAAA, v6, 16, &rr));
	assert_string_equal(inet_ntop(rr.family, rr.addr, a, sizeof(a)), "2001:db8::1");
	assert_false(dns_parse_rdata(DNS_T_AAAA, v6, 15, &rr));

	/* MX: preference + name; every cut refused; trailing bytes refused. */
	buf[0] = 0;
	buf[1] = 10;
	size_t n = 2 + wire("mx.example", buf + 2);
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_MX, buf, n, &rr));
	assert_int_equal(rr.pref, 10);
	assert_string_equal(rr.name, "mx.example");
	for (size_t cut = 0; cut < n; cut++)
		assert_false(dns_parse_rdata(DNS_T_MX, buf, cut, &rr));
	assert_false(dns_parse_rdata(DNS_T_MX, buf, n + 1, &rr));
	/* null MX */
	buf[2] = 0;
	assert_true(dns_parse_rdata(DNS_T_MX, buf, 3, &rr));
	assert_string_equal(rr.name, "");
	/* PTR/NS: the root is not a host */
	assert_false(dns_parse_rdata(DNS_T_PTR, buf + 2, 1, &rr));
	n = wire("host.example", buf);
	assert_true(dns_parse_rdata(DNS_T_PTR, buf, n, &rr));
	assert_string_equal(rr.name, "host.example");
	assert_true(dns_parse_rdata(DNS_T_NS, buf, n, &rr));

	/* TXT */
	memcpy(buf, "\005hello\006 world\000", 14);
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_TXT, buf, 14, &rr));
	assert_string_equal(rr.text, " hello world" + 1);
	dns_rr_clear(&rr);
	for (size_t cut = 1; cut < 13; cut++) {
		if (cut == 6)
			continue; /* ends exactly after the first string: valid */
		memset(&rr, 0, sizeof(rr));
		assert_false(dns_parse_rdata(DNS_T_TXT, buf, cut, &rr));
		dns_rr_clear(&rr);
	}
	memcpy(buf, "\003a\nb", 4);
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_TXT, buf, 4, &rr));
	assert_string_equal(rr.text, "a?b");
	dns_rr_clear(&rr);
	assert_false(dns_parse_rdata(DNS_T_TXT, buf, 0, &rr));

	/* TLSA */
	unsigned char t[7] = {3, 1, 1, 0xab, 0xcd, 0xef, 0x01};
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_TLSA, t, 7, &rr));
	assert_int_equal(rr.usage, 3);
	assert_int_equal(rr.selector, 1);
	assert_int_equal(rr.mtype, 1);
	assert_int_equal(rr.data_len, 4);
	assert_memory_equal(rr.data, t + 3, 4);
	dns_rr_clear(&rr);
	assert_false(dns_parse_rdata(DNS_T_TLSA, t, 3, &rr));
}

static void test_txt_limit(void **state)
{
	(void)state;
	/* Many strings: joined text stops at DNS_TXT_MAX. */
	size_t n = 0;
	unsigned char *buf = malloc(20 * 256);
	for (int i = 0; i < 20; i++) {
		buf[n++] = 255;
		memset(buf + n, 'x', 255);
		n += 255;
	}
	struct dns_rr rr;
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_TXT, buf, n, &rr));
	assert_int_equal(strlen(rr.text), DNS_TXT_MAX);
	dns_rr_clear(&rr);
	free(buf);
}

static void test_tlsa_limit(void **state)
{
	(void)state;
	size_t n = 3 + DNS_TLSA_DATA_MAX;
	unsigned char *buf = calloc(1, n + 1);
	struct dns_rr rr;
	memset(&rr, 0, sizeof(rr));
	assert_true(dns_parse_rdata(DNS_T_TLSA, buf, n, &rr));
	dns_rr_clear(&rr);
	assert_false(dns_parse_rdata(DNS_T_TLSA, buf, n + 1, &rr));
	free(buf);
}

static void test_reverse(void **state)
{
	(void)state;
	char out[DNS_NAME_MAX + 1];
	unsigned char v4[4] = {192, 0, 2, 7};
	assert_true(dns_reverse_name(AF_INET, v4, NULL, out, sizeof(out)));
	assert_string_equal(out, "7.2.0.192.in-addr.arpa");
	assert_true(dns_reverse_name(AF_INET, v4, "zen.example", out, sizeof(out)));
	assert_string_equal(out, "7.2.0.192.zen.example");
	unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x1f};
	assert_true(dns_reverse_name(AF_INET6, v6, NULL, out, sizeof(out)));
	assert_string_equal(out, "f.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_false(dns_reverse_name(AF_INET6, v6, NULL, out, 40));
	assert_false(dns_reverse_name(AF_INET, v4, NULL, out, 10));
}

static void test_types(void **state)
{
	(void)state;
	enum dns_type t;
	assert_true(dns_type_parse("mx", &t));
	assert_int_equal(t, DNS_T_MX);
	assert_true(dns_type_parse("TLSA", &t));
	assert_int_equal(t, DNS_T_TLSA);
	assert_false(dns_type_parse("SOA", &t));
	assert_string_equal(dns_type_name(DNS_T_AAAA), "AAAA");
	assert_string_equal(dns_status_name(DNS_TEMPFAIL), "tempfail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name),      cmocka_unit_test(test_name_length),
	    cmocka_unit_test(test_name_ok),   cmocka_unit_test(test_rdata),
	    cmocka_unit_test(test_txt_limit), cmocka_unit_test(test_tlsa_limit),
	    cmocka_unit_test(test_reverse),   cmocka_unit_test(test_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
