/*
 * ipc.h - daemon-to-daemon messages.  Every message is one record on a
 * SOCK_SEQPACKET unix socket (so the kernel keeps record boundaries and
 * carries a passed file descriptor with the record it belongs to):
 *
 *   type (2 bytes, big-endian) | field* 
 *   field = tag (1 byte) | length (4 bytes, big-endian) | bytes
 *
 * A string field carries its terminating NUL, so a parsed field can be
 * used in place; the parser rejects a string with an inner NUL or none
 * at the end.  One parser (ipc_parse) checks every length against the
 * record before anything is used; an unknown type or a short record is
 * the receiver's to treat as fatal.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest record: envelopes travel here, message content never does. */
#define IPC_RECORD_MAX (256 * 1024)
#define IPC_FIELDS_MAX 4096

struct ipc_out {
	uint8_t *buf;
	size_t len, cap;
	bool overflow; /* a field did not fit: the record must not be sent */
};

void ipc_out_init(struct ipc_out *o, uint16_t type);
void ipc_out_free(struct ipc_out *o);
void ipc_add_bytes(struct ipc_out *o, uint8_t tag, const void *p, size_t n);
void ipc_add_str(struct ipc_out *o, uint8_t tag, const char *s);
void ipc_add_u64(struct ipc_out *o, uint8_t tag, uint64_t v);

struct ipc_field {
	uint8_t tag;
	uint32_t len;
	const uint8_t *data;
};

struct ipc_in {
	uint16_t type;
	size_t nfields;
	struct ipc_field fields[IPC_FIELDS_MAX];
};

/* Parse a record; false (err set) if it is malformed in any way. */
bool ipc_parse(const uint8_t *buf, size_t len, struct ipc_in *in, char *err,
               size_t errlen);

/* Field access by tag (the first occurrence after *pos, pos may be NULL
 * for the first one).  Return NULL / false if absent or of wrong form. */
const struct ipc_field *ipc_find(const struct ipc_in *in, uint8_t tag, size_t *pos);
const char *ipc_str(const struct ipc_in *in, uint8_t tag);
bool ipc_u64(const struct ipc_in *in, uint8_t tag, uint64_t *v);
/* A string field's value, checked: NUL-terminated, no inner NUL. */
const char *ipc_field_str(const struct ipc_field *f);

/*
 * Send one record, with fd attached when fd >= 0.  Returns 0, or -1 with
 * errno (EAGAIN on a non-blocking socket that is full; EMSGSIZE when the
 * record overflowed).
 */
int ipc_send(int sock, const struct ipc_out *o, int fd);
/*
 * Receive one record into buf (IPC_RECORD_MAX bytes).  Returns its
 * length, 0 at end of file, or -1 with errno (EBADMSG for a truncated
 * record or more than one passed descriptor).  *fd gets a passed
 * descriptor (close-on-exec) or -1.
 */
long ipc_recv(int sock, uint8_t *buf, size_t bufsize, int *fd);

#endif
