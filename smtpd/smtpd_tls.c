/*
 * smtpd_tls.c - the SMTP server's TLS layer (see smtpd_tls.h).  Runs in
 * smtpd: smtpd_tls_init() while still root (keys, certificates and CA
 * files are read into memory then), everything else per session after
 * privileges are dropped.  Untrusted input: the TLS records of the
 * client and the certificate it presents (parsed by libtls/libcrypto;
 * the names we keep from it are made printable and bounded).
 *
 * I/O: libtls works on callbacks (tls_accept_cbs) that read from the
 * socket bufferevent's input evbuffer and append to its output evbuffer;
 * a bufferevent filter above it runs tls_handshake/tls_read/tls_write.
 * Nothing here ever waits on the socket: "no bytes yet" is TLS_WANT_POLLIN
 * and the filter simply returns until libevent brings more.
 */
#include "smtpd_tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tls.h>

#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "strlist.h"
#include "xalloc.h"

struct smtpd_tls {
	struct smtpd_tls_settings set;
	struct tls *server; /* configured server context, NULL: no certificate */
	struct tls_config *config;
	X509_STORE *store; /* smtpd_tls_CAfile/CApath, NULL: none */
	const EVP_MD *md;  /* smtpd_tls_fingerprint_digest */
};

struct stls_conn {
	struct smtpd_tls *t;
	struct tls *tls;
	struct bufferevent *under, *bev;
	struct smtpd_tls_facts *facts;
	void (*done)(void *);
	void *arg;
	char who[300];
	bool hs_done, failed, eof;
};

static void tls_fail(const char *what, struct tls_config *c)
{
	log_fatal("%s: %s", what, c ? tls_config_error(c) : "error");
}

/* Read a whole trusted file (bounded) into memory. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		log_fatal("cannot open %s: %s", path, strerror(errno));
	char *buf = xmalloc(TLS_FILE_MAX + 1);
	size_t n = fread(buf, 1, TLS_FILE_MAX + 1, f);
	fclose(f);
	if (n > TLS_FILE_MAX)
		log_fatal("%s: larger than %d bytes", path, TLS_FILE_MAX);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * smtpd_tls_chain_files: each file holds a private key and the
 * certificate chain that goes with it, PEM blocks in any order.
 */
static void add_chain_file(struct tls_config *c, const char *path, bool first)
{
	size_t len;
	char *buf = slurp(path, &len);
	/* Each block gets a newline after it: twice the input always fits. */
	char *key = xcalloc(2, len + 1), *certs = xcalloc(2, len + 1);
	size_t kl = 0, cl = 0;
	const char *p = buf;
	while ((p = strstr(p, "-----BEGIN ")) != NULL) {
		const char *lab = p + 11;
		const char *endlab = strstr(lab, "-----");
		if (endlab == NULL)
			break;
		char endmark[128];
		int ll = (int)(endlab - lab > 80 ? 80 : endlab - lab);
		snprintf(endmark, sizeof(endmark), "-----END %.*s-----", ll, lab);
		const char *e = strstr(endlab, endmark);
		if (e == NULL)
			log_fatal("%s: unterminated PEM block", path);
		e += strlen(endmark);
		size_t bl = (size_t)(e - p);
		bool is_key = memmem(lab, (size_t)(endlab - lab), "PRIVATE KEY", 11) != NULL;
		if (is_key) {
			memcpy(key + kl, p, bl);
			kl += bl;
			key[kl++] = '\n';
		} else {
			memcpy(certs + cl, p, bl);
			cl += bl;
			certs[cl++] = '\n';
		}
		p = e;
	}
	if (kl == 0 || cl == 0)
		log_fatal("%s: needs a private key and a certificate", path);
	int rc = first ? tls_config_set_keypair_mem(c, (uint8_t *)certs, cl, (uint8_t *)key, kl)
	               : tls_config_add_keypair_mem(c, (uint8_t *)certs, cl, (uint8_t *)key, kl);
	explicit_bzero(key, 2 * (len + 1));
	explicit_bzero(buf, len + 1);
	free(key);
	free(certs);
	free(buf);
	if (rc != 0)
		tls_fail(path, c);
}

static bool add_pair(struct tls_config *c, const char *cert, const char *key, bool first)
{
	if (*cert == '\0')
		return false;
	if (*key == '\0')
		key = cert;
	int rc = first ? tls_config_set_keypair_file(c, cert, key)
	               : tls_config_add_keypair_file(c, cert, key);
	if (rc != 0) {
		/* as Postfix: a broken pair disables TLS, it does not stop smtpd */
		log_warn("cannot load the key pair %s / %s: %s", cert, key, tls_config_error(c));
		return false;
	}
	return true;
}

static void protocols_and_ciphers(struct smtpd_tls *t, struct cfg *cfg)
{
	char err[256], ciphers[1024];
	bool mand = t->set.level == STLS_ENCRYPT;
	const char *pp = mand ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols";
	uint32_t protos = TLS_PROTOCOLS_DEFAULT;
	/* Unset, Postfix's ">=TLSv1" would offer TLSv1.0 and 1.1: we keep
	 * libtls' secure default (TLSv1.2, TLSv1.3) unless told otherwise. */
	if (cfg_is_set(cfg, pp) && stls_parse_protocols(cfg_get(cfg, pp), &protos, err, sizeof(err)))
		log_fatal("%s: %s", pp, err);
	if (tls_config_set_protocols(t->config, protos) != 0)
		tls_fail(pp, t->config);
	const char *cp = mand ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers";
	if (stls_parse_ciphers(cfg_get(cfg, cp), cfg_get(cfg, "smtpd_tls_exclude_ciphers"),
	                       mand ? cfg_get(cfg, "smtpd_tls_mandatory_exclude_ciphers") : NULL,
	                       ciphers, sizeof(ciphers), err, sizeof(err)) != 0)
		log_fatal("%s: %s", cp, err);
	if (tls_config_set_ciphers(t->config, ciphers) != 0)
		tls_fail(cp, t->config);
	if (t->set.loglevel >= 2)
		log_info("TLS protocols 0x%x, ciphers %s", protos, ciphers);
}

struct smtpd_tls *smtpd_tls_init(struct cfg *cfg)
{
	struct smtpd_tls *t = xcalloc(1, sizeof(*t));
	char err[256];
	if (stls_parse_level(cfg_get(cfg, "smtpd_tls_security_level"),
	                     cfg_get_bool(cfg, "smtpd_use_tls"), cfg_get_bool(cfg, "smtpd_enforce_tls"),
	                     &t->set.level, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	t->set.wrapper = cfg_get_bool(cfg, "smtpd_tls_wrappermode");
	t->set.ask_ccert = cfg_get_bool(cfg, "smtpd_tls_ask_ccert");
	t->set.req_ccert = cfg_get_bool(cfg, "smtpd_tls_req_ccert");
	t->set.received_header = cfg_get_bool(cfg, "smtpd_tls_received_header");
	t->set.loglevel = (int)cfg_get_long(cfg, "smtpd_tls_loglevel");
	t->set.starttls_timeout = cfg_get_time(cfg, "smtpd_starttls_timeout");
	if (t->set.starttls_timeout <= 0)
		t->set.starttls_timeout = 300;
	if (t->set.req_ccert && t->set.level == STLS_ENCRYPT)
		t->set.ask_ccert = true;
	else if (t->set.req_ccert) {
		log_warn("smtpd_tls_req_ccert = yes needs smtpd_tls_security_level = encrypt; ignored");
		t->set.req_ccert = false;
	}
	if (t->set.level == STLS_NONE && !t->set.wrapper)
		return t;

	const char *dg = cfg_get(cfg, "smtpd_tls_fingerprint_digest");
	t->md = EVP_get_digestbyname(dg);
	if (t->md == NULL)
		log_fatal("smtpd_tls_fingerprint_digest: unknown digest \"%s\"", dg);

	if (tls_init() != 0)
		log_fatal("tls_init failed");
	t->config = tls_config_new();
	if (t->config == NULL)
		log_fatal("tls_config_new failed");
	bool have = false;
	char **chain = NULL;
	if (strlist_split(cfg_get(cfg, "smtpd_tls_chain_files"), NULL, 16, &chain, err, sizeof(err)) < 0)
		log_fatal("smtpd_tls_chain_files: %s", err);
	for (char **f = chain; *f; f++) {
		add_chain_file(t->config, *f, !have);
		have = true;
	}
	strlist_free(chain);
	if (!have)
		have = add_pair(t->config, cfg_get(cfg, "smtpd_tls_cert_file"),
		                cfg_get(cfg, "smtpd_tls_key_file"), true);
	have |= add_pair(t->config, cfg_get(cfg, "smtpd_tls_eccert_file"),
	                 cfg_get(cfg, "smtpd_tls_eckey_file"), !have);
	have |= add_pair(t->config, cfg_get(cfg, "smtpd_tls_dcert_file"),
	                 cfg_get(cfg, "smtpd_tls_dkey_file"), !have);
	if (!have) {
		log_warn("cannot start TLS: no usable key pair (smtpd_tls_cert_file or "
		         "smtpd_tls_chain_files); TLS is not available%s",
		         t->set.level == STLS_ENCRYPT ? " and mail is refused (level encrypt)" : "");
		tls_config_free(t->config);
		t->config = NULL;
		return t;
	}
	protocols_and_ciphers(t, cfg);
	tls_config_set_dheparams(t->config, "auto");

	/* Client certificates: libtls asks for them; whether they chain to
	 * our CAs we check ourselves, so an untrusted certificate still
	 * gives its fingerprint (relay_clientcerts), as in Postfix. */
	if (t->set.ask_ccert) {
		if (t->set.req_ccert)
			tls_config_verify_client(t->config);
		else
			tls_config_verify_client_optional(t->config);
		tls_config_insecure_noverifycert(t->config);
	}
	const char *caf = cfg_get(cfg, "smtpd_tls_CAfile"), *cap = cfg_get(cfg, "smtpd_tls_CApath");
	if (*caf || *cap) {
		t->store = X509_STORE_new();
		if (t->store == NULL || X509_STORE_load_locations(t->store, *caf ? caf : NULL,
		                                                  *cap ? cap : NULL) != 1)
			log_fatal("cannot load smtpd_tls_CAfile/CApath \"%s\" \"%s\"", caf, cap);
		if (*caf && tls_config_set_ca_file(t->config, caf) != 0)
			tls_fail(caf, t->config);
	}

	t->server = tls_server();
	if (t->server == NULL || tls_configure(t->server, t->config) != 0)
		log_fatal("TLS server set-up: %s", t->server ? tls_error(t->server) : "tls_server failed");
	t->set.available = true;
	return t;
}

const struct smtpd_tls_settings *smtpd_tls_settings(const struct smtpd_tls *t)
{
	return &t->set;
}

void smtpd_tls_free(struct smtpd_tls *t)
{
	if (t == NULL)
		return;
	tls_free(t->server);
	if (t->config)
		tls_config_free(t->config);
	X509_STORE_free(t->store);
	free(t);
}

/* ---- per connection ---- */

static ssize_t cb_read(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct stls_conn *c = arg;
	(void)ctx;
	int n = evbuffer_remove(bufferevent_get_input(c->under), buf, len);
	if (n > 0)
		return n;
	return c->eof ? 0 : TLS_WANT_POLLIN;
}

static ssize_t cb_write(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct stls_conn *c = arg;
	(void)ctx;
	if (evbuffer_add(bufferevent_get_output(c->under), buf, len) != 0)
		return -1;
	return (ssize_t)len;
}

/* Printable, bounded copy of a name from the client's certificate. */
static void keep_name(char *dst, size_t len, const X509_NAME *nm)
{
	char tmp[256];
	dst[0] = '\0';
	if (nm == NULL || X509_NAME_get_text_by_NID((X509_NAME *)nm, NID_commonName, tmp,
	                                           sizeof(tmp)) < 0)
		return;
	size_t j = 0;
	for (size_t i = 0; tmp[i] && j + 1 < len; i++)
		dst[j++] = (tmp[i] >= 0x20 && tmp[i] < 0x7f && tmp[i] != '"') ? tmp[i] : '?';
	dst[j] = '\0';
}

static void peer_facts(struct stls_conn *c)
{
	struct smtpd_tls_facts *f = c->facts;
	if (!tls_peer_cert_provided(c->tls))
		return;
	f->cert_present = true;
	size_t len = 0;
	const uint8_t *pem = tls_peer_cert_chain_pem(c->tls, &len);
	if (pem == NULL || len == 0 || len > TLS_PEER_CHAIN_MAX)
		return;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	STACK_OF(X509) *rest = sk_X509_new_null();
	X509 *x;
	while (bio && rest && sk_X509_num(rest) < TLS_PEER_CERTS_MAX &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(rest, x) <= 0)
			X509_free(x);
	BIO_free(bio);
	if (leaf != NULL) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdl = 0;
		if (X509_digest(leaf, c->t->md, md, &mdl) == 1)
			stls_hex_colon(md, mdl, f->cert_fpt, sizeof(f->cert_fpt));
		unsigned char *der = NULL;
		int dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
		if (dl > 0 && EVP_Digest(der, (size_t)dl, md, &mdl, c->t->md, NULL) == 1)
			stls_hex_colon(md, mdl, f->pkey_fpt, sizeof(f->pkey_fpt));
		OPENSSL_free(der);
		keep_name(f->subject_cn, sizeof(f->subject_cn), X509_get_subject_name(leaf));
		keep_name(f->issuer_cn, sizeof(f->issuer_cn), X509_get_issuer_name(leaf));
		if (c->t->store != NULL) {
			X509_STORE_CTX *vc = X509_STORE_CTX_new();
			if (vc && X509_STORE_CTX_init(vc, c->t->store, leaf, rest) == 1) {
				X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_CLIENT);
				f->cert_verified = X509_verify_cert(vc) == 1;
			}
			X509_STORE_CTX_free(vc);
		}
		X509_free(leaf);
	}
	sk_X509_pop_free(rest, X509_free);
}

static void handshake_done(struct stls_conn *c)
{
	struct smtpd_tls_facts *f = c->facts;
	c->hs_done = true;
	memset(f, 0, sizeof(*f));
	f->active = true;
	snprintf(f->protocol, sizeof(f->protocol), "%s", tls_conn_version(c->tls));
	snprintf(f->cipher, sizeof(f->cipher), "%s", tls_conn_cipher(c->tls));
	f->bits = tls_conn_cipher_strength(c->tls);
	peer_facts(c);
	if (c->t->set.loglevel >= 1)
		log_info("%s TLS connection established from %s: %s with cipher %s (%d/%d bits)",
		         !f->cert_present ? "Anonymous" : f->cert_verified ? "Trusted" : "Untrusted",
		         c->who, f->protocol, f->cipher, f->bits, f->bits);
	if (c->t->set.loglevel >= 1 && f->cert_present)
		log_info("%s: subject_CN=%s, issuer=%s, fingerprint=%s, pkey_fingerprint=%s", c->who,
		         f->subject_cn, f->issuer_cn, f->cert_fpt, f->pkey_fpt);
	c->done(c->arg);
}

static void fail(struct stls_conn *c, const char *what)
{
	if (!c->failed)
		log_info("%s error from %s: %s", what, c->who, tls_error(c->tls) ? tls_error(c->tls) : "-1");
	c->failed = true;
	bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR | BEV_EVENT_READING,
	                          BEV_TRIG_DEFER_CALLBACKS);
}

static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t limit,
                                                enum bufferevent_flush_mode mode, void *arg)
{
	struct stls_conn *c = arg;
	char buf[16384];
	bool any = false;
	(void)src;
	(void)limit;
	(void)mode;
	if (c->failed)
		return BEV_ERROR;
	if (!c->hs_done) {
		int r = tls_handshake(c->tls);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT)
			return BEV_NEED_MORE;
		if (r != 0) {
			fail(c, "SSL_accept");
			return BEV_ERROR;
		}
		handshake_done(c);
		any = true;
	}
	for (;;) {
		ssize_t r = tls_read(c->tls, buf, sizeof(buf));
		if (r > 0) {
			evbuffer_add(dst, buf, (size_t)r);
			any = true;
			continue;
		}
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT)
			break;
		if (r == 0) { /* close_notify */
			bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
			                          BEV_TRIG_DEFER_CALLBACKS);
			break;
		}
		fail(c, "SSL_read");
		return BEV_ERROR;
	}
	return any ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t limit,
                                                 enum bufferevent_flush_mode mode, void *arg)
{
	struct stls_conn *c = arg;
	(void)dst;
	(void)limit;
	(void)mode;
	if (c->failed)
		return BEV_ERROR;
	if (!c->hs_done)
		return BEV_NEED_MORE;
	while (evbuffer_get_length(src) > 0) {
		size_t n = evbuffer_get_contiguous_space(src);
		if (n > 16384)
			n = 16384;
		const unsigned char *p = evbuffer_pullup(src, (ev_ssize_t)n);
		ssize_t w = tls_write(c->tls, p, n);
		if (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT)
			return BEV_NEED_MORE;
		if (w <= 0) {
			fail(c, "SSL_write");
			return BEV_ERROR;
		}
		evbuffer_drain(src, (size_t)w);
	}
	return BEV_OK;
}

struct bufferevent *stls_start(struct smtpd_tls *t, struct bufferevent *under, const char *who,
                               struct smtpd_tls_facts *facts, void (*done)(void *), void *arg,
                               struct stls_conn **connp)
{
	if (t->server == NULL)
		return NULL;
	struct stls_conn *c = xcalloc(1, sizeof(*c));
	c->t = t;
	c->under = under;
	c->facts = facts;
	c->done = done;
	c->arg = arg;
	snprintf(c->who, sizeof(c->who), "%s", who);
	if (tls_accept_cbs(t->server, &c->tls, cb_read, cb_write, c) != 0) {
		log_warn("TLS set-up for %s: %s", who, tls_error(t->server));
		free(c);
		return NULL;
	}
	bufferevent_set_timeouts(under, NULL, NULL);
	c->bev = bufferevent_filter_new(under, in_filter, out_filter, 0, NULL, c);
	if (c->bev == NULL) {
		tls_free(c->tls);
		free(c);
		return NULL;
	}
	if (t->set.loglevel >= 2)
		log_info("setting up TLS connection from %s", who);
	*connp = c;
	return c->bev;
}

bool stls_handshake_done(const struct stls_conn *c)
{
	return c != NULL && c->hs_done;
}

static void linger_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev); /* closes the socket */
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

void stls_close(struct stls_conn *c)
{
	if (c == NULL)
		return;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL); /* the session is gone */
	if (c->hs_done && !c->failed) {
		bufferevent_flush(c->bev, EV_WRITE, BEV_FINISHED);
		tls_close(c->tls); /* queues close_notify; never waits */
	}
	bufferevent_free(c->bev); /* unhooks itself from under at once */
	tls_free(c->tls);
	struct bufferevent *u = c->under;
	free(c);
	/* The socket stays until what is queued has left (or a bound). */
	bufferevent_disable(u, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(u)) == 0) {
		bufferevent_free(u);
		return;
	}
	struct timeval tv = {TLS_LINGER_SECONDS, 0};
	bufferevent_setcb(u, NULL, linger_done, linger_event, NULL);
	bufferevent_setwatermark(u, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(u, NULL, &tv);
	bufferevent_enable(u, EV_WRITE);
}
