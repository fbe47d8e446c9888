/*
 * bounds.h - every length and count limit applied to outside input,
 * in one place.  Parsers check against these before allocating.
 */
#ifndef POSTERN_BOUNDS_H
#define POSTERN_BOUNDS_H

/* main.cf / master.cf: one logical (joined) line. */
#define CFG_LINE_MAX (256 * 1024)
/* Parameter names. */
#define CFG_NAME_MAX 256
/* Nesting depth of $name expansion before we call it a loop. */
#define CFG_EXPAND_DEPTH 100
/* Expanded parameter value. */
#define CFG_VALUE_MAX (1024 * 1024)
/* Number of main.cf entries. */
#define CFG_ENTRIES_MAX 100000
/* master.cf services. */
#define MASTERCF_SERVICES_MAX 4096
/* -o overrides and arguments per master.cf service. */
#define MASTERCF_ARGS_MAX 1024

/* DSN composition: one envelope value (address, ORCPT, ENVID,
 * diagnostic text) as shown in a report; longer ones are cut. */
#define DSN_VALUE_MAX 2000
/* postern sendmail: the header block it parses (for -t and the headers
 * it adds); Postfix's header_size_limit applies below this. */
#define SENDMAIL_HEADER_MAX (1024 * 1024)
/* postern sendmail: recipients on the command line and from -t. */
#define SENDMAIL_RCPTS_MAX 10000
/* postern sendmail -bs: one SMTP command line (RFC 5321 allows 512;
 * this leaves room for long parameters). */
#define SENDMAIL_SMTP_LINE_MAX 2048
/* Address lists in headers (postern sendmail -t): one address, and the
 * nesting of (comments). */
#define ADDRLIST_ADDR_MAX 2048
#define ADDRLIST_COMMENT_DEPTH 32

/* Map source files (postmap input, regexp, pcre, cidr, aliases). */
#define MAP_LINE_MAX (64 * 1024)
/* Lookup keys and values. */
#define MAP_KEY_MAX 4096
#define MAP_VALUE_MAX (64 * 1024)
/* Nesting of if/endif in regexp, pcre and cidr tables. */
#define MAP_IF_DEPTH 100
/* Entries in a map spec list, e.g. unionmap:{...}. */
#define MAP_SPEC_ITEMS_MAX 64
/* Nesting of composite map specs (pipemap inside unionmap ...). */
#define MAP_SPEC_DEPTH 8
/* texthash:/inline: tables held in memory. */
#define MAP_MEM_ENTRIES_MAX 1000000

/*
 * pcre: lookups.  A pattern that backtracks without end (catastrophic
 * backtracking) stops at these and counts as "no match" with a
 * warning.  The match limit equals PCRE2's built-in default, so tables
 * that work with Postfix work here; depth and heap are capped lower.
 */
#define MAP_PCRE_MATCH_LIMIT 10000000
#define MAP_PCRE_DEPTH_LIMIT 250000
#define MAP_PCRE_HEAP_LIMIT_KB (20 * 1024)

/*
 * regexp: patterns, checked before regcomp() builds them: automaton
 * size after copying repeated parts, longest run of optional parts,
 * nesting of parentheses (glibc recurses per level).
 */
#define MAP_REGEXP_NODES_MAX 150000
#define MAP_REGEXP_CHAIN_MAX 500
#define MAP_REGEXP_NEST_MAX 250
/* Nesting of repetitions of parts that can match the empty string,
 * e.g. "((a*)+)+"; copying repetitions ("+") count against half. */
#define MAP_REGEXP_EMPTY_LOOPS_MAX 6

/*
 * Queue files (common/qfile.c): one envelope field (address, ORCPT,
 * ENVID, client attribute), recipients per message, one deferral reason
 * and a whole defer log.
 */
#define QFILE_FIELD_MAX 4096
#define QFILE_RCPTS_MAX 100000
#define QFILE_REASON_MAX 2048
#define QFILE_DEFER_LOG_MAX (16 * 1024 * 1024)

/*
 * SMTP server (smtpd).  A command line, without CRLF, as Postfix's
 * line_length_limit default; longer lines get 500 5.5.2 and are
 * discarded up to the next LF.  Addresses (internal form) and the
 * RFC 3461 parameters after xtext decoding (ENVID 100, ORCPT 500 as the
 * RFC says).  Message-ID value kept for the log line.
 */
#define SMTP_LINE_MAX 2048
#define SMTP_ADDR_MAX 512
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500
#define SMTP_MSGID_MAX 998
/* Host names from HELO/EHLO and reverse DNS. */
#define SMTP_HOST_MAX 255

/*
 * SASL in smtpd.  A mechanism name (RFC 4422 3.1: at most 20
 * characters), mechanisms a backend may offer, the longest client
 * response line we accept (the cap of smtpd_sasl_response_limit, whose
 * Postfix default is 12288), challenge/response round trips in one AUTH
 * exchange, the longest growing delay after a failed AUTH (seconds),
 * one line of the Dovecot auth protocol, and how long a Dovecot auth
 * server may take to answer one request (seconds).
 */
#define SASL_MECH_NAME_MAX 20
#define SASL_MECHS_MAX 32
#define SASL_RESPONSE_MAX 65536
#define SASL_STEPS_MAX 10
#define SASL_FAIL_DELAY_MAX 8
#define DOVECOT_LINE_MAX 16384
#define DOVECOT_TIMEOUT 30

/*
 * Local delivery (delivery/local*).  Recipients in one DELIVER request;
 * depth of alias/.forward/:include: nesting; deliveries one recipient
 * may expand into; size of a .forward or :include: file; command output
 * kept for the bounce text; a DSN text.
 */
#define LOCAL_RCPT_MAX 1000
#define LOCAL_EXPAND_DEPTH 20
#define LOCAL_EXPAND_MAX 1000
#define LOCAL_FILE_MAX (64 * 1024)
#define LOCAL_CMD_OUTPUT_MAX 1024
#define LOCAL_TEXT_MAX 2048

/*
 * The smtp/lmtp client (delivery/smtp*).  One reply line from a remote
 * server (RFC 5321 says 512; we allow more, then fail the session
 * cleanly); lines of one multi-line reply (CVE-2020-8794 class); the
 * reply text kept for logs and the DSN; EHLO keywords remembered;
 * next-hop destinations in a list; addresses tried per delivery.
 */
#define SMTPC_LINE_MAX 4096
#define SMTPC_REPLY_LINES_MAX 1000
#define SMTPC_REPLY_TEXT_MAX 1500
#define SMTPC_NEXTHOPS_MAX 32
#define SMTPC_ADDRS_MAX 32

/*
 * DNS (common/dns*.c).  A host name in text form without the trailing
 * dot; the reason text kept for logs; records used from one answer (the
 * rest are dropped); one TXT record after joining its strings; TLSA
 * association data (a full certificate fits); the default and the
 * largest per-query timeout; hosts one next-hop resolves to.
 */
#define DNS_NAME_MAX 253
#define DNS_WHY_MAX 256
#define DNS_RR_MAX 100
#define DNS_TXT_MAX 1024
#define DNS_TLSA_DATA_MAX 8192
#define DNS_TIMEOUT_DEFAULT_MS 10000
#define DNS_TIMEOUT_MAX_MS 120000
#define DNS_HOSTS_MAX 100
/* Addresses taken from the hosts file for reverse lookups. */
#define DNS_HOSTS_FILE_MAX 1000
/* smtpd DNS restrictions: value ranges per octet in a DNSBL filter
 * ("zone=127.0.0.[2;4..11]"), servers per check_*_{mx,ns}_access and
 * addresses per server; NS lookups walk at most this many parents. */
#define DNSCK_FILTER_RANGES 16
#define DNSCK_SERVERS_MAX 16
#define DNSCK_SERVER_ADDRS 16
#define DNSCK_NS_WALK_MAX 10

/*
 * The SMTP server's TLS (smtpd/smtpd_tls.c).  A key/certificate file read
 * at start-up; the client's certificate chain we parse (PEM bytes, and
 * certificates); how long a closed TLS session's last bytes may take.
 */
#define TLS_FILE_MAX (1024 * 1024)
#define TLS_PEER_CHAIN_MAX (256 * 1024)
#define TLS_PEER_CERTS_MAX 16
#define TLS_LINGER_SECONDS 10

/* Restriction chain (smtpd/smtpd_check.c). */
/* Items in one restriction list or class. */
#define CHK_LIST_MAX 1000
/* Nesting of restriction classes and lists found in access tables. */
#define CHK_NEST_MAX 16
/* Lists compiled from access table results, kept per process. */
#define CHK_DYNAMIC_LISTS_MAX 1000
/* One reply line we build (Postfix's own limit is near this). */
#define CHK_REPLY_MAX 1024
/* Policy delegation (smtpd/smtpd_policy.c): one reply line, a whole
 * reply, and one request. */
#define POLICY_LINE_MAX 4096
#define POLICY_REPLY_MAX (16 * 1024)
#define POLICY_REQUEST_MAX (16 * 1024)
/* Client addresses qmgr's anvil keeps counters for. */
#define ANVIL_CLIENTS_MAX 100000
/* spawn: arguments of an argv= command, commands running at once. */
#define SPAWN_ARGS_MAX 64
#define SPAWN_CHILDREN_MAX 1000

/*
 * Built-in content checks (common/mime.c, common/hbcheck.c).  The
 * parameters (header_size_limit, mime_nesting_limit, ...) are clamped to
 * these hard caps whatever main.cf says.
 */
/* One logical header kept for the checks and the queue file. */
#define MIME_HEADER_MAX (1024 * 1024)
/* One physical body line checked at once (line_length_limit). */
#define MIME_LINE_MAX (64 * 1024)
/* Multipart levels (mime_nesting_limit + 2, as Postfix counts). */
#define MIME_NESTING_MAX 1024
/* Bytes of a boundary compared (mime_boundary_length_limit). */
#define MIME_BOUNDARY_MAX (64 * 1024)
/* Maps in one header_checks/body_checks list. */
#define HBC_MAPS_MAX 64
/* BCC actions kept for one message. */
#define HBC_BCC_MAX 1000
/* Header or body text in a log line, as Postfix's cleanup. */
#define HBC_LOG_TEXT_MAX 200

#endif
