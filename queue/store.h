/*
 * store.h - queue files on disk: ids, creation in tmp/, commit into
 * incoming/, moves between queue directories, removal.  Paths are
 * relative to queue_directory (qmgr's working directory).
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "qfile.h"

/* Queue ids: 13 upper-case hex digits (seconds, microseconds). */
#define STORE_ID_LEN 13
#define STORE_ID_SIZE (STORE_ID_LEN + 1)

/* The directories a message file can be in, and the rest we create. */
extern const char *const store_queues[]; /* NULL-terminated */
extern const char *const store_dirs[];   /* NULL-terminated */

/* A well-formed queue id (safe as a file name). */
bool store_id_ok(const char *id);

/* Free space allows a new message (queue_minfree, message_size_limit). */
bool store_space_ok(void);

/*
 * Create tmp/ID for a new message: assigns head->id and the arrival
 * time, writes the head.  Returns the read-write descriptor or -1.
 */
int store_create(struct qfile *head);
/* A write-only, append-only descriptor of tmp/ID for the client. */
int store_client_fd(const char *id);
/*
 * Complete the file (recipients, end record, fsync), rename
 * tmp/ID -> incoming/ID and fsync incoming/.  0 or -1 (errno).
 */
int store_commit(int fd, const struct qfile *head, off_t content_len,
                 const struct qfile_rcpt_in *rcpts, size_t n);
/* Remove tmp/ID of an abandoned transaction. */
void store_abandon(const char *id);

/* rename from/ID -> to/ID and fsync to/.  0 or -1 (errno). */
int store_move(const char *id, const char *from, const char *to);
/* Remove queue/ID and its defer log; log "ID: removed" when log_it. */
void store_remove(const char *id, const char *queue, bool log_it);
/* Which queue holds ID (NULL if none). */
const char *store_find(const char *id);
/* Fsync a directory. */
int store_sync_dir(const char *dir);

#endif
