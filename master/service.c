/*
 * service.c - from master.cf lines to services with listeners.  Runs in
 * master as root; input is main.cf and master.cf (trusted, already
 * parsed with limits by common/mastercf.c).
 */
#include "service.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "listen.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

void service_free(struct msvc *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nfds; i++) {
		if (s->fds[i] >= 0)
			close(s->fds[i]);
		free(s->fd_names[i]);
	}
	if (s->respawn_ev != NULL)
		event_free(s->respawn_ev);
	free(s->name);
	free(s->prog);
	free(s->path);
	free(s->argv0);
	free(s->key);
	free(s);
}

/* The program file a master.cf command runs: its base name, with the
 * commands that share a program mapped to it. */
static const char *program_of(const char *base)
{
	if (strcmp(base, "lmtp") == 0)
		return "smtp";
	if (strcmp(base, "oqmgr") == 0)
		return "qmgr";
	return base;
}

static bool unix_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

/* A service for line s, or NULL (logged when verbose) if master does not
 * run it. */
static struct msvc *service_new(struct master *m, const struct mcf_service *s,
                                bool verbose)
{
	const char *type = mastercf_type_name(s->type);
	const char *why = "";
	enum mcf_class cls = mastercf_classify(s->command, &why);
	if (cls != MCF_CLASS_PROGRAM) {
		if (verbose)
			log_info("service %s/%s (%s, %s line %d): %s: %s", s->name, type,
			         s->command, s->file, s->line,
			         cls == MCF_CLASS_INTERNAL ? "provided internally"
			                                   : "not started",
			         why);
		return NULL;
	}
	const char *base = strrchr(s->command, '/');
	base = base != NULL ? base + 1 : s->command;
	const char *prog = program_of(base);
	enum mcf_type t = s->type;
	if (t == MCF_FIFO && strcmp(prog, "qmgr") == 0) {
		if (verbose)
			log_info("service %s/fifo: qmgr is run as a unix service", s->name);
		t = MCF_UNIX;
	}
	if (t != MCF_INET && t != MCF_UNIX) {
		log_warn("service %s/%s (%s line %d): type %s is not supported; "
		         "not started", s->name, type, s->file, s->line, type);
		return NULL;
	}
	if (t == MCF_UNIX && !unix_name_ok(s->name)) {
		log_warn("service %s/%s (%s line %d): not a valid socket name; "
		         "not started", s->name, type, s->file, s->line);
		return NULL;
	}
	struct strbuf path;
	sb_init(&path, 0);
	sb_printf(&path, "%s/%s", cfg_get(m->cfg, "daemon_directory"), prog);
	if (access(path.s, X_OK) != 0) {
		if (verbose)
			log_warn("service %s/%s (%s line %d): %s: %s; not started",
			         s->name, type, s->file, s->line, path.s, strerror(errno));
		sb_free(&path);
		return NULL;
	}
	struct msvc *v = xcalloc(1, sizeof(*v));
	v->master = m;
	v->name = xstrdup(s->name);
	v->type = t;
	v->prog = xstrdup(prog);
	v->path = sb_steal(&path);
	v->argv0 = xstrdup(base);
	v->line = s->line;
	v->is_qmgr = strcmp(prog, "qmgr") == 0;
	v->is_spawn = strcmp(prog, "spawn") == 0;
	struct strbuf key;
	sb_init(&key, 0);
	if (t == MCF_INET)
		sb_printf(&key, "inet/%s/%s/%s", s->name,
		          s->host ? "" : cfg_get(m->cfg, "inet_interfaces"),
		          cfg_get(m->cfg, "inet_protocols"));
	else
		sb_printf(&key, "unix/%s/%d/%d", s->name, v->is_qmgr, v->is_spawn);
	v->key = sb_steal(&key);
	return v;
}

static void add_unix(struct msvc *v, int fd, const char *path)
{
	v->fds[v->nfds] = fd;
	v->fd_names[v->nfds++] = xstrdup(path);
}

static int bind_service(struct master *m, struct msvc *v,
                        const struct mcf_service *s, char *err, size_t errlen)
{
	char e[512];
	if (v->type == MCF_INET) {
		int n = listen_inet(m->cfg, s->host, s->port, v->fds, v->fd_names,
		                    DAEMON_LISTEN_MAX, e, sizeof(e));
		if (n < 0) {
			snprintf(err, errlen, "service %s/inet (master.cf line %d): %s",
			         v->name, v->line, e);
			return -1;
		}
		v->nfds = (size_t)n;
		return 0;
	}
	const struct master_ids *ids = &m->ids;
	char path[256];
	snprintf(path, sizeof(path), "private/%s", v->name);
	/* qmgr: smtpd (network_user's group) may connect to private/qmgr,
	 * anyone to public/qmgr; a spawn service (a policy server) is
	 * smtpd's too; other agents are reached by qmgr only. */
	bool for_smtpd = v->is_qmgr || v->is_spawn;
	int fd = listen_unix_type(path, v->is_spawn ? SOCK_STREAM : SOCK_SEQPACKET,
	                          for_smtpd ? 0660 : 0600, ids->as_root, ids->mail_uid,
	                          for_smtpd ? ids->net_gid : ids->mail_gid, e, sizeof(e));
	if (fd >= 0)
		add_unix(v, fd, path);
	if (fd >= 0 && v->is_qmgr) {
		snprintf(path, sizeof(path), "public/%s", v->name);
		fd = listen_unix(path, 0666, ids->as_root, ids->mail_uid, ids->mail_gid,
		                 e, sizeof(e));
		if (fd >= 0)
			add_unix(v, fd, path);
	}
	if (fd < 0) {
		snprintf(err, errlen, "service %s/unix (master.cf line %d): %s", v->name,
		         v->line, e);
		return -1;
	}
	return 0;
}

int service_build(struct master *m, struct msvc **old, size_t nold, bool verbose,
                  char *err, size_t errlen)
{
	const struct mastercf *mcf = m->mcf;
	const struct mcf_service **lines = xcalloc(mcf->nservices + 1, sizeof(*lines));
	struct msvc **v = xcalloc(mcf->nservices + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < mcf->nservices; i++) {
		const struct mcf_service *s = &mcf->services[i];
		if (s->superseded)
			continue;
		struct msvc *sv = service_new(m, s, verbose);
		if (sv == NULL)
			continue;
		/* Take over the listeners of the same service at a reload. */
		for (size_t j = 0; j < nold; j++) {
			if (old[j] == NULL || old[j]->nfds == 0 ||
			    strcmp(old[j]->key, sv->key) != 0)
				continue;
			for (size_t k = 0; k < old[j]->nfds; k++) {
				sv->fds[k] = old[j]->fds[k];
				sv->fd_names[k] = old[j]->fd_names[k];
				old[j]->fd_names[k] = NULL;
			}
			sv->nfds = old[j]->nfds;
			sv->reused = true;
			old[j]->nfds = 0;
			break;
		}
		lines[n] = s;
		v[n++] = sv;
	}
	/* Addresses the new configuration no longer uses are released
	 * before binding, so a service may move between them. */
	for (size_t j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		for (size_t k = 0; k < old[j]->nfds; k++) {
			close(old[j]->fds[k]);
			free(old[j]->fd_names[k]);
			old[j]->fd_names[k] = NULL;
		}
		old[j]->nfds = 0;
	}
	int rc = 0;
	m->svcs = xcalloc(n + 1, sizeof(*m->svcs));
	m->nsvcs = 0;
	for (size_t i = 0; i < n; i++) {
		char e[1024];
		if (v[i]->nfds == 0 && bind_service(m, v[i], lines[i], e, sizeof(e)) != 0) {
			if (rc == 0) /* the first goes to the caller, others to the log */
				snprintf(err, errlen, "%s", e);
			else
				log_error("%s", e);
			rc = -1;
			service_free(v[i]);
			continue;
		}
		if (lines[i] != NULL && v[i]->nfds > 0 && !v[i]->reused)
			for (size_t k = 0; k < v[i]->nfds; k++)
				log_info("service %s/%s: listening on %s", v[i]->name,
				         mastercf_type_name(v[i]->type), v[i]->fd_names[k]);
		m->svcs[m->nsvcs++] = v[i];
	}
	free(lines);
	free(v);
	return rc;
}
