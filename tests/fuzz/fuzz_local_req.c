/*
 * fuzz_local_req.c - libFuzzer target for the local agent's DELIVER
 * request checks (delivery/local_req.c) on top of ipc_parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "local_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipc_in in;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (!ipc_parse(data, size, &in, err, sizeof(err)))
		return 0;
	struct local_req *r = local_req_parse(&in, err, sizeof(err));
	if (r == NULL)
		return 0;
	/* Everything the agent uses afterwards must be there and sane. */
	if (r->id == NULL || r->sender == NULL || r->nrcpt == 0 || r->nexthop == NULL ||
	    r->delays == NULL)
		abort();
	for (size_t i = 0; i < r->nrcpt; i++)
		if (r->rcpt[i].addr == NULL || r->rcpt[i].orig == NULL ||
		    strpbrk(r->rcpt[i].addr, "\r\n") != NULL)
			abort();
	free(r);
	return 0;
}
