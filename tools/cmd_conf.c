/*
 * cmd_conf.c - "postern conf", the postconf(1) work-alike: show
 * parameters (all, -n non-default, -d defaults), raw or expanded (-x),
 * with or without names (-h), map types (-m) and master.cf (-M, -F, -P).
 * Output matches postconf byte for byte for the parameters we know.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfguse.h"
#include "cmds.h"
#include "log.h"
#include "map.h"
#include "mastercf.h"
#include "strbuf.h"
#include "xalloc.h"

#define CONF_NONDEFAULT 0x01
#define CONF_DEFAULTS   0x02
#define CONF_VALUES     0x04
#define CONF_EXPAND     0x08
#define CONF_NAMES      0x10
#define CONF_FOLD       0x20

struct conf_ctx {
	struct cfg *c;        /* main.cf as read */
	struct cfg *defaults; /* defaults only, for -d */
	int flags;
	const char *mainpath;
};

/* With -f, postconf breaks lines longer than this before a word. */
#define FOLD_WIDTH 80

/*
 * postconf prints values with runs of white space folded to one space;
 * -f also breaks long lines, continuing them with four spaces.
 */
static void print_value(const char *name, const char *value, int flags)
{
	struct strbuf sb;
	size_t line_start = 0;

	if (flags & CONF_NAMES) {
		printf("%s\n", name);
		return;
	}
	sb_init(&sb, 0);
	if (!(flags & CONF_VALUES))
		sb_printf(&sb, "%s =", name);
	bool first = true;
	for (const char *p = value + strspn(value, " \t\r\n"); *p;) {
		size_t n = strcspn(p, " \t\r\n");
		bool lead = first && (flags & CONF_VALUES);
		if (!lead && (flags & CONF_FOLD) && !first &&
		    sb.len - line_start + 1 + n > FOLD_WIDTH) {
			sb_adds(&sb, "\n   ");
			line_start = sb.len - 3;
		}
		if (!lead)
			sb_addc(&sb, ' ');
		sb_add(&sb, p, n);
		first = false;
		p += n;
		p += strspn(p, " \t\r\n");
	}
	printf("%s\n", sb.s);
	sb_free(&sb);
}

static void undef_warning(void *arg, const char *name)
{
	struct conf_ctx *x = arg;
	log_warn("%s: undefined parameter: %s", x->mainpath, name);
}

static void show(struct conf_ctx *x, const char *name)
{
	struct cfg *c = (x->flags & CONF_DEFAULTS) ? x->defaults : x->c;
	const char *raw = cfg_raw(c, name);
	if (raw == NULL)
		raw = "";
	if (x->flags & CONF_EXPAND) {
		char err[512];
		char *v = cfg_expand(c, raw, undef_warning, x, err, sizeof(err));
		if (err[0])
			log_warn("%s: %s: %s", x->mainpath, name, err);
		print_value(name, v, x->flags);
		free(v);
	} else {
		print_value(name, raw, x->flags);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct namelist {
	const char **v;
	size_t n, cap;
};

static void nl_add(struct namelist *nl, const char *name)
{
	if (nl->n == nl->cap) {
		nl->cap = nl->cap ? nl->cap * 2 : 256;
		nl->v = xreallocarray(nl->v, nl->cap, sizeof(*nl->v));
	}
	nl->v[nl->n++] = name;
}

static void add_user_defined(void *arg, const char *name)
{
	nl_add(arg, name);
}

static void warn_unused(struct conf_ctx *x, const struct cfguse *u)
{
	for (size_t i = 0; i < cfg_count(x->c); i++) {
		const char *name = cfg_name_at(x->c, i);
		if (!cfguse_is_used(u, name))
			log_warn("%s: unused parameter: %s=%s", x->mainpath, name,
			         cfg_raw(x->c, name));
	}
}

static int show_maps(void)
{
	struct namelist nl = {0};
	for (const char *const *p = map_type_names(); *p; p++)
		nl_add(&nl, *p);
	qsort(nl.v, nl.n, sizeof(*nl.v), cmp_str);
	for (size_t i = 0; i < nl.n; i++)
		printf("%s\n", nl.v[i]);
	free(nl.v);
	return 0;
}

/* As postconf: a broken value of any parameter in use is fatal,
 * whatever is asked for. */
static bool values_expand(struct conf_ctx *x, const struct cfguse *u)
{
	for (size_t i = 0; i < cfg_count(x->c); i++) {
		const char *name = cfg_name_at(x->c, i);
		char err[512];
		if (!cfguse_is_used(u, name))
			continue;
		free(cfg_expand(x->c, cfg_raw(x->c, name), NULL, NULL, err, sizeof(err)));
		if (err[0]) {
			log_error("%s: %s: %s", x->mainpath, name, err);
			return false;
		}
	}
	return true;
}

static void show_named(struct conf_ctx *x, const struct cfguse *u,
                       char **names, int n)
{
	for (int i = 0; i < n; i++) {
		if (!cfguse_is_used(u, names[i])) {
			log_warn("%s: unknown parameter", names[i]);
			continue;
		}
		if ((x->flags & CONF_NONDEFAULT) && !cfg_is_set(x->c, names[i]))
			continue;
		show(x, names[i]);
	}
}

static void show_all(struct conf_ctx *x, const struct cfguse *u)
{
	struct namelist nl = {0};
	struct cfg *c = x->c;
	if (x->flags & CONF_NONDEFAULT) {
		for (size_t i = 0; i < cfg_count(c); i++)
			if (cfguse_is_used(u, cfg_name_at(c, i)))
				nl_add(&nl, cfg_name_at(c, i));
		/* Like postconf, -c DIR is a setting of its own. */
		if (!cfg_is_set(c, "config_directory") &&
		    strcmp(cfg_config_dir(c), POSTERN_SYSCONFDIR) != 0)
			nl_add(&nl, "config_directory");
	} else {
		size_t n;
		const struct cfg_param *t = cfg_param_table(&n);
		for (size_t i = 0; i < n; i++)
			nl_add(&nl, t[i].name);
		if (!(x->flags & CONF_DEFAULTS))
			cfguse_each_user_defined(u, add_user_defined, &nl);
	}
	qsort(nl.v, nl.n, sizeof(*nl.v), cmp_str);
	if ((x->flags & CONF_NONDEFAULT) && !cfg_is_set(c, "config_directory"))
		cfg_set(c, "config_directory", cfg_config_dir(c), NULL, 0);
	for (size_t i = 0; i < nl.n; i++)
		show(x, nl.v[i]);
	free(nl.v);
}

int cmd_conf(int argc, char **argv)
{
	const char *dir = NULL;
	int flags = 0, opt, mode = 0;
	static const char usage_text[] =
		"postern conf [-c DIR] [-n | -d] [-h | -H] [-f] [-x] [-m] [-M | -F | -P] [name ...]";

	while ((opt = getopt(argc, argv, "c:ndhHfxmMFP")) != -1) {
		switch (opt) {
		case 'c': dir = optarg; break;
		case 'n': flags |= CONF_NONDEFAULT; break;
		case 'd': flags |= CONF_DEFAULTS; break;
		case 'h': flags |= CONF_VALUES; break;
		case 'H': flags |= CONF_NAMES; break;
		case 'f': flags |= CONF_FOLD; break;
		case 'x': flags |= CONF_EXPAND; break;
		case 'm':
		case 'M':
		case 'F':
		case 'P': mode = opt; break;
		default: return cmd_usage(usage_text);
		}
	}
	if ((flags & CONF_NONDEFAULT) && (flags & CONF_DEFAULTS))
		return cmd_usage(usage_text);
	if (mode == 'm')
		return show_maps();

	struct cfg *c = cfg_load(dir, NULL, true);
	if (c == NULL)
		return 1;
	struct strbuf mpath;
	sb_init(&mpath, 0);
	sb_printf(&mpath, "%s/master.cf", cfg_config_dir(c));
	/* master.cf matters only for -M/-F/-P and $name references in -o. */
	bool want_master = mode == 'M' || mode == 'F' || mode == 'P';
	struct mastercf *m = want_master || access(mpath.s, F_OK) == 0 ?
	                     mastercf_load(mpath.s, NULL) : NULL;
	if (mode == 'M' || mode == 'F' || mode == 'P') {
		int rc = 1;
		char err[256];
		enum mcf_print pm = mode == 'M' ? MCF_PRINT_SERVICES :
		                    mode == 'F' ? MCF_PRINT_FIELDS : MCF_PRINT_PARAMS;
		unsigned pf = (flags & CONF_VALUES ? MCF_PF_VALUE_ONLY : 0) |
		              (flags & CONF_NAMES ? MCF_PF_NAME_ONLY : 0) |
		              (flags & CONF_FOLD ? MCF_PF_FOLD : 0);
		if (m != NULL) {
			rc = mastercf_print(stdout, m, pm, pf, argv + optind,
			                    (size_t)(argc - optind), NULL, err, sizeof(err));
			if (rc != 0)
				log_error("%s", err);
			rc = rc ? 1 : 0;
		}
		mastercf_free(m);
		sb_free(&mpath);
		cfg_free(c);
		return rc;
	}

	struct conf_ctx x = {.c = c, .flags = flags};
	struct strbuf mainpath;
	sb_init(&mainpath, 0);
	sb_printf(&mainpath, "%s/main.cf", cfg_config_dir(c));
	x.mainpath = mainpath.s;
	/* Defaults are expanded against defaults alone, as postconf -d does;
	 * only the config directory carries over. */
	x.defaults = cfg_load_text("", 0, NULL, NULL);
	cfg_set(x.defaults, "config_directory", cfg_config_dir(c), NULL, 0);
	struct cfguse *u = cfguse_compute(c, m);

	int rc = 0;
	if (!(flags & CONF_DEFAULTS) && !values_expand(&x, u))
		rc = 1;
	else if (optind < argc)
		show_named(&x, u, argv + optind, argc - optind);
	else
		show_all(&x, u);
	if (rc == 0 && !(flags & CONF_DEFAULTS))
		warn_unused(&x, u);
	cfguse_free(u);
	mastercf_free(m);
	cfg_free(x.defaults);
	cfg_free(c);
	sb_free(&mainpath);
	sb_free(&mpath);
	return rc;
}
