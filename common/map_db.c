/*
 * map_db.c - hash: and btree: lookup tables on Berkeley DB 5.3, file
 * compatible with Postfix's postmap/postalias in both directions (see
 * map_db.h for the flag semantics).  Read by every daemon that uses an
 * indexed table; written by postern map/alias.  Untrusted input: the
 * .db file itself, which may be truncated or corrupt (Berkeley DB
 * reports those as errors; we pass them on naming the file), and the
 * lookup keys, bounded by MAP_KEY_MAX in map.c.
 *
 * DB_CONFIG (CVE-2017-10140): a Berkeley DB environment reads a file
 * named DB_CONFIG from its home directory, and a DB opened without an
 * environment gets a private one whose home is the current directory -
 * so a DB_CONFIG planted in whatever directory a daemon or admin runs
 * from could redirect files or change settings.  We therefore always
 * create our own private environment (DB_PRIVATE: regions in process
 * memory, no files) whose home is "/", a directory only root can write,
 * never consult DB_HOME (no DB_USE_ENVIRON*), and open the table by its
 * absolute path so the home directory has no other effect.
 */
#include "map_db.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "xalloc.h"

/* Cache sizes: small for readers (many tables per daemon), large for builds. */
#define DB_READ_CACHE   (128 * 1024)
#define DB_CREATE_CACHE (16 * 1024 * 1024)
/* Initial bucket estimate for hash tables, as postmap's files carry. */
#define DB_HASH_NELEM 4096

struct dbmap {
	struct map m;
	DB_ENV *env;
	DB *db;
	DBC *cur;
	int fd;            /* lock fd (in-place writes) or temp fd (builds) */
	char *dbname;      /* NAME.db as given, for messages */
	char *path;        /* absolute path Berkeley DB opens */
	char *final;       /* builds: absolute NAME.db to rename onto */
	bool building;
	bool committed;
	struct strbuf kbuf;
	struct strbuf vbuf;
	char bdb_msg[256]; /* last message from Berkeley DB's error callback */
};

static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct dbmap *d = env->app_private;
	(void)pfx;
	if (d != NULL)
		snprintf(d->bdb_msg, sizeof(d->bdb_msg), "%s", msg);
}

static const char *bdb_reason(struct dbmap *d, int ret)
{
	return d->bdb_msg[0] ? d->bdb_msg : db_strerror(ret);
}

static char *absolute(const char *name)
{
	if (name[0] == '/')
		return xstrdup(name);
	char *cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return NULL;
	size_t n;
	if (!size_add(strlen(cwd), strlen(name), &n) || !size_add(n, 2, &n))
		log_fatal("path name too long");
	char *p = xmalloc(n);
	snprintf(p, n, "%s/%s", cwd, name);
	free(cwd);
	return p;
}

static mode_t create_mode(const char *source)
{
	struct stat st;
	mode_t mask = umask(022);
	umask(mask);
	if (stat(source, &st) == 0)
		return (0600 | (st.st_mode & 044)) & ~mask;
	return 0644 & ~mask;
}

/*
 * Berkeley DB's own verifier is not safe on every corrupt file either:
 * a page whose type byte says "heap" sends it into a heap verifier that
 * frees memory twice (seen under ASan).  So before verifying we check
 * what it relies on: the meta page's magic number (either byte order),
 * a sane page size, and that every page carries a page type that a
 * table of this kind can contain.  Offsets are those of Berkeley DB's
 * on-disk page header, which is fixed since version 3.
 */
#define META_MAGIC_OFF    12
#define META_PAGESIZE_OFF 20
#define PAGE_TYPE_OFF     25
#define HASH_MAGIC        0x061561u
#define BTREE_MAGIC       0x053162u
/* Page types: invalid/free 0, old unsorted hash 2, btree internal 3,
 * btree leaf 5, overflow 7, hash meta 8, btree meta 9, off-page
 * duplicates 12, hash 13. */
static const unsigned char hash_pages[] = {0, 2, 7, 8, 13};
static const unsigned char btree_pages[] = {0, 3, 5, 7, 9, 12};

static uint32_t get32(const unsigned char *b, bool swap)
{
	return swap ? (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 |
	              (uint32_t)b[0] << 24
	            : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	              (uint32_t)b[3] << 24;
}

static bool pages_ok(int fd, DBTYPE type, off_t size)
{
	unsigned char b[PAGE_TYPE_OFF + 1];
	uint32_t want = type == DB_HASH ? HASH_MAGIC : BTREE_MAGIC;
	const unsigned char *ok = type == DB_HASH ? hash_pages : btree_pages;
	size_t nok = type == DB_HASH ? sizeof(hash_pages) : sizeof(btree_pages);

	if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return false;
	bool swap = get32(b + META_MAGIC_OFF, false) != want;
	if (get32(b + META_MAGIC_OFF, swap) != want)
		return false;
	uint32_t psize = get32(b + META_PAGESIZE_OFF, swap);
	if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0 ||
	    size % (off_t)psize != 0)
		return false;
	for (off_t off = 0; off < size; off += psize) {
		if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b) ||
		    memchr(ok, b[PAGE_TYPE_OFF], nok) == NULL)
			return false;
	}
	return true;
}

static void db_close(struct map *m)
{
	struct dbmap *d = (struct dbmap *)m;

	if (d->cur != NULL)
		d->cur->close(d->cur);
	if (d->db != NULL)
		d->db->close(d->db, 0);
	if (d->env != NULL)
		d->env->close(d->env, 0);
	if (d->building && !d->committed && d->path != NULL)
		unlink(d->path);
	if (d->fd >= 0)
		close(d->fd);
	free(d->dbname);
	free(d->path);
	free(d->final);
	sb_free(&d->kbuf);
	sb_free(&d->vbuf);
	map_free(m);
}

static struct map *db_open(const struct map_ops *ops, DBTYPE type,
                           const char *name, int flags, char *err, size_t errlen)
{
	if ((flags & (MAP_F_TRY0NULL | MAP_F_TRY1NULL)) == 0)
		flags |= MAP_F_TRY0NULL | MAP_F_TRY1NULL;
	if (!(flags & MAP_F_NOFOLD))
		flags |= MAP_F_FOLD;
	if ((flags & (MAP_F_DUP_WARN | MAP_F_DUP_IGNORE | MAP_F_DUP_REPLACE)) == 0)
		flags |= MAP_F_DUP_WARN;

	struct dbmap *d = map_alloc(sizeof(*d), ops, name, flags);
	d->fd = -1;
	sb_init(&d->kbuf, MAP_KEY_MAX + 1);
	sb_init(&d->vbuf, MAP_VALUE_MAX + 1);
	size_t n;
	if (!size_add(strlen(name), 4, &n))
		log_fatal("map name too long");
	d->dbname = xmalloc(n);
	snprintf(d->dbname, n, "%s.db", name);
	char *abs = absolute(d->dbname);
	if (abs == NULL) {
		snprintf(err, errlen, "open database %s: cannot find current directory: %s",
		         d->dbname, strerror(errno));
		goto fail;
	}

	bool writing = (flags & (MAP_F_WRITE | MAP_F_CREATE)) != 0;
	mode_t mode = writing ? create_mode(name) : 0;
	u_int32_t oflags = 0;
	if (flags & MAP_F_CREATE) {
		/* Build beside the target; rename makes it visible at once. */
		d->building = true;
		d->final = abs;
		if (!size_add(strlen(abs), 8, &n))
			log_fatal("map name too long");
		d->path = xmalloc(n);
		snprintf(d->path, n, "%s.XXXXXX", abs);
		d->fd = mkstemp(d->path);
		if (d->fd < 0) {
			snprintf(err, errlen, "create database %s: %s", d->dbname,
			         strerror(errno));
			free(d->path);
			d->path = NULL;
			goto fail;
		}
		if (fchmod(d->fd, mode) < 0) {
			snprintf(err, errlen, "chmod %s: %s", d->path, strerror(errno));
			goto fail;
		}
		oflags = DB_CREATE | DB_TRUNCATE;
	} else if (writing) {
		d->path = abs;
		d->fd = open(d->path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
		if (d->fd < 0) {
			snprintf(err, errlen, "open database %s: %s", d->dbname,
			         strerror(errno));
			goto fail;
		}
		if (flock(d->fd, LOCK_EX) < 0) {
			snprintf(err, errlen, "lock database %s: %s", d->dbname,
			         strerror(errno));
			goto fail;
		}
		oflags = DB_CREATE;
	} else {
		d->path = abs;
		/* Refuse FIFOs and devices before Berkeley DB can block on them. */
		d->fd = open(d->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (d->fd < 0 || fstat(d->fd, &st) < 0) {
			snprintf(err, errlen, "open database %s: %s", d->dbname,
			         strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "open database %s: not a regular file",
			         d->dbname);
			goto fail;
		}
		struct stat src;
		if (stat(name, &src) == 0 && src.st_mtime > st.st_mtime)
			log_warn("database %s is older than source file %s",
			         d->dbname, name);
		oflags = DB_RDONLY;
	}

	int ret = db_env_create(&d->env, 0);
	if (ret != 0) {
		snprintf(err, errlen, "open database %s: %s", d->dbname, db_strerror(ret));
		goto fail;
	}
	d->env->app_private = d;
	d->env->set_errcall(d->env, bdb_errcall);
	d->env->set_cachesize(d->env, 0, d->building ? DB_CREATE_CACHE : DB_READ_CACHE, 1);
	ret = d->env->open(d->env, "/", DB_CREATE | DB_INIT_MPOOL | DB_PRIVATE, 0);
	if (ret == 0 && !d->building) {
		/*
		 * Berkeley DB trusts its pages: a corrupt file makes lookups
		 * read out of bounds (seen under ASan).  So an existing file is
		 * verified first, under a shared lock so an in-place writer
		 * (ours or postmap -i) cannot be half-way through.  verify()
		 * consumes its handle whatever it returns.
		 */
		struct stat st;
		if (fstat(d->fd, &st) == 0 && st.st_size > 0) {
			DB *vdb;
			if (!writing && flock(d->fd, LOCK_SH) < 0) {
				snprintf(err, errlen, "lock database %s: %s", d->dbname,
				         strerror(errno));
				goto fail;
			}
			if (!pages_ok(d->fd, type, st.st_size)) {
				snprintf(err, errlen, "open database %s: not a Berkeley DB %s "
				         "file, or corrupt", d->dbname,
				         type == DB_HASH ? "hash" : "btree");
				goto fail;
			}
			ret = db_create(&vdb, d->env, 0);
			if (ret == 0)
				ret = vdb->verify(vdb, d->path, NULL, NULL, 0);
			if (ret != 0) {
				snprintf(err, errlen, "open database %s: %s", d->dbname,
				         ret == DB_VERIFY_BAD ?
				         "file is corrupt or not a Berkeley DB file" :
				         bdb_reason(d, ret));
				goto fail;
			}
		}
	}
	if (ret == 0)
		ret = db_create(&d->db, d->env, 0);
	if (ret == 0 && type == DB_HASH)
		ret = d->db->set_h_nelem(d->db, DB_HASH_NELEM);
	if (ret == 0)
		ret = d->db->open(d->db, NULL, d->path, NULL, type, oflags, (int)mode);
	if (ret != 0) {
		snprintf(err, errlen, "open database %s: %s", d->dbname,
		         bdb_reason(d, ret));
		goto fail;
	}
	if (!writing)
		flock(d->fd, LOCK_UN);
	return &d->m;
fail:
	if (abs != NULL && abs != d->path && abs != d->final)
		free(abs);
	db_close(&d->m);
	return NULL;
}

static struct map *hash_open(const char *name, int flags, char *err, size_t errlen)
{
	return db_open(&map_hash_ops, DB_HASH, name, flags, err, errlen);
}

static struct map *btree_open(const char *name, int flags, char *err, size_t errlen)
{
	return db_open(&map_btree_ops, DB_BTREE, name, flags, err, errlen);
}

/* Copy a Berkeley DB datum into sb, minus one trailing NUL. */
static bool take(struct strbuf *sb, const DBT *dbt)
{
	size_t len = dbt->size;
	if (len > 0 && ((const char *)dbt->data)[len - 1] == '\0')
		len--;
	sb_reset(sb);
	return sb_add(sb, dbt->data, len);
}

static void set_dbt(DBT *dbt, const char *s, bool with_nul)
{
	memset(dbt, 0, sizeof(*dbt));
	dbt->data = (void *)s;
	dbt->size = (u_int32_t)strlen(s) + (with_nul ? 1 : 0);
}

static int db_lookup(struct map *m, const char *key, const char **value)
{
	struct dbmap *d = (struct dbmap *)m;
	DBT k, v;

	for (int pass = 1; pass >= 0; pass--) {
		int want = pass ? MAP_F_TRY1NULL : MAP_F_TRY0NULL;
		if (!(m->flags & want))
			continue;
		set_dbt(&k, key, pass == 1);
		memset(&v, 0, sizeof(v));
		d->bdb_msg[0] = '\0';
		int ret = d->db->get(d->db, NULL, &k, &v, 0);
		if (ret == DB_NOTFOUND)
			continue;
		if (ret != 0)
			return map_set_err(m, "%s: lookup error: %s", d->dbname,
			                   bdb_reason(d, ret));
		if (!take(&d->vbuf, &v))
			return map_set_err(m, "%s: value for \"%.100s\" longer than %d bytes",
			                   d->dbname, key, MAP_VALUE_MAX);
		/* Settle on the form the table was written in. */
		m->flags &= pass ? ~MAP_F_TRY0NULL : ~MAP_F_TRY1NULL;
		*value = d->vbuf.s;
		return MAP_FOUND;
	}
	return MAP_NOTFOUND;
}

static int db_update(struct map *m, const char *key, const char *value)
{
	struct dbmap *d = (struct dbmap *)m;
	DBT k, v;

	if ((m->flags & MAP_F_TRY0NULL) && (m->flags & MAP_F_TRY1NULL))
		m->flags &= ~MAP_F_TRY0NULL;
	bool nul = (m->flags & MAP_F_TRY1NULL) != 0;
	set_dbt(&k, key, nul);
	set_dbt(&v, value, nul);
	d->bdb_msg[0] = '\0';
	int ret = d->db->put(d->db, NULL, &k, &v, DB_NOOVERWRITE);
	if (ret == 0)
		return 0;
	if (ret != DB_KEYEXIST)
		return map_set_err(m, "%s: update error: %s", d->dbname,
		                   bdb_reason(d, ret));
	if (m->flags & MAP_F_DUP_REPLACE) {
		ret = d->db->put(d->db, NULL, &k, &v, 0);
		if (ret != 0)
			return map_set_err(m, "%s: update error: %s", d->dbname,
			                   bdb_reason(d, ret));
	} else if (!(m->flags & MAP_F_DUP_IGNORE)) {
		log_warn("%s: duplicate entry: \"%s\"", d->dbname, key);
	}
	return 1;
}

static int db_del(struct map *m, const char *key)
{
	struct dbmap *d = (struct dbmap *)m;
	DBT k;

	for (int pass = 1; pass >= 0; pass--) {
		int want = pass ? MAP_F_TRY1NULL : MAP_F_TRY0NULL;
		if (!(m->flags & want))
			continue;
		set_dbt(&k, key, pass == 1);
		d->bdb_msg[0] = '\0';
		int ret = d->db->del(d->db, NULL, &k, 0);
		if (ret == DB_NOTFOUND)
			continue;
		if (ret != 0)
			return map_set_err(m, "%s: delete error: %s", d->dbname,
			                   bdb_reason(d, ret));
		m->flags &= pass ? ~MAP_F_TRY0NULL : ~MAP_F_TRY1NULL;
		return MAP_FOUND;
	}
	return MAP_NOTFOUND;
}

static int db_seq(struct map *m, bool first, const char **key, const char **value)
{
	struct dbmap *d = (struct dbmap *)m;
	DBT k, v;
	int ret;

	d->bdb_msg[0] = '\0';
	if (d->cur == NULL) {
		if ((ret = d->db->cursor(d->db, NULL, &d->cur, 0)) != 0)
			return map_set_err(m, "%s: cursor error: %s", d->dbname,
			                   bdb_reason(d, ret));
		first = true;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	ret = d->cur->get(d->cur, &k, &v, first ? DB_FIRST : DB_NEXT);
	if (ret == DB_NOTFOUND) {
		d->cur->close(d->cur);
		d->cur = NULL;
		return MAP_NOTFOUND;
	}
	if (ret != 0)
		return map_set_err(m, "%s: sequence error: %s", d->dbname,
		                   bdb_reason(d, ret));
	if (!take(&d->kbuf, &k) || !take(&d->vbuf, &v))
		return map_set_err(m, "%s: entry longer than the limits", d->dbname);
	*key = d->kbuf.s;
	*value = d->vbuf.s;
	return MAP_FOUND;
}

static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == path ? xstrdup("/") :
	            xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 ? -1 : fsync(fd);
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

static int db_sync(struct map *m)
{
	struct dbmap *d = (struct dbmap *)m;

	d->bdb_msg[0] = '\0';
	int ret = d->db->sync(d->db, 0);
	if (ret != 0)
		return map_set_err(m, "%s: sync error: %s", d->dbname,
		                   bdb_reason(d, ret));
	if (d->fd >= 0 && fsync(d->fd) < 0)
		return map_set_err(m, "%s: fsync: %s", d->dbname, strerror(errno));
	if (!d->building || d->committed)
		return 0;
	if (rename(d->path, d->final) < 0)
		return map_set_err(m, "rename %s to %s: %s", d->path, d->dbname,
		                   strerror(errno));
	d->committed = true;
	if (fsync_dir_of(d->final) < 0)
		return map_set_err(m, "%s: fsync directory: %s", d->dbname,
		                   strerror(errno));
	return 0;
}

const struct map_ops map_hash_ops = {
	.type = "hash",
	.props = MAP_P_FIXED | MAP_P_FILE | MAP_P_DB | MAP_P_UPDATE | MAP_P_FOLD,
	.open = hash_open,
	.lookup = db_lookup,
	.update = db_update,
	.del = db_del,
	.seq = db_seq,
	.sync = db_sync,
	.close = db_close,
};

const struct map_ops map_btree_ops = {
	.type = "btree",
	.props = MAP_P_FIXED | MAP_P_FILE | MAP_P_DB | MAP_P_UPDATE | MAP_P_FOLD,
	.open = btree_open,
	.lookup = db_lookup,
	.update = db_update,
	.del = db_del,
	.seq = db_seq,
	.sync = db_sync,
	.close = db_close,
};
