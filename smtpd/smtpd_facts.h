/*
 * smtpd_facts.h - what a session knows about its client's TLS and SASL
 * state.  The TLS layer (smtpd_tls.c) and the SASL layer (smtpd_sasl*.c)
 * fill these; the restriction chain, policy requests, milter macros, the
 * Received: header and the logs read them.  Plain data, no behaviour.
 */
#ifndef POSTERN_SMTPD_FACTS_H
#define POSTERN_SMTPD_FACTS_H

#include <stdbool.h>

struct smtpd_tls_facts {
	bool active;            /* handshake done, the session is encrypted */
	char protocol[16];      /* "TLSv1.3" */
	char cipher[64];        /* "TLS_AES_256_GCM_SHA384" */
	int bits;               /* cipher strength, 0: unknown */
	bool cert_present;      /* the client sent a certificate */
	bool cert_verified;     /* ... and it verified against the CA files */
	char subject_cn[256];   /* the client certificate's subject CN */
	char issuer_cn[256];    /* its issuer's CN */
	char cert_fpt[200];     /* certificate fingerprint, XX:XX:.. in the
	                         * smtpd_tls_fingerprint_digest */
	char pkey_fpt[200];     /* public key fingerprint, same form */
};

struct smtpd_sasl_facts {
	bool authenticated;
	char method[32];        /* "PLAIN" */
	char username[256];     /* as the backend canonicalised it */
	char sender[256];       /* the AUTH= parameter of MAIL FROM, "" if none */
};

#endif
