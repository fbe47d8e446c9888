/*
 * local_cmd.c - runs a delivery command for the local agent, in the
 * per-delivery child that already runs as the right user.  The command
 * text comes from an alias, .forward or :include: file or from
 * mailbox_command, never from the envelope; envelope values reach the
 * command only through the environment the caller built.  Input: the
 * command's output (bounded) and exit status.
 */
#include "local_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"

static const struct {
	int code;
	const char *dsn, *text;
} sysexits[] = {
	{64, "5.3.0", "command line usage error"},
	{65, "5.6.0", "data format error"},
	{66, "5.3.0", "cannot open input"},
	{67, "5.1.1", "user unknown"},
	{68, "5.1.2", "host name unknown"},
	{69, "5.3.0", "service unavailable"},
	{70, "5.3.0", "internal software error"},
	{71, "4.3.0", "system resource problem"},
	{72, "5.3.0", "critical OS file missing"},
	{73, "5.2.0", "can't create user output file"},
	{74, "5.3.0", "input/output error"},
	{75, "4.3.0", "temporary failure"},
	{76, "5.5.0", "remote error in protocol"},
	{77, "5.7.0", "permission denied"},
	{78, "5.3.5", "local configuration error"},
};

const char *local_cmd_sysexit(int code, const char **dsn)
{
	for (size_t i = 0; i < sizeof(sysexits) / sizeof(sysexits[0]); i++)
		if (sysexits[i].code == code) {
			*dsn = sysexits[i].dsn;
			return sysexits[i].text;
		}
	return NULL;
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* "X.Y.Z" at the start of the output overrides the exit status's DSN. */
static bool output_dsn(const char *out, char *dsn, size_t len)
{
	if ((out[0] != '4' && out[0] != '5') || out[1] != '.')
		return false;
	size_t i = 2, d = 0;
	while (out[i] >= '0' && out[i] <= '9' && d < 3)
		i++, d++;
	if (d == 0 || out[i] != '.')
		return false;
	i++;
	d = 0;
	while (out[i] >= '0' && out[i] <= '9' && d < 3)
		i++, d++;
	if (d == 0 || (out[i] != ' ' && out[i] != '\0') || i >= len)
		return false;
	memcpy(dsn, out, i);
	dsn[i] = '\0';
	return true;
}

void local_cmd_run(const struct local_msg *m, const struct local_cmd *c,
                   struct local_status *st)
{
	int in[2], out[2];
	const char *shell = c->shell != NULL && *c->shell ? c->shell : "/bin/sh";

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		local_status_set(st, "4.3.0", "cannot create pipe: %s", strerror(errno));
		return;
	}
	pid_t cmd = fork();
	if (cmd < 0) {
		local_status_set(st, "4.3.0", "cannot fork: %s", strerror(errno));
		return;
	}
	if (cmd == 0) {
		setsid(); /* its own process group, so a time-out kills it all */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(75);
		/* Nothing of the agent's (log file, sockets) reaches the command. */
		close_range(3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		if (c->cwd != NULL && chdir(c->cwd) != 0) {
			dprintf(2, "cannot change to directory %s: %s", c->cwd, strerror(errno));
			_exit(75);
		}
		char *argv[] = {(char *)shell, (char *)"-c", (char *)c->command, NULL};
		execve(shell, argv, c->envp);
		dprintf(2, "cannot execute %s: %s", shell, strerror(errno));
		_exit(75);
	}
	close(in[0]);
	close(out[1]);
	pid_t feeder = fork();
	if (feeder == 0) {
		close(out[0]);
		bool ok = local_copy(m, in[1], c->copy_flags, time(NULL));
		_exit(ok || errno == EPIPE ? 0 : 1);
	}
	close(in[1]);

	char output[LOCAL_CMD_OUTPUT_MAX + 1];
	size_t olen = 0;
	bool timed_out = false;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = c->time_limit - (long)(now.tv_sec - t0.tv_sec);
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		int r = poll(&p, 1, (int)(left > 1000 ? 1000000 : left * 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		char buf[4096];
		ssize_t n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* end of output: every writer is gone */
		size_t k = (size_t)n;
		if (k > LOCAL_CMD_OUTPUT_MAX - olen)
			k = LOCAL_CMD_OUTPUT_MAX - olen;
		memcpy(output + olen, buf, k);
		olen += k;
	}
	close(out[0]);
	if (timed_out) {
		kill(-cmd, SIGKILL);
		kill(cmd, SIGKILL);
	}
	int status = 0, fstatus = 0;
	reap(cmd, &status);
	if (feeder > 0) {
		if (timed_out)
			kill(feeder, SIGKILL);
		reap(feeder, &fstatus);
	}
	/* Output for the bounce text: one line, printable. */
	output[olen] = '\0';
	for (size_t i = 0; i < olen; i++)
		if ((unsigned char)output[i] < 0x20 || output[i] == 0x7f)
			output[i] = ' ';
	char outtext[LOCAL_CMD_OUTPUT_MAX + 32] = "";
	if (olen > 0)
		snprintf(outtext, sizeof(outtext), ". Command output: %s", output);

	if (timed_out) {
		local_status_set(st, "5.3.0", "Command time limit exceeded: \"%s\"%s",
		                 c->command, outtext);
	} else if (feeder < 0 || (WIFEXITED(fstatus) && WEXITSTATUS(fstatus) != 0)) {
		local_status_set(st, "4.3.0", "cannot write message to command: \"%s\"%s",
		                 c->command, outtext);
	} else if (WIFSIGNALED(status)) {
		local_status_set(st, "4.3.0", "Command died with signal %d: \"%s\"%s",
		                 WTERMSIG(status), c->command, outtext);
	} else if (WEXITSTATUS(status) == 0) {
		local_status_set(st, "2.0.0", "delivered to command: %s", c->command);
	} else {
		int code = WEXITSTATUS(status);
		const char *dsn = "5.3.0";
		const char *text = local_cmd_sysexit(code, &dsn);
		char odsn[16];
		if (olen > 0 && output_dsn(output, odsn, sizeof(odsn)))
			dsn = odsn;
		if (text != NULL)
			local_status_set(st, dsn, "%s%s", text, outtext);
		else
			local_status_set(st, dsn, "Command died with status %d: \"%s\"%s", code,
			                 c->command, outtext);
	}
}
