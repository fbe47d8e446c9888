/*
 * addrlist.h - the one parser of RFC 5322 address lists for the local
 * commands: To:/Cc:/Bcc: header values and sendmail command-line
 * recipients ("Name <a@b>, c@d (comment), group: e@f;").
 */
#ifndef POSTERN_ADDRLIST_H
#define POSTERN_ADDRLIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Call cb with each address (the addr-spec, display names, comments and
 * group names removed, quoted local parts kept as written) of the list
 * in text[0..len).  Returns false, having stopped, when cb returns
 * false, an address is longer than ADDRLIST_ADDR_MAX, or comments nest
 * deeper than ADDRLIST_COMMENT_DEPTH.  Malformed text gives what can be
 * read from it, as mail readers do; never more than it holds.
 */
bool addrlist_parse(const char *text, size_t len,
                    bool (*cb)(void *arg, const char *addr), void *arg);

#endif
