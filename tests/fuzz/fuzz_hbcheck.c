/*
 * fuzz_hbcheck.c - libFuzzer target for the header/body checks
 * (common/hbcheck.c over common/mime.c) with a table that uses every
 * action: the message is fed in two pieces split where the first byte
 * says; the output must equal that of the message fed whole, and the
 * results must agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "hbcheck.h"
#include "log.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct hbc_cfg *hc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_hbcheck", 0, NULL); /* the action log lines: nowhere */
	char dir[] = "/tmp/fuzz_hbcheck.XXXXXX", path[64], text[512];
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/t", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs("/^R/ REJECT r\n/^D/ DISCARD\n/^I/ IGNORE\n/^P(.*)/ PREPEND X-P:$1\n"
	      "/^S(.*)/ REPLACE X-S:$1\n/^H/ HOLD\n/^B/ BCC b@x\n/^E/ REDIRECT e@x\n/^F/ FILTER s:x\n"
	      "/^W/ WARN\n/^A/ PASS\n/^T/ STRIP\n/^N/ 550 no\n/^P/ PREPEND\n",
	      f);
	fclose(f);
	int n = snprintf(text, sizeof(text),
	                 "header_checks = regexp:%s\nbody_checks = regexp:%s\nheader_size_limit = 300\n"
	                 "line_length_limit = 100\nmime_nesting_limit = 3\nstrict_8bitmime = yes\n"
	                 "strict_mime_encoding_domain = yes\nbody_checks_size_limit = 500\n",
	                 path, path);
	struct cfg *c = cfg_load_text(text, (size_t)n, "main.cf", NULL);
	char err[512];
	hc = hbc_cfg_load(c, err, sizeof(err));
	cfg_free(c);
	unlink(path);
	rmdir(dir);
	if (hbc_cfg_error(hc))
		abort();
	return 0;
}

static const struct hbc_who who = {"Q", "c[1]", "s", "r", "ESMTP", "h"};

static char *run(const char *p, size_t n, size_t split, struct hbc_actions *a)
{
	struct strbuf out;
	sb_init(&out, 0);
	struct hbc *h = hbc_start(hc, &who);
	if (split > n)
		split = n;
	hbc_feed(h, p, split, &out);
	hbc_feed(h, p + split, n - split, &out);
	hbc_finish(h, &out);
	*a = *hbc_actions(h);
	a->bcc = NULL;
	hbc_free(h);
	return sb_steal(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	struct hbc_actions a1, a2;
	char *o1 = run(p, n, n, &a1);
	char *o2 = run(p, n, data[0], &a2);
	if (strcmp(o1, o2) != 0 || a1.reject != a2.reject || strcmp(a1.reply, a2.reply) != 0 ||
	    a1.discard != a2.discard || a1.hold != a2.hold || a1.nbcc != a2.nbcc ||
	    strcmp(a1.redirect, a2.redirect) != 0 || strcmp(a1.filter, a2.filter) != 0)
		abort();
	free(o1);
	free(o2);
	return 0;
}
