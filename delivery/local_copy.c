/*
 * local_copy.c - copies a message from the read-only queue file
 * descriptor into a mailbox, maildir file or command pipe, adding the
 * envelope line and headers local(8) adds.  Runs in the per-delivery
 * child, as the recipient.  Input: the message content (untrusted, any
 * bytes, lines of any length), handled as a byte stream with no line
 * buffer.
 */
#include "local_copy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounds.h"

#define CHUNK 65536

struct out {
	int fd;
	size_t len;
	bool failed;
	char buf[CHUNK];
};

static bool out_flush(struct out *o)
{
	size_t done = 0;
	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			o->failed = true;
			return false;
		}
		done += (size_t)n;
	}
	o->len = 0;
	return true;
}

static bool out_add(struct out *o, const char *p, size_t n)
{
	while (n > 0) {
		if (o->len == sizeof(o->buf) && !out_flush(o))
			return false;
		size_t k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
	return true;
}

static bool out_str(struct out *o, const char *s)
{
	return out_add(o, s, strlen(s));
}

void local_copy_from_line(char *buf, size_t len, const char *sender, time_t now)
{
	struct tm tm;
	char date[64];
	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		date[0] = '\0';
	int n = snprintf(buf, len, "From %s  %s\n", *sender ? sender : "MAILER-DAEMON",
	                 date);
	if (n < 0 || (size_t)n >= len)
		snprintf(buf, len, "From MAILER-DAEMON  %s\n", date);
}

/* Read the next chunk of content; 0 at the end, -1 on error. */
static ssize_t content_read(const struct local_msg *m, uint64_t *pos, char *buf,
                            size_t len)
{
	uint64_t left = m->length - *pos;
	if (left == 0)
		return 0;
	if (len > left)
		len = (size_t)left;
	ssize_t n;
	do
		n = pread(m->fd, buf, len, (off_t)(m->offset + *pos));
	while (n < 0 && errno == EINTR);
	if (n == 0) { /* the queue file is shorter than it says */
		errno = EIO;
		return -1;
	}
	if (n > 0)
		*pos += (uint64_t)n;
	return n;
}

bool local_copy(const struct local_msg *m, int out_fd, int flags, time_t now)
{
	static struct out o; /* one delivery per process: keep 64K off the stack */
	static char in[CHUNK];
	o.fd = out_fd;
	o.len = 0;
	o.failed = false;

	if (flags & LOCAL_COPY_FROM) {
		char line[MAP_KEY_MAX + 128];
		local_copy_from_line(line, sizeof(line), m->sender, now);
		out_str(&o, line);
	}
	if (flags & LOCAL_COPY_RPATH) {
		out_str(&o, "Return-Path: <");
		out_str(&o, m->sender);
		out_str(&o, ">\n");
	}
	if ((flags & LOCAL_COPY_ORIG) && m->orig_rcpt != NULL) {
		out_str(&o, "X-Original-To: ");
		out_str(&o, m->orig_rcpt);
		out_str(&o, "\n");
	}
	if ((flags & LOCAL_COPY_DELIVERED) && m->delivered_to != NULL) {
		out_str(&o, "Delivered-To: ");
		out_str(&o, m->delivered_to);
		out_str(&o, "\n");
	}

	/* ">From " quoting: at each line start, hold back bytes while they
	 * match "From " (across chunk boundaries); on a full match write
	 * ">From ", on a mismatch write the held bytes unchanged. */
	static const char from[] = "From ";
	bool quote = (flags & LOCAL_COPY_QUOTE) != 0;
	int held = 0; /* bytes of "From " held at a line start; -1 mid-line */
	char last = '\n';
	uint64_t pos = 0;
	ssize_t n = 0;
	while (!o.failed && (n = content_read(m, &pos, in, sizeof(in))) > 0) {
		last = in[n - 1];
		if (!quote) {
			out_add(&o, in, (size_t)n);
			continue;
		}
		size_t run = 0; /* start of bytes to copy unchanged */
		for (size_t i = 0; i < (size_t)n; i++) {
			char c = in[i];
			if (held >= 0) {
				if (c == from[held]) {
					if (held == 0) {
						out_add(&o, in + run, i - run);
					}
					held++;
					run = i + 1;
					if (held == 5) {
						out_add(&o, ">From ", 6);
						held = -1;
					}
					continue;
				}
				out_add(&o, from, (size_t)held);
				held = -1;
			}
			if (c == '\n')
				held = 0;
		}
		out_add(&o, in + run, (size_t)n - run);
	}
	if (n < 0)
		return false;
	if (held > 0)
		out_add(&o, from, (size_t)held);
	if (last != '\n')
		out_str(&o, "\n");
	if (flags & LOCAL_COPY_BLANK)
		out_str(&o, "\n");
	if (!o.failed)
		out_flush(&o);
	return !o.failed;
}

static bool delivered_match(const char *line, size_t len, const char *addr)
{
	static const char name[] = "Delivered-To:";
	size_t nl = sizeof(name) - 1;
	if (len < nl || strncasecmp(line, name, nl) != 0)
		return false;
	line += nl;
	len -= nl;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
	                   line[len - 1] == '\r'))
		len--;
	return len == strlen(addr) && strncasecmp(line, addr, len) == 0;
}

int local_copy_seen(const struct local_msg *m, const char *addr)
{
	static char in[CHUNK];
	char line[MAP_KEY_MAX + 64];
	size_t len = 0;
	bool toolong = false;
	uint64_t pos = 0;
	ssize_t n;
	while ((n = content_read(m, &pos, in, sizeof(in))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] != '\n') {
				if (len < sizeof(line))
					line[len++] = in[i];
				else
					toolong = true;
				continue;
			}
			if (len == 0 || (len == 1 && line[0] == '\r'))
				return 0; /* end of headers */
			if (!toolong && delivered_match(line, len, addr))
				return 1;
			len = 0;
			toolong = false;
		}
	}
	return n < 0 ? -1 : 0;
}
