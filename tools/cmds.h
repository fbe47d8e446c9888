/*
 * cmds.h - the verbs of the postern admin command.  Each takes argv
 * with argv[0] the verb name and returns the process exit status.
 */
#ifndef POSTERN_CMDS_H
#define POSTERN_CMDS_H

int cmd_conf(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_alias(int argc, char **argv);
/* cmd_master.c */
int cmd_start(int argc, char **argv);
int cmd_start_fg(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_sendmail(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_super(int argc, char **argv);
/* cmd_dns.c */
int cmd_dns(int argc, char **argv);

/* Shared by the verbs: print usage text and return 2. */
int cmd_usage(const char *text);

#endif
