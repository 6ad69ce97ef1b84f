/* SPDX-License-Identifier: MIT */
/*
 * mount.conf: an INI file described by one table of keys (type, default,
 * limits). Loading yields an immutable struct conf; every problem found is
 * reported as "FILE:LINE: message", all of them, not just the first.
 *
 * Thread-safety: a loaded conf is read-only and may be shared freely.
 */
#ifndef WIKIFS_CONF_H
#define WIKIFS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum conf_backend { BACKEND_BUILTIN, BACKEND_OPENAI, BACKEND_ANTHROPIC, BACKEND_COMMAND };
enum conf_planner { PLANNER_BUILTIN, PLANNER_LLM };
enum conf_stale { STALE_REGENERATE, STALE_SERVE };
enum conf_store { CONF_STORE_NONE, CONF_STORE_POSTGRESQL };

/*
 * A [repo NAME] section, or a [group NAME] of repositories shown as one
 * wiki: a group has no url or ref but members, the indexes of its
 * repositories in conf.repos (never groups).
 */
#define GROUP_MAX_MEMBERS 64

struct conf_repo {
	char *name;    /* directory name, "owner/repo" or "repo" */
	char *url;     /* as written, relative local paths made absolute; NULL for a group */
	char *ref;     /* branch or tag; NULL = the remote HEAD */
	unsigned line; /* where the section starts, for messages */
	bool group;
	char *member_names; /* a group's "repos = ..." as written */
	size_t *members;
	size_t n_members;
};

struct conf {
	char *path; /* the file loaded, NULL for built-in defaults */

	/* [wikifs] */
	char *cache_dir; /* absolute, ~ expanded */
	unsigned clone_concurrency;
	unsigned page_workers;
	unsigned repo_page_workers;
	unsigned retries;
	unsigned open_timeout;	   /* seconds */
	unsigned clone_timeout;	   /* seconds without progress */
	unsigned clone_gc_grace;   /* seconds an unused clone is kept, 0 = forever */
	char *clone_ca_bundle;	   /* "" = the system's CA certificates */
	char *ssh_key;		   /* "" = ssh-agent's keys */
	unsigned refresh_interval; /* seconds, 0 = never */
	uint64_t cache_max_bytes;
	enum conf_stale stale_pages; /* an open of a page whose inputs changed */
	uint64_t checkout_max_bytes; /* read-only checkouts (backend = command) */
	uint64_t max_calls;	     /* 0 = unlimited */
	uint64_t token_budget;	     /* 0 = unlimited */
	unsigned queue_max;	     /* queued page jobs, whole mount */
	unsigned failure_backoff;    /* seconds a failed page answers EIO before a retry */
	unsigned max_versions;	     /* version directories (REPO@REF) kept per repository */
	char *log_file;		     /* NULL = syslog when daemonized */
	char *log_level;
	bool allow_other;
	enum conf_store store;	  /* the shared page store, optional */
	char *store_conninfo_env; /* names the variable with the libpq connection string */
	unsigned store_timeout;	  /* seconds a store round trip may take */
	unsigned store_lease;	  /* seconds of a claimed job's lease */

	/* [generator] */
	enum conf_backend backend;
	char *model;
	char *base_url;
	char *api_key_env;
	char *command;
	char *language;	      /* "en", "fr", "pt-BR": what LLM pages are written in */
	unsigned gen_timeout; /* seconds per attempt */
	unsigned max_tokens;
	char *max_tokens_field; /* "max_tokens" or "max_completion_tokens" */
	enum conf_planner planner;
	uint64_t prompt_budget; /* bytes of source in a prompt */
	char *anthropic_version;
	char *ca_bundle;
	unsigned rate_limit; /* requests per minute per provider, 0 = none */

	size_t n_repos;
	struct conf_repo *repos;
};

/*
 * Loads @path (NULL: defaults only, no repositories) and applies @overrides
 * ("key=value" for [wikifs] keys, or "section.key=value"). On failure returns
 * -EINVAL and appends one line per problem to @errs. Caller frees with
 * conf_free().
 */
int conf_load(struct conf **ret, const char *path, char *const *overrides, size_t n_overrides,
	      struct buf *errs);
void conf_free(struct conf *c);

const char *conf_backend_name(enum conf_backend b);

/* Writes a documented sample with every key at its default (the mount.conf format). */
int conf_write_sample(struct buf *out);

/* Parses "512K", "1G", "100" into bytes; 0 or -EINVAL / -ERANGE. */
int conf_parse_size(const char *s, uint64_t *ret);

/* 1 if @name is a valid repository directory name ("repo" or "owner/repo"). */
int conf_repo_name_valid(const char *name);

#endif
