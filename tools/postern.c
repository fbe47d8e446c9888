/*
 * postern.c - the admin command: dispatches "postern VERB ..." to the
 * verb's function.  Runs as the invoking user; reads configuration and
 * tables, never network input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "log.h"
#include "xalloc.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} verbs[] = {
	{"conf", cmd_conf, "show configuration parameters (like postconf)"},
	{"check", cmd_check, "check main.cf, master.cf and tables"},
	{"map", cmd_map, "build or query a lookup table (like postmap)"},
	{"alias", cmd_alias, "build alias databases (like postalias/newaliases)"},
	{"start", cmd_start, "start the mail system (returns when it is up)"},
	{"start-fg", cmd_start_fg, "run the mail system in the foreground"},
	{"stop", cmd_stop, "stop the mail system"},
	{"reload", cmd_reload, "re-read the configuration, restart the daemons"},
	{"status", cmd_status, "whether the mail system is running (exit 0/1)"},
	{"flush", cmd_flush, "ask the queue manager to retry deferred mail now"},
	{"sendmail", cmd_sendmail, "submit a message (like sendmail)"},
	{"queue", cmd_queue, "list or flush the queue (like postqueue/mailq)"},
	{"super", cmd_super, "delete, hold, release, requeue messages (like postsuper)"},
	{"dns", cmd_dns, "look up a name with postern's resolver (A MX TXT PTR TLSA nexthop ...)"},
};

/*
 * Installed under another name (make install-compat links): sendmail,
 * mailq and newaliases behave as Postfix's, the name being the verb.
 */
static int as_compat_name(int argc, char **argv, const char *base)
{
	log_init(base, LOG_TO_STDERR, NULL);
	if (strcmp(base, "sendmail") == 0)
		return cmd_sendmail(argc, argv);
	/* mailq [-c DIR] [-v]: the queue listing; newaliases [-c DIR]:
	 * postern alias.  Their other arguments pass through. */
	char **nargv = xcalloc((size_t)argc + 2, sizeof(*nargv));
	int n = 0;
	bool mailq = strcmp(base, "mailq") == 0;
	nargv[n++] = (char *)(mailq ? "queue" : "alias");
	if (mailq)
		nargv[n++] = (char *)"-p";
	for (int i = 1; i < argc; i++)
		nargv[n++] = argv[i];
	nargv[n] = NULL;
	int rc = mailq ? cmd_queue(n, nargv) : cmd_alias(n, nargv);
	free(nargv);
	return rc;
}

int cmd_usage(const char *text)
{
	fprintf(stderr, "usage: %s\n", text);
	return 2;
}

static int usage(void)
{
	fprintf(stderr, "usage: postern VERB [options]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(stderr, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
	return 2;
}

int main(int argc, char **argv)
{
	const char *base = argv[0] != NULL ? strrchr(argv[0], '/') : NULL;
	base = base != NULL ? base + 1 : argv[0] != NULL ? argv[0] : "postern";
	if (strcmp(base, "sendmail") == 0 || strcmp(base, "mailq") == 0 ||
	    strcmp(base, "newaliases") == 0)
		return as_compat_name(argc, argv, base);
	log_init("postern", LOG_TO_STDERR, NULL);
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].name) == 0) {
			char prog[64];
			snprintf(prog, sizeof(prog), "postern %s", verbs[i].name);
			log_init(prog, LOG_TO_STDERR, NULL);
			return verbs[i].fn(argc - 1, argv + 1);
		}
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage();
		return 0;
	}
	fprintf(stderr, "postern: unknown verb \"%s\"\n", argv[1]);
	return usage();
}
