/* SPDX-License-Identifier: MIT */
/*
 * A counting semaphore that serves waiters strictly first come, first served,
 * with timed acquire and a close that wakes every waiter. It gates clones:
 * with FIFO order no repository can starve behind a stream of newer requests.
 *
 * Thread-safe. The creator frees it after every user has returned.
 */
#ifndef WIKIFS_FIFO_SEM_H
#define WIKIFS_FIFO_SEM_H

#include <stdint.h>

struct fifo_sem;

int fifo_sem_new(struct fifo_sem **ret, unsigned permits);
void fifo_sem_free(struct fifo_sem *s); /* NULL is fine */

/* 0 once a permit is held; -ECANCELED if the semaphore is (or gets) closed. */
int fifo_sem_acquire(struct fifo_sem *s);
/* As fifo_sem_acquire(), or -ETIMEDOUT after @timeout_ms (< 0: forever). */
int fifo_sem_timedacquire(struct fifo_sem *s, int64_t timeout_ms);
void fifo_sem_release(struct fifo_sem *s);

/* Fails every current and future acquire with -ECANCELED. Idempotent. */
void fifo_sem_close(struct fifo_sem *s);

/* Snapshot: permits in use, threads waiting, highest in-use ever seen. */
void fifo_sem_stats(struct fifo_sem *s, unsigned *active, unsigned *waiting, unsigned *max_active);

#endif
