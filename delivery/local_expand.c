/*
 * local_expand.c - expands one local recipient as local(8) does:
 * alias_maps (with owner- aliases and recipient_delimiter), .forward
 * files (forward_path), :include: files, "|command", "/file", "\user",
 * loops (Delivered-To: and alias loops), duplicates, unknown users.
 * Runs in the local agent's per-connection process (root); files that
 * users control are read in children running as the user (local_priv).
 * Input: the recipient address (from qmgr), alias values, .forward and
 * :include: contents (user-controlled, bounded in size, depth, count).
 */
#include "local_expand.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "access.h"
#include "bounds.h"
#include "cfg.h"
#include "htable.h"
#include "local_leaf.h"
#include "log.h"
#include "map.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

#define NO_ALIAS   0x1
#define NO_FORWARD 0x2
#define LOCAL_ONLY 0x4 /* the domain is ours whatever mydestination says */

struct user {
	char *name, *home, *shell;
	uid_t uid;
	gid_t gid;
};

/* One step of the expansion: where the destinations being expanded
 * came from, and with whose rights they are delivered. */
struct level {
	const struct level *up;
	int depth;
	const char *addr;        /* the address being expanded (to=, RECIPIENT) */
	const char *sender;      /* owner-alias or the envelope sender */
	int class;               /* LOCAL_CLASS_* of the source, 0 at the top */
	struct local_cred cred;  /* rights for commands and files */
	uid_t owner;             /* owner of the source file (:include: check) */
	const char *alias;       /* alias name expanded here, for loops */
	const struct user *user; /* user context (.forward), else NULL */
	const char *ctx_user;    /* USER= for commands */
	const char *local, *ext, *domain;
};

static void deliver_address(struct local_job *job, const char *addr,
                            const struct level *up, int flags);

static int rank(const struct local_status *st)
{
	switch (local_status_class(st)) {
	case 2: return 1;
	case 5: return 2;
	default: return 3;
	}
}

static void finish(struct local_job *job, const char *to, const struct local_status *st)
{
	if (job->log != NULL)
		job->log(job->log_arg, to, st);
	int r = rank(st);
	if (r > job->rank) {
		job->rank = r;
		job->result = *st;
	}
}

static void fail(struct local_job *job, const char *to, const char *dsn,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct local_job *job, const char *to, const char *dsn,
                 const char *fmt, ...)
{
	struct local_status st;
	va_list ap;
	local_status_set(&st, dsn, "%s", "");
	va_start(ap, fmt);
	vsnprintf(st.text, sizeof(st.text), fmt, ap);
	va_end(ap);
	finish(job, to, &st);
}

static struct user *user_get(const char *name)
{
	struct passwd *pw = getpwnam(name);
	if (pw == NULL)
		return NULL;
	struct user *u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(pw->pw_name);
	u->home = xstrdup(pw->pw_dir);
	u->shell = xstrdup(pw->pw_shell);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return u;
}

static struct user *user_by_uid(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	return pw == NULL ? NULL : user_get(pw->pw_name);
}

static void user_free(struct user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->home);
	free(u->shell);
	free(u);
}

/* Rights for commands and files: never root (default_privs instead). */
static struct local_cred rights(const struct local_conf *lc, const struct user *u)
{
	struct local_cred c = {.uid = lc->default_uid, .gid = lc->default_gid,
	                       .user = NULL, .extra_gid = (gid_t)-1};
	if (u != NULL && u->uid != 0) {
		c.uid = u->uid;
		c.gid = u->gid;
		c.user = u->name;
	}
	return c;
}

static void leaf(struct local_job *job, const struct level *lv, enum local_leaf_type type,
                 const char *target, struct local_cred cred, const struct user *u)
{
	struct strbuf key;
	sb_init(&key, 0);
	sb_printf(&key, "%d|%ld|%s", (int)type, (long)cred.uid, target);
	if (ht_get(job->seen, key.s) != NULL) { /* delivered once already */
		sb_free(&key);
		return;
	}
	ht_put(job->seen, key.s, (void *)1);
	sb_free(&key);
	if (++job->nleaves > LOCAL_EXPAND_MAX) {
		fail(job, lv->addr, "5.3.0", "too many deliveries for one recipient "
		     "(more than %d)", LOCAL_EXPAND_MAX);
		return;
	}
	const struct local_rcpt *r = &job->req->rcpt[job->idx];
	struct local_leaf l = {
		.type = type,
		.target = target,
		.cred = cred,
		.user = u != NULL ? u->name : lv->ctx_user,
		.home = u != NULL ? u->home : NULL,
		.shell = u != NULL ? u->shell : NULL,
		.addr = lv->addr,
		.local = lv->local,
		.ext = lv->ext,
		.domain = lv->domain,
		.orig = r->orig,
		.delivered = r->addr,
		.sender = lv->sender,
		.queue_id = job->req->id,
	};
	struct local_status st;
	local_leaf_run(job->lc, &l, &job->content, &st);
	finish(job, lv->addr, &st);
}

/* Tokenizer shared by alias values, .forward and :include: files. */
int local_expand_tokens(const char *text, size_t max,
                        void (*fn)(void *arg, const char *token), void *arg)
{
	struct strbuf tok;
	size_t count = 0;
	const char *p = text;
	sb_init(&tok, MAP_VALUE_MAX);
	bool bol = true; /* nothing but blanks since the start of a line */
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' || *p == '\r') {
			if (*p == ',')
				bol = false;
			else if (*p == '\n')
				bol = true;
			p++;
		}
		if (*p == '#' && bol) {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (*p == '\0')
			break;
		sb_reset(&tok);
		bool inq = false;
		for (; *p && (inq || (*p != ',' && *p != '\n')); p++) {
			if (*p == '"') {
				inq = !inq;
				continue;
			}
			if (*p == '\\' && inq && p[1] != '\0')
				p++;
			sb_addc(&tok, *p);
		}
		bol = false;
		sb_rtrim(&tok);
		if (tok.len == 0)
			continue;
		if (++count > max) {
			sb_free(&tok);
			return -1;
		}
		fn(arg, tok.s);
	}
	sb_free(&tok);
	return (int)count;
}

struct token_ctx {
	struct local_job *job;
	const struct level *lv;
};

static void deliver_token(void *arg, const char *tok)
{
	struct token_ctx *tc = arg;
	struct local_job *job = tc->job;
	const struct level *lv = tc->lv;
	const struct local_conf *lc = job->lc;

	if (job->nleaves > LOCAL_EXPAND_MAX)
		return;
	if (tok[0] == '|') {
		if (!(lc->allow_commands & lv->class)) {
			fail(job, lv->addr, "5.7.1", "mail to command is restricted");
			return;
		}
		const char *cmd = tok + 1;
		while (*cmd == ' ' || *cmd == '\t')
			cmd++;
		leaf(job, lv, LOCAL_LEAF_COMMAND, cmd, lv->cred, lv->user);
		return;
	}
	if (tok[0] == '/') {
		if (!(lc->allow_files & lv->class)) {
			fail(job, lv->addr, "5.7.1", "mail to file is restricted");
			return;
		}
		leaf(job, lv, LOCAL_LEAF_FILE, tok, lv->cred, lv->user);
		return;
	}
	if (strncasecmp(tok, ":include:", 9) == 0) {
		const char *path = tok + 9;
		while (*path == ' ' || *path == '\t')
			path++;
		if (*path != '/') {
			fail(job, lv->addr, "5.3.5", ":include: file %s is not an absolute path",
			     path);
			return;
		}
		if (lv->depth >= LOCAL_EXPAND_DEPTH) {
			fail(job, lv->addr, "5.4.6", "mail forwarding loop for %s", lv->addr);
			return;
		}
		char why[512];
		uid_t owner = 0;
		char *text = local_read_file_as(&lv->cred, path, 0, lv->owner, &owner, why,
		                                sizeof(why));
		if (text == NULL) {
			log_warn("%s: %s", job->req->id, why);
			fail(job, lv->addr, errno == EIO ? "4.3.0" : "5.3.5",
			     "cannot open include file: %s", why);
			return;
		}
		struct user *iu = lv->user == NULL && owner != 0 ? user_by_uid(owner) : NULL;
		struct level inc = *lv;
		inc.up = lv;
		inc.depth = lv->depth + 1;
		inc.class = LOCAL_CLASS_INCLUDE;
		inc.owner = owner;
		if (lv->user == NULL)
			inc.cred = rights(lc, iu);
		struct token_ctx sub = {.job = job, .lv = &inc};
		if (local_expand_tokens(text, LOCAL_EXPAND_MAX, deliver_token, &sub) < 0)
			fail(job, lv->addr, "5.3.0", "too many destinations in %s", path);
		free(text);
		user_free(iu);
		return;
	}
	if (tok[0] == '\\') {
		deliver_address(job, tok + 1, lv, NO_ALIAS | NO_FORWARD);
		return;
	}
	/* An address.  "<addr>" is the same as addr. */
	struct strbuf a;
	sb_init(&a, MAP_KEY_MAX);
	size_t n = strlen(tok);
	if (tok[0] == '<' && n > 1 && tok[n - 1] == '>')
		sb_add(&a, tok + 1, n - 2);
	else
		sb_adds(&a, tok);
	int flags = 0;
	/* Self reference: the alias or the .forward's owner names itself, so
	 * this is the user's own mailbox. */
	const char *self = lv->alias;
	if (self != NULL) {
		const char *at = strrchr(a.s, '@');
		size_t ln = at != NULL ? (size_t)(at - a.s) : a.len;
		if (ln == strlen(self) && strncasecmp(a.s, self, ln) == 0 &&
		    (at == NULL || local_conf_is_local(lc, at + 1)))
			flags = NO_ALIAS | (lv->class == LOCAL_CLASS_FORWARD ? NO_FORWARD : 0);
	}
	deliver_address(job, a.s, lv, flags);
	sb_free(&a);
}

static bool in_alias_chain(const struct level *lv, const char *name)
{
	for (; lv != NULL; lv = lv->up)
		if (lv->alias != NULL && lv->class != LOCAL_CLASS_FORWARD &&
		    strcasecmp(lv->alias, name) == 0)
			return true;
	return false;
}

static void undef_seen(void *arg, const char *name)
{
	(void)name;
	*(bool *)arg = true;
}

static void add_var(struct strbuf *sb, const char *name, const char *value,
                    const char *filter)
{
	if (value == NULL || *value == '\0')
		return;
	char *v = xstrdup(value);
	local_conf_filter(v, filter);
	sb_printf(sb, "%s = %s\n", name, v);
	free(v);
}

/*
 * Try the user's forward_path files.  1: a .forward was found and
 * expanded; 0: none; -1: failed (status already given).
 */
static int try_forward(struct local_job *job, const struct level *lv, struct user *u)
{
	const struct local_conf *lc = job->lc;
	struct strbuf vars;
	sb_init(&vars, 0);
	const char *f = lc->fwd_filter;
	add_var(&vars, "user", u->name, f);
	add_var(&vars, "home", u->home, f);
	add_var(&vars, "shell", u->shell, f);
	add_var(&vars, "recipient", lv->addr, f);
	add_var(&vars, "extension", lv->ext, f);
	add_var(&vars, "domain", lv->domain, f);
	add_var(&vars, "local", lv->local, f);
	add_var(&vars, "recipient_delimiter", lc->delimiters, f);
	struct cfg *c = cfg_load_text(vars.s, vars.len, "forward_path", NULL);
	sb_free(&vars);
	char **items;
	char err[256];
	int rc = 0;
	if (c == NULL || strlist_split(lc->forward_path, NULL, 64, &items, err, sizeof(err)) < 0) {
		cfg_free(c);
		return 0;
	}
	struct local_cred cred = {.uid = u->uid, .gid = u->gid, .user = u->name,
	                          .extra_gid = (gid_t)-1};
	for (char **p = items; *p && rc == 0; p++) {
		bool undef = false;
		char *path = cfg_expand(c, *p, undef_seen, &undef, err, sizeof(err));
		if (undef || *err || path == NULL || *path != '/') {
			free(path);
			continue;
		}
		char why[512];
		uid_t owner;
		char *text = local_read_file_as(&cred, path, u->uid, 0, &owner, why, sizeof(why));
		if (text == NULL) {
			if (errno != ENOENT)
				log_warn("%s: %s", job->req->id, why);
			if (errno == EIO) {
				fail(job, lv->addr, "4.3.0", "cannot read .forward file: %s", why);
				rc = -1;
			}
			free(path);
			continue;
		}
		struct level fw = *lv;
		fw.up = lv;
		fw.depth = lv->depth + 1;
		fw.class = LOCAL_CLASS_FORWARD;
		fw.cred = rights(lc, u);
		fw.owner = u->uid;
		fw.alias = u->name;
		fw.user = u;
		fw.ctx_user = u->name;
		struct token_ctx sub = {.job = job, .lv = &fw};
		int n = local_expand_tokens(text, LOCAL_EXPAND_MAX, deliver_token, &sub);
		if (n < 0)
			fail(job, lv->addr, "5.3.0", "too many destinations in %s", path);
		rc = n == 0 ? 0 : 1; /* an empty .forward: the mailbox */
		free(text);
		free(path);
	}
	strlist_free(items);
	cfg_free(c);
	return rc;
}

/* Look the alias up: the local part with extension, then without.
 * MAP_FOUND with *value (allocated) and *mapi, or MAP_NOTFOUND, MAP_ERROR. */
static int alias_find(const struct local_conf *lc, const char *full, const char *base,
                      char **name, char **value, size_t *mapi)
{
	const char *keys[2] = {full, strcmp(full, base) != 0 ? base : NULL};
	for (int k = 0; k < 2 && keys[k] != NULL; k++) {
		for (size_t i = 0; i < lc->naliases; i++) {
			const char *v;
			if (lc->aliases[i].map == NULL)
				return MAP_ERROR;
			int r = map_lookup(lc->aliases[i].map, keys[k], &v);
			if (r == MAP_ERROR)
				return MAP_ERROR;
			if (r == MAP_FOUND) {
				*value = xstrdup(v);
				*name = xstrdup(keys[k]);
				*mapi = i;
				return MAP_FOUND;
			}
		}
	}
	return MAP_NOTFOUND;
}

static void deliver_address(struct local_job *job, const char *addr,
                            const struct level *up, int flags)
{
	const struct local_conf *lc = job->lc;
	const char *at = strrchr(addr, '@');
	struct strbuf qual, local;
	sb_init(&qual, MAP_KEY_MAX);
	sb_init(&local, MAP_KEY_MAX);
	const char *domain;
	if (at == NULL) {
		sb_adds(&local, addr);
		domain = lc->myorigin;
		if (!sb_printf(&qual, "%s@%s", addr, domain)) {
			fail(job, up != NULL ? up->addr : addr, "5.1.3", "address too long: %.200s",
			     addr);
			goto out;
		}
	} else {
		sb_add(&local, addr, (size_t)(at - addr));
		domain = at + 1;
		sb_adds(&qual, addr);
	}
	const char *to = qual.s;
	int depth = up != NULL ? up->depth + 1 : 0;
	if (depth > LOCAL_EXPAND_DEPTH) {
		fail(job, to, "5.4.6", "mail forwarding loop for %s", to);
		goto out;
	}
	if (up != NULL && !(flags & LOCAL_ONLY) && !local_conf_is_local(lc, domain)) {
		leaf(job, up, LOCAL_LEAF_FORWARD, to, up->cred, NULL);
		goto out;
	}
	for (char *p = local.s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t blen = access_ext_split(local.s, local.len, lc->delimiters, NULL);
	char *base = xstrndup(local.s, blen);
	const char *ext = blen < local.len ? local.s + blen + 1 : NULL;
	struct level lv = {
		.up = up, .depth = depth, .addr = to,
		.sender = up != NULL ? up->sender : job->req->sender,
		.class = 0, .cred = rights(lc, NULL), .owner = 0,
		.alias = NULL, .user = NULL, .ctx_user = base,
		.local = local.s, .ext = ext, .domain = domain,
	};

	if (!(flags & NO_ALIAS)) {
		char *name = NULL, *value = NULL;
		size_t mi = 0;
		int r = alias_find(lc, local.s, base, &name, &value, &mi);
		if (r == MAP_ERROR) {
			fail(job, to, "4.3.0", "alias database unavailable");
			free(base);
			goto out;
		}
		if (r == MAP_FOUND) {
			if (in_alias_chain(up, name)) {
				log_warn("alias database loop for %s", name);
				fail(job, to, "5.4.6", "alias database loop for %s", name);
			} else {
				struct strbuf owner;
				sb_init(&owner, MAP_KEY_MAX);
				const char *ov;
				if (strncmp(name, "owner-", 6) != 0 && sb_printf(&owner, "owner-%s", name) &&
				    map_lookup(lc->aliases[mi].map, owner.s, &ov) == MAP_FOUND) {
					sb_printf(&owner, "@%s", lc->myorigin);
					lv.sender = owner.s;
				}
				uid_t o = lc->aliases[mi].owner;
				struct user *ou = o != 0 ? user_by_uid(o) : NULL;
				lv.class = LOCAL_CLASS_ALIAS;
				lv.cred = rights(lc, ou);
				lv.owner = o;
				lv.alias = name;
				struct token_ctx tc = {.job = job, .lv = &lv};
				int n = local_expand_tokens(value, LOCAL_EXPAND_MAX, deliver_token, &tc);
				if (n < 0)
					fail(job, to, "5.3.0", "too many destinations for alias %s", name);
				else if (n == 0)
					fail(job, to, "5.3.5", "alias %s has an empty value", name);
				user_free(ou);
				sb_free(&owner);
			}
			free(name);
			free(value);
			free(base);
			goto out;
		}
	}

	struct user *u = user_get(base);
	if (u == NULL && (strcmp(base, "postmaster") == 0 || strcmp(base, "abuse") == 0) &&
	    !(flags & NO_ALIAS) && depth <= LOCAL_EXPAND_DEPTH) {
		/* Role accounts must never bounce (RFC 5321 4.5.1, RFC 2142):
		 * without an alias or a user of that name they go to root, as
		 * the aliases file every Postfix install ships would send them. */
		struct strbuf root;
		sb_init(&root, MAP_KEY_MAX);
		sb_printf(&root, "root@%s", domain);
		struct level role = lv;
		role.alias = base;
		role.class = LOCAL_CLASS_ALIAS;
		deliver_address(job, root.s, &role, LOCAL_ONLY);
		sb_free(&root);
		free(base);
		goto out;
	}
	if (u == NULL) {
		fail(job, to, "5.1.1", "unknown user: \"%s\"", local.s);
		free(base);
		goto out;
	}
	lv.user = u;
	lv.ctx_user = u->name;
	if (!(flags & NO_FORWARD) && try_forward(job, &lv, u) != 0) {
		user_free(u);
		free(base);
		goto out;
	}
	/* The mailbox, as the user; for the spool directory also with its
	 * group when it is group-writable (Debian: root:mail 2775). */
	struct local_cred cred = {.uid = u->uid, .gid = u->gid, .user = u->name,
	                          .extra_gid = (gid_t)-1};
	struct stat sb;
	if (!*lc->home_mailbox && !*lc->mailbox_command && stat(lc->spool_dir, &sb) == 0 &&
	    (sb.st_mode & S_IWGRP) && !(sb.st_mode & S_IWOTH))
		cred.extra_gid = sb.st_gid;
	/* mailbox_command never runs as root (postconf(5)): default_privs. */
	if (*lc->mailbox_command && u->uid == 0)
		cred = rights(lc, NULL);
	lv.cred = cred;
	leaf(job, &lv, LOCAL_LEAF_MAILBOX, u->name, cred, u);
	user_free(u);
	free(base);
out:
	sb_free(&qual);
	sb_free(&local);
}

void local_expand_rcpt(struct local_job *job)
{
	const struct local_rcpt *r = &job->req->rcpt[job->idx];
	job->rank = 0;
	job->nleaves = 0;
	local_status_set(&job->result, "4.3.0", "no delivery was made");
	job->seen = ht_new();
	int seen = local_copy_seen(&job->content, r->addr);
	if (seen < 0) {
		fail(job, r->addr, "4.3.0", "cannot read queue file: %s", strerror(errno));
	} else if (seen > 0) {
		fail(job, r->addr, "5.4.6", "mail forwarding loop for %s", r->addr);
	} else {
		deliver_address(job, r->addr, NULL, 0);
	}
	ht_free(job->seen, NULL);
	job->seen = NULL;
}
