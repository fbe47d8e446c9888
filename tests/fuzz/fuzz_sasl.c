/*
 * fuzz_sasl.c - libFuzzer target for smtpd's SASL parsers
 * (smtpd/smtpd_sasl_parse.c, compiled in): the first byte chooses the
 * AUTH argument (then base64 of its initial response), a client
 * response line (base64), or a line from a Dovecot auth server.
 * Decoded data must round-trip through the encoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd_sasl_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void b64_roundtrip(const char *in, size_t len)
{
	size_t cap = len / 4 * 3 + 3, n = 0;
	unsigned char *out = malloc(cap);
	if (out == NULL)
		return;
	if (sasl_b64_decode(in, len, out, cap, &n)) {
		if (n > cap)
			__builtin_trap();
		char *enc = malloc(len + 1);
		/* Strict decoding: the encoding is unique, so it comes back. */
		if (enc == NULL || !sasl_b64_encode(out, n, enc, len + 1) || strlen(enc) != len ||
		    memcmp(enc, in, len) != 0)
			__builtin_trap();
		free(enc);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > SASL_RESPONSE_MAX)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: {
		struct sasl_auth_arg a;
		const char *err = sasl_auth_parse(p, n, &a);
		if (err == NULL) {
			if (strlen(a.mech) == 0 || strlen(a.mech) > SASL_MECH_NAME_MAX)
				__builtin_trap();
			if (a.has_init) {
				if (a.init < p || a.init + a.initlen > p + n)
					__builtin_trap();
				b64_roundtrip(a.init, a.initlen);
			}
		}
		break;
	}
	case 1:
		b64_roundtrip(p, n);
		break;
	case 2: {
		if (n > DOVECOT_LINE_MAX)
			break;
		char *line = malloc(n + 1);
		if (line == NULL)
			break;
		memcpy(line, p, n);
		struct dv_line l;
		if (dv_line_parse(line, n, &l)) {
			if (l.nargs > DOVECOT_ARGS_MAX || l.cmd == NULL)
				__builtin_trap();
			(void)dv_arg(&l, "user");
			(void)dv_arg(&l, "reason");
			char esc[64];
			(void)dv_escape(l.cmd, esc, sizeof(esc));
		}
		free(line);
		break;
	}
	}
	return 0;
}
