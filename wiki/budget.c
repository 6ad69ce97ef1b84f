/* SPDX-License-Identifier: MIT */
/*
 * The generation budget of the whole mount: max_calls model calls and
 * token_budget tokens. A call is checked and charged in one hold of
 * w->lock before it is made (a page's attempt, an LLM plan), so workers
 * never overrun the budget together; its tokens are counted after it
 * returns. The per-repository counters feed the reports.
 */
#include "wiki_int.h"

bool wiki_budget_exhausted_locked(struct wiki *w, char *why, size_t n)
{
	if (w->c->max_calls && w->calls >= w->c->max_calls) {
		snprintf(why, n, "generation budget exhausted: max_calls = %llu calls made",
			 (unsigned long long)w->c->max_calls);
		return true;
	}
	if (w->c->token_budget && w->tokens >= w->c->token_budget) {
		snprintf(why, n, "token budget exhausted: %llu of token_budget = %llu used",
			 (unsigned long long)w->tokens, (unsigned long long)w->c->token_budget);
		return true;
	}
	return false;
}

void wiki_budget_charge_locked(struct wiki *w, struct wrepo *r)
{
	w->calls++;
	r->calls++;
}

void wiki_budget_spend_locked(struct wiki *w, struct wrepo *r, const struct gen_usage *usage)
{
	r->tokens_in += usage->input_tokens;
	r->tokens_out += usage->output_tokens;
	w->tokens += usage->input_tokens + usage->output_tokens;
}
