/*
 * mastercf.h - master.cf, master(5): one service per logical line, the
 * service model the master process starts daemons from, and printers
 * that reproduce "postconf -M", "-F" and "-P" output.
 */
#ifndef POSTERN_MASTERCF_H
#define POSTERN_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"

enum mcf_type { MCF_INET, MCF_UNIX, MCF_UNIX_DGRAM, MCF_FIFO, MCF_PASS };

/* What postern does with the service's command. */
enum mcf_class {
	MCF_CLASS_PROGRAM,     /* a postern daemon runs it */
	MCF_CLASS_INTERNAL,    /* its job is done inside the postern daemons */
	MCF_CLASS_NOT_NEEDED,  /* postern has no use for it; harmless */
	MCF_CLASS_UNSUPPORTED, /* postern cannot do what it asks */
};

/* The columns before the command, as written (for the printers). */
enum {
	MCF_F_NAME,
	MCF_F_TYPE,
	MCF_F_PRIVATE,
	MCF_F_UNPRIV,
	MCF_F_CHROOT,
	MCF_F_WAKEUP,
	MCF_F_MAXPROC,
	MCF_F_COMMAND,
	MCF_NFIELDS
};

struct mcf_override {
	char *name;
	char *value; /* may be "" */
};

struct mcf_service {
	char *field[MCF_NFIELDS]; /* text as written, braces kept */
	const char *name;         /* == field[MCF_F_NAME] */
	enum mcf_type type;
	/* inet only: host NULL when the name has no host part ("smtp",
	 * "10025"); "[...]" is removed from IPv6 hosts. */
	char *host, *port;
	bool private_; /* "-": y, but never for inet */
	bool unpriv;   /* "-": y */
	bool chroot;   /* "-": n (Postfix >= 3.0) */
	int wakeup;    /* seconds, 0: none */
	bool wakeup_conditional; /* trailing '?' */
	int maxproc;   /* -1: $default_process_limit */
	const char *command; /* == field[MCF_F_COMMAND] */
	/* Arguments after the command with braces removed and "-o" forms
	 * normalised ("-oX" -> "-o" "X", "-o { a = b }" -> "-o" "a=b"). */
	char **args;
	size_t nargs;
	/* The arguments as postconf shows them (for the printers):
	 * NULL-terminated, shown_braced[i] when braces were added. */
	char **shown;
	bool *shown_braced;
	size_t nshown;
	/* -o name=value settings in the order written; a later one for
	 * the same name wins (mastercf_override()). */
	struct mcf_override *overrides;
	size_t noverrides;
	const char *file;
	int line;
	enum mcf_class cls;
	/* A later line defines the same name and type; that one counts. */
	bool superseded;
};

struct mastercf {
	char *file;
	struct mcf_service *services; /* in file order, superseded included */
	size_t nservices;
};

/*
 * Parse a master.cf.  Problems go to d with file and line; a line with
 * a bad field is skipped, a bad argument is reported and the service
 * kept.  Callers must refuse to run when d counted errors.  load
 * returns NULL (reported) when the file cannot be read.
 */
struct mastercf *mastercf_load(const char *path, struct diag *d);
struct mastercf *mastercf_parse_text(const char *text, size_t len,
                                     const char *name, struct diag *d);
void mastercf_free(struct mastercf *m);

/* The definition that counts for name/type, or NULL. */
const struct mcf_service *mastercf_find(const struct mastercf *m,
                                        const char *name, enum mcf_type type);
/* The value of a -o setting (the last one), or NULL. */
const char *mastercf_override(const struct mcf_service *s, const char *name);

const char *mastercf_type_name(enum mcf_type type);
const char *mastercf_class_name(enum mcf_class cls);
/* Classify a command (path or name) with a short reason. */
enum mcf_class mastercf_classify(const char *command, const char **reason);

/* Printers, as "postconf -M", "-F", "-P". */
enum mcf_print { MCF_PRINT_SERVICES, MCF_PRINT_FIELDS, MCF_PRINT_PARAMS };
#define MCF_PF_FOLD       0x1 /* -f */
#define MCF_PF_VALUE_ONLY 0x2 /* -h (-F, -P) */
#define MCF_PF_NAME_ONLY  0x4 /* -H (-F, -P) */

/*
 * Print the services matching any of reqs (all when nreqs is 0), in
 * file order; reqs are "service[/type]" (-M) or
 * "service[/type[/field-or-parameter]]" with "*" for any.  A request
 * nothing matched is reported to d as a warning.  Returns 0, or -1 with
 * err set for a malformed request (nothing printed).
 */
int mastercf_print(FILE *out, const struct mastercf *m, enum mcf_print mode,
                   unsigned flags, char *const *reqs, size_t nreqs,
                   struct diag *d, char *err, size_t errlen);

#endif
