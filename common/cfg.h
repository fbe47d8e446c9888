/*
 * cfg.h - the configuration model: main.cf in Postfix syntax, the
 * parameter table (params.def) that gives defaults and types, $name
 * expansion, and per-service "-o name=value" overrides.  Read by every
 * process at start-up; main.cf is trusted-but-checked input.
 */
#ifndef POSTERN_CFG_H
#define POSTERN_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* Parameter value types (validation and conversion). */
enum cfg_type {
	CT_STR,   /* free text */
	CT_BOOL,  /* yes / no */
	CT_INT,   /* decimal integer */
	CT_LONG,  /* decimal integer, byte sizes (message_size_limit) */
	CT_TIME,  /* number with optional unit s m h d w */
	CT_LIST,  /* comma/space list */
	CT_MAPS,  /* list of type:name maps */
	CT_RESTR, /* restriction list (checked by the restrictions module) */
};

/* Who reads a parameter (bit mask); 0 = Postfix knows it, postern does not
 * implement it (yet). */
#define CU_ALL    0x01
#define CU_MASTER 0x02
#define CU_SMTPD  0x04
#define CU_QMGR   0x08
#define CU_LOCAL  0x10
#define CU_SMTP   0x20
#define CU_TOOLS  0x40

struct cfg_param {
	const char *name;
	enum cfg_type type;
	const char *defval; /* raw default, may contain $name; NULL = computed */
	int users;          /* CU_* */
};

struct cfg;

/* The parameter table (sorted by name). */
const struct cfg_param *cfg_param_find(const char *name);
const struct cfg_param *cfg_param_table(size_t *n);

/*
 * Load DIR/main.cf (DIR NULL: the default config directory).  Problems
 * are reported through diag (NULL: logged as warnings).  A missing
 * main.cf is an error (NULL returned) unless allow_missing.
 */
struct cfg *cfg_load(const char *dir, struct diag *diag, bool allow_missing);
/* Parse main.cf text from memory (tests, fuzzing). */
struct cfg *cfg_load_text(const char *text, size_t len, const char *name,
                          struct diag *diag);
void cfg_free(struct cfg *c);

const char *cfg_config_dir(const struct cfg *c);

/*
 * Set or override a parameter as master.cf "-o name=value" does (or
 * postconf-style name=value); origin names where it came from.
 */
void cfg_set(struct cfg *c, const char *name, const char *value,
             const char *origin_file, int origin_line);

/* Raw (unexpanded) value: main.cf/override, else default; NULL if the
 * name is neither set nor a known parameter. */
const char *cfg_raw(struct cfg *c, const char *name);
/* Where the raw value was set: file/line, or NULL file for a default. */
bool cfg_origin(struct cfg *c, const char *name, const char **file, int *line);
bool cfg_is_set(struct cfg *c, const char *name);

/* Expanded value; "" for undefined.  Valid until cfg_free(). */
const char *cfg_get(struct cfg *c, const char *name);
bool cfg_get_bool(struct cfg *c, const char *name);
long cfg_get_long(struct cfg *c, const char *name);
/* Seconds. */
long cfg_get_time(struct cfg *c, const char *name);
/* The unit of a bare number for a time parameter: the last letter of its
 * default, as in Postfix ('s' when there is none). */
char cfg_time_unit(struct cfg *c, const char *name);

/*
 * Expand $name references in text against c.  Returns an allocated
 * string; undefined names expand to "" and are reported via undef_cb
 * (may be NULL).  Syntax errors, loops and excessive nesting stop the
 * expansion and are described in err (empty string when all went well).
 */
char *cfg_expand(struct cfg *c, const char *text,
                 void (*undef_cb)(void *arg, const char *name), void *arg,
                 char *err, size_t errlen);

/* Iterate over the names set in main.cf (and overrides), in file order. */
size_t cfg_count(const struct cfg *c);
const char *cfg_name_at(const struct cfg *c, size_t i);

/* Value parsing shared with postern check. */
bool cfg_parse_bool(const char *s, bool *out);
bool cfg_parse_long(const char *s, long *out);
/* defunit is the unit for a bare number ('s', 'm', 'h', 'd', 'w'). */
bool cfg_parse_time(const char *s, char defunit, long *out);

#endif
