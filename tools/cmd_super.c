/*
 * cmd_super.c - "postern super", like postsuper(1): delete (-d), hold
 * (-h), release (-H) and requeue (-r) messages by queue id or ALL,
 * optionally in named queues only, and check the queue's structure
 * (-s).  "-d -" and friends read ids from standard input.  Runs as root
 * or mail_owner (the queue manager checks the peer's uid as well); the
 * work is done by the queue manager over public/qmgr (PROTO_ADMIN).
 * Untrusted input: queue ids from standard input (bounded lines, id
 * syntax checked).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "cmds.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qclient.h"
#include "xalloc.h"

static const char usage_text[] =
	"postern super [-c DIR] [-s] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-] [-r ID|ALL|-] [queue ...]";

/* Longest queue id we accept (ours and Postfix's long ids are shorter). */
#define SUPER_ID_MAX 64

enum { A_DELETE, A_HOLD, A_RELEASE, A_REQUEUE, A_CHECK, A_COUNT };

static const struct {
	const char *action; /* T_ACTION */
	const char *each;   /* per message, NULL: not shown */
	const char *total;
} actions[A_COUNT] = {
	[A_DELETE] = {"delete", "removed", "Deleted"},
	[A_HOLD] = {"hold", "placed on hold", "Placed on hold"},
	[A_RELEASE] = {"release", "released from hold", "Released from hold"},
	[A_REQUEUE] = {"requeue", NULL, "Requeued"},
	[A_CHECK] = {"check", NULL, NULL},
};

struct req {
	int action;
	const char *id; /* "ALL", an id or "-" */
};

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > SUPER_ID_MAX)
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z')))
			return false;
	return true;
}

/* Root, mail_owner, or the owner of the queue directory (an instance
 * run by an ordinary user). */
static bool authorized(struct cfg *c)
{
	uid_t uid = getuid();
	if (uid == 0)
		return true;
	struct passwd *pw = getpwnam(cfg_get(c, "mail_owner"));
	if (pw != NULL && pw->pw_uid == uid)
		return true;
	struct stat st;
	return stat(cfg_get(c, "queue_directory"), &st) == 0 && st.st_uid == uid;
}

struct run {
	struct cfg *cfg;
	const char *const *queues;
	size_t nqueues;
	unsigned long count[A_COUNT];
	bool used[A_COUNT];
	bool failed;
	bool down; /* no queue manager: stop, report nothing done */
};

/* One PROTO_ADMIN exchange; per-message lines for the ids qmgr names. */
static void admin(struct run *r, int action, const char *id, const char *queue)
{
	char err[512];
	struct qclient q;
	if (r->down)
		return;
	if (!qclient_open(&q, r->cfg, err, sizeof(err))) {
		log_error("%s", err);
		r->failed = r->down = true;
		return;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ADMIN);
	ipc_add_str(&o, T_ACTION, actions[action].action);
	if (id != NULL)
		ipc_add_str(&o, T_ID, id);
	if (queue != NULL)
		ipc_add_str(&o, T_QUEUE, queue);
	bool ok = qclient_send(&q, &o, -1, err, sizeof(err)) &&
	          qclient_recv(&q, err, sizeof(err));
	ipc_out_free(&o);
	if (ok && q.in->type == PROTO_FAIL) {
		qclient_fail_text(&q, err, sizeof(err));
		ok = false;
	} else if (ok && q.in->type != PROTO_ADMIN_OK) {
		snprintf(err, sizeof(err), "unexpected answer from the queue manager");
		ok = false;
	}
	if (!ok) {
		log_error("%s%s%s", id != NULL ? id : "", id != NULL ? ": " : "", err);
		r->failed = true;
		qclient_close(&q);
		return;
	}
	uint64_t n = 0;
	ipc_u64(q.in, T_COUNT, &n);
	r->count[action] += n;
	if (action == A_CHECK) {
		/* Each problem the queue manager found (also in its log). */
		size_t pos = 0;
		const struct ipc_field *f;
		while ((f = ipc_find(q.in, T_TEXT, &pos)) != NULL) {
			const char *t = ipc_field_str(f);
			if (t != NULL)
				log_warn("%s", t);
		}
	}
	if (actions[action].each != NULL) {
		/* The ids done, when qmgr names them; else the one asked for. */
		size_t pos = 0, named = 0;
		const struct ipc_field *f;
		while ((f = ipc_find(q.in, T_ID, &pos)) != NULL) {
			const char *mid = ipc_field_str(f);
			if (mid != NULL && valid_id(mid)) {
				log_info("%s: %s", mid, actions[action].each);
				named++;
			}
		}
		if (named == 0 && n > 0 && id != NULL && strcmp(id, "ALL") != 0)
			log_info("%s: %s", id, actions[action].each);
	}
	qclient_close(&q);
}

static void run_one(struct run *r, int action, const char *id)
{
	if (!valid_id(id)) {
		log_warn("invalid queue id: %s", id);
		return;
	}
	if (r->nqueues == 0) {
		admin(r, action, id, NULL);
		return;
	}
	for (size_t i = 0; i < r->nqueues; i++)
		admin(r, action, id, r->queues[i]);
}

/* Ids one per line on standard input (blank lines skipped). */
static void run_stdin(struct run *r, int action)
{
	char line[SUPER_ID_MAX + 3];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strcspn(line, "\r\n");
		bool whole = line[n] != '\0' || feof(stdin);
		line[n] = '\0';
		if (!whole) {
			int ch;
			while ((ch = getchar()) != EOF && ch != '\n')
				;
			log_warn("invalid queue id: %s...", line);
			continue;
		}
		char *p = line + strspn(line, " \t");
		p[strcspn(p, " \t")] = '\0';
		if (*p != '\0')
			run_one(r, action, p);
	}
}

int cmd_super(int argc, char **argv)
{
	const char *dir = NULL;
	struct req *reqs = NULL;
	size_t nreqs = 0;
	bool check = false;
	int opt;
	optind = 0; /* full getopt reset */
	while ((opt = getopt(argc, argv, "c:d:h:H:r:sv")) != -1) {
		int a;
		switch (opt) {
		case 'c': dir = optarg; continue;
		case 's': check = true; continue;
		case 'v': continue;
		case 'd': a = A_DELETE; break;
		case 'h': a = A_HOLD; break;
		case 'H': a = A_RELEASE; break;
		case 'r': a = A_REQUEUE; break;
		default: free(reqs); return cmd_usage(usage_text);
		}
		reqs = xreallocarray(reqs, nreqs + 1, sizeof(*reqs));
		reqs[nreqs++] = (struct req){a, optarg};
	}
	static const char *const known[] = {"hold", "incoming", "active", "deferred"};
	for (int i = optind; i < argc; i++) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= strcmp(argv[i], known[k]) == 0;
		if (!ok) {
			log_error("invalid/unknown queue name: %s", argv[i]);
			free(reqs);
			return EX_USAGE;
		}
	}
	if (nreqs == 0 && !check) {
		free(reqs);
		return cmd_usage(usage_text);
	}
	struct cfg *c = cfg_load(dir, NULL, true);
	if (c == NULL) {
		free(reqs);
		return EX_CONFIG;
	}
	if (!authorized(c)) {
		log_error("use of this command is reserved for the superuser");
		cfg_free(c);
		free(reqs);
		return EX_NOPERM;
	}
	struct run r = {.cfg = c, .queues = (const char *const *)argv + optind,
	                .nqueues = (size_t)(argc - optind)};
	if (check) {
		admin(&r, A_CHECK, NULL, NULL);
		if (!r.failed)
			log_info("Structure check: %lu problem%s repaired", r.count[A_CHECK],
			         r.count[A_CHECK] == 1 ? "" : "s");
	}
	for (size_t i = 0; i < nreqs; i++) {
		r.used[reqs[i].action] = true;
		if (r.down)
			break;
		if (strcmp(reqs[i].id, "-") == 0)
			run_stdin(&r, reqs[i].action);
		else
			run_one(&r, reqs[i].action, reqs[i].id);
	}
	for (int a = 0; a < A_COUNT && !r.down; a++)
		if (r.used[a] && actions[a].total != NULL)
			log_info("%s: %lu message%s", actions[a].total, r.count[a],
			         r.count[a] == 1 ? "" : "s");
	cfg_free(c);
	free(reqs);
	return r.failed ? 1 : 0;
}
