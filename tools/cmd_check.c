/*
 * cmd_check.c - "postern check": load main.cf and master.cf and report
 * every problem with file and line, one per line as
 * "file:line: severity: text".  Exit 0 when clean, 1 with findings.
 * Runs in the postern command as the invoking user.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bounds.h"
#include "cfg.h"
#include "cfguse.h"
#include "cmds.h"
#include "diag.h"
#include "dns.h"
#include "map.h"
#include "mastercf.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

static const char *const sev_names[] = {"error", "warning", "notice"};

struct checker {
	struct diag diag;
	struct cfg *c;
	const char *mainpath;
	/* Location of the value being checked, for findings from helpers. */
	const char *file;
	int line;
	const char *param;
	bool quiet_notices;
};

static void emit(void *arg, const char *file, int line, enum diag_sev sev,
                 const char *text)
{
	struct checker *k = arg;
	if (sev == DIAG_NOTICE && k->quiet_notices)
		return;
	if (file == NULL)
		file = k->mainpath;
	if (line > 0)
		printf("%s:%d: %s: %s\n", file, line, sev_names[sev], text);
	else
		printf("%s: %s: %s\n", file, sev_names[sev], text);
}

/*
 * local(8) expands these parameters at delivery time, with per-recipient
 * names ($home, $user, ...) that are no main.cf parameters.
 */
static bool delivery_time_name(const char *param, const char *name)
{
	static const char *const params[] = {"forward_path", "mailbox_command",
	                                     "luser_relay"};
	static const char *const names[] = {"user", "home", "shell", "recipient",
	                                    "extension", "domain", "local",
	                                    "mailbox", "recipient_delimiter"};
	bool p = false;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		p = p || strcmp(param, params[i]) == 0;
	for (size_t i = 0; p && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

static void undef_ref(void *arg, const char *name)
{
	struct checker *k = arg;
	if (delivery_time_name(k->param, name))
		return;
	diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
	            "%s: undefined parameter: $%s", k->param, name);
}

/* A file-backed table: present, and its .db not older than the source. */
static void check_map_file(struct checker *k, const char *type, const char *name,
                           int props)
{
	struct stat src, db;
	bool have_src = stat(name, &src) == 0;
	if (props & MAP_P_DB) {
		struct strbuf dbpath;
		sb_init(&dbpath, 0);
		sb_printf(&dbpath, "%s.db", name);
		if (stat(dbpath.s, &db) != 0) {
			diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
			            "%s: table %s:%s: %s: %s%s", k->param, type, name,
			            dbpath.s, strerror(errno),
			            have_src ? " (run \"postern map\" on it)" : "");
		} else if (have_src && src.st_mtime > db.st_mtime) {
			diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
			            "%s: database %s is older than source file %s",
			            k->param, dbpath.s, name);
		}
		sb_free(&dbpath);
	} else if (!have_src) {
		diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
		            "%s: table %s:%s: %s", k->param, type, name,
		            strerror(errno));
	}
}

/*
 * One "type:name" item.  Composite specs (unionmap:{...}) are opened,
 * which checks their members; file tables are checked without opening so
 * a missing table is one clear line.
 */
static void check_map_spec(struct checker *k, const char *spec, bool must_be_map)
{
	const char *colon = strchr(spec, ':');
	if (colon == NULL || colon == spec) {
		if (must_be_map)
			diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
			            "%s: need \"type:name\" instead of \"%s\"", k->param,
			            spec);
		return;
	}
	char type[64];
	size_t tl = (size_t)(colon - spec);
	if (tl >= sizeof(type))
		return;
	memcpy(type, spec, tl);
	type[tl] = '\0';
	const struct map_ops *ops = map_type_find(type);
	if (ops == NULL) {
		/* In a restriction list "word:..." may be something else. */
		if (must_be_map)
			diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
			            "%s: unsupported dictionary type: %s", k->param, type);
		return;
	}
	if (ops->props & MAP_P_FILE) {
		check_map_file(k, type, colon + 1, ops->props);
		if (!(ops->props & MAP_P_DB)) {
			char err[512];
			struct map *m = map_open(spec, 0, err, sizeof(err));
			if (m == NULL)
				diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
				            "%s: %s", k->param, err);
			map_close(m);
		}
		return;
	}
	char err[512];
	struct map *m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL)
		diag_report(&k->diag, k->file, k->line, DIAG_ERROR, "%s: %s",
		            k->param, err);
	map_close(m);
}

static bool is_access_check(const char *word)
{
	size_t n = strlen(word);
	return strncmp(word, "check_", 6) == 0 && n > 13 &&
	       strcmp(word + n - 7, "_access") == 0;
}

static void check_list(struct checker *k, const char *value, enum cfg_type type)
{
	char **items = NULL, err[256];
	int n = strlist_split(value, NULL, 100000, &items, err, sizeof(err));
	if (n < 0) {
		diag_report(&k->diag, k->file, k->line, DIAG_ERROR, "%s: %s",
		            k->param, err);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (type == CT_MAPS) {
			check_map_spec(k, items[i], true);
		} else if (type == CT_RESTR && i + 1 < n && is_access_check(items[i])) {
			/* check_*_access takes a table; other arguments (policy
			 * service addresses, DNSBL zones) are not tables. */
			check_map_spec(k, items[++i], true);
		}
	}
	strlist_free(items);
}

/* The value of name (already expanded) against its type. */
static void check_value(struct checker *k, const struct cfg_param *p,
                        const char *value)
{
	bool b;
	long l;
	switch (p->type) {
	case CT_BOOL:
		if (!cfg_parse_bool(value, &b))
			diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
			            "%s: bad boolean value \"%s\" (specify yes or no)",
			            p->name, value);
		break;
	case CT_INT:
	case CT_LONG:
		if (!cfg_parse_long(value, &l) || (p->type == CT_INT &&
		                                   (l > 2147483647L || l < -2147483647L)))
			diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
			            "%s: bad numerical value \"%s\"", p->name, value);
		break;
	case CT_TIME:
		if (!cfg_parse_time(value, cfg_time_unit(k->c, p->name), &l))
			diag_report(&k->diag, k->file, k->line, DIAG_ERROR,
			            "%s: bad time value \"%s\" (a number with an optional "
			            "unit s, m, h, d or w)",
			            p->name, value);
		break;
	case CT_LIST:
	case CT_MAPS:
	case CT_RESTR:
		check_list(k, value, p->type);
		break;
	case CT_STR:
		break;
	}
}

static void check_param(struct checker *k, const struct cfguse *u,
                        const char *name, const char *raw)
{
	const struct cfg_param *p = cfg_param_find(name);
	k->param = name;
	if (p == NULL) {
		if (!cfguse_is_used(u, name))
			diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
			            "unused parameter: %s=%s (not a Postfix or postern "
			            "parameter, and not referenced as $%s)",
			            name, raw, name);
		return;
	}
	if (p->users == 0)
		diag_report(&k->diag, k->file, k->line, DIAG_WARNING,
		            "%s: not yet implemented by postern (a Postfix parameter; "
		            "the setting has no effect)",
		            name);
	char err[512];
	char *value = cfg_expand(k->c, raw, undef_ref, k, err, sizeof(err));
	if (err[0])
		diag_report(&k->diag, k->file, k->line, DIAG_ERROR, "%s: %s", name, err);
	else
		check_value(k, p, value);
	if (!err[0] && strncmp(name, "postern_dns_", 12) == 0 &&
	    !dns_check_param(name, value, err, sizeof(err)))
		diag_report(&k->diag, k->file, k->line, DIAG_ERROR, "%s: %s", name, err);
	free(value);
}

static void check_main(struct checker *k, const struct cfguse *u)
{
	for (size_t i = 0; i < cfg_count(k->c); i++) {
		const char *name = cfg_name_at(k->c, i);
		cfg_origin(k->c, name, &k->file, &k->line);
		check_param(k, u, name, cfg_raw(k->c, name));
	}
}

static void check_master(struct checker *k, const struct cfguse *u,
                         const struct mastercf *m)
{
	for (size_t i = 0; i < m->nservices; i++) {
		const struct mcf_service *s = &m->services[i];
		k->file = s->file;
		k->line = s->line;
		if (s->superseded)
			continue;
		const char *why = "";
		(void)mastercf_classify(s->command, &why);
		const char *type = mastercf_type_name(s->type);
		if (s->cls == MCF_CLASS_UNSUPPORTED)
			diag_report(&k->diag, s->file, s->line, DIAG_WARNING,
			            "service %s/%s: %s", s->name, type, why);
		else if (s->cls != MCF_CLASS_PROGRAM)
			diag_report(&k->diag, s->file, s->line, DIAG_NOTICE,
			            "service %s/%s: %s", s->name, type, why);
		/* -o values are main.cf settings in the service's context. */
		for (size_t j = 0; j < s->noverrides; j++) {
			const struct mcf_override *o = &s->overrides[j];
			check_param(k, u, o->name, o->value);
		}
	}
}

int cmd_check(int argc, char **argv)
{
	const char *dir = NULL;
	int opt;
	struct checker k = {.diag = {.emit = emit}};
	k.diag.arg = &k;

	while ((opt = getopt(argc, argv, "c:q")) != -1) {
		switch (opt) {
		case 'c': dir = optarg; break;
		case 'q': k.quiet_notices = true; break;
		default: return cmd_usage("postern check [-c DIR] [-q]");
		}
	}
	if (optind != argc)
		return cmd_usage("postern check [-c DIR] [-q]");

	k.c = cfg_load(dir, &k.diag, false);
	if (k.c == NULL)
		return 1;
	struct strbuf mainpath, mpath;
	sb_init(&mainpath, 0);
	sb_init(&mpath, 0);
	sb_printf(&mainpath, "%s/main.cf", cfg_config_dir(k.c));
	sb_printf(&mpath, "%s/master.cf", cfg_config_dir(k.c));
	k.mainpath = mainpath.s;

	struct mastercf *m = mastercf_load(mpath.s, &k.diag);
	struct cfguse *u = cfguse_compute(k.c, m);
	check_main(&k, u);
	if (m != NULL)
		check_master(&k, u, m);
	cfguse_free(u);
	mastercf_free(m);
	cfg_free(k.c);
	sb_free(&mainpath);
	sb_free(&mpath);
	return (k.diag.count[DIAG_ERROR] + k.diag.count[DIAG_WARNING]) ? 1 : 0;
}
