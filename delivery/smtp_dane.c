/*
 * smtp_dane.c - DANE TLSA matching for the smtp client (see
 * smtp_dane.h).  Runs in the client's per-connection process as
 * network_user.  Untrusted input: the TLSA records (already parsed and
 * bounded by common/dns) and the server's certificate chain (PEM from
 * libtls, parsed by OpenSSL's libcrypto).
 */
#include "smtp_dane.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>
#include <tls.h>

#include "dns.h"
#include "dns_host.h"

struct dns_result *smtp_dane_tlsa(struct dns_ctx *ctx, const char *host, unsigned port,
                                  bool *tempfail)
{
	*tempfail = false;
	struct dns_result *r = dns_tlsa_lookup(ctx, host, port);
	if (r == NULL) {
		*tempfail = true;
		return NULL;
	}
	if (r->status == DNS_TEMPFAIL || r->sec == DNS_SEC_BOGUS) {
		*tempfail = true;
		dns_result_free(r);
		return NULL;
	}
	bool usable = false;
	if (r->status == DNS_OK && r->sec == DNS_SEC_SECURE)
		for (size_t i = 0; i < r->n; i++)
			if ((r->rr[i].usage == 2 || r->rr[i].usage == 3) && r->rr[i].selector <= 1 &&
			    r->rr[i].mtype <= 2)
				usable = true;
	if (!usable) {
		dns_result_free(r);
		return NULL;
	}
	return r;
}

/* Selector data of a certificate: the whole DER (0) or its SPKI (1). */
static int sel_der(X509 *x, unsigned sel, unsigned char **out)
{
	*out = NULL;
	return sel == 0 ? i2d_X509(x, out) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), out);
}

static bool rr_matches(const struct dns_rr *rr, X509 *x)
{
	unsigned char *der = NULL;
	int len = sel_der(x, rr->selector, &der);
	if (len <= 0)
		return false;
	bool ok = false;
	if (rr->mtype == 0) {
		ok = (size_t)len == rr->data_len && memcmp(der, rr->data, rr->data_len) == 0;
	} else {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		const EVP_MD *alg = rr->mtype == 1 ? EVP_sha256() : EVP_sha512();
		if (EVP_Digest(der, (size_t)len, md, &mdlen, alg, NULL) == 1)
			ok = mdlen == rr->data_len && memcmp(md, rr->data, mdlen) == 0;
	}
	OPENSSL_free(der);
	return ok;
}

bool smtp_dane_match(struct tls *t, const struct dns_result *tlsa, const char *const *names,
                     size_t nnames, char *why, size_t whylen)
{
	size_t plen = 0;
	const uint8_t *pem = tls_peer_cert_chain_pem(t, &plen);
	if (pem == NULL || plen == 0 || plen > 1024 * 1024) {
		snprintf(why, whylen, "no server certificate chain");
		return false;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)plen);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	while (bio != NULL && chain != NULL && sk_X509_num(chain) < 20 &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(chain, x);
	BIO_free(bio);
	bool ok = false;
	X509 *leaf = chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
	if (leaf == NULL) {
		snprintf(why, whylen, "no server certificate");
		goto out;
	}
	for (size_t i = 0; i < tlsa->n && !ok; i++) {
		const struct dns_rr *rr = &tlsa->rr[i];
		if (rr->selector > 1 || rr->mtype > 2)
			continue;
		if (rr->usage == 3) {
			ok = rr_matches(rr, leaf);
			continue;
		}
		if (rr->usage != 2)
			continue;
		for (int k = 0; k < sk_X509_num(chain) && !ok; k++) {
			X509 *ta = sk_X509_value(chain, k);
			if (!rr_matches(rr, ta))
				continue;
			/* The trust anchor must sign the chain up to the leaf,
			 * and the leaf must carry a reference name. */
			X509_STORE *st = X509_STORE_new();
			X509_STORE_CTX *vc = X509_STORE_CTX_new();
			if (st != NULL && vc != NULL && X509_STORE_add_cert(st, ta) == 1 &&
			    X509_STORE_CTX_init(vc, st, leaf, chain) == 1) {
				X509_STORE_CTX_set_flags(vc, X509_V_FLAG_PARTIAL_CHAIN);
				if (X509_verify_cert(vc) == 1)
					for (size_t n = 0; n < nnames && !ok; n++)
						ok = tls_peer_cert_contains_name(t, names[n]) == 1;
			}
			X509_STORE_CTX_free(vc);
			X509_STORE_free(st);
		}
	}
	if (!ok)
		snprintf(why, whylen, "Server certificate not verified: no TLSA record matches");
out:
	sk_X509_pop_free(chain, X509_free);
	return ok;
}
