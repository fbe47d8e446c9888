/*
 * cfguse.c - decide which main.cf names are in use (see cfguse.h).
 * Runs in the postern command only.
 */
#include "cfguse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "cfg.h"
#include "htable.h"
#include "mastercf.h"
#include "strlist.h"

struct cfguse {
	struct htable *user; /* name -> (void *)1 */
};

/* Per-transport overrides of the queue manager's defaults (postconf(5)
 * "transport_..." entries). */
static const char *const transport_suffixes[] = {
	"delivery_slot_cost",
	"delivery_slot_discount",
	"delivery_slot_loan",
	"destination_concurrency_failed_cohort_limit",
	"destination_concurrency_limit",
	"destination_concurrency_negative_feedback",
	"destination_concurrency_positive_feedback",
	"destination_rate_delay",
	"destination_recipient_limit",
	"extra_recipient_limit",
	"initial_destination_concurrency",
	"minimum_delivery_slots",
	"recipient_limit",
	"recipient_refill_delay",
	"recipient_refill_limit",
	"transport_rate_delay",
};

/* master.cf commands that are delivery agents fed by the queue manager. */
static bool is_delivery_agent(const char *cmd)
{
	static const char *const agents[] = {"smtp", "lmtp", "local", "virtual",
	                                     "pipe", "error", "discard", "retry"};
	for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++)
		if (strcmp(cmd, agents[i]) == 0)
			return true;
	return false;
}

static void mark(struct cfguse *u, const char *name)
{
	if (cfg_param_find(name) == NULL && ht_get(u->user, name) == NULL)
		ht_put(u->user, name, (void *)1);
}

/* Every $name, ${name...} and $(name...) in text, at any depth. */
static void scan_refs(struct cfguse *u, const char *text)
{
	for (const char *p = text; (p = strchr(p, '$')) != NULL;) {
		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(') {
			p++;
			while (isspace((unsigned char)*p))
				p++;
		}
		const char *b = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		size_t n = (size_t)(p - b);
		if (n > 0 && n <= CFG_NAME_MAX) {
			char name[CFG_NAME_MAX + 1];
			memcpy(name, b, n);
			name[n] = '\0';
			mark(u, name);
		}
	}
}

struct cfguse *cfguse_compute(struct cfg *c, const struct mastercf *m)
{
	struct cfguse *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->user = ht_new();
	for (size_t i = 0; i < cfg_count(c); i++) {
		const char *raw = cfg_raw(c, cfg_name_at(c, i));
		if (raw)
			scan_refs(u, raw);
	}
	char **classes = NULL, err[256];
	if (strlist_split(cfg_get(c, "smtpd_restriction_classes"), NULL, 10000,
	                  &classes, err, sizeof(err)) > 0)
		for (char **p = classes; *p; p++)
			mark(u, *p);
	strlist_free(classes);
	if (m != NULL) {
		for (size_t i = 0; i < m->nservices; i++) {
			const struct mcf_service *s = &m->services[i];
			for (size_t j = 0; j < s->noverrides; j++)
				scan_refs(u, s->overrides[j].value);
			if (s->command == NULL)
				continue;
			if (strcmp(s->command, "pipe") == 0 ||
			    strcmp(s->command, "spawn") == 0) {
				char name[CFG_NAME_MAX * 2];
				snprintf(name, sizeof(name), "%s_time_limit", s->name);
				if (cfg_is_set(c, name))
					mark(u, name);
			}
			if (!is_delivery_agent(s->command))
				continue;
			for (size_t k = 0; k < sizeof(transport_suffixes) /
			                           sizeof(transport_suffixes[0]); k++) {
				char name[CFG_NAME_MAX * 2];
				snprintf(name, sizeof(name), "%s_%s", s->name,
				         transport_suffixes[k]);
				/* Only when main.cf sets it: keeps listings small. */
				if (cfg_is_set(c, name))
					mark(u, name);
			}
		}
	}
	return u;
}

void cfguse_free(struct cfguse *u)
{
	if (u == NULL)
		return;
	ht_free(u->user, NULL);
	free(u);
}

bool cfguse_is_user_defined(const struct cfguse *u, const char *name)
{
	return ht_get(u->user, name) != NULL;
}

bool cfguse_is_used(const struct cfguse *u, const char *name)
{
	return cfg_param_find(name) != NULL || cfguse_is_user_defined(u, name);
}

void cfguse_each_user_defined(const struct cfguse *u,
                              void (*fn)(void *arg, const char *name), void *arg)
{
	size_t pos = 0;
	const char *k;
	while ((k = ht_next(u->user, &pos, NULL)) != NULL)
		fn(arg, k);
}
