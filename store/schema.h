/* SPDX-License-Identifier: MIT */
/*
 * The store's schema, as SQL text: tables, the server-side functions of
 * the job protocol, the version row. Plain strings (no libpq here); the
 * store module runs them.
 *
 * Version 1:
 *   wikifs_meta       (name, value): "schema_version"
 *   wikifs_pages      key, len, sha256, content, host, created, used
 *   wikifs_jobs       key, state (queued|running|done|failed), priority
 *                     (0 interactive, 1 prefetch), attempt (the fence),
 *                     owner, lease_until, not_before, error, created, updated
 *   wikifs_manifests  recipe, page_key, manifest, created: the manifests of
 *                     reuse across commits (issue 17 item 6), written by
 *                     no one yet
 *   wikifs_acquire2(), wikifs_complete(), wikifs_release(): see store.h
 *                     (wikifs_acquire(), of wikifs before 2026-11-29, is left
 *                     for the older mounts of a fleet: see schema.c)
 */
#ifndef WIKIFS_STORE_SCHEMA_H
#define WIKIFS_STORE_SCHEMA_H

/* The SQLSTATE raised when the store's schema is newer than this build's. */
#define STORE_SQLSTATE_NEWER "WF001"

/*
 * One script, run as one implicit transaction (the simple query protocol)
 * under an advisory lock: creates what is missing, replaces the functions,
 * records the version; raises STORE_SQLSTATE_NEWER, changing nothing,
 * when the recorded version is newer.
 */
extern const char store_schema_sql[];

#endif
