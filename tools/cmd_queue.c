/*
 * cmd_queue.c - "postern queue" (also run as "mailq"), like postqueue(1):
 * -p lists the queue in the format of Postfix's mailq, -j as JSON lines
 * with postqueue -j's fields, -f asks for delivery of all deferred mail,
 * -i ID of one message.  Runs as the invoking user; talks to the queue
 * manager over public/qmgr (PROTO_QUEUE_LIST, PROTO_ADMIN).  Untrusted
 * input: envelope values in the listing (addresses, deferral reasons),
 * which are printed with control characters replaced, and JSON-escaped.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cfg.h"
#include "cmds.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qclient.h"
#include "strbuf.h"

static const char usage_text[] = "postern queue [-c DIR] -p | -j | -f | -i ID";

/* Column of the recipients in the -p listing; deferral reasons are
 * right-aligned to end at REASON_END (or start at column 0 when longer). */
#define RCPT_INDENT 41
#define REASON_END 78

/* Printable text: control characters as '?'. */
static void put_text(struct strbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		sb_addc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (s[0] >= 0xf8 || n == 0)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void put_json(struct strbuf *b, const char *s)
{
	sb_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			sb_addc(b, '\\');
			sb_addc(b, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			sb_printf(b, "\\u%04x", *p);
		} else if (*p < 0x80) {
			sb_addc(b, (char)*p);
		} else {
			size_t n = utf8_len(p);
			if (n == 0) {
				sb_adds(b, "\\ufffd");
			} else {
				sb_add(b, (const char *)p, n);
				p += n - 1;
			}
		}
	}
	sb_addc(b, '"');
}

struct totals {
	unsigned long long bytes;
	unsigned long count;
};

static const char *shown_sender(const char *s)
{
	return s == NULL || *s == '\0' ? "MAILER-DAEMON" : s;
}

/* One message in postqueue -p form. */
static void print_item(const struct ipc_in *in, struct totals *t)
{
	const char *id = ipc_str(in, T_ID), *queue = ipc_str(in, T_QUEUE);
	uint64_t size = 0, arrival = 0;
	ipc_u64(in, T_SIZE, &size);
	ipc_u64(in, T_ARRIVAL, &arrival);
	struct strbuf b;
	sb_init(&b, 0);
	if (t->count == 0)
		sb_adds(&b, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
	t->count++;
	t->bytes += size;
	struct strbuf idm;
	sb_init(&idm, 0);
	put_text(&idm, id != NULL ? id : "?");
	if (queue != NULL && strcmp(queue, "active") == 0)
		sb_addc(&idm, '*');
	else if (queue != NULL && strcmp(queue, "hold") == 0)
		sb_addc(&idm, '!');
	char date[40] = "";
	time_t at = (time_t)arrival;
	struct tm tm;
	if (localtime_r(&at, &tm) == NULL || strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "?");
	sb_printf(&b, "%-11s%8llu %s  ", sb_str(&idm), (unsigned long long)size, date);
	sb_free(&idm);
	put_text(&b, shown_sender(ipc_str(in, T_SENDER)));
	sb_addc(&b, '\n');
	/* Recipient groups: T_RCPT, then its T_TEXT (deferral reason) if any.
	 * A reason is shown once for a run of recipients that share it. */
	const char *last_reason = NULL;
	for (size_t i = 0; i < in->nfields; i++) {
		if (in->fields[i].tag != T_RCPT)
			continue;
		const char *rcpt = ipc_field_str(&in->fields[i]);
		const char *reason = NULL;
		for (size_t j = i + 1; j < in->nfields && in->fields[j].tag != T_RCPT; j++)
			if (in->fields[j].tag == T_TEXT)
				reason = ipc_field_str(&in->fields[j]);
		if (reason != NULL && *reason != '\0' &&
		    (last_reason == NULL || strcmp(reason, last_reason) != 0)) {
			struct strbuf r;
			sb_init(&r, 0);
			sb_addc(&r, '(');
			put_text(&r, reason);
			sb_addc(&r, ')');
			if (r.len < REASON_END)
				sb_printf(&b, "%*s", (int)(REASON_END - r.len), "");
			sb_add(&b, r.s, r.len);
			sb_addc(&b, '\n');
			sb_free(&r);
		}
		last_reason = reason;
		sb_printf(&b, "%*s", RCPT_INDENT, "");
		put_text(&b, rcpt != NULL ? rcpt : "?");
		sb_addc(&b, '\n');
	}
	sb_addc(&b, '\n');
	fwrite(b.s, 1, b.len, stdout);
	sb_free(&b);
}

/* One message as a postqueue -j JSON object. */
static void print_json(const struct ipc_in *in, struct totals *t)
{
	uint64_t size = 0, arrival = 0;
	ipc_u64(in, T_SIZE, &size);
	ipc_u64(in, T_ARRIVAL, &arrival);
	const char *id = ipc_str(in, T_ID), *queue = ipc_str(in, T_QUEUE);
	struct strbuf b;
	sb_init(&b, 0);
	sb_adds(&b, "{\"queue_name\": ");
	put_json(&b, queue != NULL ? queue : "");
	sb_adds(&b, ", \"queue_id\": ");
	put_json(&b, id != NULL ? id : "");
	sb_printf(&b, ", \"arrival_time\": %llu, \"message_size\": %llu, \"forced_expire\": false, \"sender\": ",
	          (unsigned long long)arrival, (unsigned long long)size);
	put_json(&b, shown_sender(ipc_str(in, T_SENDER)));
	sb_adds(&b, ", \"recipients\": [");
	bool first = true;
	for (size_t i = 0; i < in->nfields; i++) {
		if (in->fields[i].tag != T_RCPT)
			continue;
		const char *rcpt = ipc_field_str(&in->fields[i]);
		const char *reason = NULL;
		for (size_t j = i + 1; j < in->nfields && in->fields[j].tag != T_RCPT; j++)
			if (in->fields[j].tag == T_TEXT)
				reason = ipc_field_str(&in->fields[j]);
		sb_adds(&b, first ? "{\"address\": " : ", {\"address\": ");
		put_json(&b, rcpt != NULL ? rcpt : "");
		if (reason != NULL && *reason != '\0') {
			sb_adds(&b, ", \"delay_reason\": ");
			put_json(&b, reason);
		}
		sb_addc(&b, '}');
		first = false;
	}
	sb_adds(&b, "]}\n");
	fwrite(b.s, 1, b.len, stdout);
	t->count++;
	sb_free(&b);
}

static int list(struct cfg *c, bool json)
{
	char err[512];
	struct qclient q;
	if (!qclient_open(&q, c, err, sizeof(err))) {
		log_error("Queue report unavailable - mail system is down (%s)", err);
		return EX_UNAVAILABLE;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_QUEUE_LIST);
	bool ok = qclient_send(&q, &o, -1, err, sizeof(err));
	ipc_out_free(&o);
	struct totals t = {0, 0};
	while (ok && (ok = qclient_recv(&q, err, sizeof(err)))) {
		if (q.in->type == PROTO_QUEUE_END)
			break;
		if (q.in->type == PROTO_FAIL) {
			qclient_fail_text(&q, err, sizeof(err));
			ok = false;
		} else if (q.in->type != PROTO_QUEUE_ITEM) {
			snprintf(err, sizeof(err), "unexpected record %u from the queue manager",
			         q.in->type);
			ok = false;
		} else if (json) {
			print_json(q.in, &t);
		} else {
			print_item(q.in, &t);
		}
	}
	qclient_close(&q);
	if (!ok) {
		fflush(stdout);
		log_error("%s", err);
		return EX_UNAVAILABLE;
	}
	if (!json) {
		if (t.count == 0)
			printf("Mail queue is empty\n");
		else
			printf("-- %llu Kbytes in %lu Request%s.\n", t.bytes / 1024, t.count,
			       t.count == 1 ? "" : "s");
	}
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* PROTO_ADMIN flush, of one message (id) or of all. */
static int flush(struct cfg *c, const char *id)
{
	char err[512];
	struct qclient q;
	if (!qclient_open(&q, c, err, sizeof(err))) {
		log_error("Cannot flush mail queue - mail system is down (%s)", err);
		return EX_UNAVAILABLE;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ADMIN);
	ipc_add_str(&o, T_ACTION, "flush");
	ipc_add_str(&o, T_ID, id != NULL ? id : "ALL");
	bool ok = qclient_send(&q, &o, -1, err, sizeof(err)) &&
	          qclient_recv(&q, err, sizeof(err));
	ipc_out_free(&o);
	int rc = 0;
	if (!ok) {
		log_error("%s", err);
		rc = EX_UNAVAILABLE;
	} else if (q.in->type == PROTO_FAIL) {
		qclient_fail_text(&q, err, sizeof(err));
		log_error("%s", err);
		rc = EX_UNAVAILABLE;
	} else if (q.in->type != PROTO_ADMIN_OK) {
		log_error("unexpected answer from the queue manager");
		rc = EX_UNAVAILABLE;
	}
	qclient_close(&q);
	return rc;
}

int cmd_queue(int argc, char **argv)
{
	const char *dir = NULL, *id = NULL;
	char mode = 0;
	int opt;
	optind = 0; /* full getopt reset: sendmail may have run it first */
	while ((opt = getopt(argc, argv, "c:C:pjfi:sv")) != -1) {
		switch (opt) {
		case 'c':
		case 'C': dir = optarg; break;
		case 'p':
		case 'j':
		case 'f':
			if (mode != 0 && mode != opt)
				return cmd_usage(usage_text);
			mode = (char)opt;
			break;
		case 'i':
			if (mode != 0 && mode != 'i')
				return cmd_usage(usage_text);
			mode = 'i';
			id = optarg;
			break;
		case 's':
			log_error("-s (fast flush per site) is not implemented; use -f");
			return EX_UNAVAILABLE;
		case 'v': break;
		default: return cmd_usage(usage_text);
		}
	}
	if (mode == 0 || optind != argc)
		return cmd_usage(usage_text);
	struct cfg *c = cfg_load(dir, NULL, true);
	if (c == NULL)
		return EX_CONFIG;
	int rc;
	if (mode == 'p' || mode == 'j')
		rc = list(c, mode == 'j');
	else
		rc = flush(c, mode == 'i' ? id : NULL);
	cfg_free(c);
	return rc;
}
