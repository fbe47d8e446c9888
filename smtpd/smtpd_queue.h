/*
 * smtpd_queue.h - smtpd's side of the receive exchange with qmgr
 * (docs/architecture.md): NEW at the first accepted recipient, the
 * content descriptor qmgr hands back, COMMIT at the end of data.  One
 * connection to private/qmgr per message; closing it abandons the
 * message.
 */
#ifndef POSTERN_SMTPD_QUEUE_H
#define POSTERN_SMTPD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct squeue {
	int sock;     /* -1: no transaction */
	int fd;       /* content descriptor, -1 when none */
	char id[64];  /* queue id from NEW_OK */
	uint64_t written;
	bool write_error;
	bool hold; /* COMMIT asks qmgr to put the message on hold (HOLD action) */
};

struct squeue_env {
	const char *sender, *client_name, *client_addr, *client_port, *helo, *protocol;
	const char *ret, *envid, *body; /* NULL when absent */
	bool smtputf8;
	uint64_t size; /* 0: not given */
};

struct squeue_rcpt {
	char *addr;
	char *orcpt;     /* NULL when absent */
	unsigned notify; /* PROTO_NOTIFY_*, 0 when absent */
};

void squeue_init(struct squeue *q);
/*
 * Each exchange has two halves, so that the caller's event loop need
 * not wait: *_start sends the record (0, or -1 with the SMTP reply in
 * reply); when q->sock is readable, *_finish takes qmgr's answer (0, or
 * -1 with the reply; the transaction is then over).
 */
int squeue_new_start(struct squeue *q, const char *path, const struct squeue_env *env,
                     char *reply, size_t len);
int squeue_new_finish(struct squeue *q, char *reply, size_t len);
/* Append content (buffered by the caller); errors are remembered. */
void squeue_write(struct squeue *q, const char *p, size_t n);
int squeue_commit_start(struct squeue *q, const char *msgid, const struct squeue_rcpt *r,
                        size_t n, char *reply, size_t len);
/* On success q->id still names the message; the transaction is over. */
int squeue_commit_finish(struct squeue *q, char *reply, size_t len);
/* Abandon (RSET, QUIT, errors): qmgr removes the temporary file. */
void squeue_abort(struct squeue *q);

#endif
