/*
 * fuzz_map_regexp.c - libFuzzer target for the regexp: table source parser
 * and its lookups; see fuzz_pattern.h for the input format.
 */
#include "fuzz_pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pattern_one("regexp", data, size);
}
