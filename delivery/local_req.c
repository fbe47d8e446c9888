/*
 * local_req.c - reads a DELIVER record (from qmgr, over private/local)
 * into struct local_req and writes RESULT/DONE records.  Runs in the
 * local agent's per-connection process (root).  Input: the record, which
 * ipc_parse() has already checked for framing; here every field is
 * checked for its tag, its form and its place, and anything unexpected
 * rejects the whole request.
 */
#include "local_req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "ipc.h"
#include "proto.h"
#include "xalloc.h"

static bool get_u64(const struct ipc_field *f, uint64_t *v)
{
	if (f->len != 8)
		return false;
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | f->data[i];
	*v = x;
	return true;
}

/* A string field that is also a plausible envelope value: no control
 * characters (CR/LF in an address would forge header lines). */
static const char *get_str(const struct ipc_field *f)
{
	const char *s = ipc_field_str(f);
	if (s == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

struct local_req *local_req_parse(const struct ipc_in *in, char *err, size_t errlen)
{
	if (in->type != PROTO_DELIVER) {
		snprintf(err, errlen, "unexpected record type %u", in->type);
		return NULL;
	}
	size_t nrcpt = 0;
	for (size_t i = 0; i < in->nfields; i++)
		if (in->fields[i].tag == T_RCPT)
			nrcpt++;
	if (nrcpt == 0 || nrcpt > LOCAL_RCPT_MAX) {
		snprintf(err, errlen, "%zu recipients (1 to %d allowed)", nrcpt,
		         LOCAL_RCPT_MAX);
		return NULL;
	}
	size_t sz;
	if (!size_mul(nrcpt, sizeof(struct local_rcpt), &sz) ||
	    !size_add(sz, sizeof(struct local_req), &sz)) {
		snprintf(err, errlen, "request too large");
		return NULL;
	}
	struct local_req *r = xcalloc(1, sz);
	uint64_t seen = 0; /* request-level tags seen, by bit */
	uint64_t rseen = 0;
	struct local_rcpt *cur = NULL;
	bool have_arrival = false, have_offset = false, have_length = false;

	for (size_t i = 0; i < in->nfields; i++) {
		const struct ipc_field *f = &in->fields[i];
		uint8_t t = f->tag;
		bool ok = true;
		if (t == T_RCPT) {
			cur = &r->rcpt[r->nrcpt++];
			rseen = 0;
			ok = (cur->addr = get_str(f)) != NULL && *cur->addr != '\0';
			cur->orig = cur->addr;
		} else if (t == T_ORIG_RCPT || t == T_ORCPT || t == T_NOTIFY ||
		           t == T_DSN_ORCPT) {
			if (cur == NULL || (rseen & (1ull << t)) != 0) {
				snprintf(err, errlen, "field %u %s", t,
				         cur == NULL ? "before the first recipient"
				                     : "twice for one recipient");
				free(r);
				return NULL;
			}
			rseen |= 1ull << t;
			const char *s;
			switch (t) {
			case T_ORIG_RCPT:
				ok = (s = get_str(f)) != NULL;
				if (ok && *s)
					cur->orig = s;
				break;
			case T_ORCPT:
			case T_DSN_ORCPT:
				ok = (cur->orcpt = get_str(f)) != NULL;
				break;
			default:
				ok = get_u64(f, &cur->notify);
			}
		} else {
			if (t >= 64 || cur != NULL || (seen & (1ull << t)) != 0) {
				snprintf(err, errlen, "field %u %s", t,
				         t >= 64 ? "unknown"
				         : cur != NULL ? "after the recipients"
				                       : "twice");
				free(r);
				return NULL;
			}
			seen |= 1ull << t;
			uint64_t v;
			switch (t) {
			case T_ID:
				ok = (r->id = get_str(f)) != NULL && *r->id &&
				     strspn(r->id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				                   "abcdefghijklmnopqrstuvwxyz") == strlen(r->id);
				break;
			case T_SENDER: ok = (r->sender = get_str(f)) != NULL; break;
			case T_ARRIVAL: ok = have_arrival = get_u64(f, &r->arrival); break;
			case T_OFFSET: ok = have_offset = get_u64(f, &r->offset); break;
			case T_LENGTH: ok = have_length = get_u64(f, &r->length); break;
			case T_NEXTHOP: ok = (r->nexthop = get_str(f)) != NULL; break;
			case T_DELAYS: ok = (r->delays = get_str(f)) != NULL; break;
			case T_FLAGS: ok = get_u64(f, &r->flags); break;
			case T_ENVID: ok = (r->envid = get_str(f)) != NULL; break;
			case T_RET:
				ok = (r->ret = get_str(f)) != NULL &&
				     (strcmp(r->ret, "FULL") == 0 || strcmp(r->ret, "HDRS") == 0);
				break;
			/* Known message attributes a queue manager may pass along;
			 * the local agent has no use for them. */
			case T_SIZE: case T_MSGID: case T_BODY: case T_SMTPUTF8:
				ok = t == T_MSGID ? get_str(f) != NULL
				     : t == T_BODY ? get_str(f) != NULL : get_u64(f, &v);
				break;
			default:
				snprintf(err, errlen, "field %u not allowed in DELIVER", t);
				free(r);
				return NULL;
			}
		}
		if (!ok) {
			snprintf(err, errlen, "malformed field %u", t);
			free(r);
			return NULL;
		}
	}
	if (r->id == NULL || r->sender == NULL || !have_arrival || !have_offset ||
	    !have_length) {
		snprintf(err, errlen, "missing %s",
		         r->id == NULL ? "ID" : r->sender == NULL ? "SENDER"
		         : !have_arrival ? "ARRIVAL" : !have_offset ? "OFFSET" : "LENGTH");
		free(r);
		return NULL;
	}
	if (r->offset > INT64_MAX || r->length > INT64_MAX ||
	    r->offset + r->length > (uint64_t)INT64_MAX) {
		snprintf(err, errlen, "content offset/length out of range");
		free(r);
		return NULL;
	}
	if (r->nexthop == NULL)
		r->nexthop = "";
	if (r->delays == NULL)
		r->delays = "0/0";
	return r;
}

bool local_req_result(int sock, size_t idx, const char *dsn, const char *text)
{
	struct ipc_out o;
	ipc_out_init(&o, PROTO_RESULT);
	ipc_add_u64(&o, T_RCPT_INDEX, idx);
	ipc_add_str(&o, T_STATUS, dsn);
	ipc_add_str(&o, T_TEXT, text);
	ipc_add_str(&o, T_RELAY, "local");
	int rc = ipc_send(sock, &o, -1);
	ipc_out_free(&o);
	return rc == 0;
}

bool local_req_done(int sock)
{
	struct ipc_out o;
	ipc_out_init(&o, PROTO_DONE);
	int rc = ipc_send(sock, &o, -1);
	ipc_out_free(&o);
	return rc == 0;
}
