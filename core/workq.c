/* SPDX-License-Identifier: MIT */
/*
 * Work queue: a mutex-protected singly linked FIFO and a condition variable.
 * Deliberately simple; the page scheduler with priorities and per-repository
 * limits lives in gen/queue.c, this one only keeps blocking work off FUSE
 * threads.
 */
#include "workq.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

struct item {
	struct item *next;
	workq_fn fn;
	void *arg;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	struct item *head, **tail;
	size_t queued, max_queued;
	bool stopping;
	/* set once at creation */
	unsigned nthreads;
	pthread_t *threads;
};

static void *workq_thread(void *data)
{
	struct workq *q = data;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct item *it = q->head;

		if (!it) {
			if (q->stopping)
				break;
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		q->head = it->next;
		if (!q->head)
			q->tail = &q->head;
		q->queued--;
		pthread_mutex_unlock(&q->lock);
		it->fn(it->arg);
		free(it);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int workq_new(struct workq **ret, unsigned threads, size_t max_queued)
{
	struct workq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->threads = calloc(threads, sizeof(*q->threads));
	if (!q->threads) {
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->tail = &q->head;
	q->max_queued = max_queued;
	for (; q->nthreads < threads; q->nthreads++) {
		int r = pthread_create(&q->threads[q->nthreads], NULL, workq_thread, q);

		if (r) {
			workq_free(q);
			return -r;
		}
	}
	*ret = q;
	return 0;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
}

int workq_submit(struct workq *q, workq_fn fn, void *arg)
{
	struct item *it;

	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -ESHUTDOWN;
	}
	if (q->queued >= q->max_queued) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	it = malloc(sizeof(*it));
	if (!it) {
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;
	}
	it->fn = fn;
	it->arg = arg;
	it->next = NULL;
	*q->tail = it;
	q->tail = &it->next;
	q->queued++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}
