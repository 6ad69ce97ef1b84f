/* SPDX-License-Identifier: MIT */
/*
 * Waiter lists: the requests parked on a repository's sync or on a page's
 * job. A waiter is on at most one list at a time, and whoever takes it off
 * owns its reply: a completion takes a whole list (wiki_waiter_take) and
 * answers it once unlocked (wiki_waiter_notify); the caller takes its own
 * back with wiki_waiter_detach() and answers itself. A waiter detached
 * before it was attached is marked cancelled, and the attach that would
 * follow fails with -EINTR instead, so exactly one side replies.
 */
#include "wiki_int.h"

void wiki_waiter_attach(struct wiki_waiter **list, struct wiki_waiter *wt)
{
	wt->next = *list;
	wt->pprev = list;
	if (*list)
		(*list)->pprev = &wt->next;
	*list = wt;
	wt->attached = true;
}

static void waiter_unlink(struct wiki_waiter *wt)
{
	*wt->pprev = wt->next;
	if (wt->next)
		wt->next->pprev = wt->pprev;
	wt->next = NULL;
	wt->pprev = NULL;
	wt->attached = false;
}

/* Moves all waiters of @list to a private chain for wiki_waiter_notify(). */
struct wiki_waiter *wiki_waiter_take(struct wiki_waiter **list)
{
	struct wiki_waiter *head = *list, *wt;

	for (wt = head; wt; wt = wt->next)
		wt->attached = false;
	if (head)
		head->pprev = NULL;
	*list = NULL;
	return head;
}

/* Moves all waiters of @list in front of the private chain @head. */
struct wiki_waiter *wiki_waiter_chain(struct wiki_waiter *head, struct wiki_waiter **list)
{
	struct wiki_waiter *l = wiki_waiter_take(list), *t;

	for (t = l; t && t->next; t = t->next)
		;
	if (!t)
		return head;
	t->next = head;
	return l;
}

void wiki_waiter_notify(struct wiki_waiter *head, int err)
{
	while (head) {
		struct wiki_waiter *next = head->next;

		head->next = NULL;
		head->done(head, err);
		head = next;
	}
}

bool wiki_waiter_detach(struct wiki *w, struct wiki_waiter *wt)
{
	bool owned;

	pthread_mutex_lock(&w->lock);
	owned = wt->attached;
	if (owned)
		waiter_unlink(wt);
	else
		wt->cancelled = true; /* not attached yet: a later attach fails */
	pthread_mutex_unlock(&w->lock);
	return owned;
}
