/* SPDX-License-Identifier: MIT */
/*
 * The schema script. The job protocol lives in three plpgsql functions so
 * that each step is one round trip and one transaction on the server:
 *
 * wikifs_acquire2: the page if stored; else the job joined (INSERT ... ON
 * CONFLICT DO NOTHING) and taken with FOR UPDATE SKIP LOCKED (a row another
 * host is changing right now is skipped: "busy", and the caller parks);
 * claimed when queued and due, when its lease expired (its host died), when
 * done but its page is gone (pruned), or when failed longer ago than the
 * caller's failure backoff. A claim bumps the attempt: the fence. A job
 * found done has its page looked for again: the first look may have come
 * just before the completion committed (read committed: each statement
 * sees what committed before it began), and the page is there now. That
 * look is why its name has a 2: wikifs_acquire, which an older wikifs
 * still creates at each of its mounts, lacks it, and replacing a function
 * by its own name would let a mount of an older wikifs put the racy body
 * back under the newer hosts of a fleet.
 *
 * wikifs_complete: the page inserted, first writer wins; the job done if
 * the attempt still holds it (or, for attempt 0, an upload of a page made
 * while the store was away, whatever its state: the page is there now, and
 * a host still running the job finds its completion fenced).
 *
 * A claim is announced too, as "c:KEY": a host with the same page queued
 * parks it without asking, so its workers take other pages meanwhile. wikifs_release: the job
 * queued again after a delay, or failed with its cause, if the attempt
 * still holds it. Every change NOTIFYs channel "wikifs" with the key.
 */
#include "schema.h"
#include "store.h"

#define STR_(x) #x
#define STR(x)	STR_(x)

const char store_schema_sql[] =
    "SELECT pg_advisory_xact_lock(7410431701);\n"
    "CREATE TABLE IF NOT EXISTS wikifs_meta (name text PRIMARY KEY, value text NOT NULL);\n"
    "DO $$ BEGIN\n"
    "  IF (SELECT value::integer FROM wikifs_meta WHERE name = 'schema_version') > " STR(
	STORE_SCHEMA_VERSION) " THEN\n"
			      "    RAISE EXCEPTION USING ERRCODE = '" STORE_SQLSTATE_NEWER
			      "', MESSAGE =\n"
			      "      (SELECT value FROM wikifs_meta WHERE name = "
			      "'schema_version');\n"
			      "  END IF;\n"
			      "END $$;\n"
			      "CREATE TABLE IF NOT EXISTS wikifs_pages (\n"
			      "  key text PRIMARY KEY,\n"
			      "  len bigint NOT NULL,\n"
			      "  sha256 bytea NOT NULL,\n"
			      "  content bytea NOT NULL,\n"
			      "  host text NOT NULL,\n"
			      "  created timestamptz NOT NULL DEFAULT now(),\n"
			      "  used timestamptz NOT NULL DEFAULT now());\n"
			      "CREATE INDEX IF NOT EXISTS wikifs_pages_used ON wikifs_pages "
			      "(used);\n"
			      "CREATE TABLE IF NOT EXISTS wikifs_jobs (\n"
			      "  key text PRIMARY KEY,\n"
			      "  state text NOT NULL DEFAULT 'queued'\n"
			      "    CHECK (state IN ('queued', 'running', 'done', 'failed')),\n"
			      "  priority smallint NOT NULL DEFAULT 1,\n"
			      "  attempt integer NOT NULL DEFAULT 0,\n"
			      "  owner text,\n"
			      "  lease_until timestamptz,\n"
			      "  not_before timestamptz NOT NULL DEFAULT now(),\n"
			      "  error text,\n"
			      "  created timestamptz NOT NULL DEFAULT now(),\n"
			      "  updated timestamptz NOT NULL DEFAULT now());\n"
			      "CREATE INDEX IF NOT EXISTS wikifs_jobs_open ON wikifs_jobs "
			      "(priority, created)\n"
			      "  WHERE state IN ('queued', 'running');\n"
			      "CREATE TABLE IF NOT EXISTS wikifs_manifests (\n"
			      "  recipe text NOT NULL,\n"
			      "  page_key text NOT NULL,\n"
			      "  manifest bytea NOT NULL,\n"
			      "  created timestamptz NOT NULL DEFAULT now(),\n"
			      "  PRIMARY KEY (recipe, page_key));\n"
			      "CREATE OR REPLACE FUNCTION wikifs_acquire2(k text, who text, prio "
			      "integer,\n"
			      "    lease_s integer, failed_s integer, OUT o_outcome text, OUT "
			      "o_attempt integer,\n"
			      "    OUT o_detail text, OUT o_content bytea, OUT o_len bigint, OUT "
			      "o_sha bytea)\n"
			      "LANGUAGE plpgsql AS $$\n"
			      "DECLARE j wikifs_jobs%ROWTYPE;\n"
			      "BEGIN\n"
			      "  SELECT p.content, p.len, p.sha256 INTO o_content, o_len, o_sha\n"
			      "    FROM wikifs_pages p WHERE p.key = k;\n"
			      "  IF FOUND THEN\n"
			      "    UPDATE wikifs_pages p SET used = now()\n"
			      "      WHERE p.key = k AND p.used < now() - interval '1 hour';\n"
			      "    o_outcome := 'found';\n"
			      "    RETURN;\n"
			      "  END IF;\n"
			      "  INSERT INTO wikifs_jobs (key, priority) VALUES (k, prio) ON "
			      "CONFLICT DO NOTHING;\n"
			      "  SELECT * INTO j FROM wikifs_jobs q WHERE q.key = k FOR UPDATE "
			      "SKIP LOCKED;\n"
			      "  IF NOT FOUND THEN\n"
			      "    o_outcome := 'busy';\n"
			      "    RETURN;\n"
			      "  END IF;\n"
			      "  IF j.state = 'done' THEN\n"
			      "    SELECT p.content, p.len, p.sha256 INTO o_content, o_len, o_sha\n"
			      "      FROM wikifs_pages p WHERE p.key = k;\n"
			      "    IF FOUND THEN\n"
			      "      o_outcome := 'found';\n"
			      "      RETURN;\n"
			      "    END IF;\n"
			      "  END IF;\n"
			      "  IF (j.state = 'queued' AND j.not_before <= now())\n"
			      "     OR (j.state = 'running' AND j.lease_until < now())\n"
			      "     OR j.state = 'done'\n"
			      "     OR (j.state = 'failed' AND j.updated < now() - "
			      "make_interval(secs => failed_s)) THEN\n"
			      "    UPDATE wikifs_jobs q SET state = 'running', attempt = j.attempt "
			      "+ 1, owner = who,\n"
			      "        lease_until = now() + make_interval(secs => lease_s),\n"
			      "        priority = LEAST(q.priority, prio), error = NULL, updated = "
			      "now()\n"
			      "      WHERE q.key = k;\n"
			      "    PERFORM pg_notify('wikifs', 'c:' || k);\n"
			      "    o_outcome := 'claimed';\n"
			      "    o_attempt := j.attempt + 1;\n"
			      "    RETURN;\n"
			      "  END IF;\n"
			      "  IF j.priority > prio THEN\n"
			      "    UPDATE wikifs_jobs q SET priority = prio WHERE q.key = k;\n"
			      "  END IF;\n"
			      "  o_attempt := j.attempt;\n"
			      "  IF j.state = 'failed' THEN\n"
			      "    o_outcome := 'failed';\n"
			      "    o_detail := j.error;\n"
			      "  ELSE\n"
			      "    o_outcome := 'busy';\n"
			      "    o_detail := j.owner;\n"
			      "  END IF;\n"
			      "END $$;\n"
			      "CREATE OR REPLACE FUNCTION wikifs_complete(k text, att integer, who "
			      "text,\n"
			      "    body bytea, n bigint, sha bytea) RETURNS boolean\n"
			      "LANGUAGE plpgsql AS $$\n"
			      "DECLARE ended integer;\n"
			      "BEGIN\n"
			      "  INSERT INTO wikifs_pages (key, len, sha256, content, host)\n"
			      "    VALUES (k, n, sha, body, who) ON CONFLICT DO NOTHING;\n"
			      "  UPDATE wikifs_jobs q SET state = 'done', lease_until = NULL, "
			      "error = NULL,\n"
			      "      updated = now()\n"
			      "    WHERE q.key = k AND ((att > 0 AND q.attempt = att AND q.state = "
			      "'running')\n"
			      "                         OR att = 0);\n"
			      "  GET DIAGNOSTICS ended = ROW_COUNT;\n"
			      "  PERFORM pg_notify('wikifs', k);\n"
			      "  RETURN ended > 0;\n"
			      "END $$;\n"
			      "CREATE OR REPLACE FUNCTION wikifs_release(k text, att integer, fail "
			      "boolean,\n"
			      "    cause text, delay_ms integer) RETURNS boolean\n"
			      "LANGUAGE plpgsql AS $$\n"
			      "DECLARE ended integer;\n"
			      "BEGIN\n"
			      "  UPDATE wikifs_jobs q SET state = CASE WHEN fail THEN 'failed' "
			      "ELSE 'queued' END,\n"
			      "      error = cause, owner = NULL, lease_until = NULL, updated = "
			      "now(),\n"
			      "      not_before = now() + make_interval(secs => delay_ms / "
			      "1000.0)\n"
			      "    WHERE q.key = k AND q.attempt = att AND q.state = 'running';\n"
			      "  GET DIAGNOSTICS ended = ROW_COUNT;\n"
			      "  PERFORM pg_notify('wikifs', k);\n"
			      "  RETURN ended > 0;\n"
			      "END $$;\n"
			      "INSERT INTO wikifs_meta (name, value) VALUES ('schema_version', "
			      "'" STR(STORE_SCHEMA_VERSION) "')\n"
							    "  ON CONFLICT (name) DO UPDATE SET "
							    "value = EXCLUDED.value;\n";
