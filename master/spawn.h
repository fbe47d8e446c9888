/*
 * spawn.h - starting daemons, watching them, restarting them with
 * backoff (docs/architecture.md "Start-up of a daemon").
 */
#ifndef POSTERN_SPAWN_H
#define POSTERN_SPAWN_H

#include "master.h"

/* Start the daemon of s now (or once its predecessor has exited, for
 * qmgr).  Failures to fork are logged and retried with backoff. */
void spawn_start(struct master *m, struct msvc *s);

/* Reap exited children (on SIGCHLD): log abnormal ends, schedule
 * respawns, start services that waited for a predecessor. */
void spawn_reap(struct master *m);

/* Send sig to every child. */
void spawn_signal_all(struct master *m, int sig);

/* Detach the children of the current services (at a reload: they are
 * asked to stop and no longer respawned). */
void spawn_retire_all(struct master *m);

/* Whether every current service's daemon has said it is ready. */
bool spawn_all_ready(const struct master *m);

#endif
