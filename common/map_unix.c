/*
 * map_unix.c - the unix: and proxy: map types (see map_unix.h).  Runs
 * in whichever process opens them, before privileges are dropped
 * (smtpd for local_recipient_maps).  Input: the system's user and group
 * databases through getpwent()/getgrent(), trusted; the entry count is
 * capped by MAP_MEM_ENTRIES_MAX.  Keys are exact (not folded), as
 * Postfix's unix: table: user names are case-sensitive.
 */
#include "map_unix.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "htable.h"
#include "strbuf.h"
#include "xalloc.h"

struct unixmap {
	struct map m;
	struct htable *tab; /* name -> "passwd line" value */
};

static bool put(struct unixmap *u, const char *name, char *value, char *err, size_t errlen)
{
	if (ht_count(u->tab) >= MAP_MEM_ENTRIES_MAX) {
		snprintf(err, errlen, "unix:%s: more than %d entries", u->m.name,
		         MAP_MEM_ENTRIES_MAX);
		free(value);
		return false;
	}
	if (strlen(name) > MAP_KEY_MAX || ht_get(u->tab, name) != NULL) {
		free(value); /* the first entry of a name wins, as getpwnam() */
		return true;
	}
	ht_put(u->tab, name, value);
	return true;
}

static void unix_close(struct map *m)
{
	struct unixmap *u = (struct unixmap *)m;
	ht_free(u->tab, free);
	map_free(m);
}

static struct map *unix_open(const char *name, int flags, char *err, size_t errlen)
{
	bool pw = strcmp(name, "passwd.byname") == 0;
	bool gr = strcmp(name, "group.byname") == 0;
	if (!pw && !gr) {
		snprintf(err, errlen, "unknown table: unix:%s", name);
		return NULL;
	}
	flags &= ~MAP_F_FOLD;
	struct unixmap *u = map_alloc(sizeof(*u), &map_unix_ops, name, flags);
	u->tab = ht_new();
	bool ok = true;
	struct strbuf sb;
	sb_init(&sb, MAP_VALUE_MAX);
	if (pw) {
		struct passwd *p;
		setpwent();
		while (ok && (p = getpwent()) != NULL) {
			sb_reset(&sb);
			if (!sb_printf(&sb, "%s:%s:%ld:%ld:%s:%s:%s", p->pw_name, p->pw_passwd,
			               (long)p->pw_uid, (long)p->pw_gid, p->pw_gecos, p->pw_dir,
			               p->pw_shell))
				continue;
			ok = put(u, p->pw_name, xstrdup(sb.s), err, errlen);
		}
		endpwent();
	} else {
		struct group *g;
		setgrent();
		while (ok && (g = getgrent()) != NULL) {
			sb_reset(&sb);
			bool fits = sb_printf(&sb, "%s:%s:%ld:", g->gr_name, g->gr_passwd,
			                      (long)g->gr_gid);
			for (char **mem = g->gr_mem; fits && mem && *mem; mem++)
				fits = sb_printf(&sb, "%s%s", mem == g->gr_mem ? "" : ",", *mem);
			if (fits)
				ok = put(u, g->gr_name, xstrdup(sb.s), err, errlen);
		}
		endgrent();
	}
	sb_free(&sb);
	if (!ok) {
		unix_close(&u->m);
		return NULL;
	}
	return &u->m;
}

static int unix_lookup(struct map *m, const char *key, const char **value)
{
	struct unixmap *u = (struct unixmap *)m;
	const char *v = ht_get(u->tab, key);
	if (v == NULL)
		return MAP_NOTFOUND;
	*value = v;
	return MAP_FOUND;
}

const struct map_ops map_unix_ops = {
	.type = "unix",
	.props = MAP_P_FIXED,
	.open = unix_open,
	.lookup = unix_lookup,
	.close = unix_close,
};

/* proxy:TYPE:NAME is TYPE:NAME opened here and now. */
static struct map *proxy_open(const char *name, int flags, char *err, size_t errlen)
{
	if (strncmp(name, "proxy:", 6) == 0) {
		snprintf(err, errlen, "proxy:%s: nested proxy map", name);
		return NULL;
	}
	return map_open(name, flags, err, errlen);
}

const struct map_ops map_proxy_ops = {
	.type = "proxy",
	.props = 0,
	.open = proxy_open,
};
