/*
 * fuzz_dns.c - libFuzzer target for the DNS answer parsers
 * (common/dns_parse.c: record data of every type, wire names, the host
 * name check) and for smtpd's DNS list specs and reply templates
 * (smtpd/smtpd_dnsck.c).  Input: one byte selects what to feed, the rest
 * is the data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd_dnsck.h"
#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = {DNS_T_A,   DNS_T_AAAA, DNS_T_MX,  DNS_T_TXT,
	                                      DNS_T_PTR, DNS_T_NS,   DNS_T_TLSA};
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	data++;
	size--;
	if (sel < 0x80) {
		struct dns_rr rr;
		memset(&rr, 0, sizeof(rr));
		if (dns_parse_rdata(types[sel % 7], data, size, &rr)) {
			if (rr.text && strlen(rr.text) > DNS_TXT_MAX)
				abort();
			if (rr.name[0] && !dns_name_ok(rr.name))
				abort();
		}
		dns_rr_clear(&rr);
		size_t off = 0;
		char name[DNS_NAME_MAX + 1];
		if (dns_parse_name(data, size, &off, name, sizeof(name)) && off > size)
			abort();
		return 0;
	}
	/* Text inputs, NUL-terminated copies. */
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (sel < 0xc0) {
		char zone[DNS_NAME_MAX + 1], err[256];
		struct dnsck_filter f;
		unsigned char a[4] = {127, 0, 0, (unsigned char)sel};
		(void)dns_name_ok(s);
		if (dnsck_parse_spec(s, zone, sizeof(zone), &f, err, sizeof(err)))
			(void)dnsck_filter_match(&f, a);
	} else {
		struct dnsck_vars v = {.names = {"rbl_code", "rbl_reason", "empty"},
		                       .values = {"554", "listed", ""},
		                       .n = 3};
		char out[512];
		if (dnsck_expand(s, &v, out, sizeof(out)) && strlen(out) >= sizeof(out))
			abort();
	}
	free(s);
	return 0;
}
