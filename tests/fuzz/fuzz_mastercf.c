/*
 * fuzz_mastercf.c - libFuzzer target for the master.cf parser and the
 * postconf-style printers: parse the input, look every service up,
 * then print it in each form with and without folding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mastercf.h"

static void quiet(void *arg, const char *file, int line, enum diag_sev sev,
                  const char *text)
{
	(void)arg, (void)file, (void)line, (void)sev, (void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {.emit = quiet};
	struct mastercf *m = mastercf_parse_text((const char *)data, size, "fuzz.cf", &d);
	if (m == NULL)
		return 0;
	for (size_t i = 0; i < m->nservices; i++) {
		const struct mcf_service *s = &m->services[i];
		if (mastercf_find(m, s->name, s->type) == NULL)
			abort();
		for (size_t k = 0; k < s->noverrides; k++)
			if (mastercf_override(s, s->overrides[k].name) == NULL)
				abort();
	}
	FILE *out = fopen("/dev/null", "w");
	if (out != NULL) {
		static const unsigned flags[] = {0, MCF_PF_FOLD, MCF_PF_VALUE_ONLY | MCF_PF_FOLD,
		                                 MCF_PF_NAME_ONLY};
		char err[128];
		for (int mode = MCF_PRINT_SERVICES; mode <= MCF_PRINT_PARAMS; mode++)
			for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
				(void)mastercf_print(out, m, (enum mcf_print)mode,
				                     mode == MCF_PRINT_SERVICES ? flags[f] & MCF_PF_FOLD
				                                                : flags[f],
				                     NULL, 0, &d, err, sizeof(err));
		if (m->nservices > 0) {
			char req[512];
			snprintf(req, sizeof(req), "%s/*/*", m->services[0].name);
			char *reqs[] = {req};
			(void)mastercf_print(out, m, MCF_PRINT_PARAMS, 0, reqs, 1, &d, err,
			                     sizeof(err));
		}
		fclose(out);
	}
	mastercf_free(m);
	return 0;
}
