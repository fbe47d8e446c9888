/*
 * access.h - the access(5) search orders: which keys are looked up, in
 * which order, for a mail address, a host or domain name, and a client
 * IP address.  Shared by smtpd's check_*_access restrictions,
 * local_recipient_maps, aliases and everything else that searches a
 * table "like access(5)".  What a found value means is the caller's
 * business; these functions only find it.
 */
#ifndef POSTERN_ACCESS_H
#define POSTERN_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "map.h"

struct access_opts {
	/*
	 * true when parent_domain_matches_subdomains lists the caller's
	 * feature (e.g. smtpd_access_maps): parent domains are then looked
	 * up as "example.com"; otherwise as ".example.com".
	 */
	bool parent_style;
	/* recipient_delimiter: any one of these characters starts an
	 * address extension.  NULL or "" means no extensions. */
	const char *delimiters;
	/* smtpd_null_access_lookup_key; NULL means "<>". */
	const char *null_key;
	/* double_bounce_sender, never split at a delimiter; NULL means
	 * "double-bounce". */
	const char *double_bounce;
};

/*
 * true when the map holds exact strings, so that partial keys (user@,
 * parent domains, network prefixes) are worth trying.  Pattern tables
 * (regexp, pcre, cidr) see only the whole string.
 */
bool access_map_fixed(const struct map *m);

/*
 * Length of the local part without its address extension: the position
 * of the first delimiter character, or len when the local part has no
 * extension or must not be split (postmaster, mailer-daemon, the
 * double-bounce name, owner-* and *-request when '-' is a delimiter, a
 * local part that starts with a delimiter).  The extension, if any, is
 * local[ret + 1 .. len).  double_bounce NULL means "double-bounce".
 */
size_t access_ext_split(const char *local, size_t len, const char *delimiters,
                        const char *double_bounce);

/*
 * Each search returns MAP_FOUND with *value set (map-owned, valid until
 * the next lookup on m), MAP_NOTFOUND, or MAP_ERROR at the first map
 * error (m->err says why; the caller defers).  When matched is not NULL
 * the key that matched is copied there, cut to matchedlen - 1 bytes.
 *
 * access_find_addr: mail address user+ext@domain (the domain is after
 * the last '@'); the empty address is looked up as o->null_key only.
 * Order: user+ext@domain, user@domain, the domain search below with its
 * parents, user+ext@, user@.
 */
int access_find_addr(struct map *m, const char *addr, const struct access_opts *o,
                     const char **value, char *matched, size_t matchedlen);

/*
 * Host or domain name: the name, then each parent domain up to the top
 * level one ("sub.example.com", "example.com", "com" with parent_style,
 * else ".sub.example.com", ".example.com", ".com").  A domain literal
 * "[...]" is looked up whole only.
 */
int access_find_domain(struct map *m, const char *domain,
                       const struct access_opts *o, const char **value,
                       char *matched, size_t matchedlen);

/*
 * Client IP address in the form the server prints it (IPv6 compressed,
 * lower case; IPv4-mapped IPv6 as plain IPv4; a %zone suffix dropped),
 * then shorter prefixes made by cutting at the last '.' (IPv4) or ':'
 * (IPv6) until nothing is left: 1.2.3.4, 1.2.3, 1.2, 1 and
 * 2001:db8::1, 2001:db8:, 2001:db8, 2001.  Text that is not an IP
 * address is looked up whole only.
 */
int access_find_client_addr(struct map *m, const char *addr,
                            const struct access_opts *o, const char **value,
                            char *matched, size_t matchedlen);

/*
 * Rewrite a client address into the printed form described above.
 * Returns false (out untouched) if addr is not an IP address or does not
 * fit in outlen.
 */
bool access_addr_form(const char *addr, char *out, size_t outlen);

#endif
