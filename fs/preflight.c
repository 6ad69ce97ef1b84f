/* SPDX-License-Identifier: MIT */
/*
 * Preflight: everything that can be checked before touching the kernel,
 * as a table of checks, each with the line that tells a person what to do.
 * A check returns 0 or -errno and may name, for its message, a subject
 * (%1$s: the path or name the problem is about) and a detail (%2$s: the
 * system's reason, a type, a second path). Checks run in table order and
 * may rely on what earlier ones found (the stat, the real path, ...).
 */
#include "preflight.h"
#include "fsutil.h"
#include "mountinfo.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

struct preflight {
	const struct conf *c;
	const char *arg; /* the mountpoint as given */
	struct stat st;
	int stat_errno;	     /* of stat(arg), or 0 */
	char real[PATH_MAX]; /* the mountpoint, resolved */
	char *type;	     /* mounted on top of it, or NULL */
	char *fusermount;    /* where libfuse will find it, or NULL */
	char *cache;	     /* cache_dir, resolved */
	const char *subject; /* %1$s of the message */
	const char *detail;  /* %2$s of the message */
	char detail_buf[128];
};

static int say_errno(struct preflight *pf, const char *subject, int err)
{
	pf->subject = subject;
	pf->detail = strerror_r(err, pf->detail_buf, sizeof(pf->detail_buf));
	return -err;
}

static int mnt_stat(struct preflight *pf)
{
	pf->stat_errno = stat(pf->arg, &pf->st) < 0 ? errno : 0;
	pf->subject = pf->arg;
	return pf->stat_errno == ENOTCONN ? -ENOTCONN : 0;
}

static int mnt_exists(struct preflight *pf)
{
	return pf->stat_errno == ENOENT ? -ENOENT : 0;
}

static int mnt_usable(struct preflight *pf)
{
	return pf->stat_errno ? say_errno(pf, pf->arg, pf->stat_errno) : 0;
}

static int mnt_is_dir(struct preflight *pf)
{
	return S_ISDIR(pf->st.st_mode) ? 0 : -ENOTDIR;
}

static int mnt_resolves(struct preflight *pf)
{
	if (!realpath(pf->arg, pf->real))
		return say_errno(pf, pf->arg, errno);
	pf->subject = pf->real;
	pf->type = mountinfo_type_at(pf->real);
	pf->detail = pf->type;
	return 0;
}

static bool mnt_is_fuse(const struct preflight *pf)
{
	return pf->type && !strncmp(pf->type, "fuse", 4);
}

static int mnt_not_stale(struct preflight *pf)
{
	return mnt_is_fuse(pf) && mountinfo_is_stale(pf->real) ? -ENOTCONN : 0;
}

static int mnt_not_mounted(struct preflight *pf)
{
	return mnt_is_fuse(pf) ? -EBUSY : 0;
}

static int mnt_empty(struct preflight *pf)
{
	return dir_is_empty(pf->real) == 0 ? -ENOTEMPTY : 0;
}

static int dev_fuse_exists(struct preflight *pf)
{
	return access("/dev/fuse", F_OK) < 0 ? -ENODEV : 0;
}

static int dev_fuse_usable(struct preflight *pf)
{
	return access("/dev/fuse", R_OK | W_OK) < 0 ? say_errno(pf, "/dev/fuse", errno) : 0;
}

/* Where libfuse will find fusermount3 (its build-time directory, then PATH). */
static char *find_fusermount(void)
{
	static const char *const fixed[] = { "/usr/bin/fusermount3", "/bin/fusermount3",
					     "/usr/local/bin/fusermount3" };
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = path ? strdup(path) : NULL;
	char *save = NULL, *p = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (access(fixed[i], X_OK) == 0)
			return strdup(fixed[i]);
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		if (asprintf(&p, "%s/fusermount3", d) < 0)
			return NULL;
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/*
 * A user other than root mounts through the setuid fusermount3; root mounts
 * with mount(2) directly and needs neither fusermount3 nor user_allow_other.
 */
static int fusermount_found(struct preflight *pf)
{
	if (getuid() == 0)
		return 0;
	pf->fusermount = find_fusermount();
	return pf->fusermount ? 0 : -ENOENT;
}

static int fusermount_setuid(struct preflight *pf)
{
	struct stat st;

	pf->subject = pf->fusermount;
	if (!pf->fusermount || stat(pf->fusermount, &st) < 0 ||
	    (st.st_uid == 0 && (st.st_mode & S_ISUID)))
		return 0;
	return getxattr(pf->fusermount, "security.capability", NULL, 0) < 0 ? -EPERM : 0;
}

/* fusermount3 keeps its "user_allow_other" on a line by itself. */
static bool fuse_conf_allows_other(void)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	if (read_file("/etc/fuse.conf", 1 << 20, &text, NULL) < 0)
		return false;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);

		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
			n--;
		if (n == 16 && !strncmp(l, "user_allow_other", 16))
			return true;
	}
	return false;
}

static int allow_other_allowed(struct preflight *pf)
{
	if (getuid() == 0 || !pf->c->allow_other)
		return 0;
	return fuse_conf_allows_other() ? 0 : -EPERM;
}

/*
 * The providers' own APIs always want a key; a local OpenAI-compatible
 * server (base_url set) may not, so only the former is checked.
 */
static bool needs_api_key(const struct conf *c)
{
	return (c->backend == BACKEND_OPENAI || c->backend == BACKEND_ANTHROPIC) &&
	       !(c->base_url && *c->base_url);
}

static int api_key_named(struct preflight *pf)
{
	pf->subject = conf_backend_name(pf->c->backend);
	if (!needs_api_key(pf->c))
		return 0;
	return pf->c->api_key_env && *pf->c->api_key_env ? 0 : -EINVAL;
}

static int api_key_set(struct preflight *pf)
{
	const char *v;

	if (!needs_api_key(pf->c))
		return 0;
	pf->subject = pf->c->api_key_env;
	v = getenv(pf->c->api_key_env);
	return v && *v ? 0 : -EINVAL;
}

static int cache_writable(struct preflight *pf)
{
	int r = mkdir_p(pf->c->cache_dir, 0700);

	if (r == 0 && access(pf->c->cache_dir, W_OK | X_OK) < 0)
		r = -errno;
	return r < 0 ? say_errno(pf, pf->c->cache_dir, -r) : 0;
}

static int cache_apart(struct preflight *pf)
{
	pf->cache = realpath(pf->c->cache_dir, NULL);
	pf->subject = pf->real;
	pf->detail = pf->cache;
	if (pf->cache && (path_is_below(pf->real, pf->cache) || path_is_below(pf->cache, pf->real)))
		return -EINVAL;
	return 0;
}

/* Each message is a printf format: %1$s the subject, %2$s the detail (only after %1$s). */
static const struct check {
	int (*check)(struct preflight *pf);
	const char *fix;
} checks[] = {
	{ mnt_stat, MOUNT_STALE_FIX },
	{ mnt_exists, "mountpoint '%1$s' does not exist: create it with 'mkdir -p %1$s'" },
	{ mnt_usable, "mountpoint '%1$s' cannot be used (%2$s): check its permissions" },
	{ mnt_is_dir, "mountpoint '%1$s' is not a directory: use an empty directory" },
	{ mnt_resolves, "cannot resolve mountpoint '%1$s': %2$s" },
	{ mnt_not_stale, MOUNT_STALE_FIX },
	{ mnt_not_mounted, "mountpoint '%1$s' is already mounted (%2$s): unmount it first with "
			   "'fusermount3 -u %1$s'" },
	{ mnt_empty, "mountpoint '%1$s' is not empty: mount on an empty directory" },
	{ dev_fuse_exists, "/dev/fuse is missing: load the module with 'modprobe fuse' (in a "
			   "container, pass the device: --device /dev/fuse)" },
	{ dev_fuse_usable, "%1$s is not accessible (%2$s): add yourself to its group or fix its "
			   "mode (crw-rw-rw-)" },
	{ fusermount_found, "fusermount3 is missing (a user other than root mounts through it): "
			    "install it with 'apt-get install fuse3', or mount as root" },
	{ fusermount_setuid, "'%1$s' is not setuid root, so it cannot mount: reinstall fuse3 or "
			     "run 'chmod u+s %1$s' as root" },
	{ allow_other_allowed, "allow_other needs a line 'user_allow_other' in /etc/fuse.conf: "
			       "add it (as root), or drop allow_other" },
	{ api_key_named, "backend %1$s without base_url calls the provider's API, which needs a "
			 "key: set generator.api_key_env to the name of the variable holding it" },
	{ api_key_set, "$%1$s (generator.api_key_env) is not set: export it before mounting "
		       "(under systemd, put it in the unit's EnvironmentFile)" },
	{ cache_writable, "cache directory '%1$s' cannot be written (%2$s): set cache_dir in the "
			  "config or pass -o cache_dir=DIR" },
	{ cache_apart, "mountpoint '%1$s' and cache directory '%2$s' overlap: choose a "
		       "mountpoint outside the cache (or another cache_dir)" },
};

/* The table's messages are formats, so not literals here; each was written for these two. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void say_fix(const char *fix, const struct preflight *pf)
{
	fputs("wikifs: ", stderr);
	fprintf(stderr, fix, pf->subject ? pf->subject : "?", pf->detail ? pf->detail : "?");
	fputc('\n', stderr);
}
#pragma GCC diagnostic pop

int preflight_run(const struct conf *c, const char *mnt_arg, char **mnt_out)
{
	struct preflight pf = { .c = c, .arg = mnt_arg };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(checks) && r == 0; i++) {
		r = checks[i].check(&pf);
		if (r < 0)
			say_fix(checks[i].fix, &pf);
	}
	if (r == 0) {
		*mnt_out = strdup(pf.real);
		r = *mnt_out ? 0 : -ENOMEM;
	}
	free(pf.type);
	free(pf.fusermount);
	free(pf.cache);
	return r;
}
