/*
 * fuzz_smtp_cmd.c - libFuzzer target for smtpd's command line parser
 * (smtpd/smtpd_cmd.c, compiled in: smtpd/ is not in libpostern).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../smtpd/smtpd_cmd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtp_cmd cmd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (smtp_cmd_parse((const char *)data, size, &cmd)) {
		/* A parsed address is NUL-terminated and within bounds. */
		size_t n = strlen(cmd.addr);
		if (n > SMTP_ADDR_MAX || (cmd.at != (size_t)-1 && (cmd.at >= n || cmd.addr[cmd.at] != '@')))
			__builtin_trap();
	} else if (cmd.err == NULL) {
		__builtin_trap();
	}
	char shown[101];
	(void)smtp_cmd_forbidden((const char *)data, size);
	smtp_printable(shown, sizeof(shown), (const char *)data, size);
	if (strlen(shown) > 100)
		__builtin_trap();
	return 0;
}
