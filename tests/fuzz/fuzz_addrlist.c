/*
 * fuzz_addrlist.c - libFuzzer target for the address-list parser of
 * postern sendmail (tools/addrlist.c): header text of any shape.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../tools/addrlist.h"
#include "bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cb(void *arg, const char *addr)
{
	size_t *n = arg;
	if (strlen(addr) > ADDRLIST_ADDR_MAX)
		__builtin_trap();
	return ++*n < 10000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	addrlist_parse((const char *)data, size, cb, &n);
	return 0;
}
