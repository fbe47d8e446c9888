/*
 * local_leaf.c - carries out one final delivery for the local agent:
 * forks a child that becomes the user the delivery is for, then writes
 * the mailbox, maildir or file, or runs the command with a clean
 * environment.  Input: paths and commands from the configuration,
 * alias, .forward and :include: files; envelope values only as
 * environment values, filtered through command_expansion_filter.
 */
#include "local_leaf.h"
#include "local_pass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "local_cmd.h"
#include "local_fwd.h"
#include "local_mbox.h"
#include "strbuf.h"
#include "xalloc.h"

#define ENV_MAX 32

struct run {
	const struct local_conf *lc;
	const struct local_leaf *leaf;
	struct local_msg msg;
};

static void env_add(char **env, size_t *n, const char *name, const char *value,
                    const char *filter)
{
	if (value == NULL || *n + 1 >= ENV_MAX)
		return;
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "%s=%s", name, value);
	if (filter != NULL)
		local_conf_filter(sb.s + strlen(name) + 1, filter);
	env[(*n)++] = sb_steal(&sb);
	env[*n] = NULL;
}

/* The environment Postfix's local gives commands (local(8)). */
static void build_env(const struct local_conf *lc, const struct local_leaf *l,
                      char **env)
{
	size_t n = 0;
	const char *f = lc->cmd_filter;
	env[0] = NULL;
	env_add(env, &n, "PATH", "/usr/bin:/bin", NULL);
	for (char **p = lc->export_env; *p; p++) {
		if (strcmp(*p, "MAIL_CONFIG") == 0)
			env_add(env, &n, "MAIL_CONFIG", lc->config_dir, NULL);
		else if (getenv(*p) != NULL)
			env_add(env, &n, *p, getenv(*p), NULL);
	}
	if (l->home != NULL) {
		env_add(env, &n, "HOME", l->home, NULL);
		env_add(env, &n, "SHELL", l->shell, NULL);
	}
	env_add(env, &n, "USER", l->user, f);
	env_add(env, &n, "LOGNAME", l->user, f);
	env_add(env, &n, "SENDER", l->sender, f);
	env_add(env, &n, "RECIPIENT", l->addr, f);
	env_add(env, &n, "LOCAL", l->local, f);
	env_add(env, &n, "DOMAIN", l->domain, f);
	if (l->ext != NULL && *l->ext)
		env_add(env, &n, "EXTENSION", l->ext, f);
	env_add(env, &n, "ORIGINAL_RECIPIENT", l->orig, f);
}

static void run_command(const struct run *r, const char *command, struct local_status *st)
{
	char *env[ENV_MAX + 1];
	const struct local_leaf *l = r->leaf;
	build_env(r->lc, l, env);
	struct local_cmd c = {
		.command = command,
		.shell = r->lc->command_shell,
		.envp = env,
		/* The home directory when this user may enter it (root's
		 * mailbox_command runs as default_privs), else "/". */
		.cwd = l->home != NULL && access(l->home, X_OK) == 0 ? l->home : "/",
		.time_limit = r->lc->command_time_limit,
		.copy_flags = LOCAL_COPY_FROM | LOCAL_COPY_RPATH | LOCAL_COPY_ORIG |
		              ((r->lc->prepend_delivered & LOCAL_DELIV_COMMAND)
		                   ? LOCAL_COPY_DELIVERED : 0),
	};
	local_cmd_run(&r->msg, &c, st);
	for (char **p = env; *p; p++)
		free(*p);
}

static void run_mailbox(const struct run *r, struct local_status *st)
{
	const struct local_conf *lc = r->lc;
	const struct local_leaf *l = r->leaf;
	if (*lc->mailbox_command) {
		run_command(r, lc->mailbox_command, st);
		return;
	}
	struct strbuf path;
	sb_init(&path, 0);
	if (*lc->home_mailbox) {
		sb_printf(&path, "%s/%s", l->home, lc->home_mailbox);
	} else {
		/* A spool directory ending in "/" means a maildir per user. */
		size_t sl = strlen(lc->spool_dir);
		bool maildir = sl > 0 && lc->spool_dir[sl - 1] == '/';
		sb_printf(&path, "%s%s%s%s", lc->spool_dir, maildir ? "" : "/", l->user,
		          maildir ? "/" : "");
	}
	size_t n = path.len;
	if (n > 0 && path.s[n - 1] == '/') {
		if (!local_maildir_deliver(&r->msg, path.s, lc->mbox.size_limit, st))
			local_status_set(st, st->dsn, "maildir delivery failed: %.1900s", st->text);
	} else if (!local_mbox_deliver(&r->msg, path.s, &lc->mbox, st)) {
		char why[LOCAL_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", st->text);
		local_status_set(st, st->dsn, "cannot update mailbox %s for user %s. %.1500s",
		                 path.s, l->user, why);
	}
	sb_free(&path);
}

static void run_file(const struct run *r, struct local_status *st)
{
	const char *path = r->leaf->target;
	size_t n = strlen(path);
	struct local_msg m = r->msg;
	if (!(r->lc->prepend_delivered & LOCAL_DELIV_FILE))
		m.delivered_to = NULL;
	if (n > 0 && path[n - 1] == '/') {
		if (local_maildir_deliver(&m, path, r->lc->mbox.size_limit, st))
			local_status_set(st, "2.0.0", "delivered to maildir");
		else
			local_status_set(st, st->dsn, "maildir delivery failed: %.1900s", st->text);
		return;
	}
	if (local_mbox_deliver(&m, path, &r->lc->mbox, st)) {
		local_status_set(st, "2.0.0", "delivered to file: %s", path);
	} else {
		char why[LOCAL_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", st->text);
		local_status_set(st, st->dsn, "cannot append message to file %s: %.1500s", path,
		                 why);
	}
}

static void child(void *arg, struct local_status *st)
{
	const struct run *r = arg;
	switch (r->leaf->type) {
	case LOCAL_LEAF_MAILBOX: run_mailbox(r, st); break;
	case LOCAL_LEAF_FILE: run_file(r, st); break;
	case LOCAL_LEAF_COMMAND: run_command(r, r->leaf->target, st); break;
	case LOCAL_LEAF_FORWARD: break;
	}
}

void local_leaf_run(const struct local_conf *lc, const struct local_leaf *leaf,
                    const struct local_msg *content, struct local_status *st)
{
	struct run r = {.lc = lc, .leaf = leaf, .msg = *content};
	r.msg.sender = leaf->sender;
	r.msg.orig_rcpt = lc->enable_orig ? leaf->orig : NULL;
	r.msg.delivered_to = leaf->delivered;
	if (leaf->type == LOCAL_LEAF_FORWARD) {
		if (!(lc->prepend_delivered & LOCAL_DELIV_FORWARD))
			r.msg.delivered_to = NULL;
		local_fwd_submit(lc, &r.msg, leaf->target, st);
		return;
	}
	if (leaf->type == LOCAL_LEAF_MAILBOX && !*lc->mailbox_command &&
	    *lc->mailbox_transport) {
		local_pass(lc->mailbox_transport, leaf, &r.msg, st);
		return;
	}
	if (leaf->type == LOCAL_LEAF_FILE && strcmp(leaf->target, "/dev/null") == 0) {
		local_status_set(st, "2.0.0", "delivered to file: /dev/null");
		return;
	}
	local_run_as(&leaf->cred, child, &r, st);
}
