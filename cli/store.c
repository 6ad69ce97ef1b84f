/* SPDX-License-Identifier: MIT */
/*
 * "wikifs store init|status|prune": the shared page store of a config,
 * without a mount. The config names the environment variable holding the
 * connection string (store_conninfo_env); the string itself is never
 * printed, only the store's description (host, port, database, user).
 *
 *   init                      creates or upgrades the schema (refuses a newer one)
 *   status                    pages, bytes, open jobs, schema version
 *   prune --older-than DAYS   removes pages unused for DAYS days, and old jobs
 */
#include "cli.h"
#include "conf.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: wikifs store init|status|prune [--older-than DAYS] -c CONFIG\n");
	return 2;
}

/* The store of config @path; prints why not. */
static int open_store(const char *path, struct store **s)
{
	struct conf *c = NULL;
	struct store_opts o = { .host_id = "wikifs-cli" };
	struct wf_err err = { "" };
	const char *conninfo;
	struct buf errs;
	int r;

	buf_init(&errs, 1 << 20);
	r = conf_load(&c, path, NULL, 0, &errs);
	if (r < 0)
		fprintf(stderr, "%s", buf_str(&errs));
	buf_done(&errs);
	if (r < 0)
		return r;
	if (c->store != CONF_STORE_POSTGRESQL) {
		fprintf(stderr, "wikifs: %s has no shared store: set store = postgresql\n", path);
		conf_free(c);
		return -EINVAL;
	}
	conninfo = getenv(c->store_conninfo_env);
	if (!conninfo || !*conninfo) {
		fprintf(stderr,
			"wikifs: the environment variable '%s' (store_conninfo_env) is not set\n",
			c->store_conninfo_env);
		conf_free(c);
		return -EINVAL;
	}
	o.conninfo = conninfo;
	o.timeout_ms = c->store_timeout * 1000;
	o.lease_s = c->store_lease;
	r = store_new(s, &o, &err);
	conf_free(c);
	if (r < 0)
		fprintf(stderr, "wikifs: %s\n", err.msg);
	return r;
}

static int store_status(struct store *s)
{
	struct store_size sz;
	struct wf_err err;
	int r = store_size(s, &sz, &err);

	if (r < 0) {
		fprintf(stderr, "wikifs: %s\n", err.msg);
		return 1;
	}
	printf("store: postgresql %s, schema version %d\n", store_describe(s), sz.schema_version);
	printf("pages: %llu, %.1f MiB (%.1f MiB on disk)\n", (unsigned long long)sz.pages,
	       (double)sz.bytes / 1048576.0, (double)sz.disk_bytes / 1048576.0);
	printf("jobs:  %llu open, %llu running\n", (unsigned long long)sz.jobs_open,
	       (unsigned long long)sz.jobs_running);
	return 0;
}

static int store_run(struct store *s, const char *cmd, long days)
{
	struct wf_err err = { "" };
	uint64_t pages = 0, bytes = 0;
	int r;

	if (!strcmp(cmd, "status"))
		return store_status(s);
	if (!strcmp(cmd, "init")) {
		r = store_schema_init(s, &err);
		if (r == 0)
			printf("store: postgresql %s: schema version %d ready\n", store_describe(s),
			       STORE_SCHEMA_VERSION);
	} else {
		r = store_prune(s, (unsigned)days, &pages, &bytes, &err);
		if (r == 0)
			printf("store: removed %llu pages (%.1f MiB) unused for %ld days\n",
			       (unsigned long long)pages, (double)bytes / 1048576.0, days);
	}
	if (r < 0)
		fprintf(stderr, "wikifs: %s\n", err.msg);
	return r < 0 ? 1 : 0;
}

int cli_store_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "", *config = NULL;
	struct store *s = NULL;
	long days = -1;
	int r;

	for (int i = 2; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			config = argv[++i];
		} else if (!strcmp(argv[i], "--older-than") && i + 1 < argc) {
			days = strtol(argv[++i], &end, 10);
			if (*end || days < 0 || days > 100000) {
				fprintf(stderr, "wikifs: --older-than wants a number of days\n");
				return 2;
			}
		} else {
			return usage();
		}
	}
	if (!config || (strcmp(cmd, "init") && strcmp(cmd, "status") && strcmp(cmd, "prune")) ||
	    (!strcmp(cmd, "prune") != (days >= 0)))
		return usage();
	if (open_store(config, &s) < 0)
		return 1;
	r = store_run(s, cmd, days);
	store_free(s);
	return r;
}
