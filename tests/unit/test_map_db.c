/*
 * test_map_db.c - hash:/btree: on Berkeley DB and texthash: through the
 * map interface: atomic builds, NUL and case conventions, duplicate
 * handling, delete, iteration, corrupt files, and that a DB_CONFIG in
 * the current directory is never read.  Each test works in a fresh
 * temporary directory that is also the current directory.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "map.h"

/* Berkeley DB keeps a few allocations when it rejects a corrupt file. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libdb-5.3.so\n";
}

static char dir[64];
static char err[1024];
static const char *types[] = {"hash", "btree"};

static void write_file(const char *name, const char *text, size_t len)
{
	FILE *fp = fopen(name, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

/* Run fn with stderr sent to a buffer; returns what was logged. */
static char captured[8192];
static int saved_fd = -1;

static void capture_start(void)
{
	fflush(stderr);
	saved_fd = dup(2);
	int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
}

static const char *capture_end(void)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	FILE *fp = fopen("stderr.txt", "r");
	size_t n = fread(captured, 1, sizeof(captured) - 1, fp);
	captured[n] = '\0';
	fclose(fp);
	return captured;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/postern-mapdb-XXXXXX");
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	if (chdir("/") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct map *build(const char *type, int flags, const char *const *kv)
{
	char spec[64];
	snprintf(spec, sizeof(spec), "%s:tbl", type);
	struct map *m = map_open(spec, MAP_F_CREATE | MAP_F_WRITE | flags, err,
	                         sizeof(err));
	if (m == NULL)
		fail_msg("open %s: %s", spec, err);
	for (; kv[0] != NULL; kv += 2)
		assert_true(map_update(m, kv[0], kv[1]) >= 0);
	return m;
}

static struct map *reopen(const char *type, int flags)
{
	char spec[64];
	snprintf(spec, sizeof(spec), "%s:tbl", type);
	struct map *m = map_open(spec, flags, err, sizeof(err));
	if (m == NULL)
		fail_msg("reopen %s: %s", spec, err);
	return m;
}

static const char *get(struct map *m, const char *key)
{
	const char *v;
	int r = map_lookup(m, key, &v);
	assert_int_not_equal(r, MAP_ERROR);
	return r == MAP_FOUND ? v : NULL;
}

static const char *const basic[] = {"Foo", "Bar", "x@y.com", "OK", NULL};

static void test_build_atomic(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		unlink("tbl.db");
		struct map *m = build(types[t], MAP_F_FOLD, basic);
		/* Nothing visible until committed. */
		assert_int_equal(access("tbl.db", F_OK), -1);
		assert_int_equal(map_sync(m), 0);
		map_close(m);
		assert_int_equal(access("tbl.db", F_OK), 0);

		m = reopen(types[t], 0);
		assert_string_equal(get(m, "FOO"), "Bar"); /* keys folded both ways */
		assert_string_equal(get(m, "x@Y.com"), "OK");
		assert_null(get(m, "nope"));
		map_close(m);

		/* An abandoned build leaves the old table and no temp files. */
		static const char *const other[] = {"new", "1", NULL};
		m = build(types[t], MAP_F_FOLD, other);
		map_close(m);
		m = reopen(types[t], 0);
		assert_string_equal(get(m, "foo"), "Bar");
		assert_null(get(m, "new"));
		map_close(m);
		assert_int_equal(system("test $(ls | grep -c '^tbl') -eq 1"), 0);
	}
}

static void test_nul_forms(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		for (int withnul = 0; withnul <= 1; withnul++) {
			struct map *m = build(types[t],
			                      MAP_F_FOLD | (withnul ? MAP_F_TRY1NULL : MAP_F_TRY0NULL), basic);
			assert_int_equal(map_sync(m), 0);
			map_close(m);
			/* Readers' default tries both. */
			m = reopen(types[t], 0);
			assert_string_equal(get(m, "Foo"), "Bar");
			assert_string_equal(get(m, "x@y.com"), "OK");
			map_close(m);
			/* Insisting on the other form finds nothing. */
			m = reopen(types[t], MAP_F_FOLD | (withnul ? MAP_F_TRY0NULL : MAP_F_TRY1NULL));
			assert_null(get(m, "Foo"));
			map_close(m);
			m = reopen(types[t], MAP_F_FOLD | (withnul ? MAP_F_TRY1NULL : MAP_F_TRY0NULL));
			assert_string_equal(get(m, "Foo"), "Bar");
			map_close(m);
		}
	}
}

static void test_no_fold(void **state)
{
	(void)state;
	struct map *m = build("hash", MAP_F_TRY1NULL | MAP_F_NOFOLD, basic);
	assert_int_equal(map_sync(m), 0);
	map_close(m);
	m = reopen("hash", MAP_F_TRY1NULL | MAP_F_NOFOLD);
	assert_string_equal(get(m, "Foo"), "Bar");
	assert_null(get(m, "foo"));
	map_close(m);
	m = reopen("hash", 0); /* folds the query: "Foo" was stored as is */
	assert_null(get(m, "Foo"));
	map_close(m);
}

static void test_duplicates(void **state)
{
	(void)state;
	static const char *const none[] = {NULL};
	for (size_t t = 0; t < 2; t++) {
		struct map *m = build(types[t], MAP_F_FOLD | MAP_F_DUP_WARN, none);
		assert_int_equal(map_update(m, "a", "1"), 0);
		capture_start();
		int r = map_update(m, "A", "2");
		const char *log = capture_end();
		assert_int_equal(r, 1);
		assert_non_null(strstr(log, "warning: tbl.db: duplicate entry: \"a\""));
		assert_int_equal(map_sync(m), 0);
		map_close(m);
		m = reopen(types[t], 0);
		assert_string_equal(get(m, "a"), "1");
		map_close(m);

		m = build(types[t], MAP_F_FOLD | MAP_F_DUP_IGNORE, none);
		map_update(m, "a", "1");
		capture_start();
		r = map_update(m, "a", "2");
		log = capture_end();
		assert_int_equal(r, 1);
		assert_string_equal(log, "");
		map_close(m);

		m = build(types[t], MAP_F_FOLD | MAP_F_DUP_REPLACE, none);
		map_update(m, "a", "1");
		assert_int_equal(map_update(m, "a", "3"), 1);
		assert_int_equal(map_sync(m), 0);
		map_close(m);
		m = reopen(types[t], 0);
		assert_string_equal(get(m, "a"), "3");
		map_close(m);
	}
}

static void test_delete_and_seq(void **state)
{
	(void)state;
	for (size_t t = 0; t < 2; t++) {
		struct map *m = build(types[t], MAP_F_FOLD, basic);
		assert_int_equal(map_sync(m), 0);
		map_close(m);
		m = reopen(types[t], MAP_F_WRITE | MAP_F_TRY0NULL | MAP_F_TRY1NULL |
		                     MAP_F_FOLD);
		assert_int_equal(map_delete(m, "FOO"), MAP_FOUND);
		assert_int_equal(map_delete(m, "foo"), MAP_NOTFOUND);
		assert_int_equal(map_update(m, "added", "v"), 0);
		assert_int_equal(map_sync(m), 0);
		map_close(m);

		m = reopen(types[t], 0);
		const char *k, *v;
		int n = 0, r;
		bool seen_added = false;
		for (bool first = true; (r = map_seq(m, first, &k, &v)) == MAP_FOUND;
		     first = false) {
			n++;
			assert_string_not_equal(k, "foo");
			if (strcmp(k, "added") == 0 && strcmp(v, "v") == 0)
				seen_added = true;
		}
		assert_int_equal(r, MAP_NOTFOUND);
		assert_int_equal(n, 2);
		assert_true(seen_added);
		map_close(m);
	}
}

static void test_corrupt(void **state)
{
	(void)state;
	struct map *m = build("hash", MAP_F_FOLD, basic);
	assert_int_equal(map_sync(m), 0);
	map_close(m);
	struct stat st;
	assert_int_equal(stat("tbl.db", &st), 0);
	char *buf = malloc((size_t)st.st_size);
	FILE *fp = fopen("tbl.db", "r");
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);

	/* Truncated mid-page, garbage, and a hash file opened as btree. */
	write_file("tbl.db", buf, (size_t)st.st_size / 2 + 100);
	assert_null(map_open("hash:tbl", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "tbl.db"));
	write_file("tbl.db", "not a database at all\n", 22);
	assert_null(map_open("hash:tbl", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "tbl.db"));
	write_file("tbl.db", "", 0);
	assert_null(map_open("hash:tbl", 0, err, sizeof(err)));
	write_file("tbl.db", buf, (size_t)st.st_size);
	assert_null(map_open("btree:tbl", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "tbl.db"));
	/* A data page overwritten with junk. */
	for (off_t i = 4096; i < st.st_size && i < 8192; i++)
		buf[i] = (char)(i * 7);
	write_file("tbl.db", buf, (size_t)st.st_size);
	assert_null(map_open("hash:tbl", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "tbl.db"));
	assert_null(map_open("hash:missing", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.db"));
	free(buf);
}

static void test_db_config_ignored(void **state)
{
	(void)state;
	/* Berkeley DB refuses to open an environment whose DB_CONFIG has an
	 * unknown keyword, so reading it would make these opens fail. */
	write_file("DB_CONFIG", "bogus_keyword x\nset_data_dir /nonexistent\n", 43);
	for (size_t t = 0; t < 2; t++) {
		struct map *m = build(types[t], MAP_F_FOLD, basic);
		assert_int_equal(map_sync(m), 0);
		map_close(m);
		m = reopen(types[t], 0);
		assert_string_equal(get(m, "foo"), "Bar");
		map_close(m);
	}
	unlink("DB_CONFIG");
}

static void test_texthash(void **state)
{
	(void)state;
	static const char src[] = "Foo bar\nfoo second\nkeyonly\nK2 v\n  cont\n";
	write_file("th", src, sizeof(src) - 1);
	capture_start();
	struct map *m = map_open("texthash:th", 0, err, sizeof(err));
	const char *log = capture_end();
	assert_non_null(m);
	assert_non_null(strstr(log, "th:2: duplicate entry: \"foo\""));
	assert_non_null(strstr(log, "th:3: expected format: key whitespace value"));
	assert_string_equal(get(m, "FOO"), "bar");
	assert_string_equal(get(m, "k2"), "v  cont");
	const char *k, *v;
	assert_int_equal(map_seq(m, true, &k, &v), MAP_FOUND);
	assert_string_equal(k, "foo");
	assert_int_equal(map_seq(m, false, &k, &v), MAP_FOUND);
	assert_string_equal(k, "k2");
	assert_int_equal(map_seq(m, false, &k, &v), MAP_NOTFOUND);
	map_close(m);

	/* A line we cannot hold fails the open, naming file and line. */
	write_file("th2", "a 1\nb \0 2\n", 10);
	assert_null(map_open("texthash:th2", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "th2:2:"));
}

int main(void)
{
	log_init("test_map_db", LOG_TO_STDERR, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_config_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_texthash, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
