/*
 * test_hbcheck.c - the content scanner (common/mime.c) and the header/
 * body checks (common/hbcheck.c): header folding, header_size_limit,
 * long body lines, MIME classification (primary, part, nested),
 * boundaries and their length limit, the nesting limit at and one past
 * it, the strict_* errors, disable_mime_input_processing; every input
 * fed whole and one byte at a time must give the same items.  Then the
 * actions on real regexp tables: the edited output and the results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "cfg.h"
#include "hbcheck.h"
#include "mime.h"
#include "strbuf.h"

/* The items as text: "H<class><m>:text|" "E|" "B:text|" ("B~" a chunk). */
static void collect(void *ctx, const struct mime_item *it)
{
	struct strbuf *sb = ctx;
	switch (it->kind) {
	case MIME_I_HEADER:
		sb_printf(sb, "H%d%s%s:", (int)it->hclass, it->mime_hdr ? "m" : "",
		          it->truncated ? "t" : "");
		break;
	case MIME_I_EOH:
		sb_adds(sb, "E|");
		return;
	case MIME_I_BODY:
		sb_adds(sb, it->eol ? "B:" : "B~");
		break;
	}
	sb_add(sb, it->text, it->len);
	sb_addc(sb, '|');
}

static struct mime_opts defaults(void)
{
	struct mime_opts o = {
		.nesting_limit = 100,
		.boundary_max = 2048,
		.header_max = 102400,
		.line_max = 2048,
	};
	return o;
}

/* Scan in steps of step bytes; the items, and the error in *err. */
static char *scan_step(const char *in, const struct mime_opts *o, size_t step, enum mime_err *err)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	struct mime m;
	mime_init(&m, o, collect, &sb);
	size_t n = strlen(in);
	for (size_t off = 0; off < n; off += step)
		mime_feed(&m, in + off, n - off < step ? n - off : step);
	mime_finish(&m);
	if (err)
		*err = m.err;
	mime_free(&m);
	return sb_steal(&sb);
}

/* Whole and one byte at a time: the same. */
static char *scan(const char *in, const struct mime_opts *o, enum mime_err *err)
{
	enum mime_err e1, e2;
	char *a = scan_step(in, o, strlen(in) + 1, &e1);
	char *b = scan_step(in, o, 1, &e2);
	assert_string_equal(a, b);
	assert_int_equal(e1, e2);
	free(b);
	if (err)
		*err = e1;
	return a;
}

#define EXPECT(in, o, want)                                                                        \
	do {                                                                                       \
		char *got_ = scan(in, o, NULL);                                                    \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_folding(void **state)
{
	(void)state;
	struct mime_opts o = defaults();
	EXPECT("Subject: a\n b\n\tc\nX-Y : z\n\nbody\n\n  \n", &o,
	       "H0:Subject: a\n b\n\tc|H0:X-Y : z|E|B:body|B:|B:  |");
	/* No empty line: the first line that is no header starts the body. */
	EXPECT("Subject: a\nnot a header\n more\n", &o, "H0:Subject: a|B:not a header|B: more|");
	/* A last line without LF. */
	EXPECT("Subject: a\n\nlast", &o, "H0:Subject: a|E|B:last|");
	EXPECT("Subject: open", &o, "H0:Subject: open|");
}

static void test_limits(void **state)
{
	(void)state;
	struct mime_opts o = defaults();
	o.header_max = 100;
	char in[1024], want[1024];
	/* At the limit: whole; one past it: truncated. */
	snprintf(in, sizeof(in), "X: %097d\n\n", 0);
	snprintf(want, sizeof(want), "H0:X: %097d|E|", 0);
	EXPECT(in, &o, want);
	snprintf(in, sizeof(in), "X: %098d\n\n", 0);
	snprintf(want, sizeof(want), "H0t:X: %097d|E|", 0);
	EXPECT(in, &o, want);
	/* A continuation line that does not fit is dropped whole, and so is
	 * the rest, as Postfix does (checked with header_size_limit = 200). */
	snprintf(in, sizeof(in), "X: %091d\n z\n z\n z\n zz\nY: 1\n\n", 0);
	snprintf(want, sizeof(want), "H0t:X: %091d\n z\n z|H0:Y: 1|E|", 0);
	EXPECT(in, &o, want);
	/* Continuation lines past the limit are dropped too. */
	snprintf(in, sizeof(in), "X: %097d\n more\nY: 1\n\n", 0);
	snprintf(want, sizeof(want), "H0t:X: %097d|H0:Y: 1|E|", 0);
	EXPECT(in, &o, want);
	/* Body lines longer than line_length_limit come in chunks. */
	o = defaults();
	o.line_max = 100;
	char body[400];
	memset(body, 'b', 250);
	body[250] = '\0';
	snprintf(in, sizeof(in), "\n%s\n", body);
	char *got = scan(in, &o, NULL);
	assert_int_equal(strncmp(got, "E|B~", 4), 0);
	assert_non_null(strstr(got, "|B:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb|"));
	free(got);
	/* Exactly the limit, then LF. */
	memset(body, 'c', 100);
	body[100] = '\0';
	snprintf(in, sizeof(in), "\n%s\nd\n", body);
	got = scan(in, &o, NULL);
	snprintf(want, sizeof(want), "E|B~%s|B:|B:d|", body);
	assert_string_equal(got, want);
	free(got);
}

static const char multipart[] =
    "Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"XYZ\"\n\n"
    "pre\n--XYZ\nContent-Type: text/plain\nX-Part: 1\n\nhello\n"
    "--XYZ\nContent-Type: message/rfc822\n\nX-Inner: 1\nContent-Type: text/plain\nSubject: in\n\ninner body\n"
    "--XYZ--\nepi\n";

static void test_mime(void **state)
{
	(void)state;
	struct mime_opts o = defaults();
	EXPECT(multipart, &o,
	       "H0:Subject: m|H0m:MIME-Version: 1.0|H0m:Content-Type: multipart/mixed;\n boundary=\"XYZ\"|E|"
	       "B:pre|B:--XYZ|H1m:Content-Type: text/plain|H1m:X-Part: 1|E|B:hello|"
	       "B:--XYZ|H1m:Content-Type: message/rfc822|E|H2:X-Inner: 1|H2m:Content-Type: text/plain|"
	       "H2:Subject: in|E|B:inner body|B:--XYZ--|B:epi|");
	/* disable_mime_input_processing: one header block, the rest is body;
	 * its MIME headers still count as MIME headers, as in Postfix. */
	o.disabled = true;
	EXPECT(multipart, &o,
	       "H0:Subject: m|H0m:MIME-Version: 1.0|H0m:Content-Type: multipart/mixed;\n boundary=\"XYZ\"|E|"
	       "B:pre|B:--XYZ|B:Content-Type: text/plain|B:X-Part: 1|B:|B:hello|B:--XYZ|"
	       "B:Content-Type: message/rfc822|B:|B:X-Inner: 1|B:Content-Type: text/plain|B:Subject: in|"
	       "B:|B:inner body|B:--XYZ--|B:epi|");
	/* A boundary compared on its first mime_boundary_length_limit bytes. */
	o = defaults();
	o.boundary_max = 5;
	EXPECT("Content-Type: multipart/mixed; boundary=ABCDEFG\n\n--ABCDExx\nX: 1\n\nb\n", &o,
	       "H0m:Content-Type: multipart/mixed; boundary=ABCDEFG|E|B:--ABCDExx|H1m:X: 1|E|B:b|");
	/* multipart/digest: a part without Content-Type is a message (as
	 * Postfix: its headers are nested headers); message/partial is body. */
	EXPECT("Content-Type: multipart/digest; boundary=D\n\n--D\n\nX-In: 1\n\nb\n--D\n"
	       "Content-Type: message/partial; id=1\n\nX-P: 1\n--D--\n",
	       &o,
	       "H0m:Content-Type: multipart/digest; boundary=D|E|B:--D|E|H2:X-In: 1|E|B:b|B:--D|"
	       "H1m:Content-Type: message/partial; id=1|E|B:X-P: 1|B:--D--|");
	/* Nested multiparts; an outer boundary closes the inner ones. */
	o = defaults();
	EXPECT("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative; "
	       "boundary=\"b\"\n\n--b\n\nx\n--a--\ny\n",
	       &o,
	       "H0m:Content-Type: multipart/mixed; boundary=a|E|B:--a|"
	       "H1m:Content-Type: multipart/alternative; boundary=\"b\"|E|B:--b|E|B:x|B:--a--|B:y|");
}

static char *deep(int n)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_adds(&sb, "MIME-Version: 1.0\n");
	for (int i = 0; i < n; i++)
		sb_printf(&sb, "Content-Type: multipart/mixed; boundary=\"L%d\"\n\n--L%d\n", i, i);
	sb_adds(&sb, "\nx\n");
	return sb_steal(&sb);
}

static void test_nesting(void **state)
{
	(void)state;
	struct mime_opts o = defaults();
	enum mime_err e;
	o.nesting_limit = 1;
	/* Postfix refuses more than limit + 2 multipart levels. */
	char *in = deep(3), *got = scan(in, &o, &e);
	assert_int_equal(e, MIME_OK);
	free(in);
	free(got);
	in = deep(4);
	got = scan(in, &o, &e);
	assert_int_equal(e, MIME_ERR_NESTING);
	free(in);
	free(got);
	/* The hard cap holds whatever the parameter says. */
	o.nesting_limit = 1000000;
	in = deep(MIME_NESTING_MAX + 10);
	got = scan_step(in, &o, 4096, &e);
	assert_int_equal(e, MIME_ERR_NESTING);
	free(in);
	free(got);
}

static void test_strict(void **state)
{
	(void)state;
	struct mime_opts o = defaults();
	enum mime_err e;
	char *got;
	o.strict_7bit_hdr = true;
	got = scan("Subject: \xc3\xa4\n\nx\n", &o, &e);
	assert_int_equal(e, MIME_ERR_8BIT_HDR);
	free(got);
	got = scan("Subject: a\n\nx \xc3\xa4\n", &o, &e);
	assert_int_equal(e, MIME_OK);
	free(got);
	o = defaults();
	o.strict_8bit_body = true;
	got = scan("Subject: a\n\nx \xc3\xa4\n", &o, &e);
	assert_int_equal(e, MIME_ERR_8BIT_BODY);
	free(got);
	got = scan("Content-Transfer-Encoding: 8bit\n\nx \xc3\xa4\n", &o, &e);
	assert_int_equal(e, MIME_OK);
	free(got);
	/* A part inherits nothing: its own header says 8bit or not. */
	got = scan("Content-Type: multipart/mixed; boundary=q\nContent-Transfer-Encoding: 8bit\n\n"
	           "--q\n\n\xc3\xa4\n--q--\n",
	           &o, &e);
	assert_int_equal(e, MIME_ERR_8BIT_BODY);
	free(got);
	o = defaults();
	o.strict_domain = true;
	got = scan("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nS: x\n\ny\n", &o, &e);
	assert_int_equal(e, MIME_ERR_DOMAIN);
	free(got);
	got = scan("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\neHl6\n", &o, &e);
	assert_int_equal(e, MIME_OK);
	free(got);
	assert_string_equal(mime_error_text(MIME_ERR_DOMAIN),
	                    "invalid message/* or multipart/* encoding domain");
}

/* ---- the checks on real tables ---------------------------------------- */

static char tmpdir[64];

static struct hbc_cfg *load(const char *extra)
{
	char path[128], text[2048];
	snprintf(path, sizeof(path), "%s/hc", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("/^Subject: reject-me/ REJECT go away\n"
	      "/^Subject: dsn-me/ REJECT 4.7.2 later\n"
	      "/^Subject: plain-reject/ REJECT\n"
	      "/^X-Drop:/ IGNORE\n"
	      "/^Subject: prep/ PREPEND X-Pre: 1\n"
	      "/^Subject: swap/ REPLACE Subject: swapped\n"
	      "/^Subject: bad-prepend/ PREPEND no header label\n"
	      "/^Subject: hold/ HOLD\n"
	      "/^Subject: discard/ DISCARD\n"
	      "/^Subject: redirect/ REDIRECT a@b.example\n"
	      "/^Subject: bcc/ BCC c@d.example\n"
	      "/^Subject: filter/ FILTER smtp:[127.0.0.1]:10025\n"
	      "/^Subject: filter/ FILTER never:reached\n"
	      "/^Subject: pass/ PASS\n"
	      "/^Subject: late/ REJECT late\n"
	      "/^X-After-Redirect:/ BCC e@f.example\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bc", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("/^drop-me/ IGNORE\n/^swap-me/ REPLACE swapped line\n/^bad-body/ REJECT\n", f);
	fclose(f);
	int n = snprintf(text, sizeof(text),
	                 "header_checks = regexp:%s/hc\nbody_checks = regexp:%s/bc\n%s", tmpdir,
	                 tmpdir, extra);
	struct cfg *c = cfg_load_text(text, (size_t)n, "main.cf", NULL);
	assert_non_null(c);
	char err[512];
	struct hbc_cfg *hc = hbc_cfg_load(c, err, sizeof(err));
	cfg_free(c);
	assert_non_null(hc);
	return hc;
}

static const struct hbc_who who = {"QID", "unknown[127.0.0.1]", "s@x", "r@y", "ESMTP", "h"};

/* Run msg through the checks (one byte at a time): output, actions copied. */
static char *run(struct hbc_cfg *hc, const char *msg, struct hbc_actions *a)
{
	struct strbuf out;
	sb_init(&out, 0);
	struct hbc *h = hbc_start(hc, &who);
	for (size_t i = 0; msg[i]; i++)
		hbc_feed(h, msg + i, 1, &out);
	hbc_finish(h, &out);
	*a = *hbc_actions(h);
	a->bcc = NULL; /* freed with h; nbcc stays */
	hbc_free(h);
	return sb_steal(&out);
}

static void test_actions(void **state)
{
	(void)state;
	struct hbc_cfg *hc = load("");
	assert_true(hbc_cfg_active(hc));
	struct hbc_actions a;
	char *o;
	o = run(hc, "Subject: ok\nX-Drop: 1\n\nline\ndrop-me\nswap-me x\n", &a);
	assert_string_equal(o, "Subject: ok\n\nline\nswapped line\n");
	assert_false(a.reject);
	free(o);
	o = run(hc, "Subject: reject-me\n\nx\n", &a);
	assert_true(a.reject);
	assert_string_equal(a.reply, "550 5.7.1 go away");
	free(o);
	o = run(hc, "Subject: dsn-me\n\nx\n", &a);
	assert_string_equal(a.reply, "451 4.7.2 later");
	free(o);
	o = run(hc, "Subject: plain-reject\n\nx\n", &a);
	assert_string_equal(a.reply, "550 5.7.1 message content rejected");
	free(o);
	o = run(hc, "A: 1\n\nbad-body\n", &a);
	assert_string_equal(a.reply, "550 5.7.1 message content rejected");
	free(o);
	o = run(hc, "Subject: prep\nSubject: swap\nSubject: bad-prepend\n\nx\n", &a);
	assert_string_equal(o, "X-Pre: 1\nSubject: prep\nSubject: swapped\nSubject: bad-prepend\n\nx\n");
	free(o);
	o = run(hc, "Subject: hold\n\nx\n", &a);
	assert_true(a.hold && !a.discard);
	free(o);
	o = run(hc, "Subject: discard\nSubject: reject-me\n\nx\n", &a);
	assert_true(a.discard && !a.reject);
	free(o);
	/* FILTER: the first line's value, then REDIRECT stops the inspection. */
	o = run(hc, "Subject: filter\nSubject: redirect\nX-After-Redirect: 1\nSubject: reject-me\n\nx\n", &a);
	assert_string_equal(a.filter, "smtp:[127.0.0.1]:10025");
	assert_string_equal(a.redirect, "a@b.example");
	assert_false(a.reject);
	assert_int_equal(a.nbcc, 0);
	free(o);
	o = run(hc, "Subject: bcc\n\nx\n", &a);
	assert_int_equal(a.nbcc, 1);
	free(o);
	o = run(hc, "Subject: pass\nSubject: late\n\nbad-body\n", &a);
	assert_false(a.reject);
	free(o);
	hbc_cfg_free(hc);

	/* receive_override_options = no_header_body_checks: nothing active. */
	hc = load("receive_override_options = no_address_mappings, no_header_body_checks\n");
	assert_false(hbc_cfg_active(hc));
	hbc_cfg_free(hc);
	/* A strict option alone makes the checks active. */
	hc = load("receive_override_options = no_header_body_checks\nstrict_8bitmime = yes\n");
	assert_true(hbc_cfg_active(hc));
	o = run(hc, "Subject: \xc3\xa4\n\nx\n", &a);
	assert_string_equal(a.reply, "550 5.6.0 improper use of 8-bit data in message header");
	free(o);
	hbc_cfg_free(hc);

	/* body_checks_size_limit: a line is checked when fewer bytes of its
	 * segment came before it (Postfix: 9 lines of 10 bytes, yes; 10, no). */
	hc = load("body_checks_size_limit = 100\n");
	char msg[512];
	for (int n = 9; n <= 10; n++) {
		strcpy(msg, "S: 1\n\n");
		for (int i = 0; i < n; i++)
			strcat(msg, "aaaaaaaaa\n");
		strcat(msg, "bad-body\n");
		o = run(hc, msg, &a);
		assert_int_equal(a.reject, n == 9);
		free(o);
	}
	hbc_cfg_free(hc);

	/* A table that does not open: every message gets a 4xx. */
	hc = load("body_checks = regexp:/nonexistent/table\n");
	assert_non_null(hbc_cfg_error(hc));
	assert_true(hbc_cfg_active(hc));
	o = run(hc, "Subject: ok\n\nx\n", &a);
	assert_true(a.reject);
	assert_string_equal(a.reply, "451 4.3.0 Error: queue file write error");
	assert_string_equal(o, "");
	free(o);
	hbc_cfg_free(hc);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_hbcheck.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof(p), "%s/hc", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bc", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_folding), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_mime),    cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_strict),  cmocka_unit_test(test_actions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
