/*
 * proto.h - the record types and field tags spoken between postern's
 * processes (records as in ipc.h).  See docs/architecture.md for who
 * sends what.  A receiver treats an unknown type, a missing required
 * field or a field of the wrong form as a protocol error: it logs it and
 * drops the connection (never guesses).
 */
#ifndef POSTERN_PROTO_H
#define POSTERN_PROTO_H

/* Record types. */
enum proto_type {
	/* Receiving (smtpd -> qmgr on private/qmgr, postern sendmail -> qmgr
	 * on public/qmgr).  One connection is one transaction. */
	PROTO_NEW = 1,   /* start a message: SENDER, client and ESMTP fields */
	PROTO_NEW_OK,    /* ID; the content descriptor is attached */
	PROTO_COMMIT,    /* SIZE, then RCPT groups; content is complete */
	PROTO_COMMIT_OK, /* ID: the message is on stable storage */
	PROTO_FAIL,      /* STATUS ("4.3.1"), TEXT: NEW or COMMIT refused */

	/* Delivery (qmgr -> agent on private/SERVICE).  One connection may
	 * carry many requests, one at a time. */
	PROTO_DELIVER = 20, /* ID, SENDER, OFFSET, LENGTH, NEXTHOP, RCPT groups;
	                       queue file descriptor (read-only) attached */
	PROTO_RESULT,       /* agent -> qmgr: RCPT_INDEX, STATUS, TEXT, RELAY */
	PROTO_DONE,         /* agent -> qmgr: all RESULTs of the request sent */

	/* Queue administration (postern queue / super / flush -> qmgr on
	 * public/qmgr; qmgr checks the peer's uid). */
	PROTO_QUEUE_LIST = 40, /* QUEUE (optional: one queue only) */
	PROTO_QUEUE_ITEM,      /* one message: ID, QUEUE, SIZE, ARRIVAL, SENDER,
	                          RCPT groups with TEXT for deferred reasons */
	PROTO_QUEUE_END,
	PROTO_ADMIN,           /* ACTION, ID ("ALL" for all), QUEUE (optional) */
	PROTO_ADMIN_OK,        /* COUNT: messages affected */
	PROTO_ETRN,            /* smtpd -> qmgr on private/qmgr: NEXTHOP, the
	                          domain of an ETRN; qmgr schedules the deferred
	                          mail for it now and answers ADMIN_OK (COUNT)
	                          or FAIL */

	/* Supervision (daemon -> master on POSTERN_STATUS_FD). */
	PROTO_READY = 60,

	/* Client counters (smtpd -> qmgr's anvil on private/qmgr, one
	 * long-lived connection per smtpd).  ACTION "connect", "disconnect"
	 * (no answer), "message", "rcpt", "newtls", "auth"; CLIENT_ADDR. */
	PROTO_ANVIL = 80,
	PROTO_ANVIL_OK, /* COUNT: open connections, RATE: events this window */
};

/* Field tags. */
enum proto_tag {
	T_ID = 1,      /* queue id (string) */
	T_SENDER,      /* envelope sender, "" for the null sender (string) */
	T_RCPT,        /* starts a recipient group (string) */
	T_ORCPT,       /* RFC 3461 ORCPT of the current recipient (string) */
	T_NOTIFY,      /* NOTIFY flags of the current recipient (u64, PROTO_NOTIFY_*) */
	T_RET,         /* "FULL" or "HDRS" (string) */
	T_ENVID,       /* RFC 3461 ENVID, xtext-decoded (string) */
	T_SIZE,        /* bytes (u64) */
	T_BODY,        /* "7BIT", "8BITMIME", "BINARYMIME" (string) */
	T_SMTPUTF8,    /* present when requested (u64 1) */
	T_CLIENT_NAME, /* verified client host name or "unknown" (string) */
	T_CLIENT_ADDR, /* client IP address (string) */
	T_CLIENT_PORT, /* (string) */
	T_HELO,        /* HELO/EHLO argument (string) */
	T_PROTOCOL,    /* "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "LOCAL" */
	T_SASL_METHOD,
	T_SASL_USER,
	T_STATUS,      /* RFC 3463 status "X.Y.Z" (string) */
	T_TEXT,        /* human-readable reason (string) */
	T_OFFSET,      /* content offset in the queue file (u64) */
	T_LENGTH,      /* content length (u64) */
	T_NEXTHOP,     /* delivery next hop (string) */
	T_RCPT_INDEX,  /* which recipient of the request a RESULT is for (u64) */
	T_RELAY,       /* "local", "host[addr]:port" (string) */
	T_ARRIVAL,     /* arrival time, seconds since the epoch (u64) */
	T_QUEUE,       /* "incoming", "active", "deferred", "hold", "corrupt" */
	T_ACTION,      /* ADMIN: "flush", "delete", "hold", "release", "requeue" */
	T_COUNT,       /* (u64) */
	T_UID,         /* submitting user (u64) */
	T_ORIG_RCPT,   /* recipient before alias/canonical rewriting (string) */
	T_DSN_ORCPT,   /* ORCPT for the DSN of a RESULT (string) */
	T_FLAGS,       /* request flags (u64, PROTO_FLAG_*) */
	T_MSGID,       /* Message-ID header value, for logs (string) */
	T_DELAYS,      /* agent's part of delays= for logs (string) */
	T_RATE,        /* ANVIL_OK: events in the current window (u64) */
};

/* NOTIFY flags (RFC 3461). */
#define PROTO_NOTIFY_NEVER   0x1
#define PROTO_NOTIFY_SUCCESS 0x2
#define PROTO_NOTIFY_FAILURE 0x4
#define PROTO_NOTIFY_DELAY   0x8

/* Request flags. */
#define PROTO_FLAG_BOUNCE 0x1 /* a DSN this system made: never bounce it */
/* RESULT flag (T_FLAGS, optional): the recipient's NOTIFY went on to a
 * next MTA that supports DSN, which now owns the success notice (RFC
 * 3461 "relayed" is then not ours to send). */
#define PROTO_FLAG_DSN_PASSED 0x2

#endif
