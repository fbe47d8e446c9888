/*
 * fuzz_maincf.c - libFuzzer target for the main.cf reader and the
 * parameter expander: parse the input as main.cf, then expand every
 * parameter it sets and the input itself as one value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static void quiet(void *arg, const char *file, int line, enum diag_sev sev,
                  const char *text)
{
	(void)arg, (void)file, (void)line, (void)sev, (void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {.emit = quiet};
	struct cfg *c = cfg_load_text((const char *)data, size, "fuzz.cf", &d);
	for (size_t i = 0; i < cfg_count(c); i++)
		(void)cfg_get(c, cfg_name_at(c, i));
	(void)cfg_get(c, "mydomain");
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char err[256];
	free(cfg_expand(c, text, NULL, NULL, err, sizeof(err)));
	free(text);
	cfg_free(c);
	return 0;
}
