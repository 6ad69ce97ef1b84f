/* SPDX-License-Identifier: MIT */
/*
 * Failures, as the engine remembers them: a ring of the last
 * WIKI_ERRORS_MAX failures for .wikifs/errors (report.c renders it), the
 * error event through which fs/ logs each one, and the backoff: for
 * failure_backoff seconds a failed repository or page answers its error
 * instead of trying again.
 */
#include "wiki_int.h"
#include "util.h"

#include <string.h>

void wiki_error_note_locked(struct wiki *w, const char *what, const char *msg)
{
	struct err_line *e = &w->errors[w->errors_next];

	free(e->what);
	free(e->msg);
	e->time_ms = wall_ms();
	e->what = strdup(what);
	e->msg = strdup(msg);
	w->errors_next = (w->errors_next + 1) % WIKI_ERRORS_MAX;
	w->errors_total++;
}

void wiki_error_note(struct wiki *w, const char *what, const char *msg)
{
	pthread_mutex_lock(&w->lock);
	wiki_error_note_locked(w, what, msg);
	pthread_mutex_unlock(&w->lock);
}

void wiki_error_emit(struct wiki *w, const char *what, const char *msg)
{
	if (w->ev.error)
		w->ev.error(w->ev.ctx, what, msg);
}

/* Both records of a failure: .wikifs/errors and the log. w->lock not held. */
void wiki_error_report(struct wiki *w, const char *what, const char *msg)
{
	wiki_error_note(w, what, msg);
	wiki_error_emit(w, what, msg);
}

bool wiki_error_fresh(const struct wiki *w, int64_t failed_at)
{
	return now_ms() - failed_at < (int64_t)w->c->failure_backoff * 1000;
}

void wiki_error_done(struct wiki *w)
{
	for (size_t i = 0; i < WIKI_ERRORS_MAX; i++) {
		free(w->errors[i].what);
		free(w->errors[i].msg);
	}
}
