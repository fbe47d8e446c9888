/*
 * restrlint.h - warnings about dangerous smtpd restriction lists, for
 * `postern check`.
 */
#ifndef POSTERN_RESTRLINT_H
#define POSTERN_RESTRLINT_H

struct cfg;

/* One call of warn() per finding, with the text of the warning. */
void restr_lint(struct cfg *cfg, void (*warn)(void *ctx, const char *msg), void *ctx);

#endif
