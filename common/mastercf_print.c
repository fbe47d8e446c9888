/*
 * mastercf_print.c - print a parsed master.cf the way Postfix's
 * "postconf -M", "-F" and "-P" do (with -f, -h, -H), byte for byte, so
 * "postern conf" output can be diffed against Postfix's.  Runs in the
 * postern command only.  Input: the parsed model and request words
 * from the command line.  Output format facts were taken by running
 * Postfix 3.7's postconf; see tests/fixtures/mastercf/.
 */
#include "mastercf.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

/*
 * postconf -f indents continuation lines by four.  A main.cf-style value
 * may fill 80 columns, a command line only 79: both are facts of its
 * output we reproduce.
 */
#define VALUE_LIMIT 80
#define COMMAND_LIMIT 79
#define INDENT "    "
#define INDENT_LEN 4

/* Where each column of "postconf -M" starts. */
static const size_t columns[] = {0, 11, 17, 25, 33, 41, 49, 57};

static const char *const field_names[MCF_NFIELDS] = {
	"service", "type", "private", "unprivileged", "chroot", "wakeup",
	"process_limit", "command",
};

/* Lines being folded: text is added word by word. */
struct fold {
	struct strbuf sb;
	size_t col;       /* column of the end of sb */
	bool fold;        /* -f */
	size_t limit;     /* longest line */
	bool command;     /* folding a command line (see fold_word) */
	bool break_next;  /* start the next word on a new line */
	bool at_start;    /* on a fresh continuation line, no word yet */
};

static void fold_init(struct fold *f, bool fold, size_t limit)
{
	sb_init(&f->sb, 0);
	f->col = 0;
	f->fold = fold;
	f->limit = limit;
	f->command = limit == COMMAND_LIMIT;
	f->break_next = false;
	f->at_start = false;
}

static void fold_raw(struct fold *f, const char *s, size_t n)
{
	sb_add(&f->sb, s, n);
	for (size_t i = 0; i < n; i++)
		f->col = s[i] == '\n' ? 0 : f->col + 1;
}

static void fold_newline(struct fold *f)
{
	fold_raw(f, "\n" INDENT, 1 + strlen(INDENT));
	f->at_start = true;
}

/*
 * Append " word", or start a new line when it would pass the limit.
 * Like postconf, no space goes before a word while the line holds no
 * more than an indent's worth of text, even when that text is a word
 * (visible with "postconf -Fh" and a command of four letters or less).
 * measure is the length postconf checks against the limit: for a
 * command argument shown in braces, the length without them.
 */
static void fold_word(struct fold *f, const char *w, size_t n, size_t measure)
{
	if (f->fold && !f->at_start &&
	    (f->break_next || f->col + 1 + measure > f->limit))
		fold_newline(f);
	if (f->command ? f->col > INDENT_LEN : !f->at_start)
		fold_raw(f, " ", 1);
	fold_raw(f, w, n);
	f->break_next = false;
	f->at_start = false;
}

static void fold_print(struct fold *f, FILE *out)
{
	fputs(sb_str(&f->sb), out);
	fputc('\n', out);
	sb_free(&f->sb);
}

/*
 * The command and its arguments.  With -f, each "-o value" among the
 * daemon options sits on a line of its own (postconf treats any option
 * word whose first letter is 'o', and a lone "-", the same way);
 * everything else fills lines up to the limit.
 */
static void fold_command(struct fold *f, const struct mcf_service *s)
{
	bool opts = true;

	fold_raw(f, s->command, strlen(s->command));
	for (size_t i = 0; i < s->nshown; i++) {
		const char *a = s->shown[i];
		if (opts && a[0] != '-')
			opts = false;
		if (opts && strcmp(a, "--") == 0)
			opts = false;
		if (opts && (a[1] == 'o' || a[1] == '\0') && i + 1 < s->nshown) {
			if (!f->fold)
				fold_raw(f, " ", 1);
			else if (!f->at_start)
				fold_newline(f);
			fold_raw(f, a, strlen(a));
			fold_raw(f, " ", 1);
			i++;
			fold_raw(f, s->shown[i], strlen(s->shown[i]));
			f->at_start = false;
			f->break_next = true;
			continue;
		}
		fold_word(f, a, strlen(a), strlen(a) - (s->shown_braced[i] ? 2 : 0));
	}
}

static void print_service_line(FILE *out, const struct mcf_service *s,
                               bool fold)
{
	struct fold f;

	fold_init(&f, fold, COMMAND_LIMIT);
	for (int i = 0; i < MCF_F_COMMAND; i++) {
		fold_raw(&f, s->field[i], strlen(s->field[i]));
		/* At least one space, more to reach the next column. */
		do
			fold_raw(&f, " ", 1);
		while (f.col < columns[i + 1]);
	}
	fold_command(&f, s);
	fold_print(&f, out);
}

/* A value as postconf shows it: words joined by one space, or folded. */
static void print_value(FILE *out, const char *label, const char *value,
                        unsigned flags)
{
	struct fold f;
	bool fold = (flags & MCF_PF_FOLD) != 0;

	if (flags & MCF_PF_NAME_ONLY) {
		fprintf(out, "%s\n", label);
		return;
	}
	fold_init(&f, fold, VALUE_LIMIT);
	bool first = true;
	if (!(flags & MCF_PF_VALUE_ONLY)) {
		fold_raw(&f, label, strlen(label));
		fold_raw(&f, " =", 2);
		first = false;
	}
	for (const char *p = value;;) {
		p += strspn(p, " \t\r\n\v\f");
		size_t n = strcspn(p, " \t\r\n\v\f");
		if (n == 0)
			break;
		if (first)
			fold_raw(&f, p, n);
		else
			fold_word(&f, p, n, n);
		first = false;
		p += n;
	}
	fold_print(&f, out);
}

static void print_command_field(FILE *out, const char *label,
                                const struct mcf_service *s, unsigned flags)
{
	struct fold f;

	if (flags & MCF_PF_NAME_ONLY) {
		fprintf(out, "%s\n", label);
		return;
	}
	fold_init(&f, (flags & MCF_PF_FOLD) != 0, COMMAND_LIMIT);
	if (flags & MCF_PF_VALUE_ONLY) {
		fold_command(&f, s);
	} else {
		fold_raw(&f, label, strlen(label));
		fold_raw(&f, " = ", 3);
		fold_command(&f, s);
	}
	fold_print(&f, out);
}

/* A request split at '/': up to three parts, a missing one is "*". */
struct req {
	char *part[3];
	bool matched;
};

static bool part_match(const char *pat, const char *s)
{
	return strcmp(pat, "*") == 0 || strcmp(pat, s) == 0;
}

static int split_req(const char *text, int maxparts, struct req *r)
{
	char *copy = xstrdup(text), *p = copy;
	int n = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		char *slash = strchr(p, '/');
		if (n == maxparts) {
			free(copy);
			return -1;
		}
		if (slash != NULL)
			*slash = '\0';
		r->part[n++] = xstrdup(p);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	free(copy);
	/* A trailing empty part counts as left out. */
	if (n > 1 && r->part[n - 1][0] == '\0') {
		free(r->part[--n]);
		r->part[n] = NULL;
	}
	for (int i = n; i < 3; i++)
		r->part[i] = xstrdup("*");
	return r->part[0][0] == '\0' ? -1 : 0;
}

static void free_reqs(struct req *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			free(r[i].part[k]);
	free(r);
}

static int cmp_override(const void *a, const void *b)
{
	const struct mcf_override *x = *(const struct mcf_override *const *)a;
	const struct mcf_override *y = *(const struct mcf_override *const *)b;
	return strcmp(x->name, y->name);
}

/*
 * -P: the settings by name, the last of each name only.  Like postconf,
 * the settings of every line with the same name and type are pooled,
 * and shown for each such line from the first one that has settings.
 */
static bool print_params(FILE *out, const struct mastercf *m,
                         const struct mcf_service *s, const char *want,
                         unsigned flags)
{
	const struct mcf_override **v = NULL;
	size_t n = 0, cap = 0;
	bool any = false, pooled = false;

	/* A line before the first one with settings has no pool. */
	for (size_t k = 0; k < m->nservices && &m->services[k] <= s; k++) {
		const struct mcf_service *o = &m->services[k];
		if (o->noverrides > 0 && o->type == s->type &&
		    strcmp(o->name, s->name) == 0)
			pooled = true;
	}
	if (!pooled)
		return false;
	for (size_t k = 0; k < m->nservices; k++) {
		const struct mcf_service *o = &m->services[k];
		if (o->type != s->type || strcmp(o->name, s->name) != 0)
			continue;
		for (size_t i = 0; i < o->noverrides; i++) {
			size_t j;
			for (j = 0; j < n; j++)
				if (strcmp(v[j]->name, o->overrides[i].name) == 0)
					break;
			if (j == n) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					v = xreallocarray(v, cap, sizeof(*v));
				}
				n++;
			}
			v[j] = &o->overrides[i];
		}
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_override);
	for (size_t i = 0; i < n; i++) {
		if (!part_match(want, v[i]->name))
			continue;
		struct strbuf label;
		sb_init(&label, 0);
		sb_printf(&label, "%s/%s/%s", s->name, mastercf_type_name(s->type),
		          v[i]->name);
		print_value(out, sb_str(&label), v[i]->value, flags);
		sb_free(&label);
		any = true;
	}
	free(v);
	return any;
}

static bool print_fields(FILE *out, const struct mcf_service *s, const char *want,
                         unsigned flags)
{
	bool any = false;

	for (int i = 0; i < MCF_NFIELDS; i++) {
		if (!part_match(want, field_names[i]))
			continue;
		struct strbuf label;
		sb_init(&label, 0);
		sb_printf(&label, "%s/%s/%s", s->name, mastercf_type_name(s->type),
		          field_names[i]);
		if (i == MCF_F_COMMAND)
			print_command_field(out, sb_str(&label), s, flags);
		else
			print_value(out, sb_str(&label), s->field[i], flags);
		sb_free(&label);
		any = true;
	}
	return any;
}

static bool print_one(FILE *out, const struct mastercf *m,
                      const struct mcf_service *s, enum mcf_print mode,
                      unsigned flags, const char *want)
{
	switch (mode) {
	case MCF_PRINT_SERVICES:
		print_service_line(out, s, (flags & MCF_PF_FOLD) != 0);
		return true;
	case MCF_PRINT_FIELDS:
		return print_fields(out, s, want, flags);
	case MCF_PRINT_PARAMS:
		return print_params(out, m, s, want, flags);
	}
	return false;
}

int mastercf_print(FILE *out, const struct mastercf *m, enum mcf_print mode,
                   unsigned flags, char *const *reqs, size_t nreqs,
                   struct diag *d, char *err, size_t errlen)
{
	int maxparts = mode == MCF_PRINT_SERVICES ? 2 : 3;
	struct req *r = xcalloc(nreqs ? nreqs : 1, sizeof(*r));

	if (mode == MCF_PRINT_SERVICES && (flags & (MCF_PF_NAME_ONLY | MCF_PF_VALUE_ONLY))) {
		snprintf(err, errlen, "-h and -H do not apply to services");
		free(r);
		return -1;
	}
	for (size_t i = 0; i < nreqs; i++) {
		if (split_req(reqs[i], maxparts, &r[i]) < 0) {
			snprintf(err, errlen, "\"%s\": expected %s", reqs[i],
			         mode == MCF_PRINT_SERVICES ? "service_name[/type]"
			         : mode == MCF_PRINT_FIELDS
			             ? "service_name[/type[/field]]"
			             : "service_name[/type[/parameter]]");
			free_reqs(r, i + 1);
			return -1;
		}
		if (mode == MCF_PRINT_FIELDS && strcmp(r[i].part[2], "*") != 0) {
			bool known = false;
			for (int k = 0; k < MCF_NFIELDS; k++)
				known = known || strcmp(r[i].part[2], field_names[k]) == 0;
			if (!known) {
				snprintf(err, errlen, "invalid service field name: \"%s\"",
				         r[i].part[2]);
				free_reqs(r, i + 1);
				return -1;
			}
		}
	}
	for (size_t k = 0; k < m->nservices; k++) {
		const struct mcf_service *s = &m->services[k];
		if (nreqs == 0) {
			print_one(out, m, s, mode, flags, "*");
			continue;
		}
		for (size_t i = 0; i < nreqs; i++) {
			if (!part_match(r[i].part[0], s->name) ||
			    !part_match(r[i].part[1], mastercf_type_name(s->type)))
				continue;
			if (print_one(out, m, s, mode, flags, r[i].part[2]))
				r[i].matched = true;
		}
	}
	for (size_t i = 0; i < nreqs; i++)
		if (!r[i].matched)
			diag_report(d, NULL, 0, DIAG_WARNING, "unmatched request: \"%s\"",
			            reqs[i]);
	free_reqs(r, nreqs);
	return 0;
}
