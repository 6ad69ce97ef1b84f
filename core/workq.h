/* SPDX-License-Identifier: MIT */
/*
 * A fixed set of threads running submitted functions in FIFO order. Used for
 * background work that may block (clones, fetches, planning) so that FUSE
 * threads never do. The queue is bounded: a full queue is -EAGAIN.
 *
 * Thread-safe. workq_free() stops accepting work, runs what is queued,
 * joins the threads and frees the queue.
 */
#ifndef WIKIFS_WORKQ_H
#define WIKIFS_WORKQ_H

#include <stddef.h>

struct workq;

typedef void (*workq_fn)(void *arg);

int workq_new(struct workq **ret, unsigned threads, size_t max_queued);
void workq_free(struct workq *q); /* NULL is fine */

/* Queues fn(arg). 0, -EAGAIN when full, -ESHUTDOWN after workq_free() began. */
int workq_submit(struct workq *q, workq_fn fn, void *arg);

#endif
