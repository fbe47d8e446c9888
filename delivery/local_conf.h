/*
 * local_conf.h - the local agent's view of main.cf (with the service's
 * -o overrides), read once at start-up, plus the alias tables opened
 * while still root.
 */
#ifndef POSTERN_LOCAL_CONF_H
#define POSTERN_LOCAL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "local_mbox.h"

struct cfg;
struct map;

/* Classes for allow_mail_to_commands / allow_mail_to_files. */
#define LOCAL_CLASS_ALIAS   0x1
#define LOCAL_CLASS_FORWARD 0x2
#define LOCAL_CLASS_INCLUDE 0x4

/* prepend_delivered_header */
#define LOCAL_DELIV_COMMAND 0x1
#define LOCAL_DELIV_FILE    0x2
#define LOCAL_DELIV_FORWARD 0x4

struct local_alias_map {
	struct map *map;
	uid_t owner; /* owner of the table file: rights for its commands/files */
	char *spec;
	struct timespec mtime; /* of the table file when opened */
};

struct local_conf {
	struct cfg *cfg;
	const char *config_dir;
	const char *myorigin;
	char **mydestination;     /* plain domain names, lower case */
	const char *delimiters;   /* recipient_delimiter */
	struct local_alias_map *aliases;
	size_t naliases;
	int allow_commands, allow_files; /* LOCAL_CLASS_* */
	int prepend_delivered;    /* LOCAL_DELIV_* */
	uid_t default_uid;        /* default_privs */
	gid_t default_gid;
	const char *forward_path; /* raw, expanded per recipient */
	const char *home_mailbox;
	const char *spool_dir;    /* mail_spool_directory */
	const char *mailbox_command;
	const char *mailbox_transport;
	const char *command_shell; /* local_command_shell */
	const char *cmd_filter;    /* command_expansion_filter */
	const char *fwd_filter;    /* forward_expansion_filter */
	char **export_env;
	long command_time_limit;
	bool owner_request_special;
	bool enable_orig;          /* enable_original_recipient */
	struct local_mbox_opts mbox;
	uid_t peer_uid;            /* who may connect: mail_owner's uid */
};

/* Read everything; fatal on a configuration error, as Postfix's local. */
void local_conf_load(struct local_conf *lc, struct cfg *cfg, const char *config_dir);

void local_conf_free(struct local_conf *lc);

/* Re-open alias tables whose file changed since they were opened
 * (newaliases), as Postfix's local notices a changed table. */
void local_conf_refresh(struct local_conf *lc);

/* Whether a domain (no trailing dot) is one of mydestination's. */
bool local_conf_is_local(const struct local_conf *lc, const char *domain);

/* Replace characters not in filter with '_' (in place). */
void local_conf_filter(char *s, const char *filter);

#endif
