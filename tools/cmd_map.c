/*
 * cmd_map.c - "postern map" (like postmap(1)) and, through
 * maptool_main(), "postern alias" (like postalias(1)/newaliases): build
 * an indexed table from its source file, query, list, delete and add
 * entries.  Runs as the invoking user.  Untrusted input: table source
 * files (parsed by mapsrc with its limits), existing .db files (checked
 * by the backend) and keys or entries read from standard input, each
 * line bounded by MAP_LINE_MAX.
 *
 * Builds never touch the live NAME.db until the new one is complete:
 * the backend writes a temporary file and map_sync() renames it into
 * place, so a source file with a bad line leaves the old table intact.
 */
#include "cmd_map.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bounds.h"
#include "cfg.h"
#include "cmds.h"
#include "log.h"
#include "map.h"
#include "mapsrc.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

enum mode { M_BUILD, M_QUERY, M_SEQ, M_DELETE, M_INCR };

struct tool {
	bool aliases;
	enum mode mode;
	const char *key;   /* -q / -d argument */
	int nul;           /* 0, 'N' or 'n' */
	bool nofold;
	int dup;           /* MAP_F_DUP_* */
	bool mode0644;     /* -p */
	bool headers, body;
	struct cfg *cfg;
	const char *deftype;
};

static const char map_usage[] =
	"postern map [-bfhinNoprsvw] [-c DIR] [-d KEY] [-q KEY] [type:]file ...";
static const char alias_usage[] =
	"postern alias [-finNoprsvw] [-c DIR] [-d KEY] [-q KEY] [[type:]file ...]";

/* "type:name", with the default type when the argument has none. */
static char *full_spec(const struct tool *t, const char *arg)
{
	if (strchr(arg, ':') != NULL)
		return xstrdup(arg);
	size_t n;
	if (!size_add(strlen(t->deftype), strlen(arg), &n) || !size_add(n, 2, &n))
		log_fatal("table name too long");
	char *s = xmalloc(n);
	snprintf(s, n, "%s:%s", t->deftype, arg);
	return s;
}

static const struct map_ops *spec_ops(const char *spec)
{
	const char *colon = strchr(spec, ':');
	char type[64];
	size_t n = (size_t)(colon - spec);
	if (n >= sizeof(type))
		return NULL;
	memcpy(type, spec, n);
	type[n] = '\0';
	return map_type_find(type);
}

static int open_flags(const struct tool *t, const struct map_ops *ops)
{
	if (ops == NULL || !(ops->props & MAP_P_DB))
		return t->nofold ? MAP_F_NOFOLD : 0; /* the type's own defaults */
	int f = t->dup;
	f |= t->nul == 'N' ? MAP_F_TRY1NULL :
	     t->nul == 'n' ? MAP_F_TRY0NULL : MAP_F_TRY0NULL | MAP_F_TRY1NULL;
	f |= t->nofold ? MAP_F_NOFOLD : MAP_F_FOLD;
	return f;
}

static struct map *open_spec(const struct tool *t, const char *spec, int extra)
{
	char err[1024];
	const struct map_ops *ops = spec_ops(spec);
	struct map *m = map_open(spec, open_flags(t, ops) | extra, err, sizeof(err));
	if (m == NULL) {
		log_error("%s", err);
		return NULL;
	}
	return m;
}

/*
 * One line of standard input without its newline, at most MAP_LINE_MAX
 * bytes; longer lines are skipped with a warning.  false at EOF.
 */
static bool read_stdin_line(struct strbuf *sb)
{
	int c;
	for (;;) {
		bool any = false, too_long = false;
		sb_reset(sb);
		while ((c = getchar()) != EOF && c != '\n') {
			any = true;
			if (!too_long && !sb_addc(sb, (char)c))
				too_long = true;
		}
		if (!any && c == EOF)
			return false;
		if (!too_long)
			return true;
		log_warn("stdin: line longer than %d bytes skipped", MAP_LINE_MAX);
	}
}

static void print_pair(const struct tool *t, const char *key, const char *value)
{
	printf("%s%s\t%s\n", key, t->aliases ? ":" : "", value);
}

/* Look key up in each table in turn; print the first hit. */
static int query_one(const struct tool *t, struct map **maps, int n,
                     const char *key, bool pair)
{
	for (int i = 0; i < n; i++) {
		const char *value;
		int r = map_lookup(maps[i], key, &value);
		if (r == MAP_ERROR) {
			log_error("%s: %s", maps[i]->spec, maps[i]->err);
			return MAP_ERROR;
		}
		if (r == MAP_FOUND) {
			if (pair)
				print_pair(t, key, value);
			else
				printf("%s\n", value);
			return MAP_FOUND;
		}
	}
	return MAP_NOTFOUND;
}

/*
 * "-q -" with -h/-b: standard input is a message; each logical header
 * line (-h, continuation lines joined with newlines) and each body line
 * (-b) is a key.
 */
static int query_message(const struct tool *t, struct map **maps, int n)
{
	struct strbuf line, hdr;
	bool in_body = false, found = false;
	sb_init(&line, MAP_LINE_MAX);
	sb_init(&hdr, MAP_LINE_MAX);
	while (read_stdin_line(&line)) {
		if (line.len > 0 && line.s[line.len - 1] == '\r')
			sb_truncate(&line, line.len - 1);
		if (!in_body) {
			bool cont = line.len > 0 && (line.s[0] == ' ' || line.s[0] == '\t');
			if (cont && hdr.len > 0) {
				if (!sb_addc(&hdr, '\n') || !sb_add(&hdr, line.s, line.len))
					log_warn("stdin: header longer than %d bytes",
					         MAP_LINE_MAX);
				continue;
			}
			if (hdr.len > 0 && t->headers &&
			    query_one(t, maps, n, hdr.s, true) == MAP_FOUND)
				found = true;
			sb_reset(&hdr);
			if (line.len == 0) {
				in_body = true;
				if (!t->body)
					break;
				continue;
			}
			sb_add(&hdr, line.s, line.len);
			continue;
		}
		if (query_one(t, maps, n, line.s, true) == MAP_FOUND)
			found = true;
	}
	if (!in_body && hdr.len > 0 && t->headers &&
	    query_one(t, maps, n, hdr.s, true) == MAP_FOUND)
		found = true;
	sb_free(&line);
	sb_free(&hdr);
	return found ? 0 : 1;
}

static int do_query(const struct tool *t, char **specs, int n)
{
	struct map **maps = xcalloc((size_t)n, sizeof(*maps));
	int status = 1;
	for (int i = 0; i < n; i++)
		if ((maps[i] = open_spec(t, specs[i], 0)) == NULL)
			goto out;
	if (strcmp(t->key, "-") != 0) {
		int r = query_one(t, maps, n, t->key, false);
		status = r == MAP_FOUND ? 0 : 1;
	} else if (t->headers || t->body) {
		status = query_message(t, maps, n);
	} else {
		struct strbuf line;
		sb_init(&line, MAP_LINE_MAX);
		while (read_stdin_line(&line))
			if (query_one(t, maps, n, line.s, true) == MAP_FOUND)
				status = 0;
		sb_free(&line);
	}
out:
	for (int i = 0; i < n; i++)
		map_close(maps[i]);
	free(maps);
	return status;
}

static int do_seq(const struct tool *t, char **specs, int n)
{
	int status = 1;
	for (int i = 0; i < n; i++) {
		struct map *m = open_spec(t, specs[i], 0);
		if (m == NULL)
			return 1;
		const char *k, *v;
		int r;
		bool first = true;
		while ((r = map_seq(m, first, &k, &v)) == MAP_FOUND) {
			print_pair(t, k, v);
			first = false;
			status = 0;
		}
		if (r == MAP_ERROR) {
			log_error("%s", m->err);
			map_close(m);
			return 1;
		}
		map_close(m);
	}
	return status;
}

static bool db_exists(const char *spec)
{
	const struct map_ops *ops = spec_ops(spec);
	if (ops == NULL || !(ops->props & MAP_P_DB))
		return true;
	const char *name = strchr(spec, ':') + 1;
	size_t n;
	if (!size_add(strlen(name), 4, &n))
		return false;
	char *path = xmalloc(n);
	snprintf(path, n, "%s.db", name);
	struct stat st;
	bool ok = stat(path, &st) == 0;
	if (!ok)
		log_error("open database %s: %s", path, strerror(errno));
	free(path);
	return ok;
}

static int do_delete(const struct tool *t, char **specs, int n)
{
	bool found = false;
	struct strbuf line;
	sb_init(&line, MAP_LINE_MAX);
	for (int i = 0; i < n; i++) {
		if (!db_exists(specs[i]))
			return 1;
		struct map *m = open_spec(t, specs[i], MAP_F_WRITE);
		if (m == NULL)
			return 1;
		bool from_stdin = strcmp(t->key, "-") == 0;
		const char *key = t->key;
		while (!from_stdin || read_stdin_line(&line)) {
			if (from_stdin)
				key = line.s;
			int r = map_delete(m, key);
			if (r == MAP_ERROR) {
				log_error("%s", m->err);
				map_close(m);
				sb_free(&line);
				return 1;
			}
			if (r == MAP_FOUND)
				found = true;
			if (!from_stdin)
				break;
		}
		int r = map_sync(m);
		if (r < 0)
			log_error("%s", m->err);
		map_close(m);
		if (r < 0) {
			sb_free(&line);
			return 1;
		}
	}
	sb_free(&line);
	return found ? 0 : 1;
}

/* Entries postalias adds to every alias database it builds. */
static bool add_alias_extras(const struct tool *t, struct map *m)
{
	char now[32];
	const char *host = cfg_get(t->cfg, "myhostname");
	int saved = m->flags;

	/* NIS map markers, stored without NUL and without case folding. */
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	m->flags = (m->flags & ~(MAP_F_TRY1NULL | MAP_F_FOLD)) | MAP_F_TRY0NULL;
	bool ok = map_update(m, "YP_LAST_MODIFIED", now) >= 0 &&
	          map_update(m, "YP_MASTER_NAME", host) >= 0;
	m->flags = saved;
	/* Sendmail's "the alias database is complete" marker. */
	return ok && map_update(m, "@", "@") >= 0;
}

/* Feed entries from a source to a map; false on a hard error. */
static bool load_entries(const struct tool *t, struct map *m, FILE *fp,
                         const char *name)
{
	struct mapsrc src;
	const char *k, *v;
	int r;
	bool ok = true;

	mapsrc_init(&src, fp, name, t->aliases ? MAPSRC_ALIASES : MAPSRC_POSTMAP);
	while ((r = mapsrc_next(&src, &k, &v)) != MAPSRC_EOF) {
		if (r == MAPSRC_SKIP) {
			log_warn("%s", src.err);
			continue;
		}
		if (r == MAPSRC_FAIL) {
			log_error("%s", src.err);
			ok = false;
			break;
		}
		if (map_update(m, k, v) < 0) {
			log_error("%s", m->err);
			ok = false;
			break;
		}
	}
	mapsrc_free(&src);
	return ok;
}

static int build_one(const struct tool *t, const char *spec)
{
	const struct map_ops *ops = spec_ops(spec);
	const char *name = strchr(spec, ':') + 1;
	if (ops == NULL || !(ops->props & MAP_P_DB)) {
		log_error("%s: cannot build a table of this type (use hash or btree)",
		          spec);
		return 1;
	}
	FILE *fp = fopen(name, "re");
	if (fp == NULL) {
		log_error("open %s: %s", name, strerror(errno));
		return 1;
	}
	struct map *m = open_spec(t, spec, MAP_F_CREATE | MAP_F_WRITE);
	if (m == NULL) {
		fclose(fp);
		return 1;
	}
	bool ok = load_entries(t, m, fp, name);
	fclose(fp);
	if (ok && t->aliases)
		ok = add_alias_extras(t, m);
	if (ok && map_sync(m) < 0) {
		log_error("%s", m->err);
		ok = false;
	}
	map_close(m); /* without a successful sync this discards the new file */
	if (!ok) {
		log_error("%s: table not updated", spec);
		return 1;
	}
	if (t->mode0644) {
		char path[4096];
		mode_t mask = umask(022);
		umask(mask);
		if (snprintf(path, sizeof(path), "%s.db", name) < (int)sizeof(path) &&
		    chmod(path, 0644 & ~mask) < 0)
			log_warn("chmod %s: %s", path, strerror(errno));
	}
	return 0;
}

static int do_incremental(const struct tool *t, char **specs, int n)
{
	struct map **maps = xcalloc((size_t)n, sizeof(*maps));
	int status = 0;
	for (int i = 0; i < n && status == 0; i++)
		if ((maps[i] = open_spec(t, specs[i], MAP_F_WRITE)) == NULL)
			status = 1;
	/* Standard input can be read once: the entries go to the first table,
	 * as with postmap -i. */
	if (status == 0 && !load_entries(t, maps[0], stdin, "stdin"))
		status = 1;
	for (int i = 0; i < n; i++) {
		if (maps[i] != NULL && status == 0 && map_sync(maps[i]) < 0) {
			log_error("%s", maps[i]->err);
			status = 1;
		}
		map_close(maps[i]);
	}
	free(maps);
	return status;
}

int maptool_main(int argc, char **argv, bool aliases)
{
	struct tool t = {.aliases = aliases, .mode = M_BUILD, .dup = MAP_F_DUP_WARN};
	const char *confdir = NULL, *usage = aliases ? alias_usage : map_usage;
	int c, modes = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, aliases ? "c:d:fiNnopq:rsvw" :
	                                         "bc:d:fhiNnopq:rsvw")) != -1) {
		switch (c) {
		case 'b': t.body = true; break;
		case 'h': t.headers = true; break;
		case 'c': confdir = optarg; break;
		case 'd': t.mode = M_DELETE; t.key = optarg; modes++; break;
		case 'q': t.mode = M_QUERY; t.key = optarg; modes++; break;
		case 's': t.mode = M_SEQ; modes++; break;
		case 'i': t.mode = M_INCR; modes++; break;
		case 'f': t.nofold = true; break;
		case 'N': t.nul = 'N'; break;
		case 'n': t.nul = 'n'; break;
		case 'r': t.dup = MAP_F_DUP_REPLACE; break;
		case 'w': t.dup = MAP_F_DUP_IGNORE; break;
		case 'p': t.mode0644 = true; break;
		case 'o': /* we never change user: nothing to keep */ break;
		case 'v': break;
		default: return cmd_usage(usage);
		}
	}
	if (modes > 1) {
		log_error("specify only one of -d, -i, -q or -s");
		return cmd_usage(usage);
	}
	if ((t.headers || t.body) && (t.mode != M_QUERY || strcmp(t.key, "-") != 0)) {
		log_error("-b and -h work only with \"-q -\"");
		return cmd_usage(usage);
	}
	t.cfg = cfg_load(confdir, NULL, true);
	if (t.cfg == NULL)
		return 1;
	t.deftype = cfg_get(t.cfg, "default_database_type");
	if (t.deftype[0] == '\0')
		t.deftype = "hash";

	int n = argc - optind;
	char **specs = NULL;
	char **owned = NULL;
	if (n == 0 && aliases && t.mode == M_BUILD) {
		/* newaliases: every table named by alias_database. */
		char err[256];
		const char *list = cfg_get(t.cfg, "alias_database");
		int k = strlist_split(list[0] ? list : "hash:/etc/aliases", NULL,
		                      MAP_SPEC_ITEMS_MAX, &owned, err, sizeof(err));
		if (k < 0) {
			log_error("alias_database: %s", err);
			cfg_free(t.cfg);
			return 1;
		}
		n = k;
		specs = xcalloc((size_t)n + 1, sizeof(*specs));
		for (int i = 0; i < n; i++)
			specs[i] = full_spec(&t, owned[i]);
	} else if (n == 0) {
		cfg_free(t.cfg);
		return cmd_usage(usage);
	} else {
		specs = xcalloc((size_t)n + 1, sizeof(*specs));
		for (int i = 0; i < n; i++)
			specs[i] = full_spec(&t, argv[optind + i]);
	}

	int status = 0;
	switch (t.mode) {
	case M_QUERY: status = do_query(&t, specs, n); break;
	case M_SEQ: status = do_seq(&t, specs, n); break;
	case M_DELETE: status = do_delete(&t, specs, n); break;
	case M_INCR: status = do_incremental(&t, specs, n); break;
	case M_BUILD:
		for (int i = 0; i < n; i++)
			if (build_one(&t, specs[i]) != 0)
				status = 1;
		break;
	}
	for (int i = 0; i < n; i++)
		free(specs[i]);
	free(specs);
	if (owned != NULL)
		strlist_free(owned);
	cfg_free(t.cfg);
	return status;
}

int cmd_map(int argc, char **argv)
{
	return maptool_main(argc, argv, false);
}
