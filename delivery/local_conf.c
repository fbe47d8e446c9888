/*
 * local_conf.c - configuration of the local agent: main.cf parameters,
 * default_privs, the alias tables (opened as root at start-up, like
 * every map).  Runs in the local agent's main process before it serves
 * any request.  Input: main.cf and the passwd database (trusted).
 */
#include "local_conf.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "map.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

static char **split(const char *name, const char *value)
{
	char **items;
	char err[256];
	if (strlist_split(value, NULL, MAP_SPEC_ITEMS_MAX * 16, &items, err, sizeof(err)) < 0)
		log_fatal("%s: %s", name, err);
	return items;
}

static int classes(const char *name, const char *value)
{
	char **items = split(name, value);
	int m = 0;
	for (char **p = items; *p; p++) {
		if (strcasecmp(*p, "alias") == 0)
			m |= LOCAL_CLASS_ALIAS;
		else if (strcasecmp(*p, "forward") == 0)
			m |= LOCAL_CLASS_FORWARD;
		else if (strcasecmp(*p, "include") == 0)
			m |= LOCAL_CLASS_INCLUDE;
		else
			log_fatal("%s: unknown class \"%s\"", name, *p);
	}
	strlist_free(items);
	return m;
}

static int delivered_classes(const char *value)
{
	char **items = split("prepend_delivered_header", value);
	int m = 0;
	for (char **p = items; *p; p++) {
		if (strcasecmp(*p, "command") == 0)
			m |= LOCAL_DELIV_COMMAND;
		else if (strcasecmp(*p, "file") == 0)
			m |= LOCAL_DELIV_FILE;
		else if (strcasecmp(*p, "forward") == 0)
			m |= LOCAL_DELIV_FORWARD;
		else
			log_fatal("prepend_delivered_header: unknown class \"%s\"", *p);
	}
	strlist_free(items);
	return m;
}

/* The file that holds an opened table: its owner and modification time. */
static void map_file(const struct map *m, uid_t *uid, struct timespec *mtime)
{
	struct stat sb;
	struct strbuf path;
	*uid = 0;
	memset(mtime, 0, sizeof(*mtime));
	sb_init(&path, 0);
	sb_printf(&path, "%s.db", m->name);
	if (stat(path.s, &sb) == 0 || stat(m->name, &sb) == 0) {
		*uid = sb.st_uid;
		*mtime = sb.st_mtim;
	}
	sb_free(&path);
}

static bool open_one(struct local_alias_map *a, const char *spec)
{
	char err[512];
	struct map *m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL) {
		log_warn("alias_maps: %s: %s", spec, err);
		return false;
	}
	a->map = m;
	map_file(m, &a->owner, &a->mtime);
	return true;
}

void local_conf_refresh(struct local_conf *lc)
{
	for (size_t i = 0; i < lc->naliases; i++) {
		struct local_alias_map *a = &lc->aliases[i];
		if (a->map != NULL) {
			uid_t uid;
			struct timespec t;
			map_file(a->map, &uid, &t);
			if (t.tv_sec == a->mtime.tv_sec && t.tv_nsec == a->mtime.tv_nsec)
				continue;
		}
		struct local_alias_map fresh = {.spec = a->spec};
		if (open_one(&fresh, a->spec)) {
			log_info("alias table %s (re-)opened", a->spec);
			if (a->map != NULL)
				map_close(a->map);
			*a = fresh;
		}
	}
}

static void open_aliases(struct local_conf *lc)
{
	char **items = split("alias_maps", cfg_get(lc->cfg, "alias_maps"));
	size_t n = 0;
	while (items[n])
		n++;
	lc->aliases = xcalloc(n + 1, sizeof(*lc->aliases));
	for (size_t i = 0; i < n; i++) {
		/* A table that cannot be opened stays in the list without a map:
		 * its lookups fail, so mail is deferred rather than delivered
		 * past an alias, and it is tried again on the next connection. */
		struct local_alias_map *a = &lc->aliases[lc->naliases++];
		a->spec = xstrdup(items[i]);
		open_one(a, items[i]);
	}
	strlist_free(items);
}

void local_conf_load(struct local_conf *lc, struct cfg *cfg, const char *config_dir)
{
	memset(lc, 0, sizeof(*lc));
	lc->cfg = cfg;
	lc->config_dir = config_dir;
	lc->myorigin = cfg_get(cfg, "myorigin");
	lc->mydestination = split("mydestination", cfg_get(cfg, "mydestination"));
	for (char **p = lc->mydestination; *p; p++) {
		if (strchr(*p, ':') != NULL || **p == '/')
			log_warn("mydestination: table \"%s\" is not supported by the local "
			         "agent; only domain names are", *p);
		for (char *q = *p; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	}
	lc->delimiters = cfg_get(cfg, "recipient_delimiter");
	lc->allow_commands = classes("allow_mail_to_commands",
	                             cfg_get(cfg, "allow_mail_to_commands"));
	lc->allow_files = classes("allow_mail_to_files", cfg_get(cfg, "allow_mail_to_files"));
	lc->prepend_delivered = delivered_classes(cfg_get(cfg, "prepend_delivered_header"));
	const char *dp = cfg_get(cfg, "default_privs");
	struct passwd *pw = getpwnam(dp);
	if (pw == NULL)
		log_fatal("default_privs: unknown user \"%s\"", dp);
	if (pw->pw_uid == 0)
		log_fatal("default_privs: \"%s\" is a privileged user", dp);
	lc->default_uid = pw->pw_uid;
	lc->default_gid = pw->pw_gid;
	lc->forward_path = cfg_raw(cfg, "forward_path");
	lc->home_mailbox = cfg_get(cfg, "home_mailbox");
	lc->spool_dir = cfg_get(cfg, "mail_spool_directory");
	/* postconf(5): not subjected to $name substitutions, so that shell
	 * syntax such as "$EXTENSION" reaches the shell. */
	lc->mailbox_command = cfg_raw(cfg, "mailbox_command");
	lc->mailbox_transport = cfg_get(cfg, "mailbox_transport");
	if (*cfg_get(cfg, "mailbox_transport_maps") || *cfg_get(cfg, "mailbox_command_maps"))
		log_warn("mailbox_transport_maps and mailbox_command_maps are not supported "
		         "yet and are ignored");
	lc->command_shell = cfg_get(cfg, "local_command_shell");
	lc->cmd_filter = cfg_get(cfg, "command_expansion_filter");
	lc->fwd_filter = cfg_get(cfg, "forward_expansion_filter");
	lc->export_env = split("export_environment", cfg_get(cfg, "export_environment"));
	lc->command_time_limit = cfg_get_time(cfg, "command_time_limit");
	if (lc->command_time_limit <= 0)
		lc->command_time_limit = 1000;
	lc->owner_request_special = cfg_get_bool(cfg, "owner_request_special");
	lc->enable_orig = cfg_get_bool(cfg, "enable_original_recipient");
	if (!local_mbox_parse_locks(cfg_get(cfg, "mailbox_delivery_lock"), &lc->mbox.locks))
		log_fatal("mailbox_delivery_lock: unknown method in \"%s\"",
		          cfg_get(cfg, "mailbox_delivery_lock"));
	lc->mbox.size_limit = cfg_get_long(cfg, "mailbox_size_limit");
	lc->mbox.lock_attempts = (int)cfg_get_long(cfg, "deliver_lock_attempts");
	if (lc->mbox.lock_attempts <= 0)
		lc->mbox.lock_attempts = 1;
	lc->mbox.lock_delay = cfg_get_time(cfg, "deliver_lock_delay");
	lc->mbox.stale_lock_time = cfg_get_time(cfg, "stale_lock_time");
	long msl = cfg_get_long(cfg, "message_size_limit");
	if (lc->mbox.size_limit > 0 && msl > lc->mbox.size_limit)
		log_warn("mailbox_size_limit (%ld) is smaller than message_size_limit (%ld)",
		         lc->mbox.size_limit, msl);
	open_aliases(lc);

	lc->peer_uid = getuid();
	if (geteuid() == 0) {
		const char *owner = cfg_get(cfg, "mail_owner");
		struct passwd *ow = getpwnam(owner);
		if (ow == NULL)
			log_fatal("mail_owner: unknown user \"%s\"", owner);
		lc->peer_uid = ow->pw_uid;
	}
}

bool local_conf_is_local(const struct local_conf *lc, const char *domain)
{
	size_t n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--;
	for (char **p = lc->mydestination; *p; p++)
		if (strlen(*p) == n && strncasecmp(*p, domain, n) == 0)
			return true;
	return false;
}

void local_conf_filter(char *s, const char *filter)
{
	for (; *s; s++)
		if (strchr(filter, *s) == NULL)
			*s = '_';
}

void local_conf_free(struct local_conf *lc)
{
	for (size_t i = 0; i < lc->naliases; i++) {
		if (lc->aliases[i].map != NULL)
			map_close(lc->aliases[i].map);
		free(lc->aliases[i].spec);
	}
	free(lc->aliases);
	strlist_free(lc->mydestination);
	strlist_free(lc->export_env);
	memset(lc, 0, sizeof(*lc));
}
