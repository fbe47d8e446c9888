/*
 * test_local_cmd.c - delivery to commands and the identity helpers of
 * the local agent: message on standard input, exit codes as sysexits,
 * status codes in the output, the output limit, the time limit, a
 * command that does not read its input; reading small files with the
 * size, link, owner and type checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "local_cmd.h"
#include "local_priv.h"

static char dir[] = "/tmp/test_local_cmd.XXXXXX";
static struct local_msg msg;

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	int fd = memfd_create("content", 0);
	const char *c = "Subject: t\n\nbody\n";
	if (write(fd, c, strlen(c)) != (ssize_t)strlen(c))
		return -1;
	msg = (struct local_msg){.fd = fd, .offset = 0, .length = strlen(c), .sender = "s@x",
	                         .orig_rcpt = "o@x", .delivered_to = "d@x"};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void run(const char *command, long limit, struct local_status *st)
{
	char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	struct local_cmd c = {.command = command, .shell = "", .envp = env, .cwd = dir,
	                      .time_limit = limit, .copy_flags = LOCAL_COPY_RPATH};
	local_cmd_run(&msg, &c, st);
}

static void test_exit_codes(void **state)
{
	(void)state;
	struct local_status st;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cat > %s/out", dir);
	run(cmd, 10, &st);
	assert_string_equal(st.dsn, "2.0.0");
	assert_string_equal(st.text + strlen("delivered to command: "), cmd);
	char path[128], buf[256] = "";
	snprintf(path, sizeof(path), "%s/out", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, "Return-Path: <s@x>\nSubject: t\n\nbody\n");

	run("exit 75", 10, &st);
	assert_string_equal(st.dsn, "4.3.0");
	assert_string_equal(st.text, "temporary failure");
	run("echo no such user >&2; exit 67", 10, &st);
	assert_string_equal(st.dsn, "5.1.1");
	assert_string_equal(st.text, "user unknown. Command output: no such user ");
	run("exit 2", 10, &st);
	assert_string_equal(st.dsn, "5.3.0");
	assert_string_equal(st.text, "Command died with status 2: \"exit 2\"");
	run("echo 4.2.2 mailbox full; exit 1", 10, &st);
	assert_string_equal(st.dsn, "4.2.2");
	run("kill -9 $$", 10, &st);
	assert_string_equal(st.dsn, "4.3.0");
	assert_non_null(strstr(st.text, "signal 9"));
	/* Not reading the input is fine when the command succeeds. */
	run("exit 0", 10, &st);
	assert_string_equal(st.dsn, "2.0.0");
	/* pwd is the working directory given. */
	snprintf(cmd, sizeof(cmd), "test \"$(pwd)\" = %s", dir);
	run(cmd, 10, &st);
	assert_string_equal(st.dsn, "2.0.0");
	/* No descriptor of ours reaches the command. */
	run("test ! -e /proc/self/fd/3 && test ! -e /proc/self/fd/4", 10, &st);
	assert_string_equal(st.dsn, "2.0.0");
}

static void test_limits(void **state)
{
	(void)state;
	struct local_status st;
	/* Output beyond LOCAL_CMD_OUTPUT_MAX is dropped, and newlines become
	 * spaces. */
	run("yes 'line of output' | head -c 100000; exit 1", 10, &st);
	assert_string_equal(st.dsn, "5.3.0");
	const char *o = strstr(st.text, "Command output: ");
	assert_non_null(o);
	assert_int_equal(strlen(o + 16), LOCAL_CMD_OUTPUT_MAX);
	assert_null(strchr(st.text, '\n'));
	/* The time limit kills the command and everything it started. */
	time_t t0 = time(NULL);
	run("sleep 30 & sleep 30", 1, &st);
	assert_true(time(NULL) - t0 < 10);
	assert_string_equal(st.dsn, "5.3.0");
	assert_non_null(strstr(st.text, "Command time limit exceeded"));
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_read_file(void **state)
{
	(void)state;
	struct local_cred me = {.uid = getuid(), .gid = getgid(), .user = NULL,
	                        .extra_gid = (gid_t)-1};
	char path[128], lpath[128], why[512];
	uid_t owner;
	snprintf(path, sizeof(path), "%s/fwd", dir);
	char *big = malloc(LOCAL_FILE_MAX + 1);
	memset(big, 'a', LOCAL_FILE_MAX + 1);
	write_file(path, big, LOCAL_FILE_MAX);
	char *t = local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why));
	assert_non_null(t);
	assert_int_equal(strlen(t), LOCAL_FILE_MAX);
	assert_true(owner == getuid());
	free(t);
	write_file(path, big, LOCAL_FILE_MAX + 1);
	assert_null(local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why)));
	assert_non_null(strstr(why, "larger than"));
	free(big);
	write_file(path, "a\0b", 3);
	assert_null(local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why)));
	write_file(path, "bob\n", 4);
	/* Owner not among the allowed ones. */
	assert_null(local_read_file_as(&me, path, getuid() + 1, getuid() + 2, &owner, why,
	                               sizeof(why)));
	/* World-writable. */
	chmod(path, 0666);
	assert_null(local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why)));
	chmod(path, 0644);
	/* Symbolic link, hard link, directory, missing. */
	snprintf(lpath, sizeof(lpath), "%s/sym", dir);
	assert_int_equal(symlink(path, lpath), 0);
	assert_null(local_read_file_as(&me, lpath, getuid(), 0, &owner, why, sizeof(why)));
	snprintf(lpath, sizeof(lpath), "%s/hard", dir);
	assert_int_equal(link(path, lpath), 0);
	assert_null(local_read_file_as(&me, lpath, getuid(), 0, &owner, why, sizeof(why)));
	assert_null(local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why)));
	unlink(lpath);
	t = local_read_file_as(&me, path, getuid(), 0, &owner, why, sizeof(why));
	assert_non_null(t);
	assert_string_equal(t, "bob\n");
	free(t);
	assert_null(local_read_file_as(&me, dir, getuid(), 0, &owner, why, sizeof(why)));
	snprintf(lpath, sizeof(lpath), "%s/missing", dir);
	errno = 0;
	assert_null(local_read_file_as(&me, lpath, getuid(), 0, &owner, why, sizeof(why)));
	assert_int_equal(errno, ENOENT);
}

static void crash(void *arg, struct local_status *st)
{
	(void)arg;
	(void)st;
	abort();
}

static void fine(void *arg, struct local_status *st)
{
	local_status_set(st, "2.0.0", "ran as %ld with %s", (long)geteuid(), (const char *)arg);
}

static void test_run_as(void **state)
{
	(void)state;
	struct local_cred me = {.uid = getuid(), .gid = getgid(), .user = NULL,
	                        .extra_gid = (gid_t)-1};
	struct local_status st;
	local_run_as(&me, fine, (void *)"arg", &st);
	assert_string_equal(st.dsn, "2.0.0");
	char want[64];
	snprintf(want, sizeof(want), "ran as %ld with arg", (long)getuid());
	assert_string_equal(st.text, want);
	local_run_as(&me, crash, NULL, &st);
	assert_string_equal(st.dsn, "4.3.0");
	assert_non_null(strstr(st.text, "signal"));
	if (getuid() == 0) {
		/* As root: the child really becomes the other user. */
		struct local_cred nobody = {.uid = 65534, .gid = 65534, .user = NULL,
		                            .extra_gid = (gid_t)-1};
		local_run_as(&nobody, fine, (void *)"x", &st);
		assert_string_equal(st.text, "ran as 65534 with x");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_run_as),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
