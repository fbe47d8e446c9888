/*
 * smtp_sasl.h - smarthost authentication of the smtp/lmtp client with
 * Cyrus SASL's client API: smtp_sasl_auth_enable,
 * smtp_sasl_password_maps, smtp_sasl_security_options (and the _tls_
 * variant once TLS is up), smtp_sasl_mechanism_filter.  Credentials are
 * only offered to mechanisms the security options allow, so with the
 * default "noplaintext" a password never crosses an unencrypted
 * connection in the clear.
 */
#ifndef POSTERN_SMTP_SASL_H
#define POSTERN_SMTP_SASL_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_conf;
struct map;

struct smtp_sasl_conf {
	bool enable;
	struct map **maps;
	size_t nmaps;
	bool broken;
	char *options, *tls_options, *filter;
	bool soft_bounce;
	bool sender_dependent; /* smtp_sender_dependent_authentication */
};

/* Before privileges drop: the tables, and the Cyrus client library. */
void smtp_sasl_load(struct smtp_sasl_conf *c, const struct smtp_conf *sc);
/* What smtp_sasl_load allocated. */
void smtp_sasl_conf_free(struct smtp_sasl_conf *c);

/*
 * The "user:password" for a destination: with
 * smtp_sender_dependent_authentication the sender, then its "@domain";
 * then the next hop as named, the
 * next hop without its port, then the server's host name and
 * "[host]:port".  Returns 1 found (*user, *pass allocated), 0 none, -1
 * a table failed.
 */
int smtp_sasl_find(const struct smtp_sasl_conf *c, const char *sender, const char *dest,
                   const char *host, unsigned port, char **user, char **pass);

/*
 * Authenticate on a connection.  write_line sends one line (CRLF added
 * here), read_reply reads one reply into code/text (text: the reply's
 * text after "NNN " of its last line).  Returns 0 on success, or -1 with
 * a DSN status and a reason (4.7.0 / 5.7.8 as Postfix words them), or
 * -2 when the connection failed (the caller's reason stands).
 */
struct smtp_sasl_io {
	void *arg;
	bool (*write_line)(void *arg, const char *line);
	bool (*read_reply)(void *arg, int *code, const char **last_text, const char **full);
};
int smtp_sasl_auth(const struct smtp_sasl_conf *c, const struct smtp_sasl_io *io,
                   const char *service_host, const char *mechs, bool tls, const char *user,
                   const char *pass, const char *hostaddr, char *dsn, size_t dsnlen,
                   char *why, size_t whylen);

#endif
