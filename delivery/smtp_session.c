/*
 * smtp_session.c - the SMTP/LMTP dialogue of one delivery request (see
 * smtp_session.h).  Runs in the smtp client's per-connection process as
 * network_user.  Untrusted input: the remote server's replies (through
 * smtp_reply.c's bounded reader) and its TLS certificate; the queue
 * file's content is sent, not interpreted, apart from line ends and
 * dot-stuffing.
 */
#include "smtp_session.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "cfg.h"
#include "dns.h"
#include "dns_host.h"
#include "local_req.h"
#include "log.h"
#include "proto.h"
#include "smtp_conf.h"
#include "smtp_conn.h"
#include "smtp_dane.h"
#include "smtp_reply.h"
#include "smtp_sasl.h"
#include "smtp_sts.h"
#include "strlist.h"

/* What a session attempt left for the next address to try. */
enum outcome {
	OUT_DONE,     /* every recipient has its result */
	OUT_NEXT,     /* this server failed: try the next address */
	OUT_NEXT_PLAIN, /* TLS failed at level may: same address in plaintext */
	OUT_STOP,     /* failure that another address will not fix */
};

struct sess {
	struct smtp_job *j;
	const struct smtp_conf *sc;
	struct smtp_conn c;
	struct smtp_tls_policy pol;
	const char *dest;      /* next-hop destination as named */
	bool tls_off;          /* retry in plaintext after a failed may handshake */
	bool dns_secure;       /* this server's MX and address answers were validated */
	struct dns_result *tlsa; /* usable TLSA records for this server, or NULL */
	enum smtp_tls_level eff; /* the level in force for this server */
	bool sts_enforce;      /* MTA-STS enforce: verified TLS to a listed MX */
	bool esmtp, pipelining, dsn, eightbit, smtputf8;
	unsigned long size_limit;
	bool size;
	/* The last session-level failure: for recipients left without a result. */
	char why_dsn[16];
	char why[SMTPC_REPLY_TEXT_MAX + 512];
	char why_relay[400];
	double t0, t_conn;
};

static double now_f(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool smtp_xtext(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = *p >= 33 && *p <= 126 && *p != '+' && *p != '=';
		size_t need = plain ? 1 : 3;
		if (n + need >= outlen)
			return false;
		if (plain)
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, outlen - n, "+%02X", *p);
	}
	out[n] = '\0';
	return true;
}

static void set_why(struct sess *s, const char *dsn, const char *relay, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_why(struct sess *s, const char *dsn, const char *relay, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	snprintf(s->why_dsn, sizeof(s->why_dsn), "%s", dsn);
	snprintf(s->why_relay, sizeof(s->why_relay), "%s", relay ? relay : "none");
}

static void result(struct sess *s, size_t i, const char *dsn, const char *text)
{
	struct smtp_result *r = &s->j->res[i];
	if (r->done)
		return;
	r->done = true;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	snprintf(r->text, sizeof(r->text), "%s", text);
	snprintf(r->relay, sizeof(r->relay), "%s", s->c.fd >= 0 ? s->c.relay : s->why_relay);
	double now = now_f();
	r->t_conn = s->t_conn > 0 ? s->t_conn - s->t0 : now - s->t0;
	r->t_xfer = s->t_conn > 0 ? now - s->t_conn : 0;
	r->dsn_passed = dsn[0] == '2' && s->dsn && s->c.fd >= 0 &&
	                s->j->req->rcpt[i].notify != 0;
}

/* The DSN status of a reply: its own enhanced code, else from the code. */
static void reply_dsn(const struct smtp_reply *r, char *dsn, size_t len)
{
	snprintf(dsn, len, "%s", r->dsn);
	if (!r->dsn_given)
		snprintf(dsn, len, "%c.0.0", '0' + r->code / 100);
}

/* "host X[ip] said: 550 5.1.1 ... (in reply to RCPT TO command)" */
static void said(struct sess *s, const struct smtp_reply *r, const char *cmd, char *out,
                 size_t len)
{
	snprintf(out, len, "host %s said: %s (in reply to %s)", s->c.hostaddr, r->text, cmd);
}

/* Fail the session because of reply r to cmd: a 5xx stops, 4xx defers. */
static enum outcome reply_fail(struct sess *s, const struct smtp_reply *r, const char *cmd)
{
	char dsn[16];
	reply_dsn(r, dsn, sizeof(dsn));
	said(s, r, cmd, s->why, sizeof(s->why));
	snprintf(s->why_dsn, sizeof(s->why_dsn), "%s", dsn);
	snprintf(s->why_relay, sizeof(s->why_relay), "%s", s->c.relay);
	return r->code >= 500 ? OUT_STOP : OUT_NEXT;
}

/* Read a reply; on failure set the session reason. */
static bool get_reply(struct sess *s, struct smtp_reply *r, long timeout, const char *stage)
{
	s->c.timeout_ms = timeout > 0 ? (int)(timeout * 1000) : 300000;
	enum smtp_reply_err e = smtp_reply_read(&s->c.rb, r);
	if (e == SMTP_REPLY_OK)
		return true;
	if (e == SMTP_REPLY_EOF)
		set_why(s, "4.4.2", s->c.relay, "lost connection with %s while %s", s->c.hostaddr,
		        stage);
	else if (e == SMTP_REPLY_IOERR && (errno == ETIMEDOUT || errno == EAGAIN))
		set_why(s, "4.4.2", s->c.relay, "conversation with %s timed out while %s",
		        s->c.hostaddr, stage);
	else if (e == SMTP_REPLY_IOERR)
		set_why(s, "4.4.2", s->c.relay, "lost connection with %s while %s: %s",
		        s->c.hostaddr, stage, strerror(errno));
	else
		set_why(s, "4.4.2", s->c.relay, "%s sent a bad reply while %s: %s",
		        s->c.hostaddr, stage, smtp_reply_errstr(e));
	log_info("%s: %s", s->j->req->id, s->why);
	return false;
}

static bool put(struct sess *s, const char *line, long timeout, const char *stage)
{
	s->c.timeout_ms = timeout > 0 ? (int)(timeout * 1000) : 300000;
	if (smtp_conn_write(&s->c, line, strlen(line)))
		return true;
	set_why(s, "4.4.2", s->c.relay, "%s with %s while %s",
	        errno == ETIMEDOUT ? "conversation timed out" : "lost connection",
	        s->c.hostaddr, stage);
	return false;
}

static bool helo(struct sess *s, struct smtp_reply *r)
{
	const struct smtp_conf *sc = s->sc;
	char line[600];
	snprintf(line, sizeof(line), "%s %s\r\n", sc->lmtp ? "LHLO" : "EHLO", sc->helo_name);
	if (!put(s, line, sc->helo_timeout, "performing the EHLO handshake") ||
	    !get_reply(s, r, sc->helo_timeout, "receiving the EHLO reply"))
		return false;
	s->esmtp = r->code / 100 == 2;
	if (!s->esmtp && !sc->lmtp && r->code >= 500) {
		snprintf(line, sizeof(line), "HELO %s\r\n", sc->helo_name);
		if (!put(s, line, sc->helo_timeout, "performing the HELO handshake") ||
		    !get_reply(s, r, sc->helo_timeout, "receiving the HELO reply"))
			return false;
	}
	if (r->code / 100 != 2) {
		reply_fail(s, r, s->esmtp || sc->lmtp ? "EHLO command" : "HELO command");
		return false;
	}
	s->pipelining = s->esmtp && smtp_reply_ehlo_has(r, "PIPELINING", NULL, NULL);
	s->dsn = s->esmtp && smtp_reply_ehlo_has(r, "DSN", NULL, NULL);
	s->eightbit = s->esmtp && smtp_reply_ehlo_has(r, "8BITMIME", NULL, NULL);
	s->smtputf8 = s->esmtp && smtp_reply_ehlo_has(r, "SMTPUTF8", NULL, NULL);
	const char *p;
	size_t pl;
	s->size = s->esmtp && smtp_reply_ehlo_has(r, "SIZE", &p, &pl);
	s->size_limit = s->size && pl > 0 ? strtoul(p, NULL, 10) : 0;
	return true;
}

/* Check the peer certificate as the policy level asks; false with why. */
static bool tls_check(struct sess *s, char *why, size_t whylen)
{
	struct tls *t = s->c.tls;
	enum smtp_tls_level lev = s->eff;
	char list[1024];
	if (lev == TLS_LEV_FINGERPRINT) {
		const char *h = tls_peer_cert_hash(t); /* "SHA256:hex" */
		snprintf(list, sizeof(list), "%s", *s->pol.match ? s->pol.match : s->sc->fp_match);
		if (strcasecmp(s->sc->fp_digest, "sha256") != 0) {
			snprintf(why, whylen, "fingerprint digest %s is not supported (use sha256)",
			         s->sc->fp_digest);
			return false;
		}
		char have[200] = "";
		if (h != NULL && strncmp(h, "SHA256:", 7) == 0)
			snprintf(have, sizeof(have), "%s", h + 7);
		char *save = NULL;
		for (char *f = strtok_r(list, " \t,|", &save); f && *have;
		     f = strtok_r(NULL, " \t,|", &save)) {
			char norm[200];
			size_t n = 0;
			for (const char *q = f; *q && n + 1 < sizeof(norm); q++)
				if (*q != ':')
					norm[n++] = (char)tolower((unsigned char)*q);
			norm[n] = '\0';
			if (strcmp(norm, have) == 0)
				return true;
		}
		snprintf(why, whylen, "Server certificate not verified: fingerprint "
		         "does not match");
		return false;
	}
	if ((lev == TLS_LEV_DANE || lev == TLS_LEV_DANE_ONLY) && s->tlsa != NULL) {
		char nh[256];
		const char *dd = strncmp(s->dest, "inet:", 5) == 0 ? s->dest + 5 : s->dest;
		snprintf(nh, sizeof(nh), "%s", *dd == '[' ? dd + 1 : dd);
		char *cut2 = strpbrk(nh, "]:");
		if (cut2)
			*cut2 = '\0';
		const char *names[] = {s->c.host, nh};
		return smtp_dane_match(t, s->tlsa, names, 2, why, whylen);
	}
	if (lev != TLS_LEV_VERIFY && lev != TLS_LEV_SECURE)
		return true;
	/* The chain was verified by libtls; now the name. */
	const char *spec = *s->pol.match ? s->pol.match
	                   : lev == TLS_LEV_SECURE ? s->sc->secure_match : s->sc->verify_match;
	snprintf(list, sizeof(list), "%s", spec);
	/* The next-hop domain, without brackets and port. */
	char nexthop[256];
	const char *d = s->dest;
	if (strncmp(d, "inet:", 5) == 0)
		d += 5;
	snprintf(nexthop, sizeof(nexthop), "%s", *d == '[' ? d + 1 : d);
	char *cut = strpbrk(nexthop, "]:");
	if (cut)
		*cut = '\0';
	char *save = NULL;
	for (char *m = strtok_r(list, " \t,:", &save); m; m = strtok_r(NULL, " \t,:", &save)) {
		const char *name = m;
		bool sub = false;
		if (strcasecmp(m, "hostname") == 0)
			name = s->c.host;
		else if (strcasecmp(m, "nexthop") == 0)
			name = nexthop;
		else if (strcasecmp(m, "dot-nexthop") == 0)
			name = nexthop, sub = true;
		else if (m[0] == '.')
			name = m + 1, sub = true;
		if (tls_peer_cert_contains_name(t, name) == 1)
			return true;
		if (sub) {
			/* Any single-label subdomain: try the wildcard form the
			 * certificate would carry for a host below name. */
			char w[300];
			snprintf(w, sizeof(w), "x.%s", name);
			if (tls_peer_cert_contains_name(t, w) == 1)
				return true;
		}
	}
	snprintf(why, whylen, "Server certificate not verified: name does not match "
	         "\"%.200s\"", spec);
	return false;
}

static enum outcome starttls(struct sess *s, struct smtp_reply *r)
{
	const struct smtp_conf *sc = s->sc;
	enum smtp_tls_level lev = s->pol.level;
	if ((lev == TLS_LEV_DANE || lev == TLS_LEV_DANE_ONLY) && s->c.port != 0 && !s->tls_off) {
		/* RFC 7672: TLSA records count only when the MX and address
		 * answers that led here were validated too. */
		bool tempfail = false;
		if (s->tlsa == NULL && sc->dns != NULL && s->dns_secure)
			s->tlsa = smtp_dane_tlsa(sc->dns, s->c.host, s->c.port, &tempfail);
		if (tempfail) {
			set_why(s, "4.7.5", s->c.relay, "TLSA lookup error for %s:%u", s->c.host,
			        s->c.port);
			return OUT_NEXT;
		}
		if (s->tlsa == NULL && lev == TLS_LEV_DANE_ONLY) {
			set_why(s, "4.7.5", s->c.relay, "TLS is required (security level dane-only), "
			        "but no usable DNSSEC-validated TLSA records were found for %s:%u",
			        s->c.host, s->c.port);
			return OUT_NEXT;
		}
		if (s->tlsa == NULL)
			lev = TLS_LEV_MAY;
	}
	/* MTA-STS enforce: nothing less than a certificate verified for
	 * the MX host name (DANE, when it applies, is stronger). */
	if (s->sts_enforce && lev != TLS_LEV_DANE && lev != TLS_LEV_DANE_ONLY &&
	    lev < TLS_LEV_VERIFY && !s->tls_off)
		lev = TLS_LEV_VERIFY;
	s->eff = lev;
	bool offered = s->esmtp && smtp_reply_ehlo_has(r, "STARTTLS", NULL, NULL);
	if (lev == TLS_LEV_NONE || s->tls_off || s->c.port == 0) {
		if (offered && sc->note_starttls_offer)
			log_info("Host offered STARTTLS: [%s]", s->c.host);
		return OUT_DONE;
	}
	if (!offered) {
		if (lev == TLS_LEV_MAY)
			return OUT_DONE;
		set_why(s, "4.7.4", s->c.relay, "TLS is required, but was not offered by host %s",
		        s->c.hostaddr);
		return OUT_NEXT;
	}
	if (!put(s, "STARTTLS\r\n", sc->starttls_timeout, "sending STARTTLS") ||
	    !get_reply(s, r, sc->starttls_timeout, "receiving the STARTTLS reply"))
		return OUT_NEXT;
	if (r->code != 220) {
		if (lev == TLS_LEV_MAY)
			return OUT_DONE; /* continue in plaintext */
		said(s, r, "STARTTLS command", s->why, sizeof(s->why));
		snprintf(s->why_dsn, sizeof(s->why_dsn), "4.7.5");
		return OUT_NEXT;
	}
	if (smtp_rbuf_pending(&s->c.rb)) {
		/* Bytes after 220 before the handshake: an injection attempt. */
		set_why(s, "4.7.5", s->c.relay, "host %s sent data after the STARTTLS reply",
		        s->c.hostaddr);
		return OUT_NEXT;
	}
	char why[512];
	bool chain = lev == TLS_LEV_VERIFY || lev == TLS_LEV_SECURE;
	struct smtp_tls_policy eff = s->pol;
	eff.level = lev;
	struct tls_config *cfg = smtp_tls_config(sc, &eff, chain, why, sizeof(why));
	if (cfg == NULL) {
		set_why(s, "4.7.5", s->c.relay, "TLS setup for %s: %s", s->c.hostaddr, why);
		return lev == TLS_LEV_MAY ? OUT_NEXT_PLAIN : OUT_NEXT;
	}
	s->c.timeout_ms = (int)(sc->starttls_timeout * 1000);
	/* SNI only with a name, never an address literal. */
	const char *sni = strspn(s->c.host, "0123456789.:abcdefABCDEF") == strlen(s->c.host)
	                  ? NULL : s->c.host;
	bool ok = smtp_conn_starttls(&s->c, cfg, sni, why, sizeof(why));
	tls_config_free(cfg);
	if (ok && !tls_check(s, why, sizeof(why))) {
		ok = false;
	}
	if (!ok) {
		if (lev == TLS_LEV_MAY) {
			log_info("%s: TLS handshake with %s failed: %s; retrying in plaintext",
			         s->j->req->id, s->c.relay, why);
			set_why(s, "4.7.5", s->c.relay, "Cannot start TLS: handshake failure");
			return OUT_NEXT_PLAIN;
		}
		log_info("%s: TLS with %s failed (security level %s): %s", s->j->req->id,
		         s->c.relay, smtp_tls_level_name(lev), why);
		set_why(s, "4.7.5", s->c.relay, "TLS with %s failed (security level %s): %s",
		        s->c.hostaddr, smtp_tls_level_name(lev), why);
		return OUT_NEXT;
	}
	const char *trust = lev == TLS_LEV_VERIFY || lev == TLS_LEV_SECURE ||
	                    lev == TLS_LEV_FINGERPRINT || lev == TLS_LEV_DANE ||
	                    lev == TLS_LEV_DANE_ONLY ? "Verified" : "Untrusted";
	int bits = tls_conn_cipher_strength(s->c.tls);
	log_info("%s TLS connection established to %s: %s with cipher %s (%d/%d bits)", trust,
	         s->c.relay, tls_conn_version(s->c.tls), tls_conn_cipher(s->c.tls), bits, bits);
	if (!helo(s, r))
		return OUT_NEXT;
	return OUT_DONE;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static size_t build_mail(struct sess *s, char *buf, size_t len)
{
	const struct local_req *q = s->j->req;
	int n = snprintf(buf, len, "MAIL FROM:<%s>", q->sender);
	if (s->size)
		n += snprintf(buf + n, len - (size_t)n, " SIZE=%llu",
		              (unsigned long long)q->length);
	if (s->eightbit && s->j->body != NULL && strcasecmp(s->j->body, "8BITMIME") == 0)
		n += snprintf(buf + n, len - (size_t)n, " BODY=8BITMIME");
	if (s->smtputf8 && s->j->smtputf8)
		n += snprintf(buf + n, len - (size_t)n, " SMTPUTF8");
	if (s->dsn) {
		char x[400];
		if (q->ret != NULL)
			n += snprintf(buf + n, len - (size_t)n, " RET=%s", q->ret);
		if (q->envid != NULL && smtp_xtext(q->envid, x, sizeof(x)))
			n += snprintf(buf + n, len - (size_t)n, " ENVID=%s", x);
	}
	n += snprintf(buf + n, len - (size_t)n, "\r\n");
	return (size_t)n;
}

static void build_rcpt(struct sess *s, size_t i, char *buf, size_t len)
{
	const struct local_rcpt *rc = &s->j->req->rcpt[i];
	int n = snprintf(buf, len, "RCPT TO:<%s>", rc->addr);
	if (s->dsn) {
		if (rc->notify != 0) {
			n += snprintf(buf + n, len - (size_t)n, " NOTIFY=");
			if (rc->notify & PROTO_NOTIFY_NEVER)
				n += snprintf(buf + n, len - (size_t)n, "NEVER");
			else {
				const char *sep = "";
				if (rc->notify & PROTO_NOTIFY_SUCCESS)
					n += snprintf(buf + n, len - (size_t)n, "%sSUCCESS", sep), sep = ",";
				if (rc->notify & PROTO_NOTIFY_FAILURE)
					n += snprintf(buf + n, len - (size_t)n, "%sFAILURE", sep), sep = ",";
				if (rc->notify & PROTO_NOTIFY_DELAY)
					n += snprintf(buf + n, len - (size_t)n, "%sDELAY", sep);
			}
		}
		/* ORCPT: "type;address", the address part in xtext. */
		char x[1600];
		const char *semi = rc->orcpt ? strchr(rc->orcpt, ';') : NULL;
		if (semi != NULL && semi - rc->orcpt < 32 && smtp_xtext(semi + 1, x, sizeof(x)))
			n += snprintf(buf + n, len - (size_t)n, " ORCPT=%.*s;%s",
			              (int)(semi - rc->orcpt), rc->orcpt, x);
	}
	snprintf(buf + n, len - (size_t)n, "\r\n");
}

/* The message content: LF or CRLF line ends to CRLF, leading dots doubled. */
static bool send_content(struct sess *s)
{
	const struct local_req *q = s->j->req;
	static char in[65536], out[2 * 65536 + 8];
	uint64_t off = q->offset, left = q->length;
	bool bol = true;
	size_t o = 0;
	s->c.timeout_ms = (int)(s->sc->data_xfer_timeout * 1000);
	char last = '\n';
	while (left > 0) {
		size_t want = left < sizeof(in) ? (size_t)left : sizeof(in);
		ssize_t got = pread(s->j->fd, in, want, (off_t)off);
		if (got <= 0) {
			set_why(s, "4.3.0", s->c.relay, "error reading the queue file: %s",
			        got < 0 ? strerror(errno) : "unexpected end of file");
			return false;
		}
		for (ssize_t k = 0; k < got; k++) {
			char ch = in[k];
			if (bol && ch == '.')
				out[o++] = '.';
			if (ch == '\n') {
				if (last != '\r')
					out[o++] = '\r';
				out[o++] = '\n';
				bol = true;
			} else {
				out[o++] = ch;
				bol = false;
			}
			last = ch;
		}
		if (!smtp_conn_write(&s->c, out, o)) {
			set_why(s, "4.4.2", s->c.relay, "lost connection with %s while sending "
			        "message body", s->c.hostaddr);
			return false;
		}
		o = 0;
		off += (uint64_t)got;
		left -= (uint64_t)got;
	}
	const char *end = bol ? ".\r\n" : "\r\n.\r\n";
	if (!smtp_conn_write(&s->c, end, strlen(end))) {
		set_why(s, "4.4.2", s->c.relay, "lost connection with %s while sending end of "
		        "data -- message may be sent more than once", s->c.hostaddr);
		return false;
	}
	return true;
}

/* The transaction after the handshake. */
static enum outcome transaction(struct sess *s)
{
	const struct smtp_conf *sc = s->sc;
	const struct local_req *q = s->j->req;
	struct smtp_reply r;
	char line[8192]; /* fits a QFILE_FIELD_MAX address with every parameter */
	size_t n = q->nrcpt;

	if (s->j->smtputf8 && !s->smtputf8) {
		bool need = !ascii(q->sender);
		for (size_t i = 0; i < n && !need; i++)
			need = !ascii(q->rcpt[i].addr);
		if (need) {
			set_why(s, "5.6.7", s->c.relay, "SMTPUTF8 is required, but was not offered "
			        "by host %s", s->c.hostaddr);
			return OUT_STOP;
		}
	}
	if (s->size && s->size_limit > 0 && q->length > s->size_limit) {
		set_why(s, "5.3.4", s->c.relay, "message size %llu exceeds size limit %lu of "
		        "server %s", (unsigned long long)q->length, s->size_limit, s->c.hostaddr);
		return OUT_STOP;
	}
	/* With PIPELINING: MAIL, every RCPT and DATA in one go, then the
	 * replies in order (RFC 2920). */
	size_t mlen = build_mail(s, line, sizeof(line));
	if (!put(s, line, sc->mail_timeout, "sending MAIL FROM"))
		return OUT_NEXT;
	(void)mlen;
	if (s->pipelining) {
		for (size_t i = 0; i < n; i++) {
			build_rcpt(s, i, line, sizeof(line));
			if (!put(s, line, sc->rcpt_timeout, "sending RCPT TO"))
				return OUT_NEXT;
		}
		if (!put(s, "DATA\r\n", sc->data_init_timeout, "sending DATA"))
			return OUT_NEXT;
	}
	if (!get_reply(s, &r, sc->mail_timeout, "receiving the MAIL FROM reply"))
		return OUT_NEXT;
	if (r.code / 100 != 2)
		return reply_fail(s, &r, "MAIL FROM command");
	bool *ok = calloc(n, sizeof(bool));
	if (ok == NULL) {
		set_why(s, "4.3.0", s->c.relay, "out of memory");
		return OUT_NEXT;
	}
	size_t nok = 0;
	enum outcome out = OUT_DONE;
	for (size_t i = 0; i < n; i++) {
		if (!s->pipelining) {
			build_rcpt(s, i, line, sizeof(line));
			if (!put(s, line, sc->rcpt_timeout, "sending RCPT TO")) {
				out = OUT_NEXT;
				goto end;
			}
		}
		if (!get_reply(s, &r, sc->rcpt_timeout, "receiving the RCPT TO reply")) {
			out = OUT_NEXT;
			goto end;
		}
		if (r.code / 100 == 2) {
			ok[i] = true;
			nok++;
		} else {
			char dsn[16], text[sizeof(s->why)];
			reply_dsn(&r, dsn, sizeof(dsn));
			said(s, &r, "RCPT TO command", text, sizeof(text));
			result(s, i, dsn, text);
		}
	}
	if (!s->pipelining) {
		if (nok == 0)
			goto end;
		if (!put(s, "DATA\r\n", sc->data_init_timeout, "sending DATA")) {
			out = OUT_NEXT;
			goto end;
		}
	}
	if (!get_reply(s, &r, sc->data_init_timeout, "receiving the DATA reply")) {
		out = OUT_NEXT;
		goto end;
	}
	if (nok == 0) /* the pipelined DATA was refused, or will be: give up */
		goto end;
	if (r.code != 354) {
		char dsn[16], text[sizeof(s->why)];
		reply_dsn(&r, dsn, sizeof(dsn));
		said(s, &r, "DATA command", text, sizeof(text));
		for (size_t i = 0; i < n; i++)
			if (ok[i])
				result(s, i, dsn, text);
		goto end;
	}
	if (!send_content(s)) {
		out = OUT_NEXT;
		goto end;
	}
	/* SMTP: one reply for all; LMTP: one per accepted recipient. */
	for (size_t i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		if (!get_reply(s, &r, sc->data_done_timeout, "receiving the end of data reply")) {
			out = OUT_NEXT;
			goto end;
		}
		char dsn[16], text[sizeof(s->why)];
		reply_dsn(&r, dsn, sizeof(dsn));
		if (r.code / 100 == 2)
			snprintf(text, sizeof(text), "%s", r.text);
		else
			said(s, &r, "end of DATA command", text, sizeof(text));
		if (!sc->lmtp) {
			for (size_t k = i; k < n; k++)
				if (ok[k])
					result(s, k, dsn, text);
			break;
		}
		result(s, i, dsn, text);
	}
end:
	free(ok);
	if (out == OUT_DONE && put(s, "QUIT\r\n", sc->quit_timeout, "sending QUIT"))
		(void)get_reply(s, &r, sc->quit_timeout, "receiving the QUIT reply");
	/* Recipients still without a result get the session's reason. */
	return out;
}

static bool sasl_write(void *arg, const char *line)
{
	struct sess *s = arg;
	char buf[8200];
	snprintf(buf, sizeof(buf), "%s\r\n", line);
	return put(s, buf, s->sc->helo_timeout, "performing the AUTH exchange");
}

static bool sasl_read(void *arg, int *code, const char **last, const char **full)
{
	struct sess *s = arg;
	static struct smtp_reply r;
	if (!get_reply(s, &r, s->sc->helo_timeout, "performing the AUTH exchange"))
		return false;
	*code = r.code;
	const char *nl = strrchr(r.body, '\n');
	*last = nl ? nl + 1 : r.body;
	*full = r.text;
	return true;
}

/* Smarthost authentication when enabled and a password is configured
 * for this destination. */
static enum outcome auth(struct sess *s, const struct smtp_reply *ehlo)
{
	const struct smtp_conf *sc = s->sc;
	char *user = NULL, *pass = NULL;
	int f = smtp_sasl_find(&sc->sasl, s->j->req->sender, s->dest, s->c.host, s->c.port,
	                       &user, &pass);
	if (f < 0) {
		set_why(s, "4.7.0", s->c.relay, "SASL password table lookup failed");
		return OUT_NEXT;
	}
	const char *p;
	size_t pl;
	if (f == 0 || !smtp_reply_ehlo_has(ehlo, "AUTH", &p, &pl)) {
		free(user);
		free(pass);
		return OUT_DONE;
	}
	char mechs[1024];
	snprintf(mechs, sizeof(mechs), "%.*s", (int)(pl < sizeof(mechs) ? pl : sizeof(mechs) - 1), p);
	struct smtp_sasl_io io = {.arg = s, .write_line = sasl_write, .read_reply = sasl_read};
	char dsn[16], why[SMTPC_REPLY_TEXT_MAX + 256];
	int rc = smtp_sasl_auth(&sc->sasl, &io, s->c.host, mechs, s->c.tls != NULL, user, pass,
	                        s->c.hostaddr, dsn, sizeof(dsn), why, sizeof(why));
	explicit_bzero(pass, strlen(pass));
	free(user);
	free(pass);
	if (rc == 0)
		return OUT_DONE;
	if (rc == -1) {
		log_info("%s: %s", s->j->req->id, why);
		set_why(s, dsn, s->c.relay, "%s", why);
		return dsn[0] == '5' ? OUT_STOP : OUT_NEXT;
	}
	return OUT_NEXT;
}

/* One server address: the whole session. */
static enum outcome session(struct sess *s)
{
	const struct smtp_conf *sc = s->sc;
	struct smtp_reply r;
	if (!get_reply(s, &r, sc->helo_timeout, "receiving the initial server greeting"))
		return OUT_NEXT;
	if (r.code / 100 != 2) {
		enum outcome o = reply_fail(s, &r, "initial server greeting");
		if (r.code >= 500 && sc->skip_5xx_greeting) {
			/* Postfix: try another server, and defer if none is better. */
			s->why_dsn[0] = '4';
			return OUT_NEXT;
		}
		return o;
	}
	if (!helo(s, &r))
		return OUT_NEXT;
	enum outcome o = starttls(s, &r);
	if (o != OUT_DONE)
		return o;
	if (sc->sasl.enable && (o = auth(s, &r)) != OUT_DONE)
		return o;
	s->t_conn = now_f();
	return transaction(s);
}

/* One server address: connect, the session, and for "may" a second
 * connection in plaintext after a failed handshake. */
static enum outcome try_addr(struct sess *s, const char *host, const struct sockaddr *sa,
                             socklen_t salen)
{
	const struct smtp_conf *sc = s->sc;
	const char *bind = sa->sa_family == AF_INET6 ? sc->bind_address6 : sc->bind_address;
	enum outcome o = OUT_NEXT;
	s->tls_off = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		char why[512];
		s->t_conn = 0;
		if (!smtp_conn_tcp(&s->c, host, sa, salen, bind, sc->connect_timeout, why,
		                   sizeof(why))) {
			set_why(s, "4.4.1", NULL, "%s", why);
			log_info("%s: %s", s->j->req->id, why);
			return OUT_NEXT;
		}
		o = session(s);
		smtp_conn_close(&s->c);
		if (s->tlsa != NULL) {
			dns_result_free(s->tlsa);
			s->tlsa = NULL;
		}
		if (o != OUT_NEXT_PLAIN)
			break;
		s->tls_off = true;
		o = OUT_NEXT;
	}
	return o;
}

/* With common/dns: MX records (unless bracketed), implicit MX, null MX,
 * the address limit, inet_protocols, smtp_host_lookup. */
static enum outcome try_hosts(struct sess *s, const char *dest, const char *host,
                              const char *port, bool bracketed)
{
	const struct smtp_conf *sc = s->sc;
	struct dns_host_opts o;
	dns_host_opts_from_cfg(&o, sc->cfg);
	o.no_mx = bracketed;
	char *end;
	unsigned long pn = strtoul(port, &end, 10);
	if (*end != '\0' || pn == 0 || pn > 65535) {
		struct servent *se = getservbyname(port, "tcp");
		if (se == NULL) {
			set_why(s, "4.3.5", NULL, "bad next-hop port \"%.64s\" in %.200s", port, dest);
			return OUT_STOP;
		}
		pn = ntohs((uint16_t)se->s_port);
	}
	struct dns_hosts *h = dns_hosts_lookup(sc->dns, host, &o);
	if (h == NULL) {
		set_why(s, "4.4.3", NULL, "lookup of %.200s failed", host);
		return OUT_NEXT;
	}
	enum outcome out = OUT_NEXT;
	switch (h->status) {
	case DNS_HOSTS_OK:
		break;
	case DNS_HOSTS_NULLMX:
		set_why(s, "5.1.10", NULL, "%s", *h->why ? h->why : "Domain does not accept mail (nullMX)");
		out = OUT_STOP;
		goto done;
	case DNS_HOSTS_NOTFOUND:
	case DNS_HOSTS_NOADDR:
		set_why(s, "5.4.4", NULL, "%s", *h->why ? h->why
		        : "Host or domain name not found. Host not found");
		out = OUT_STOP;
		goto done;
	case DNS_HOSTS_TEMPFAIL:
	default:
		set_why(s, "4.4.3", NULL, "%s", *h->why ? h->why
		        : "Host or domain name not found. Host not found, try again");
		out = OUT_NEXT;
		goto done;
	}
	/* The best MX is this host: the mail would come back (Postfix's
	 * "loops back to myself"). */
	if (h->n > 0 && h->host[0].pref >= 0 && strcasecmp(h->host[0].name, sc->myhostname) == 0) {
		set_why(s, "5.4.6", NULL, "mail for %.200s loops back to myself", host);
		out = OUT_STOP;
		goto done;
	}
	struct sts_policy sts;
	bool have_sts = !bracketed && !sc->lmtp && smtp_sts_get(sc, host, &sts) &&
	                sts.mode != STS_NONE;
	for (size_t i = 0; i < h->n && i < SMTPC_ADDRS_MAX; i++) {
		if (have_sts && !smtp_sts_mx_ok(&sts, h->host[i].name)) {
			log_info("%s: MTA-STS policy of %s (%s) does not list MX host %s%s",
			         s->j->req->id, host, sts.mode == STS_ENFORCE ? "enforce" : "testing",
			         h->host[i].name, sts.mode == STS_ENFORCE ? ": skipped" : "");
			if (sts.mode == STS_ENFORCE) {
				set_why(s, "4.7.5", NULL, "MTA-STS policy of %.200s does not list MX "
				        "host %.200s", host, h->host[i].name);
				continue;
			}
		}
		s->sts_enforce = have_sts && sts.mode == STS_ENFORCE;
		struct sockaddr_storage ss;
		socklen_t sl;
		memset(&ss, 0, sizeof(ss));
		if (h->host[i].family == AF_INET6) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)pn);
			memcpy(&a6->sin6_addr, h->host[i].addr, 16);
			sl = sizeof(*a6);
		} else {
			struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)pn);
			memcpy(&a4->sin_addr, h->host[i].addr, 4);
			sl = sizeof(*a4);
		}
		s->dns_secure = h->host[i].secure && (h->host[i].pref < 0 || h->mx_secure);
		out = try_addr(s, h->host[i].name, (struct sockaddr *)&ss, sl);
		s->dns_secure = false;
		s->sts_enforce = false;
		if (out == OUT_DONE || out == OUT_STOP)
			break;
	}
done:
	dns_hosts_free(h);
	return out;
}

/* The destination's server addresses: literal, [host], host:port, unix:path. */
static enum outcome try_dest(struct sess *s, const char *dest)
{
	const struct smtp_conf *sc = s->sc;
	char host[300];
	char port[64] = "";
	const char *d = dest;
	bool is_unix = false;
	if (strncmp(d, "unix:", 5) == 0)
		is_unix = true, d += 5;
	else if (strncmp(d, "inet:", 5) == 0)
		d += 5;
	else if (sc->lmtp && strchr(d, '/') != NULL)
		is_unix = true;
	s->dest = dest;
	smtp_tls_policy_find(sc, dest, &s->pol);
	if (*s->pol.why) {
		set_why(s, "4.7.5", NULL, "%s", s->pol.why);
		return OUT_NEXT;
	}
	if (is_unix) {
		char why[512];
		if (!smtp_conn_unix(&s->c, d, sc->connect_timeout, why, sizeof(why))) {
			set_why(s, "4.4.1", NULL, "%s", why);
			return OUT_NEXT;
		}
		enum outcome o = session(s);
		smtp_conn_close(&s->c);
		return o;
	}
	if (*d == '[') {
		const char *close = strchr(d, ']');
		if (close == NULL || (size_t)(close - d - 1) >= sizeof(host)) {
			set_why(s, "4.3.5", NULL, "bad next-hop destination \"%.200s\"", dest);
			return OUT_STOP;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - d - 1), d + 1);
		if (strncasecmp(host, "ipv6:", 5) == 0)
			memmove(host, host + 5, strlen(host + 5) + 1);
		if (close[1] == ':')
			snprintf(port, sizeof(port), "%s", close + 2);
	} else {
		snprintf(host, sizeof(host), "%s", d);
		char *colon = strrchr(host, ':');
		if (colon != NULL && strchr(host, ':') == colon) {
			*colon = '\0';
			snprintf(port, sizeof(port), "%s", colon + 1);
		}
	}
	if (*port == '\0')
		snprintf(port, sizeof(port), "%u", sc->default_port);
	if (sc->dns != NULL)
		return try_hosts(s, dest, host, port, *d == '[' || sc->lmtp);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		bool perm = rc == EAI_NONAME || rc == EAI_SERVICE;
#ifdef EAI_NODATA
		perm = perm || rc == EAI_NODATA;
#endif
		set_why(s, perm ? "5.4.4" : "4.4.3", NULL,
		        "Host or domain name not found. Name service error for name=%s type=A: "
		        "Host not found%s", host, perm ? "" : ", try again");
		return perm ? OUT_STOP : OUT_NEXT;
	}
	enum outcome o = OUT_NEXT;
	long tried = 0;
	long limit = sc->mx_address_limit > 0 ? sc->mx_address_limit : SMTPC_ADDRS_MAX;
	for (ai = res; ai != NULL && tried < limit && tried < SMTPC_ADDRS_MAX; ai = ai->ai_next) {
		tried++;
		o = try_addr(s, host, ai->ai_addr, ai->ai_addrlen);
		if (o == OUT_DONE || o == OUT_STOP)
			break;
	}
	freeaddrinfo(res);
	return o;
}

void smtp_deliver(struct smtp_job *j)
{
	struct sess s;
	memset(&s, 0, sizeof(s));
	s.j = j;
	s.sc = j->sc;
	s.c.fd = -1;
	s.t0 = now_f();
	set_why(&s, "4.3.0", NULL, "no next-hop destination");
	char **dests = NULL, **fb = NULL;
	char err[256];
	const char *nh = *j->req->nexthop ? j->req->nexthop : "";
	int nd = strlist_split(nh, NULL, SMTPC_NEXTHOPS_MAX, &dests, err, sizeof(err));
	int nf = strlist_split(j->sc->fallback_relay, NULL, SMTPC_NEXTHOPS_MAX, &fb, err,
	                       sizeof(err));
	enum outcome o = OUT_NEXT;
	for (int k = 0; k < nd + (nf > 0 ? nf : 0) && o != OUT_DONE && o != OUT_STOP; k++) {
		const char *dest = k < nd ? dests[k] : fb[k - nd];
		o = try_dest(&s, dest);
	}
	if (dests)
		strlist_free(dests);
	if (fb)
		strlist_free(fb);
	for (size_t i = 0; i < j->req->nrcpt; i++)
		result(&s, i, s.why_dsn, s.why);
}
