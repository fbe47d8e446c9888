/*
 * fuzz_ipc.c - libFuzzer target for the daemon record parser.
 */
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipc_in in;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	if (!ipc_parse(data, size, &in, err, sizeof(err)))
		return 0;
	uint64_t v;
	for (uint8_t tag = 0; tag < 8; tag++) {
		(void)ipc_str(&in, tag);
		(void)ipc_u64(&in, tag, &v);
	}
	return 0;
}
