/*
 * local_cmd.h - delivery to a command ("|command" in aliases and
 * .forward files, mailbox_command): the message on its standard input,
 * a clean environment, a time limit, the exit status read as
 * sysexits(3) codes.
 */
#ifndef POSTERN_LOCAL_CMD_H
#define POSTERN_LOCAL_CMD_H

#include "local_copy.h"
#include "local_priv.h"

struct local_cmd {
	const char *command;   /* as the administrator or user wrote it */
	const char *shell;     /* local_command_shell, "" = /bin/sh */
	char *const *envp;     /* NULL-terminated */
	const char *cwd;       /* working directory, NULL: leave as it is */
	long time_limit;       /* command_time_limit, seconds */
	int copy_flags;        /* LOCAL_COPY_* */
};

/*
 * Run c->command through the shell (execve, argv {shell, "-c", command})
 * with the message on its input, in the calling process's identity.
 * Sets st: 2.0.0 "delivered to command: CMD", or the failure with up to
 * LOCAL_CMD_OUTPUT_MAX bytes of the command's output.
 */
void local_cmd_run(const struct local_msg *m, const struct local_cmd *c,
                   struct local_status *st);

/* DSN and text for an exit status (sysexits), NULL for an unknown one. */
const char *local_cmd_sysexit(int code, const char **dsn);

#endif
