/*
 * ipc.c - record building, parsing and passing (see ipc.h).  Runs in
 * every daemon; the records it parses come from less trusted peers
 * (smtpd is network-facing), so the parser trusts nothing.
 */
#include "ipc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xalloc.h"

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

void ipc_out_init(struct ipc_out *o, uint16_t type)
{
	o->cap = 256;
	o->buf = xmalloc(o->cap);
	put_be(o->buf, type, 2);
	o->len = 2;
	o->overflow = false;
}

void ipc_out_free(struct ipc_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

void ipc_add_bytes(struct ipc_out *o, uint8_t tag, const void *p, size_t n)
{
	if (o->overflow || n > IPC_RECORD_MAX || o->len + 5 + n > IPC_RECORD_MAX) {
		o->overflow = true;
		return;
	}
	while (o->len + 5 + n > o->cap) {
		o->cap *= 2;
		o->buf = xrealloc(o->buf, o->cap);
	}
	o->buf[o->len] = tag;
	put_be(o->buf + o->len + 1, n, 4);
	if (n)
		memcpy(o->buf + o->len + 5, p, n);
	o->len += 5 + n;
}

void ipc_add_str(struct ipc_out *o, uint8_t tag, const char *s)
{
	ipc_add_bytes(o, tag, s, strlen(s) + 1);
}

void ipc_add_u64(struct ipc_out *o, uint8_t tag, uint64_t v)
{
	uint8_t b[8];
	put_be(b, v, 8);
	ipc_add_bytes(o, tag, b, 8);
}

bool ipc_parse(const uint8_t *buf, size_t len, struct ipc_in *in, char *err,
               size_t errlen)
{
	size_t off = 2;
	if (len < 2 || len > IPC_RECORD_MAX) {
		snprintf(err, errlen, "record length %zu out of range", len);
		return false;
	}
	in->type = (uint16_t)get_be(buf, 2);
	in->nfields = 0;
	while (off < len) {
		if (len - off < 5) {
			snprintf(err, errlen, "truncated field header at offset %zu", off);
			return false;
		}
		uint64_t n = get_be(buf + off + 1, 4);
		if (n > len - off - 5) {
			snprintf(err, errlen, "field length %llu past end of record",
			         (unsigned long long)n);
			return false;
		}
		if (in->nfields == IPC_FIELDS_MAX) {
			snprintf(err, errlen, "more than %d fields", IPC_FIELDS_MAX);
			return false;
		}
		struct ipc_field *f = &in->fields[in->nfields++];
		f->tag = buf[off];
		f->len = (uint32_t)n;
		f->data = buf + off + 5;
		off += 5 + (size_t)n;
	}
	return true;
}

const struct ipc_field *ipc_find(const struct ipc_in *in, uint8_t tag, size_t *pos)
{
	size_t i = pos ? *pos : 0;
	for (; i < in->nfields; i++) {
		if (in->fields[i].tag == tag) {
			if (pos)
				*pos = i + 1;
			return &in->fields[i];
		}
	}
	if (pos)
		*pos = in->nfields;
	return NULL;
}

const char *ipc_field_str(const struct ipc_field *f)
{
	if (f == NULL || f->len == 0 || f->data[f->len - 1] != '\0' ||
	    memchr(f->data, '\0', f->len - 1) != NULL)
		return NULL;
	return (const char *)f->data;
}

const char *ipc_str(const struct ipc_in *in, uint8_t tag)
{
	return ipc_field_str(ipc_find(in, tag, NULL));
}

bool ipc_u64(const struct ipc_in *in, uint8_t tag, uint64_t *v)
{
	const struct ipc_field *f = ipc_find(in, tag, NULL);
	if (f == NULL || f->len != 8)
		return false;
	*v = get_be(f->data, 8);
	return true;
}

int ipc_send(int sock, const struct ipc_out *o, int fd)
{
	if (o->overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	struct iovec iov = {.iov_base = o->buf, .iov_len = o->len};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != o->len) { /* cannot happen on SOCK_SEQPACKET */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

long ipc_recv(int sock, uint8_t *buf, size_t bufsize, int *fd)
{
	struct iovec iov = {.iov_base = buf, .iov_len = bufsize};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
	                    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	int nfds = 0, got[4];
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && nfds < 4; i++)
			memcpy(&got[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1) {
		for (int i = 0; i < nfds; i++)
			close(got[i]);
		errno = EBADMSG;
		return -1;
	}
	if (nfds == 1)
		*fd = got[0];
	return (long)n;
}
