/*
 * smtp_sts.c - MTA-STS policies for the smtp client (see smtp_sts.h).
 * Runs in the client's per-connection process as network_user.
 * Untrusted input: the TXT record (parsed by common/dns, bounded), the
 * HTTPS response (at most STS_HTTP_MAX bytes, status line and headers
 * checked, chunked transfer refused) and the policy text (one bounded
 * line parser), and the cache files (written by us, parsed the same
 * way).
 */
#include "smtp_sts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "cfg.h"
#include "dns.h"
#include "log.h"
#include "smtp_conf.h"
#include "smtp_conn.h"

#define STS_HTTP_MAX (64 * 1024)
#define STS_MAX_AGE 31557600L

bool smtp_sts_parse(const char *text, size_t len, struct sts_policy *p)
{
	memset(p, 0, sizeof(*p));
	bool version = false, mode = false, age = false;
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		size_t ll = e - i;
		if (ll > 0 && text[i + ll - 1] == '\r')
			ll--;
		char line[300];
		if (ll >= sizeof(line))
			return false;
		memcpy(line, text + i, ll);
		line[ll] = '\0';
		i = e + 1;
		if (ll == 0)
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL)
			return false;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		for (char *q = v + strlen(v); q > v && (q[-1] == ' ' || q[-1] == '\t');)
			*--q = '\0';
		if (strcmp(line, "version") == 0) {
			version = strcmp(v, "STSv1") == 0;
		} else if (strcmp(line, "mode") == 0) {
			mode = true;
			if (strcmp(v, "enforce") == 0)
				p->mode = STS_ENFORCE;
			else if (strcmp(v, "testing") == 0)
				p->mode = STS_TESTING;
			else if (strcmp(v, "none") == 0)
				p->mode = STS_NONE;
			else
				return false;
		} else if (strcmp(line, "max_age") == 0) {
			char *end;
			errno = 0;
			long a = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 || a < 0)
				return false;
			p->max_age = a > STS_MAX_AGE ? STS_MAX_AGE : a;
			age = true;
		} else if (strcmp(line, "mx") == 0) {
			if (p->nmx >= STS_MX_MAX || strlen(v) >= sizeof(p->mx[0]) || *v == '\0')
				return false;
			snprintf(p->mx[p->nmx++], sizeof(p->mx[0]), "%s", v);
		}
		/* other keys: ignored (RFC 8461 3.2) */
	}
	return version && mode && age && (p->mode == STS_NONE || p->nmx > 0);
}

bool smtp_sts_mx_ok(const struct sts_policy *p, const char *host)
{
	size_t hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < p->nmx; i++) {
		const char *m = p->mx[i];
		if (strncmp(m, "*.", 2) == 0) {
			/* one leftmost label */
			const char *dot = memchr(host, '.', hl);
			if (dot != NULL && dot > host && (size_t)(hl - (size_t)(dot - host) - 1) == strlen(m + 2) &&
			    strncasecmp(dot + 1, m + 2, strlen(m + 2)) == 0)
				return true;
		} else if (strlen(m) == hl && strncasecmp(m, host, hl) == 0) {
			return true;
		}
	}
	return false;
}

/* "v=STSv1; id=abc": the id, or false without an STSv1 record. */
static bool txt_id(const struct smtp_conf *sc, const char *domain, char *id, size_t idlen)
{
	char name[300];
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	struct dns_result *r = dns_lookup(sc->dns, name, DNS_T_TXT);
	if (r == NULL)
		return false;
	bool found = false;
	for (size_t i = 0; i < r->n && !found; i++) {
		const char *t = r->rr[i].text;
		if (t == NULL || strncmp(t, "v=STSv1", 7) != 0 || (t[7] != ';' && t[7] != '\0'))
			continue;
		const char *p = strstr(t, "id=");
		if (p == NULL)
			continue;
		p += 3;
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (n == 0 || n > 32 || n >= idlen)
			continue;
		memcpy(id, p, n);
		id[n] = '\0';
		found = true;
	}
	dns_result_free(r);
	return found;
}

static bool cache_path(const struct smtp_conf *sc, const char *domain, char *path, size_t len)
{
	const char *dir = cfg_get(sc->cfg, "postern_smtp_mta_sts_cache");
	if (dir == NULL || *dir == '\0' || !dns_name_ok(domain) || strchr(domain, '/'))
		return false;
	int n = snprintf(path, len, "%s/%s", dir, domain);
	return n > 0 && (size_t)n < len;
}

/* Cache file: "id EXPIRES\n" then the policy text. */
static bool cache_read(const struct smtp_conf *sc, const char *domain, char *id, size_t idlen,
                       long *expires, struct sts_policy *p)
{
	char path[1024];
	if (!cache_path(sc, domain, path, sizeof(path)))
		return false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	static char buf[STS_HTTP_MAX + 1];
	ssize_t n = read(fd, buf, STS_HTTP_MAX);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl == NULL)
		return false;
	*nl = '\0';
	char cid[40];
	if (sscanf(buf, "%39s %ld", cid, expires) != 2 || strlen(cid) >= idlen)
		return false;
	snprintf(id, idlen, "%s", cid);
	return smtp_sts_parse(nl + 1, (size_t)(n - (nl + 1 - buf)), p);
}

static void cache_write(const struct smtp_conf *sc, const char *domain, const char *id,
                        long expires, const char *body, size_t blen)
{
	char path[1024], tmp[1100];
	if (!cache_path(sc, domain, path, sizeof(path)))
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("MTA-STS cache %s: %s", tmp, strerror(errno));
		return;
	}
	char head[100];
	int hl = snprintf(head, sizeof(head), "%s %ld\n", id, expires);
	bool ok = write(fd, head, (size_t)hl) == hl && write(fd, body, blen) == (ssize_t)blen &&
	          fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		log_warn("MTA-STS cache %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* GET the policy over verified HTTPS; the body into body[*blen]. */
static bool fetch(const struct smtp_conf *sc, const char *domain, char *body, size_t *blen)
{
	char host[300];
	snprintf(host, sizeof(host), "mta-sts.%s", domain);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	/* common/dns first (it knows postern_dns_resolver), then the system. */
	struct dns_result *a = dns_lookup(sc->dns, host, DNS_T_A);
	if (a != NULL && a->status == DNS_OK && a->n > 0) {
		char ip[64];
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a->rr[0].addr[0], a->rr[0].addr[1],
		         a->rr[0].addr[2], a->rr[0].addr[3]);
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(ip, "443", &hints, &res) != 0)
			res = NULL;
	} else if (getaddrinfo(host, "443", &hints, &res) != 0) {
		res = NULL;
	}
	if (a != NULL)
		dns_result_free(a);
	if (res == NULL) {
		log_info("MTA-STS: cannot resolve %s", host);
		return false;
	}
	struct smtp_conn c;
	char why[512];
	bool ok = smtp_conn_tcp(&c, host, res->ai_addr, res->ai_addrlen, NULL, sc->connect_timeout,
	                        why, sizeof(why));
	freeaddrinfo(res);
	if (!ok) {
		log_info("MTA-STS: %s", why);
		return false;
	}
	struct tls_config *cfg = tls_config_new();
	ok = cfg != NULL && (sc->ca == NULL || tls_config_set_ca_mem(cfg, sc->ca, sc->ca_len) == 0);
	c.timeout_ms = 30000;
	if (ok && !smtp_conn_starttls(&c, cfg, host, why, sizeof(why))) {
		log_info("MTA-STS: policy fetch from %s: %s", host, why);
		ok = false;
	}
	if (cfg)
		tls_config_free(cfg);
	char req[512];
	snprintf(req, sizeof(req), "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\n"
	         "Connection: close\r\n\r\n", host);
	static char buf[STS_HTTP_MAX + 1];
	size_t n = 0;
	if (ok && smtp_conn_write(&c, req, strlen(req))) {
		/* the connection's buffered reader is for lines; read raw */
		for (;;) {
			if (n == STS_HTTP_MAX) {
				ok = false;
				break;
			}
			ssize_t got = c.rb.read(c.rb.arg, buf + n, STS_HTTP_MAX - n);
			if (got <= 0)
				break;
			n += (size_t)got;
		}
	} else {
		ok = false;
	}
	smtp_conn_close(&c);
	if (!ok)
		return false;
	buf[n] = '\0';
	char *hend = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || n < 12 || strncmp(buf + 8, " 200", 4) != 0 ||
	    hend == NULL) {
		log_info("MTA-STS: policy fetch from %s: not a 200 response", host);
		return false;
	}
	*hend = '\0';
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strstr(buf, "transfer-encoding: chunked") != NULL) {
		log_info("MTA-STS: policy fetch from %s: chunked responses are not supported", host);
		return false;
	}
	size_t bl = n - (size_t)(hend + 4 - buf);
	memcpy(body, hend + 4, bl);
	*blen = bl;
	return true;
}

bool smtp_sts_get(const struct smtp_conf *sc, const char *domain, struct sts_policy *p)
{
	if (sc->dns == NULL || !cfg_get_bool(sc->cfg, "postern_smtp_mta_sts"))
		return false;
	char id[40] = "", cid[40] = "";
	long expires = 0;
	struct sts_policy cached;
	bool have_cache = cache_read(sc, domain, cid, sizeof(cid), &expires, &cached) &&
	                  expires > (long)time(NULL);
	bool have_txt = txt_id(sc, domain, id, sizeof(id));
	if (!have_txt) {
		if (have_cache)
			*p = cached;
		return have_cache;
	}
	if (have_cache && strcmp(id, cid) == 0) {
		*p = cached;
		return true;
	}
	static char body[STS_HTTP_MAX + 1];
	size_t blen = 0;
	if (fetch(sc, domain, body, &blen) && smtp_sts_parse(body, blen, p)) {
		log_info("MTA-STS: policy for %s (id %s): mode %s, max_age %ld", domain, id,
		         p->mode == STS_ENFORCE ? "enforce" : p->mode == STS_TESTING ? "testing"
		                                                              : "none", p->max_age);
		cache_write(sc, domain, id, (long)time(NULL) + p->max_age, body, blen);
		return true;
	}
	/* A failed refresh keeps a policy that has not expired (RFC 8461 5.1). */
	if (have_cache)
		*p = cached;
	return have_cache;
}
