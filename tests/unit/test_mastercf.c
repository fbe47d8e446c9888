/*
 * test_mastercf.c - the master.cf parser, service model and the
 * postconf -M/-F/-P printers.  Golden files in tests/fixtures/mastercf
 * were produced by running Debian's Postfix 3.7 postconf on the same
 * input; the tests run from the top of the source tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "mastercf.h"
#include "strbuf.h"

#define FIXTURES "tests/fixtures/mastercf/"

struct collect {
	struct diag d;
	struct strbuf text;
};

static void collect_emit(void *arg, const char *file, int line,
                         enum diag_sev sev, const char *text)
{
	struct collect *c = arg;
	sb_printf(&c->text, "%s:%d:%s:%s\n", file ? file : "-", line,
	          sev == DIAG_ERROR ? "error" : sev == DIAG_WARNING ? "warning" : "notice",
	          text);
}

static void col_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	c->d.emit = collect_emit;
	c->d.arg = c;
	sb_init(&c->text, 0);
}

static struct mastercf *parse(const char *text, struct collect *c)
{
	col_init(c);
	return mastercf_parse_text(text, strlen(text), "master.cf", &c->d);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s (run from the source tree top)", path);
	struct strbuf sb;
	sb_init(&sb, 0);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_add(&sb, buf, n);
	fclose(fp);
	*len = sb.len;
	return sb_steal(&sb);
}

static char *print_to_string(const struct mastercf *m, enum mcf_print mode,
                             unsigned flags, char *const *reqs, size_t nreqs,
                             struct diag *d, int *rc)
{
	char *buf = NULL, err[256] = "";
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	*rc = mastercf_print(fp, m, mode, flags, reqs, nreqs, d, err, sizeof(err));
	fclose(fp);
	return buf;
}

/* Every fixture, every flag combination, byte for byte. */
static void test_golden(void **state)
{
	(void)state;
	static const char *const fixtures[] = {"debian", "seeds", "options", "fold"};
	static const struct {
		const char *suffix;
		enum mcf_print mode;
		unsigned flags;
	} forms[] = {
		{"M", MCF_PRINT_SERVICES, 0},
		{"Mf", MCF_PRINT_SERVICES, MCF_PF_FOLD},
		{"F", MCF_PRINT_FIELDS, 0},
		{"Ff", MCF_PRINT_FIELDS, MCF_PF_FOLD},
		{"Fh", MCF_PRINT_FIELDS, MCF_PF_VALUE_ONLY},
		{"Fhf", MCF_PRINT_FIELDS, MCF_PF_VALUE_ONLY | MCF_PF_FOLD},
		{"FH", MCF_PRINT_FIELDS, MCF_PF_NAME_ONLY},
		{"P", MCF_PRINT_PARAMS, 0},
		{"Pf", MCF_PRINT_PARAMS, MCF_PF_FOLD},
		{"Ph", MCF_PRINT_PARAMS, MCF_PF_VALUE_ONLY},
		{"PH", MCF_PRINT_PARAMS, MCF_PF_NAME_ONLY},
	};
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char path[256];
		struct collect c;
		snprintf(path, sizeof(path), FIXTURES "%s.cf", fixtures[i]);
		col_init(&c);
		struct mastercf *m = mastercf_load(path, &c.d);
		assert_non_null(m);
		for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
			size_t glen;
			int rc;
			snprintf(path, sizeof(path), FIXTURES "%s.%s.golden", fixtures[i],
			         forms[k].suffix);
			char *want = slurp(path, &glen);
			char *got = print_to_string(m, forms[k].mode, forms[k].flags, NULL,
			                            0, &c.d, &rc);
			assert_int_equal(rc, 0);
			if (strcmp(want, got) != 0)
				fail_msg("%s differs from our output:\n%s", path, got);
			free(want);
			free(got);
		}
		mastercf_free(m);
		sb_free(&c.text);
	}
}

static void test_debian_model(void **state)
{
	(void)state;
	struct collect c;
	col_init(&c);
	struct mastercf *m = mastercf_load(FIXTURES "debian.cf", &c.d);
	assert_non_null(m);
	/* The stock file loads without a single finding. */
	assert_string_equal(sb_str(&c.text), "");
	assert_int_equal(m->nservices, 31);

	const struct mcf_service *s = mastercf_find(m, "smtp", MCF_INET);
	assert_non_null(s);
	assert_false(s->private_);
	assert_true(s->unpriv);
	assert_true(s->chroot);
	assert_int_equal(s->wakeup, 0);
	assert_int_equal(s->maxproc, -1);
	assert_null(s->host);
	assert_string_equal(s->port, "smtp");
	assert_string_equal(s->command, "smtpd");
	assert_int_equal(s->cls, MCF_CLASS_PROGRAM);
	assert_int_equal(s->line, 12);

	s = mastercf_find(m, "pickup", MCF_UNIX);
	assert_int_equal(s->wakeup, 60);
	assert_false(s->wakeup_conditional);
	assert_int_equal(s->maxproc, 1);
	assert_false(s->private_);
	assert_int_equal(s->cls, MCF_CLASS_INTERNAL);

	s = mastercf_find(m, "tlsmgr", MCF_UNIX);
	assert_int_equal(s->wakeup, 1000);
	assert_true(s->wakeup_conditional);
	assert_true(s->private_);
	assert_int_equal(s->cls, MCF_CLASS_NOT_NEEDED);

	s = mastercf_find(m, "postlog", MCF_UNIX_DGRAM);
	assert_non_null(s);
	assert_string_equal(s->command, "postlogd");

	s = mastercf_find(m, "local", MCF_UNIX);
	assert_false(s->unpriv);
	assert_false(s->chroot);

	s = mastercf_find(m, "relay", MCF_UNIX);
	assert_int_equal(s->noverrides, 1);
	assert_string_equal(mastercf_override(s, "syslog_name"),
	                    "postfix/$service_name");
	assert_int_equal(s->cls, MCF_CLASS_PROGRAM);

	s = mastercf_find(m, "lmtp", MCF_UNIX);
	assert_int_equal(s->cls, MCF_CLASS_PROGRAM);

	/* pipe(8) arguments are kept verbatim and in order. */
	s = mastercf_find(m, "maildrop", MCF_UNIX);
	assert_int_equal(s->cls, MCF_CLASS_UNSUPPORTED);
	assert_int_equal(s->nargs, 5);
	assert_string_equal(s->args[0], "flags=DRXhu");
	assert_string_equal(s->args[1], "user=vmail");
	assert_string_equal(s->args[2], "argv=/usr/bin/maildrop");
	assert_string_equal(s->args[3], "-d");
	assert_string_equal(s->args[4], "${recipient}");
	assert_null(s->args[5]);
	assert_int_equal(s->noverrides, 0);
	mastercf_free(m);
	sb_free(&c.text);
}

/* Each service parsed on its own gives what the whole file gives. */
static void test_one_line_at_a_time(void **state)
{
	(void)state;
	size_t len;
	char *text = slurp(FIXTURES "debian.cf", &len);
	struct collect c;
	struct mastercf *whole = parse(text, &c);
	int rc;
	char *want = print_to_string(whole, MCF_PRINT_FIELDS, 0, NULL, 0, NULL, &rc);
	struct strbuf got, chunk;
	sb_init(&got, 0);
	sb_init(&chunk, 0);
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		/* A new logical line starts: parse the one before. */
		if (chunk.len > 0 && p[0] != ' ' && p[0] != '\t' && p[0] != '#' &&
		    p[0] != '\n') {
			struct collect c2;
			struct mastercf *one = parse(sb_str(&chunk), &c2);
			assert_string_equal(sb_str(&c2.text), "");
			assert_true(one->nservices <= 1);
			char *out = print_to_string(one, MCF_PRINT_FIELDS, 0, NULL, 0, NULL, &rc);
			sb_adds(&got, out);
			free(out);
			mastercf_free(one);
			sb_free(&c2.text);
			sb_reset(&chunk);
		}
		sb_add(&chunk, p, n);
		p += n;
	}
	struct collect c3;
	struct mastercf *last = parse(sb_str(&chunk), &c3);
	char *out = print_to_string(last, MCF_PRINT_FIELDS, 0, NULL, 0, NULL, &rc);
	sb_adds(&got, out);
	assert_string_equal(sb_str(&got), want);
	free(out);
	mastercf_free(last);
	sb_free(&c3.text);
	sb_free(&got);
	sb_free(&chunk);
	free(want);
	mastercf_free(whole);
	sb_free(&c.text);
	free(text);
}

static void test_inet_names(void **state)
{
	(void)state;
	static const struct {
		const char *name, *host, *port;
	} good[] = {
		{"smtp", NULL, "smtp"},
		{"submission", NULL, "submission"},
		{"10025", NULL, "10025"},
		{"127.0.0.1:10025", "127.0.0.1", "10025"},
		{"127.0.0.1:submission", "127.0.0.1", "submission"},
		{"[::1]:10026", "::1", "10026"},
		{"::1:smtp", "::1", "smtp"},
		{"mail.example.com:2525", "mail.example.com", "2525"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char line[256];
		struct collect c;
		snprintf(line, sizeof(line), "%s inet n - n - - smtpd\n", good[i].name);
		struct mastercf *m = parse(line, &c);
		assert_string_equal(sb_str(&c.text), "");
		assert_int_equal(m->nservices, 1);
		if (good[i].host == NULL)
			assert_null(m->services[0].host);
		else
			assert_string_equal(m->services[0].host, good[i].host);
		assert_string_equal(m->services[0].port, good[i].port);
		assert_string_equal(m->services[0].name, good[i].name);
		mastercf_free(m);
		sb_free(&c.text);
	}
	static const char *const bad[] = {
		"[::1 inet n - n - - smtpd\n",
		"[::1]25 inet n - n - - smtpd\n",
		"host: inet n - n - - smtpd\n",
		":25 inet n - n - - smtpd\n",
		"1.2.3.4:65536 inet n - n - - smtpd\n",
		"1.2.3.4:0 inet n - n - - smtpd\n",
		"a/b:25 inet n - n - - smtpd\n",
		"po$rt inet n - n - - smtpd\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct collect c;
		struct mastercf *m = parse(bad[i], &c);
		assert_int_equal(m->nservices, 0);
		assert_int_equal(c.d.count[DIAG_ERROR], 1);
		assert_non_null(strstr(sb_str(&c.text), "master.cf:1:error:inet service"));
		mastercf_free(m);
		sb_free(&c.text);
	}
	/* An explicit "y" on an inet service is reported and ignored. */
	struct collect c;
	struct mastercf *m = parse("smtp inet y - n - - smtpd\n", &c);
	assert_false(m->services[0].private_);
	assert_int_equal(c.d.count[DIAG_WARNING], 1);
	mastercf_free(m);
	sb_free(&c.text);
}

static void test_overrides(void **state)
{
	(void)state;
	struct collect c;
	struct mastercf *m = parse(
		"submission inet n - y - - smtpd\n"
		"  -o syslog_name=postfix/submission\n"
		"  -o { smtpd_tls_security_level = encrypt }\n"
		"  -o smtpd_recipient_restrictions=\n"
		"  -o { smtpd_banner = $myhostname  ESMTP\there }\n"
		"  -o {x = }\n"
		"  -osyslog_name=again -vo a=b -o{ c = d e }\n"
		"  -v -D foo -o not=an_override\n",
		&c);
	assert_string_equal(sb_str(&c.text), "");
	const struct mcf_service *s = &m->services[0];
	assert_int_equal(s->noverrides, 8);
	assert_string_equal(mastercf_override(s, "syslog_name"), "again");
	assert_string_equal(s->overrides[0].value, "postfix/submission");
	assert_string_equal(mastercf_override(s, "smtpd_tls_security_level"), "encrypt");
	assert_string_equal(mastercf_override(s, "smtpd_recipient_restrictions"), "");
	assert_string_equal(mastercf_override(s, "smtpd_banner"),
	                    "$myhostname  ESMTP\there");
	assert_string_equal(mastercf_override(s, "x"), "");
	assert_string_equal(mastercf_override(s, "a"), "b");
	assert_string_equal(mastercf_override(s, "c"), "d e");
	assert_null(mastercf_override(s, "not"));
	/* The daemon's argv, normalised as getopt would see it. */
	static const char *const args[] = {
		"-o", "syslog_name=postfix/submission",
		"-o", "smtpd_tls_security_level=encrypt",
		"-o", "smtpd_recipient_restrictions=",
		"-o", "smtpd_banner=$myhostname  ESMTP\there",
		"-o", "x=",
		"-o", "syslog_name=again", "-v", "-o", "a=b", "-o", "c=d e",
		"-v", "-D", "foo", "-o", "not=an_override",
	};
	assert_int_equal(s->nargs, sizeof(args) / sizeof(args[0]));
	for (size_t i = 0; i < s->nargs; i++)
		assert_string_equal(s->args[i], args[i]);
	assert_string_equal(s->shown[7], "{smtpd_banner=$myhostname  ESMTP\there}");
	mastercf_free(m);
	sb_free(&c.text);

	/* As postconf -P: after an option word written in braces, "-o { a =
	 * b }" still counts but "-vo" is no longer split. */
	m = parse("x unix - - n - - smtpd { -v  x } -o { a = b c } { f g }\n"
	          "y unix - - n - - smtpd {-v} -vo a=b\n",
	          &c);
	assert_string_equal(mastercf_override(&m->services[0], "a"), "b c");
	assert_string_equal(m->services[0].shown[2], "{a = b c}");
	assert_string_equal(m->services[0].shown[3], "f g");
	assert_int_equal(m->services[1].noverrides, 0);
	assert_string_equal(m->services[1].args[1], "-vo");
	mastercf_free(m);
	sb_free(&c.text);

	/* -o forms a daemon would refuse are errors with the line. */
	static const char *const bad[] = {
		"x unix - - n - - smtpd\n  -o noequals\n",
		"x unix - - n - - smtpd\n  -o =value\n",
		"x unix - - n - - smtpd\n  -o { a b = c }\n",
		"x unix - - n - - smtpd\n  -o {}\n",
		"x unix - - n - - smtpd\n  -o\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = parse(bad[i], &c);
		assert_int_equal(m->nservices, 1); /* kept, reported */
		assert_int_equal(m->services[0].noverrides, 0);
		assert_int_equal(c.d.count[DIAG_ERROR], 1);
		assert_non_null(strstr(sb_str(&c.text), "master.cf:1:error:"));
		mastercf_free(m);
		sb_free(&c.text);
	}
}

static void test_braces(void **state)
{
	(void)state;
	struct collect c;
	struct mastercf *m = parse(
		"x unix - n n - - pipe flags=R user=a argv={ /bin/foo   bar }\n"
		"  { a  b } {x} {} c{d e}f\n"
		"y unix - - n - - smtpd {a b\n",
		&c);
	const struct mcf_service *s = &m->services[0];
	static const char *const args[] = {
		"flags=R", "user=a", "argv={ /bin/foo   bar }", "a  b", "x", "", "c{d e}f",
	};
	assert_int_equal(s->nargs, 7);
	for (size_t i = 0; i < s->nargs; i++)
		assert_string_equal(s->args[i], args[i]);
	assert_string_equal(s->shown[2], "{argv={ /bin/foo   bar }}");
	assert_string_equal(s->shown[3], "{a  b}");
	/* Unbalanced: a warning, the rest of the line is the group. */
	assert_int_equal(m->nservices, 2);
	assert_string_equal(m->services[1].args[0], "a b");
	assert_int_equal(c.d.count[DIAG_WARNING], 1);
	assert_non_null(strstr(sb_str(&c.text), "master.cf:3:warning:missing '}'"));
	mastercf_free(m);
	sb_free(&c.text);
}

static void test_bad_fields(void **state)
{
	(void)state;
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{"x foo - - n - - smtpd\n", "invalid type field \"foo\""},
		{"x UNIX - - n - - smtpd\n", "invalid type field \"UNIX\""},
		{"x unix q - n - - smtpd\n", "invalid private field \"q\""},
		{"x unix - Y n - - smtpd\n", "invalid unprivileged field \"Y\""},
		{"x unix - - yes - - smtpd\n", "invalid chroot field \"yes\""},
		{"x unix - - n abc - smtpd\n", "invalid wakeup field \"abc\""},
		{"x unix - - n 10?? - smtpd\n", "invalid wakeup field \"10??\""},
		{"x unix - - n -1 - smtpd\n", "invalid wakeup field \"-1\""},
		{"x unix - - n +5 - smtpd\n", "invalid wakeup field \"+5\""},
		{"x unix - - n 99999999999 - smtpd\n", "invalid wakeup field"},
		{"x unix - - n - -1 smtpd\n", "invalid process_limit field \"-1\""},
		{"x unix - - n - x smtpd\n", "invalid process_limit field \"x\""},
		{"x unix - - n\n", "bad field count: 5 of the 8"},
		{"x unix - - n - -\n", "bad field count: 7 of the 8"},
		{"../x unix - - n - - smtpd\n", "invalid service name \"../x\""},
		{"/tmp/x unix - - n - - smtpd\n", "invalid service name"},
		{"{x y} unix - - n - - smtpd\n", "invalid service name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct collect c;
		char text[256];
		/* A good line first, so the bad one is line 2. */
		snprintf(text, sizeof(text), "ok unix - - n - - smtpd\n%s", bad[i].line);
		struct mastercf *m = parse(text, &c);
		assert_int_equal(m->nservices, 1);
		assert_int_equal(c.d.count[DIAG_ERROR], 1);
		if (strstr(sb_str(&c.text), bad[i].msg) == NULL ||
		    strncmp(sb_str(&c.text), "master.cf:2:error:", 18) != 0)
			fail_msg("%s: got %s", bad[i].line, sb_str(&c.text));
		mastercf_free(m);
		sb_free(&c.text);
	}
	/* Wake-up forms Postfix accepts. */
	static const struct {
		const char *w;
		int secs;
		bool cond;
	} wk[] = {{"-", 0, false}, {"0", 0, false}, {"60", 60, false},
	          {"1000?", 1000, true}, {"?", 0, true}, {"-?", 0, true}, {"007", 7, false}};
	for (size_t i = 0; i < sizeof(wk) / sizeof(wk[0]); i++) {
		struct collect c;
		char text[256];
		snprintf(text, sizeof(text), "x unix - - n %s 010 smtpd\n", wk[i].w);
		struct mastercf *m = parse(text, &c);
		assert_string_equal(sb_str(&c.text), "");
		assert_int_equal(m->services[0].wakeup, wk[i].secs);
		assert_int_equal(m->services[0].wakeup_conditional, wk[i].cond);
		assert_int_equal(m->services[0].maxproc, 10);
		mastercf_free(m);
		sb_free(&c.text);
	}
}

static void test_duplicates(void **state)
{
	(void)state;
	struct collect c;
	struct mastercf *m = parse("x unix - - n - - smtpd -o a=1\n"
	                           "x inet - - n - - smtpd\n"
	                           "x unix - - y - 7 qmgr\n",
	                           &c);
	assert_int_equal(m->nservices, 3);
	assert_true(m->services[0].superseded);
	assert_false(m->services[1].superseded);
	assert_false(m->services[2].superseded);
	const struct mcf_service *s = mastercf_find(m, "x", MCF_UNIX);
	assert_ptr_equal(s, &m->services[2]);
	assert_int_equal(s->maxproc, 7);
	assert_null(mastercf_override(s, "a"));
	assert_int_equal(c.d.count[DIAG_WARNING], 1);
	assert_non_null(strstr(sb_str(&c.text),
	                       "master.cf:3:warning:service x/unix is also defined at line 1"));
	mastercf_free(m);
	sb_free(&c.text);
}

static void test_limits(void **state)
{
	(void)state;
	struct strbuf sb;
	struct collect c;

	/* Arguments: at the limit, then one past it. */
	for (int extra = 0; extra <= 1; extra++) {
		sb_init(&sb, 0);
		sb_adds(&sb, "x unix - - n - - smtpd");
		for (int i = 0; i < MASTERCF_ARGS_MAX + extra; i++)
			sb_printf(&sb, "%sa%d", i % 10 == 9 ? "\n  " : " ", i);
		sb_adds(&sb, "\n");
		struct mastercf *m = parse(sb_str(&sb), &c);
		assert_int_equal(m->services[0].nargs, MASTERCF_ARGS_MAX);
		assert_int_equal(c.d.count[DIAG_ERROR], extra);
		mastercf_free(m);
		sb_free(&c.text);
		sb_free(&sb);
	}
	/* Services: at the limit, then one past it. */
	for (int extra = 0; extra <= 1; extra++) {
		sb_init(&sb, 0);
		for (int i = 0; i < MASTERCF_SERVICES_MAX + extra; i++)
			sb_printf(&sb, "s%d unix - - n - - smtpd\n", i);
		struct mastercf *m = parse(sb_str(&sb), &c);
		assert_int_equal(m->nservices, MASTERCF_SERVICES_MAX);
		assert_int_equal(c.d.count[DIAG_ERROR], extra);
		mastercf_free(m);
		sb_free(&c.text);
		sb_free(&sb);
	}
	/* Logical line length: at CFG_LINE_MAX, then one past it. */
	for (int extra = 0; extra <= 1; extra++) {
		const char *head = "x unix - - n - - pipe argv=";
		size_t n = CFG_LINE_MAX + (size_t)extra;
		char *text = malloc(n + 2);
		memset(text, 'a', n);
		memcpy(text, head, strlen(head));
		text[n] = '\n';
		text[n + 1] = '\0';
		struct mastercf *m = parse(text, &c);
		assert_int_equal(m->nservices, extra ? 0 : 1);
		assert_int_equal(c.d.count[DIAG_ERROR], extra);
		mastercf_free(m);
		sb_free(&c.text);
		free(text);
	}
}

static void test_print_requests(void **state)
{
	(void)state;
	struct collect c;
	struct mastercf *m = mastercf_load(FIXTURES "debian.cf", NULL);
	int rc;
	col_init(&c);
	char *reqs1[] = {"relay/unix", "smtp/inet", "smtp/inet", "nosuch/inet"};
	char *out = print_to_string(m, MCF_PRINT_SERVICES, 0, reqs1, 4, &c.d, &rc);
	assert_int_equal(rc, 0);
	/* File order; a service once per request that matches it. */
	assert_string_equal(out,
	    "smtp       inet  n       -       y       -       -       smtpd\n"
	    "smtp       inet  n       -       y       -       -       smtpd\n"
	    "relay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name\n");
	assert_string_equal(sb_str(&c.text), "-:0:warning:unmatched request: \"nosuch/inet\"\n");
	free(out);

	char *reqs2[] = {"*/*/chroot", "relay/unix/command"};
	out = print_to_string(m, MCF_PRINT_FIELDS, MCF_PF_VALUE_ONLY, reqs2, 2, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "y\ny\nsmtp -o syslog_name=postfix/$service_name\ny\n"));
	free(out);

	char *reqs3[] = {"smtp/"};
	out = print_to_string(m, MCF_PRINT_SERVICES, 0, reqs3, 1, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out,
	    "smtp       inet  n       -       y       -       -       smtpd\n"
	    "smtp       unix  -       -       y       -       -       smtp\n");
	free(out);

	char *badreqs[][1] = {{"a/b/c"}, {"/unix"}, {""}};
	for (size_t i = 0; i < 3; i++) {
		out = print_to_string(m, MCF_PRINT_SERVICES, 0, badreqs[i], 1, NULL, &rc);
		assert_int_equal(rc, -1);
		assert_string_equal(out, "");
		free(out);
	}
	char *badfield[] = {"smtp/inet/nosuch"};
	out = print_to_string(m, MCF_PRINT_FIELDS, 0, badfield, 1, NULL, &rc);
	assert_int_equal(rc, -1);
	free(out);
	char *toolong[] = {"a/b/c/d"};
	out = print_to_string(m, MCF_PRINT_PARAMS, 0, toolong, 1, NULL, &rc);
	assert_int_equal(rc, -1);
	free(out);
	out = print_to_string(m, MCF_PRINT_SERVICES, MCF_PF_NAME_ONLY, NULL, 0, NULL, &rc);
	assert_int_equal(rc, -1);
	free(out);
	mastercf_free(m);
	sb_free(&c.text);
}

static void test_classify(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(mastercf_classify("smtpd", &why), MCF_CLASS_PROGRAM);
	assert_int_equal(mastercf_classify("/usr/lib/postfix/sbin/smtp", &why),
	                 MCF_CLASS_PROGRAM);
	assert_int_equal(mastercf_classify("lmtp", &why), MCF_CLASS_PROGRAM);
	assert_non_null(strstr(why, "LMTP"));
	assert_int_equal(mastercf_classify("trivial-rewrite", &why), MCF_CLASS_INTERNAL);
	assert_int_equal(mastercf_classify("bounce", &why), MCF_CLASS_INTERNAL);
	assert_int_equal(mastercf_classify("scache", &why), MCF_CLASS_NOT_NEEDED);
	assert_int_equal(mastercf_classify("postscreen", &why), MCF_CLASS_UNSUPPORTED);
	assert_int_equal(mastercf_classify("pipe", &why), MCF_CLASS_UNSUPPORTED);
	assert_int_equal(mastercf_classify("my-daemon", &why), MCF_CLASS_UNSUPPORTED);
	assert_non_null(why);
	assert_string_equal(mastercf_class_name(MCF_CLASS_INTERNAL), "internal");
	assert_string_equal(mastercf_type_name(MCF_UNIX_DGRAM), "unix-dgram");
}

static void test_load_errors(void **state)
{
	(void)state;
	struct collect c;
	col_init(&c);
	assert_null(mastercf_load("/nonexistent/master.cf", &c.d));
	assert_non_null(strstr(sb_str(&c.text), "/nonexistent/master.cf:0:error:cannot open"));
	sb_free(&c.text);

	/* Empty input, NUL bytes, an orphan continuation line. */
	struct mastercf *m = mastercf_parse_text("", 0, "empty", NULL);
	assert_int_equal(m->nservices, 0);
	mastercf_free(m);
	static const char nul[] = "a unix - - n - - smtpd\nb unix\0 - - n - - smtpd\n  -o x=y\n";
	col_init(&c);
	m = mastercf_parse_text(nul, sizeof(nul) - 1, "nul.cf", &c.d);
	assert_int_equal(m->nservices, 1);
	/* lreader also reports the continuation of the bad line. */
	assert_true(c.d.count[DIAG_ERROR] >= 1);
	assert_int_equal(strncmp(sb_str(&c.text), "nul.cf:2:error:", 15), 0);
	mastercf_free(m);
	sb_free(&c.text);
	m = parse("  -o orphan=1\nx unix - - n - - smtpd\n", &c);
	assert_int_equal(m->nservices, 1);
	assert_non_null(strstr(sb_str(&c.text), "master.cf:1:error:"));
	mastercf_free(m);
	sb_free(&c.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_debian_model),
		cmocka_unit_test(test_one_line_at_a_time),
		cmocka_unit_test(test_inet_names),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_braces),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_print_requests),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_load_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
