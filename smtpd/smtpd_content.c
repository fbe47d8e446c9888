/*
 * smtpd_content.c - header/body checks between smtpd's content decoder
 * and the queue file (see smtpd_content.h).  Runs in smtpd; the content
 * is the client's, bounded by common/mime.c.
 */
#include "smtpd_content.h"

#include <stdio.h>
#include <stdlib.h>

#include "bounds.h"
#include "strbuf.h"
#include "xalloc.h"

struct scontent {
	struct hbc *hbc;
	struct strbuf out;
	/* The log lines' strings, kept for the life of the message. */
	char *queue_id, *client, *sender, *rcpt, *proto, *helo;
};

struct scontent *scontent_start(const struct hbc_cfg *hc, const char *queue_id,
                                const char *client_name, const char *client_addr,
                                const char *sender, const char *rcpt, const char *proto,
                                const char *helo)
{
	if (!hbc_cfg_active(hc))
		return NULL;
	struct scontent *sc = xcalloc(1, sizeof(*sc));
	struct strbuf cl;
	sb_init(&cl, 0);
	sb_printf(&cl, "%s[%s]", client_name, client_addr);
	sc->client = sb_steal(&cl);
	sb_free(&cl);
	sc->queue_id = xstrdup(queue_id);
	sc->sender = xstrdup(sender);
	sc->rcpt = xstrdup(rcpt);
	sc->proto = xstrdup(proto);
	sc->helo = xstrdup(helo);
	struct hbc_who who = {
		.queue_id = sc->queue_id,
		.client = sc->client,
		.sender = sc->sender,
		.rcpt = sc->rcpt,
		.proto = sc->proto,
		.helo = sc->helo,
	};
	sb_init(&sc->out, 0);
	sc->hbc = hbc_start(hc, &who);
	return sc;
}

void scontent_write(struct scontent *sc, struct squeue *q, const char *p, size_t n)
{
	if (sc == NULL) {
		squeue_write(q, p, n);
		return;
	}
	hbc_feed(sc->hbc, p, n, &sc->out);
	if (sc->out.len > 0)
		squeue_write(q, sc->out.s, sc->out.len);
	sb_reset(&sc->out);
}

void scontent_finish(struct scontent *sc, struct squeue *q)
{
	if (sc == NULL)
		return;
	hbc_finish(sc->hbc, &sc->out);
	if (sc->out.len > 0)
		squeue_write(q, sc->out.s, sc->out.len);
	sb_reset(&sc->out);
}

const struct hbc_actions *scontent_actions(const struct scontent *sc)
{
	return sc ? hbc_actions(sc->hbc) : NULL;
}

void scontent_free(struct scontent *sc)
{
	if (sc == NULL)
		return;
	hbc_free(sc->hbc);
	sb_free(&sc->out);
	free(sc->queue_id);
	free(sc->client);
	free(sc->sender);
	free(sc->rcpt);
	free(sc->proto);
	free(sc->helo);
	free(sc);
}
