/*
 * mime.c - the streaming message scanner (see mime.h).  Runs inside
 * smtpd on message content from the network: every buffer is bounded
 * (a physical line by line_length_limit, a logical header by
 * header_size_limit, the multipart stack by mime_nesting_limit, a
 * boundary by mime_boundary_length_limit, all clamped to bounds.h).
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "xalloc.h"

enum { ST_HEADER, ST_BODY };
enum { CT_OTHER, CT_MULTIPART, CT_MESSAGE };
enum { ENC_7BIT, ENC_8BIT, ENC_BINARY, ENC_QP, ENC_BASE64, ENC_OTHER, ENC_NONE };
/* What the first chunk of a physical line was. */
enum { LK_HEADER, LK_BODY };

struct mime_level {
	char *boundary;
	size_t blen;
	int enc; /* of the multipart entity: its preamble, epilogue */
	bool digest; /* multipart/digest: a part is message/rfc822 by default */
};

const char *mime_error_text(enum mime_err e)
{
	switch (e) {
	case MIME_ERR_NESTING:
		return "MIME nesting exceeds safety limit";
	case MIME_ERR_8BIT_HDR:
		return "improper use of 8-bit data in message header";
	case MIME_ERR_8BIT_BODY:
		return "improper use of 8-bit data in message body";
	case MIME_ERR_DOMAIN:
		return "invalid message/* or multipart/* encoding domain";
	case MIME_OK:
		break;
	}
	return "";
}

static size_t clamp(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void mime_init(struct mime *m, const struct mime_opts *o, mime_item_fn fn, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->o = *o;
	m->o.line_max = clamp(o->line_max, 80, MIME_LINE_MAX);
	m->o.header_max = clamp(o->header_max, 80, MIME_HEADER_MAX);
	m->o.boundary_max = clamp(o->boundary_max, 1, MIME_BOUNDARY_MAX);
	if (m->o.nesting_limit < 0)
		m->o.nesting_limit = 0;
	m->fn = fn;
	m->ctx = ctx;
	m->state = ST_HEADER;
	m->hclass = MIME_H_PRIMARY;
	m->body_enc = ENC_7BIT;
	sb_init(&m->line, 0);
	sb_init(&m->hdr, 0);
}

static void reset_decl(struct mime *m)
{
	m->ctype = CT_OTHER;
	free(m->boundary);
	m->boundary = NULL;
	m->cte = ENC_7BIT;
	m->cte_seen = false;
	m->cte_text[0] = '\0';
	m->ct_text[0] = '\0';
	m->digest = false;
}

void mime_free(struct mime *m)
{
	reset_decl(m);
	for (size_t i = 0; i < m->depth; i++)
		free(m->stack[i].boundary);
	free(m->stack);
	m->stack = NULL;
	m->depth = 0;
	sb_free(&m->line);
	sb_free(&m->hdr);
}

static void set_err(struct mime *m, enum mime_err e, const char *ctx, size_t n)
{
	if (m->err != MIME_OK)
		return;
	m->err = e;
	if (n > 100) /* as much context as Postfix logs */
		n = 100;
	memcpy(m->err_ctx, ctx, n);
	m->err_ctx[n] = '\0';
}

static bool has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* "Name:" (optional white space before the colon): the name's length, 0 if none. */
static size_t header_name(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	size_t name = i;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return name > 0 && i < n && p[i] == ':' ? name : 0;
}

static bool name_is(const char *p, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(p, want, n) == 0;
}

static bool is_mime_header(const char *p, size_t n)
{
	if (name_is(p, n, "MIME-Version"))
		return true;
	return n > 8 && strncasecmp(p, "Content-", 8) == 0 && !name_is(p, n, "Content-Length");
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skip white space and (nested) comments. */
static const char *skip_cfws(const char *p, const char *e)
{
	int depth = 0;
	while (p < e) {
		if (depth == 0 && is_ws(*p)) {
			p++;
		} else if (*p == '(') {
			depth++;
			p++;
		} else if (depth > 0) {
			if (*p == '\\' && p + 1 < e)
				p++;
			else if (*p == ')')
				depth--;
			p++;
		} else {
			break;
		}
	}
	return p;
}

/* A token: up to white space, ';', '(' or '='. */
static const char *token(const char *p, const char *e, const char **end)
{
	const char *s = p;
	while (p < e && !is_ws(*p) && *p != ';' && *p != '(' && *p != '=')
		p++;
	*end = p;
	return s;
}

static void parse_content_type(struct mime *m, const char *p, const char *e)
{
	const char *te;
	p = skip_cfws(p, e);
	const char *t = token(p, e, &te);
	size_t tl = (size_t)(te - t);
	m->digest = name_is(t, tl, "multipart/digest");
	if (tl >= 10 && strncasecmp(t, "multipart/", 10) == 0)
		m->ctype = CT_MULTIPART;
	else if (name_is(t, tl, "message/rfc822") || name_is(t, tl, "message/global"))
		m->ctype = CT_MESSAGE;
	else
		m->ctype = CT_OTHER;
	p = te;
	while (p < e) {
		while (p < e && *p != ';')
			p++;
		if (p >= e)
			break;
		p = skip_cfws(p + 1, e);
		const char *ne;
		const char *nm = token(p, e, &ne);
		p = skip_cfws(ne, e);
		if (p >= e || *p != '=')
			continue;
		p = skip_cfws(p + 1, e);
		struct strbuf v;
		sb_init(&v, m->o.boundary_max);
		if (p < e && *p == '"') {
			for (p++; p < e && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < e)
					p++;
				if (v.len < m->o.boundary_max)
					sb_addc(&v, *p);
			}
			if (p < e)
				p++;
		} else {
			const char *ve;
			const char *vs = token(p, e, &ve);
			sb_add(&v, vs, (size_t)(ve - vs) < m->o.boundary_max ? (size_t)(ve - vs)
			                                                      : m->o.boundary_max);
			p = ve;
		}
		if (name_is(nm, (size_t)(ne - nm), "boundary") && v.len > 0 && m->boundary == NULL)
			m->boundary = sb_steal(&v);
		sb_free(&v);
	}
}

static void parse_cte(struct mime *m, const char *p, const char *e)
{
	const char *te;
	p = skip_cfws(p, e);
	const char *t = token(p, e, &te);
	size_t tl = (size_t)(te - t);
	m->cte_seen = true;
	size_t cl = tl < sizeof(m->cte_text) - 1 ? tl : sizeof(m->cte_text) - 1;
	memcpy(m->cte_text, t, cl);
	m->cte_text[cl] = '\0';
	m->cte = name_is(t, tl, "7bit")               ? ENC_7BIT
	         : name_is(t, tl, "8bit")             ? ENC_8BIT
	         : name_is(t, tl, "binary")           ? ENC_BINARY
	         : name_is(t, tl, "quoted-printable") ? ENC_QP
	         : name_is(t, tl, "base64")           ? ENC_BASE64
	                                              : ENC_OTHER;
}

/* Hand out the logical header read so far. */
static void flush_header(struct mime *m)
{
	if (!m->hdr_open)
		return;
	m->hdr_open = false;
	const char *h = m->hdr.s;
	size_t n = m->hdr.len;
	size_t name = header_name(h, n);
	bool mime_on = !m->o.disabled;
	/* With MIME processing off Postfix still sends MIME headers to
	 * mime_header_checks (checked with Postfix 3.7). */
	bool mh = m->hclass == MIME_H_MULTIPART || is_mime_header(h, name);
	if (m->o.strict_7bit_hdr && has_8bit(h, n))
		set_err(m, MIME_ERR_8BIT_HDR, h, n);
	if (mime_on && name > 0) {
		const char *v = memchr(h, ':', n);
		if (v != NULL) {
			if (name_is(h, name, "Content-Type")) {
				size_t cl = n < sizeof(m->ct_text) - 1 ? n : sizeof(m->ct_text) - 1;
				memcpy(m->ct_text, h, cl);
				m->ct_text[cl] = '\0';
				parse_content_type(m, v + 1, h + n);
			}
			else if (name_is(h, name, "Content-Transfer-Encoding"))
				parse_cte(m, v + 1, h + n);
		}
	}
	struct mime_item it = {
		.kind = MIME_I_HEADER,
		.hclass = m->hclass,
		.mime_hdr = mh,
		.text = h,
		.len = n,
		.truncated = m->hdr_trunc,
	};
	m->fn(m->ctx, &it);
	sb_reset(&m->hdr);
}

/* Past header_size_limit the rest of the header is discarded. */
static void hdr_add(struct mime *m, const char *p, size_t n)
{
	if (m->hdr_trunc)
		return;
	size_t room = m->o.header_max > m->hdr.len ? m->o.header_max - m->hdr.len : 0;
	if (n > room) {
		n = room;
		m->hdr_trunc = true;
	}
	sb_add(&m->hdr, p, n);
}

/* A continuation line goes whole or not at all, as in Postfix. */
static void hdr_add_line(struct mime *m, const char *p, size_t n)
{
	size_t room = m->o.header_max > m->hdr.len ? m->o.header_max - m->hdr.len : 0;
	if (m->hdr_trunc || n >= room) {
		m->hdr_trunc = true;
		return;
	}
	sb_addc(&m->hdr, '\n');
	sb_add(&m->hdr, p, n);
}

static bool domain_ok(const struct mime *m)
{
	return !m->cte_seen || m->cte == ENC_7BIT || m->cte == ENC_8BIT || m->cte == ENC_BINARY;
}

/* The header block ended (by an empty line when blank): where next. */
static void end_headers(struct mime *m, bool blank)
{
	m->seg = 0;
	if (m->o.disabled) {
		m->state = ST_BODY;
		m->body_enc = ENC_NONE;
		reset_decl(m);
		return;
	}
	/* RFC 2046 5.1.5: in a digest a part without Content-Type is a message. */
	if (m->hclass == MIME_H_MULTIPART && m->ct_text[0] == '\0' && m->depth > 0 &&
	    m->stack[m->depth - 1].digest)
		m->ctype = CT_MESSAGE;
	if (m->ctype != CT_OTHER && m->o.strict_domain && !domain_ok(m))
		set_err(m, MIME_ERR_DOMAIN, m->cte_text, strlen(m->cte_text));
	if (m->ctype == CT_MULTIPART && m->boundary != NULL) {
		size_t limit = (size_t)m->o.nesting_limit + 2;
		if (limit > MIME_NESTING_MAX)
			limit = MIME_NESTING_MAX;
		if (m->depth + 1 > limit) {
			set_err(m, MIME_ERR_NESTING, m->ct_text, strlen(m->ct_text));
		} else {
			if ((m->depth & 15) == 0)
				m->stack = xreallocarray(m->stack, m->depth + 16, sizeof(*m->stack));
			struct mime_level *l = &m->stack[m->depth++];
			l->boundary = m->boundary;
			l->blen = strlen(m->boundary);
			l->enc = m->cte;
			l->digest = m->digest;
			m->boundary = NULL;
		}
		m->state = ST_BODY;
		m->body_enc = m->cte;
	} else if (m->ctype == CT_MESSAGE && blank) {
		m->state = ST_HEADER;
		m->hclass = MIME_H_NESTED;
	} else {
		m->state = ST_BODY;
		m->body_enc = m->cte;
	}
	reset_decl(m);
}

/* A body line that is a boundary of an open multipart changes state. */
static void boundary_check(struct mime *m, const char *p, size_t n)
{
	if (m->depth == 0 || n < 2 || p[0] != '-' || p[1] != '-')
		return;
	for (size_t k = m->depth; k-- > 0;) {
		struct mime_level *l = &m->stack[k];
		if (n - 2 < l->blen || memcmp(p + 2, l->boundary, l->blen) != 0)
			continue;
		bool close = n - 2 - l->blen >= 2 && p[2 + l->blen] == '-' && p[3 + l->blen] == '-';
		size_t keep = close ? k : k + 1;
		int enc = l->enc;
		for (size_t i = keep; i < m->depth; i++)
			free(m->stack[i].boundary);
		m->depth = keep;
		m->seg = 0;
		reset_decl(m);
		if (close) {
			m->state = ST_BODY;
			m->body_enc = enc;
		} else {
			m->state = ST_HEADER;
			m->hclass = MIME_H_MULTIPART;
		}
		return;
	}
}

static void body_piece(struct mime *m, const char *p, size_t n, bool first, bool eol)
{
	if (m->o.strict_8bit_body && m->body_enc != ENC_8BIT && m->body_enc != ENC_BINARY &&
	    m->body_enc != ENC_NONE && has_8bit(p, n))
		set_err(m, MIME_ERR_8BIT_BODY, p, n);
	struct mime_item it = {
		.kind = MIME_I_BODY,
		.text = p,
		.len = n,
		.eol = eol,
		.seg_offset = m->seg,
	};
	m->fn(m->ctx, &it);
	m->seg += n + (eol ? 1 : 0);
	if (first && !m->o.disabled)
		boundary_check(m, p, n);
}

/* One physical line, or a chunk of one (eol false: more follows). */
static void piece(struct mime *m, const char *p, size_t n, bool eol)
{
	bool first = !m->line_cont;
	m->line_cont = !eol;
	if (!first) {
		if (m->line_kind == LK_HEADER)
			hdr_add(m, p, n);
		else
			body_piece(m, p, n, false, eol);
		return;
	}
	if (m->state == ST_HEADER) {
		if (n == 0 && eol) {
			flush_header(m);
			struct mime_item it = {.kind = MIME_I_EOH, .hclass = m->hclass, .text = "", .eol = true};
			m->fn(m->ctx, &it);
			end_headers(m, true);
			return;
		}
		if (m->hdr_open && (p[0] == ' ' || p[0] == '\t')) {
			hdr_add_line(m, p, n);
			m->line_kind = LK_HEADER;
			return;
		}
		if (header_name(p, n) > 0) {
			flush_header(m);
			m->hdr_open = true;
			m->hdr_trunc = false;
			hdr_add(m, p, n);
			m->line_kind = LK_HEADER;
			return;
		}
		/* Not a header: the body starts without an empty line. */
		flush_header(m);
		end_headers(m, false);
	}
	m->line_kind = LK_BODY;
	body_piece(m, p, n, true, eol);
}

void mime_feed(struct mime *m, const char *p, size_t n)
{
	while (n > 0) {
		const char *lf = memchr(p, '\n', n);
		size_t take = lf ? (size_t)(lf - p) : n;
		size_t room = m->o.line_max - m->line.len;
		if (take >= room) {
			/* The line is longer than line_length_limit: a chunk. */
			sb_add(&m->line, p, room);
			piece(m, m->line.s, m->line.len, false);
			sb_reset(&m->line);
			p += room;
			n -= room;
			continue;
		}
		sb_add(&m->line, p, take);
		p += take;
		n -= take;
		if (lf == NULL)
			break;
		p++;
		n--;
		piece(m, m->line.s, m->line.len, true);
		sb_reset(&m->line);
	}
}

void mime_finish(struct mime *m)
{
	if (m->line.len > 0 || m->line_cont) {
		piece(m, m->line.s, m->line.len, true);
		sb_reset(&m->line);
	}
	flush_header(m);
}
