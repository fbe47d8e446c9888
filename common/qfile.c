/*
 * qfile.c - queue file writer and its one bounded parser (see qfile.h
 * and docs/queue.md).  Runs in qmgr.  The parser's input is a file
 * whose content part was written by smtpd or a local user, and which a
 * crash may have cut short, so it trusts no length and no byte: every
 * length is checked against the limits of bounds.h and the file size
 * before anything is read or allocated.
 */
#include "qfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "strbuf.h"
#include "xalloc.h"

void qfile_init(struct qfile *q)
{
	memset(q, 0, sizeof(*q));
	q->uid = -1;
}

void qfile_free(struct qfile *q)
{
	char **strs[] = {&q->id,         &q->sender,      &q->client_name,
	                 &q->client_addr, &q->client_port, &q->helo,
	                 &q->protocol,   &q->sasl_method, &q->sasl_user,
	                 &q->ret,        &q->envid,       &q->body};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < q->nrcpts; i++) {
		free(q->rcpts[i].addr);
		free(q->rcpts[i].orcpt);
		free(q->rcpts[i].orig);
	}
	free(q->rcpts);
	qfile_init(q);
}

/* ---- reading ---- */

struct reader {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static bool rd(const struct reader *r, uint64_t off, void *buf, size_t n)
{
	if (off > r->size || n > r->size - off)
		return false;
	if (r->mem != NULL) {
		memcpy(buf, r->mem + off, n);
		return true;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(r->fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Digits only, at most max. */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static char *dup_field(const uint8_t *p, size_t n)
{
	return xstrndup((const char *)p, n);
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		goto fail;                                                     \
	} while (0)

static bool head_slot(struct qfile *q, uint8_t type, char ***slot)
{
	switch (type) {
	case QR_ID: *slot = &q->id; return true;
	case QR_SENDER: *slot = &q->sender; return true;
	case QR_CLIENT_NAME: *slot = &q->client_name; return true;
	case QR_CLIENT_ADDR: *slot = &q->client_addr; return true;
	case QR_CLIENT_PORT: *slot = &q->client_port; return true;
	case QR_HELO: *slot = &q->helo; return true;
	case QR_PROTOCOL: *slot = &q->protocol; return true;
	case QR_SASL_METHOD: *slot = &q->sasl_method; return true;
	case QR_SASL_USER: *slot = &q->sasl_user; return true;
	case QR_RET: *slot = &q->ret; return true;
	case QR_ENVID: *slot = &q->envid; return true;
	case QR_BODY: *slot = &q->body; return true;
	default: *slot = NULL; return false;
	}
}

static bool parse_time(const char *s, size_t n, struct qfile *q)
{
	const char *dot = memchr(s, '.', n);
	uint64_t sec, usec;
	if (dot == NULL || !parse_dec(s, (size_t)(dot - s), UINT32_MAX * 4ULL, &sec) ||
	    !parse_dec(dot + 1, n - (size_t)(dot - s) - 1, 999999, &usec))
		return false;
	q->arrival = (time_t)sec;
	q->arrival_usec = (long)usec;
	return true;
}

static bool parse_any(const struct reader *r, struct qfile *q, char *err,
                      size_t errlen)
{
	enum { S_START, S_HEAD, S_RCPTS, S_END } state = S_START;
	bool seen[256] = {false}, rseen[256] = {false};
	uint8_t buf[QFILE_FIELD_MAX + 1];
	uint64_t off = 0;
	size_t cap = 0;

	qfile_init(q);
	while (off < r->size) {
		uint8_t hdr[9];
		if (state == S_END)
			FAIL("data after the end record at offset %llu",
			     (unsigned long long)off);
		if (!rd(r, off, hdr, 5))
			FAIL("truncated record header at offset %llu", (unsigned long long)off);
		uint8_t type = hdr[0];
		if (type == QR_CONTENT) {
			if (state != S_HEAD)
				FAIL("content record out of place");
			if (!rd(r, off, hdr, 9))
				FAIL("truncated content header");
			uint64_t n = get_be(hdr + 1, 8);
			uint64_t start = off + 9;
			if (n > r->size - start || start > r->size)
				FAIL("content length %llu past end of file", (unsigned long long)n);
			static const uint8_t need[] = {QR_ID, QR_TIME, QR_SENDER};
			for (size_t i = 0; i < sizeof(need); i++)
				if (!seen[need[i]])
					FAIL("head lacks record '%c'", need[i]);
			q->content_len_off = (off_t)(off + 1);
			q->content_off = (off_t)start;
			q->content_len = (off_t)n;
			off = start + n;
			state = S_RCPTS;
			continue;
		}
		uint64_t n = get_be(hdr + 1, 4);
		size_t max = type == QR_RCPT ? QFILE_FIELD_MAX + 1 : QFILE_FIELD_MAX;
		if (n > max)
			FAIL("record '%c' of %llu bytes exceeds the limit", type < 0x20 || type > 0x7e ? '?' : type,
			     (unsigned long long)n);
		if (n > r->size - off - 5)
			FAIL("record at offset %llu runs past end of file",
			     (unsigned long long)off);
		if (!rd(r, off + 5, buf, (size_t)n))
			FAIL("read error at offset %llu", (unsigned long long)off);
		uint64_t data_off = off + 5;
		off += 5 + n;
		const char *s = (const char *)buf;
		size_t len = (size_t)n;
		bool has_nul = memchr(buf, '\0', len) != NULL;

		if (state == S_START) {
			if (type != QR_VERSION || len != 1 || buf[0] != QFILE_VERSION[0])
				FAIL("not a version %s queue file", QFILE_VERSION);
			state = S_HEAD;
			continue;
		}
		if (has_nul)
			FAIL("record '%c' contains a NUL byte", type);
		if (state == S_HEAD) {
			char **slot;
			if (seen[type])
				FAIL("repeated head record '%c'", type);
			seen[type] = true;
			uint64_t v;
			if (head_slot(q, type, &slot)) {
				*slot = dup_field(buf, len);
			} else if (type == QR_TIME) {
				if (!parse_time(s, len, q))
					FAIL("bad arrival time");
			} else if (type == QR_FLAGS) {
				if (!parse_dec(s, len, 0xffff, &v))
					FAIL("bad flags");
				q->flags = (unsigned)v;
			} else if (type == QR_UID) {
				if (!parse_dec(s, len, UINT32_MAX, &v))
					FAIL("bad uid");
				q->uid = (long)v;
			} else if (type == QR_WARNED) {
				if (len != 1 || (buf[0] != '0' && buf[0] != '1'))
					FAIL("bad delay warning record");
				q->warned = buf[0] == '1';
				q->warned_off = (off_t)data_off;
			} else if (type == QR_SMTPUTF8) {
				if (len != 1 || buf[0] != '1')
					FAIL("bad SMTPUTF8 record");
				q->smtputf8 = true;
			} else {
				FAIL("unexpected record type 0x%02x in head", type);
			}
			continue;
		}
		/* S_RCPTS */
		if (type == QR_END) {
			if (len != 0)
				FAIL("end record with data");
			if (q->nrcpts == 0)
				FAIL("no recipients");
			state = S_END;
			continue;
		}
		if (type == QR_RCPT) {
			if (len < 2)
				FAIL("empty recipient record");
			if (buf[0] != QFILE_ST_PENDING && buf[0] != QFILE_ST_DONE &&
			    buf[0] != QFILE_ST_FAILED)
				FAIL("bad recipient status byte");
			if (q->nrcpts == QFILE_RCPTS_MAX)
				FAIL("more than %d recipients", QFILE_RCPTS_MAX);
			if (q->nrcpts == cap) {
				cap = cap ? cap * 2 : 8;
				if (cap > QFILE_RCPTS_MAX)
					cap = QFILE_RCPTS_MAX;
				q->rcpts = xreallocarray(q->rcpts, cap, sizeof(*q->rcpts));
			}
			struct qfile_rcpt *rc = &q->rcpts[q->nrcpts++];
			memset(rc, 0, sizeof(*rc));
			rc->status = (char)buf[0];
			rc->status_off = (off_t)data_off;
			rc->addr = dup_field(buf + 1, len - 1);
			memset(rseen, 0, sizeof(rseen));
			continue;
		}
		if (q->nrcpts == 0)
			FAIL("record '%c' before the first recipient",
			     type < 0x20 || type > 0x7e ? '?' : type);
		struct qfile_rcpt *rc = &q->rcpts[q->nrcpts - 1];
		if (rseen[type])
			FAIL("repeated recipient record '%c'", type);
		rseen[type] = true;
		if (type == QR_ORCPT) {
			rc->orcpt = dup_field(buf, len);
		} else if (type == QR_ORIG_RCPT) {
			rc->orig = dup_field(buf, len);
		} else if (type == QR_NOTIFY) {
			uint64_t v;
			if (!parse_dec(s, len, 15, &v))
				FAIL("bad NOTIFY record");
			rc->notify = (unsigned)v;
		} else {
			FAIL("unexpected record type 0x%02x after content", type);
		}
	}
	if (state != S_END)
		FAIL("truncated: no end record");
	return true;
fail:
	qfile_free(q);
	return false;
}

bool qfile_parse_fd(int fd, struct qfile *q, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		qfile_init(q);
		return false;
	}
	struct reader r = {.fd = fd, .mem = NULL, .size = (uint64_t)st.st_size};
	return parse_any(&r, q, err, errlen);
}

bool qfile_parse_mem(const uint8_t *buf, size_t len, struct qfile *q, char *err,
                     size_t errlen)
{
	struct reader r = {.fd = -1, .mem = buf, .size = len};
	return parse_any(&r, q, err, errlen);
}

/* ---- writing ---- */

static bool add_rec(struct strbuf *sb, uint8_t type, const char *s, size_t n)
{
	uint8_t hdr[5];
	if (n > QFILE_FIELD_MAX + 1 || memchr(s, '\0', n) != NULL)
		return false;
	hdr[0] = type;
	put_be(hdr + 1, n, 4);
	return sb_add(sb, (const char *)hdr, 5) && sb_add(sb, s, n);
}

static bool add_str(struct strbuf *sb, uint8_t type, const char *s)
{
	if (s == NULL)
		return true;
	size_t n = strlen(s);
	return n <= QFILE_FIELD_MAX && add_rec(sb, type, s, n);
}

static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = pwrite(fd, c, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		c += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

int qfile_write_head(int fd, struct qfile *q)
{
	struct strbuf sb;
	char num[64];
	bool ok = true;

	sb_init(&sb, 0);
	ok &= add_str(&sb, QR_VERSION, QFILE_VERSION);
	ok &= add_str(&sb, QR_ID, q->id);
	snprintf(num, sizeof(num), "%lld.%06ld", (long long)q->arrival, q->arrival_usec);
	ok &= add_str(&sb, QR_TIME, num);
	ok &= add_str(&sb, QR_SENDER, q->sender ? q->sender : "");
	if (q->flags) {
		snprintf(num, sizeof(num), "%u", q->flags);
		ok &= add_str(&sb, QR_FLAGS, num);
	}
	if (q->uid >= 0) {
		snprintf(num, sizeof(num), "%ld", q->uid);
		ok &= add_str(&sb, QR_UID, num);
	}
	ok &= add_str(&sb, QR_CLIENT_NAME, q->client_name);
	ok &= add_str(&sb, QR_CLIENT_ADDR, q->client_addr);
	ok &= add_str(&sb, QR_CLIENT_PORT, q->client_port);
	ok &= add_str(&sb, QR_HELO, q->helo);
	ok &= add_str(&sb, QR_PROTOCOL, q->protocol);
	ok &= add_str(&sb, QR_SASL_METHOD, q->sasl_method);
	ok &= add_str(&sb, QR_SASL_USER, q->sasl_user);
	ok &= add_str(&sb, QR_RET, q->ret);
	ok &= add_str(&sb, QR_ENVID, q->envid);
	ok &= add_str(&sb, QR_BODY, q->body);
	if (q->smtputf8)
		ok &= add_str(&sb, QR_SMTPUTF8, "1");
	size_t warned_at = sb.len + 5;
	ok &= add_str(&sb, QR_WARNED, q->warned ? "1" : "0");
	uint8_t c[9] = {QR_CONTENT};
	ok &= sb_add(&sb, (const char *)c, sizeof(c));
	if (!ok) {
		sb_free(&sb);
		errno = EINVAL;
		return -1;
	}
	int rc = pwrite_all(fd, sb.s, sb.len, 0);
	if (rc == 0) {
		q->content_len_off = (off_t)sb.len - 8;
		q->content_off = (off_t)sb.len;
		q->content_len = 0;
		q->warned_off = (off_t)warned_at;
	}
	sb_free(&sb);
	return rc;
}

int qfile_write_commit(int fd, const struct qfile *q, off_t content_len,
                       const struct qfile_rcpt_in *rcpts, size_t n)
{
	struct strbuf sb;
	bool ok = n > 0 && n <= QFILE_RCPTS_MAX;
	char num[32];

	sb_init(&sb, 0);
	for (size_t i = 0; ok && i < n; i++) {
		size_t alen = rcpts[i].addr ? strlen(rcpts[i].addr) : 0;
		if (alen == 0 || alen > QFILE_FIELD_MAX || memchr(rcpts[i].addr, '\0', alen)) {
			ok = false;
			break;
		}
		char *r = xmalloc(alen + 2);
		r[0] = QFILE_ST_PENDING;
		memcpy(r + 1, rcpts[i].addr, alen + 1);
		ok &= add_rec(&sb, QR_RCPT, r, alen + 1);
		free(r);
		ok &= add_str(&sb, QR_ORCPT, rcpts[i].orcpt);
		ok &= add_str(&sb, QR_ORIG_RCPT, rcpts[i].orig);
		if (rcpts[i].notify) {
			snprintf(num, sizeof(num), "%u", rcpts[i].notify & 15);
			ok &= add_str(&sb, QR_NOTIFY, num);
		}
	}
	ok &= add_rec(&sb, QR_END, "", 0);
	if (!ok || content_len < 0) {
		sb_free(&sb);
		errno = EINVAL;
		return -1;
	}
	uint8_t len8[8];
	put_be(len8, (uint64_t)content_len, 8);
	off_t end = q->content_off + content_len;
	int rc = -1;
	if (pwrite_all(fd, len8, 8, q->content_len_off) == 0 &&
	    pwrite_all(fd, sb.s, sb.len, end) == 0 &&
	    ftruncate(fd, end + (off_t)sb.len) == 0 && fsync(fd) == 0)
		rc = 0;
	sb_free(&sb);
	return rc;
}

int qfile_put_status(int fd, off_t status_off, char status)
{
	return pwrite_all(fd, &status, 1, status_off);
}

int qfile_set_status(int fd, off_t status_off, char status)
{
	if (qfile_put_status(fd, status_off, status) != 0)
		return -1;
	return fdatasync(fd);
}

int qfile_reason_append(int fd, size_t index, const char *status, const char *text)
{
	struct strbuf sb, rec;
	sb_init(&sb, QFILE_REASON_MAX);
	/* A reason too long is cut: it is for people to read. */
	sb_printf(&sb, "%zu %s ", index, status);
	for (const char *p = text; *p && sb.len < QFILE_REASON_MAX; p++)
		sb_addc(&sb, *p);
	sb_init(&rec, 0);
	bool ok = add_rec(&rec, QR_REASON, sb.s, sb.len);
	int rc = -1;
	if (ok) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end >= 0)
			rc = pwrite_all(fd, rec.s, rec.len, end);
	} else {
		errno = EINVAL;
	}
	sb_free(&sb);
	sb_free(&rec);
	return rc;
}

bool qfile_reasons_parse(const uint8_t *buf, size_t len,
                         void (*fn)(void *arg, size_t index, const char *status,
                                    const char *text),
                         void *arg, char *err, size_t errlen)
{
	size_t off = 0;
	char rec[QFILE_REASON_MAX + 1];
	if (len > QFILE_DEFER_LOG_MAX) {
		snprintf(err, errlen, "defer log too large");
		return false;
	}
	while (off < len) {
		if (len - off < 5 || buf[off] != QR_REASON) {
			snprintf(err, errlen, "bad record at offset %zu", off);
			return false;
		}
		uint64_t n = get_be(buf + off + 1, 4);
		if (n > QFILE_REASON_MAX || n > len - off - 5) {
			snprintf(err, errlen, "bad length at offset %zu", off);
			return false;
		}
		memcpy(rec, buf + off + 5, (size_t)n);
		rec[n] = '\0';
		off += 5 + (size_t)n;
		if (strlen(rec) != n) {
			snprintf(err, errlen, "NUL in reason");
			return false;
		}
		char *sp1 = strchr(rec, ' ');
		char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		uint64_t idx;
		if (sp2 == NULL || !parse_dec(rec, (size_t)(sp1 - rec), QFILE_RCPTS_MAX, &idx)) {
			snprintf(err, errlen, "malformed reason");
			return false;
		}
		*sp1 = *sp2 = '\0';
		fn(arg, (size_t)idx, sp1 + 1, sp2 + 1);
	}
	return true;
}
