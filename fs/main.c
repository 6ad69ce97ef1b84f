/* SPDX-License-Identifier: MIT */
/*
 * wikifs: the command line.
 *
 *   wikifs [-f] [-d] [-c CONFIG] [-o key=value,...] MOUNTPOINT   mount
 *   wikifs prefetch [--no-wait] PATH                             queue + progress bar
 *   wikifs status MOUNTPOINT                                     progress summary
 *   wikifs check-config FILE                                     validate a config
 *
 * Mounting checks everything it can before touching the kernel and says
 * what to do about each problem. Without -f it forks before any thread
 * exists; the parent waits on a pipe and exits 0 only once the mount is
 * up, or prints the child's error and exits 1.
 */
#include "fs.h"
#include "clone_helper.h"
#include "gitrepo.h"
#include "fsutil.h"
#include "log.h"
#include "proctree.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#ifndef WIKIFS_VERSION
#define WIKIFS_VERSION "0.1.0"
#endif
#ifndef WIKIFS_SYSCONFDIR
#define WIKIFS_SYSCONFDIR "/etc"
#endif

int prefetch_main(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f, "usage: wikifs [-f] [-d] [-c CONFIG] [-o key=value,...] MOUNTPOINT\n"
		   "       wikifs prefetch [--no-wait] PATH\n"
		   "       wikifs status [--json] MOUNTPOINT\n"
		   "       wikifs check-config FILE\n"
		   "       wikifs --help | --version\n\n"
		   "Mounts the wikis of the repositories in CONFIG (default: "
		   "$XDG_CONFIG_HOME/wikifs/mount.conf,\n" WIKIFS_SYSCONFDIR
		   "/wikifs/mount.conf) at MOUNTPOINT. Unmount with: fusermount3 -u MOUNTPOINT\n"
		   "See wikifs(1).\n\n"
		   "  -f            stay in the foreground, log to stderr\n"
		   "  -d            debug logging (implies -f)\n"
		   "  -c CONFIG     the mount.conf to use\n"
		   "  -o OPTIONS    [wikifs] keys as key=value (or generator.key=value),\n"
		   "                comma-separated; standard mount options are ignored\n");
}

/* Mount options that mount(8) and fstab pass along and we can ignore. */
static bool ignorable_option(const char *o)
{
	static const char *const ign[] = { "rw",       "ro",
					   "nosuid",   "suid",
					   "nodev",    "dev",
					   "noexec",   "exec",
					   "noatime",  "atime",
					   "relatime", "auto",
					   "noauto",   "user",
					   "nouser",   "users",
					   "defaults", "_netdev",
					   "nofail",   "async",
					   "sync",     "default_permissions" };

	if (!strncmp(o, "x-", 2) || !strncmp(o, "comment=", 8))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(ign); i++)
		if (!strcmp(o, ign[i]))
			return true;
	return false;
}

struct opts {
	bool foreground, debug;
	char *config;
	char *mountpoint;
	char **overrides;
	size_t noverrides;
};

static int add_options(struct opts *o, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		char **nv;

		if (ignorable_option(s))
			continue;
		if (!strcmp(s, "allow_other"))
			s = "allow_other=true";
		nv = realloc(o->overrides, (o->noverrides + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		o->overrides = nv;
		o->overrides[o->noverrides] = strdup(s);
		if (!o->overrides[o->noverrides])
			return -ENOMEM;
		o->noverrides++;
	}
	return 0;
}

static char *default_config(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (xdg && *xdg && asprintf(&p, "%s/wikifs/mount.conf", xdg) >= 0 && access(p, R_OK) == 0)
		return p;
	free(p);
	p = NULL;
	if (home && *home && asprintf(&p, "%s/.config/wikifs/mount.conf", home) >= 0 &&
	    access(p, R_OK) == 0)
		return p;
	free(p);
	if (access(WIKIFS_SYSCONFDIR "/wikifs/mount.conf", R_OK) == 0)
		return strdup(WIKIFS_SYSCONFDIR "/wikifs/mount.conf");
	if (access("/etc/wikifs/mount.conf", R_OK) == 0)
		return strdup("/etc/wikifs/mount.conf");
	return NULL;
}

static int load_conf(struct conf **c, const char *path, char **ov, size_t nov)
{
	struct buf errs;
	int r;

	buf_init(&errs, 1 << 20);
	r = conf_load(c, path, ov, nov, &errs);
	if (r < 0)
		fprintf(stderr, "%s", buf_str(&errs));
	buf_done(&errs);
	return r;
}

struct type_at {
	const char *path;
	char *type;
};

static int type_at_path(void *ctx, const struct mount_entry *e)
{
	struct type_at *t = ctx;

	if (!strcmp(e->point, t->path)) {
		free(t->type); /* the last entry for a path is the one on top */
		t->type = strdup(e->fstype);
	}
	return 0;
}

/* The file system type mounted at @path ("fuse.wikifs", ...), or NULL. */
static char *mounted_type(const char *path)
{
	struct type_at t = { .path = path, .type = NULL };

	mountinfo_foreach(type_at_path, &t);
	return t.type;
}

/*
 * A FUSE mount whose daemon is gone. stat() may still succeed from the
 * kernel's attribute cache, but opening the directory always asks the
 * daemon, and a dead connection answers ENOTCONN.
 */
static bool is_stale(const char *mnt)
{
	int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOTCONN;
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

/*
 * A user other than root mounts through the setuid fusermount3; root mounts
 * with mount(2) directly and needs neither fusermount3 nor user_allow_other.
 */
static int preflight_fusermount(const struct conf *c)
{
	_cleanup_free_ char *fm = NULL;
	struct stat st;

	if (getuid() == 0)
		return 0;
	fm = find_fusermount();
	if (!fm) {
		fprintf(stderr, "wikifs: fusermount3 is missing (a user other than root mounts "
				"through it): install it with 'apt-get install fuse3', or mount as "
				"root\n");
		return -ENOENT;
	}
	if (stat(fm, &st) == 0 && !(st.st_uid == 0 && (st.st_mode & S_ISUID)) &&
	    getxattr(fm, "security.capability", NULL, 0) < 0) {
		fprintf(stderr,
			"wikifs: '%s' is not setuid root, so it cannot mount: reinstall fuse3 "
			"or run 'chmod u+s %s' as root\n",
			fm, fm);
		return -EPERM;
	}
	if (c->allow_other && !fuse_conf_allows_other()) {
		fprintf(stderr, "wikifs: allow_other needs a line 'user_allow_other' in "
				"/etc/fuse.conf: add it (as root), or drop allow_other\n");
		return -EPERM;
	}
	return 0;
}

/*
 * The providers' own APIs always want a key; a local OpenAI-compatible
 * server (base_url set) may not, so only the former is checked.
 */
static int preflight_api_key(const struct conf *c)
{
	const char *v;

	if ((c->backend != BACKEND_OPENAI && c->backend != BACKEND_ANTHROPIC) ||
	    (c->base_url && *c->base_url))
		return 0;
	if (!c->api_key_env || !*c->api_key_env) {
		fprintf(stderr,
			"wikifs: backend %s without base_url calls the provider's API, which needs "
			"a key: set generator.api_key_env to the name of the variable holding it\n",
			conf_backend_name(c->backend));
		return -EINVAL;
	}
	v = getenv(c->api_key_env);
	if (!v || !*v) {
		fprintf(stderr,
			"wikifs: $%s (generator.api_key_env) is not set: export it before "
			"mounting (under systemd, put it in the unit's EnvironmentFile)\n",
			c->api_key_env);
		return -EINVAL;
	}
	return 0;
}

/* Checks made before mounting; each message names the fix. */
static int preflight(const struct conf *c, const char *mnt_arg, char **mnt_out)
{
	struct stat st;
	char real[PATH_MAX];
	_cleanup_free_ char *cache = NULL, *type = NULL;
	int r;

	if (stat(mnt_arg, &st) < 0) {
		if (errno == ENOTCONN) {
			fprintf(stderr,
				"wikifs: mountpoint '%s' is a stale mount (transport endpoint is "
				"not connected): unmount it with 'fusermount3 -u %s', then mount "
				"again\n",
				mnt_arg, mnt_arg);
			return -ENOTCONN;
		}
		if (errno != ENOENT) {
			fprintf(stderr,
				"wikifs: mountpoint '%s' cannot be used (%s): check its "
				"permissions\n",
				mnt_arg, strerror(errno));
			return -errno;
		}
		fprintf(stderr,
			"wikifs: mountpoint '%s' does not exist: create it with 'mkdir -p %s'\n",
			mnt_arg, mnt_arg);
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"wikifs: mountpoint '%s' is not a directory: use an empty directory\n",
			mnt_arg);
		return -ENOTDIR;
	}
	if (!realpath(mnt_arg, real)) {
		fprintf(stderr, "wikifs: cannot resolve mountpoint '%s': %s\n", mnt_arg,
			strerror(errno));
		return -errno;
	}
	type = mounted_type(real);
	if (type && !strncmp(type, "fuse", 4) && is_stale(real)) {
		fprintf(stderr,
			"wikifs: mountpoint '%s' is a stale mount (transport endpoint is not "
			"connected): unmount it with 'fusermount3 -u %s', then mount again\n",
			real, real);
		return -ENOTCONN;
	}
	if (type && !strncmp(type, "fuse", 4)) {
		fprintf(stderr,
			"wikifs: mountpoint '%s' is already mounted (%s): unmount it first with "
			"'fusermount3 -u %s'\n",
			real, type, real);
		return -EBUSY;
	}
	r = dir_is_empty(real);
	if (r == 0) {
		fprintf(stderr,
			"wikifs: mountpoint '%s' is not empty: mount on an empty directory\n",
			real);
		return -ENOTEMPTY;
	}
	if (access("/dev/fuse", F_OK) < 0) {
		fprintf(stderr,
			"wikifs: /dev/fuse is missing: load the module with 'modprobe fuse' "
			"(in a container, pass the device: --device /dev/fuse)\n");
		return -ENODEV;
	}
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		fprintf(stderr,
			"wikifs: /dev/fuse is not accessible (%s): add yourself to its group or "
			"fix its mode (crw-rw-rw-)\n",
			strerror(errno));
		return -EACCES;
	}
	r = preflight_fusermount(c);
	if (r < 0)
		return r;
	r = preflight_api_key(c);
	if (r < 0)
		return r;
	r = mkdir_p(c->cache_dir, 0700);
	if (r == 0 && access(c->cache_dir, W_OK | X_OK) < 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr,
			"wikifs: cache directory '%s' cannot be written (%s): set cache_dir in "
			"the config or pass -o cache_dir=DIR\n",
			c->cache_dir, strerror(-r));
		return r;
	}
	cache = realpath(c->cache_dir, NULL);
	if (cache && (path_is_below(real, cache) || path_is_below(cache, real))) {
		fprintf(stderr,
			"wikifs: mountpoint '%s' and cache directory '%s' overlap: choose a "
			"mountpoint outside the cache (or another cache_dir)\n",
			real, cache);
		return -EINVAL;
	}
	*mnt_out = strdup(real);
	return *mnt_out ? 0 : -ENOMEM;
}

/* The kernel's hard limit on a request, if it has one: waits must end sooner. */
static int64_t wait_limit_ms(const struct conf *c)
{
	int64_t ms = (int64_t)c->open_timeout * 1000;
	_cleanup_free_ char *text = NULL;

	if (read_file("/proc/sys/fs/fuse/max_request_timeout", 64, &text, NULL) == 0) {
		long v = strtol(text, NULL, 10);

		if (v > 0) {
			int64_t lim = (int64_t)v * 1000;

			lim -= MAX(lim / 20, 500); /* answer well before the kernel gives up */
			if (lim > 0 && lim < ms)
				ms = lim;
		}
	}
	return ms;
}

static void ev_error(void *ctx, const char *what, const char *msg)
{
	log_err("%s: %s", what, msg);
	(void)ctx;
}

/* Tells the waiting parent (with -f: stderr) how it went: "" = mounted, else why not. */
static void report_parent(int *fd, const char *msg)
{
	if (*fd == -1) { /* -f: nobody waits; say a failure on our own stderr, once */
		fputs(msg, stderr);
		*fd = -2;
	}
	if (*fd < 0)
		return;
	ssize_t w = write(*fd, msg, strlen(msg) + 1);

	(void)w;
	close(*fd);
	*fd = -1;
}

/*
 * The parent's side: waits for the daemon's word, then checks that the mount
 * answers a lookup before returning 0, so that "wikifs ... && ls MNT" works.
 */
static int wait_for_child(int fd, const char *mnt)
{
	char msg[4096], probe[PATH_MAX + 16];
	size_t n = 0;
	ssize_t r;
	struct stat st;

	while (n < sizeof(msg) - 1 && (r = read(fd, msg + n, sizeof(msg) - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)r;
	}
	msg[n] = '\0';
	if (n == 0 || msg[0] != '\0') {
		fprintf(stderr, "%s",
			n ? msg
			  : "wikifs: the daemon exited before mounting: run with -f to see why\n");
		return 1;
	}
	snprintf(probe, sizeof(probe), "%s/" CTLDIR_NAME, mnt);
	if (stat(probe, &st) < 0) {
		fprintf(stderr,
			"wikifs: the mount at '%s' does not answer (%s): see the log (log_file "
			"or syslog), then 'fusermount3 -u %s'\n",
			mnt, strerror(errno), mnt);
		return 1;
	}
	return 0;
}

/*
 * Descriptors: every running generation holds pipes or a socket, every open
 * page a file, every clone a helper's pipes. The soft limit is often 1024
 * while the hard one is far higher; raising the soft limit to the hard one
 * is always allowed (where the hard limit is unlimited, to fs.nr_open, the
 * most a process may have). Returns 1 if raised, 0 if already there.
 */
static int raise_fd_limit(struct rlimit *was, struct rlimit *now)
{
	_cleanup_free_ char *nr_open = NULL;
	int r;

	if (getrlimit(RLIMIT_NOFILE, was) < 0)
		return -errno;
	*now = *was;
	if (was->rlim_cur == was->rlim_max)
		return 0;
	now->rlim_cur = was->rlim_max;
	if (setrlimit(RLIMIT_NOFILE, now) == 0)
		return 1;
	r = read_file("/proc/sys/fs/nr_open", 64, &nr_open, NULL);
	if (r < 0)
		return r;
	now->rlim_cur = MIN(was->rlim_max, (rlim_t)strtoull(nr_open, NULL, 10));
	if (now->rlim_cur <= was->rlim_cur)
		return 0;
	return setrlimit(RLIMIT_NOFILE, now) < 0 ? -errno : 1;
}

/*
 * Generator commands run under guards (core/proctree.h), which end their
 * whole subtree even when the daemon is killed with SIGKILL. The daemon
 * itself is not a subreaper: it would adopt orphans it cannot tell from its
 * own children (each waited for by the thread that started it), so it could
 * not reap them while running, and zombies would pile up (LeakSanitizer's
 * llvm-symbolizer, left behind by sanitizer-built clone helpers, did).
 */
static void processes_init(const struct conf *c)
{
	/* a guess: the daemon itself, then each worker (pipes or sockets) and clone */
	unsigned long long need = 32 + 4ull * c->page_workers + 4ull * c->clone_concurrency;
	struct rlimit was = { 0 }, now = { 0 };
	int r;

	/*
	 * glibc loads libgcc_s at the first pthread_cancel() (libfuse cancels
	 * its workers at unmount); with every descriptor in use that load
	 * fails and glibc aborts. Load it now, while descriptors are free.
	 */
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		log_warn("cannot load libgcc_s.so.1: %s", dlerror());
	r = raise_fd_limit(&was, &now);
	if (r < 0)
		log_warn("cannot raise the open files limit from %llu: %s",
			 (unsigned long long)was.rlim_cur, strerror(-r));
	else if (r > 0)
		log_info("open files limit raised from %llu to %llu",
			 (unsigned long long)was.rlim_cur, (unsigned long long)now.rlim_cur);
	if (r >= 0 && now.rlim_cur < need)
		log_warn("open files limit %llu is low for page_workers = %u (about %llu "
			 "needed): generations short of descriptors wait and retry; raise the hard "
			 "limit (ulimit -Hn, systemd LimitNOFILE=) or lower page_workers",
			 (unsigned long long)now.rlim_cur, c->page_workers, need);
}

/* After every worker thread is joined: nothing we started and still hold may outlive us. */
static void processes_end(void)
{
	int n = proctree_end(PROCTREE_GRACE_MS, PROCTREE_GRACE_MS + 5000);

	if (n > 0)
		log_info("ended %d leftover process%s", n, n == 1 ? "" : "es");
	else if (n < 0)
		log_warn("cannot look for leftover processes: %s", strerror(-n));
}

static int mount_main(struct opts *o)
{
	_cleanup_free_ char *config = o->config ? strdup(o->config) : default_config();
	_cleanup_free_ char *self = NULL, *mnt = NULL;
	struct conf *c = NULL;
	struct fs fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct wiki_events ev = { .error = ev_error,
				  .repo_changed = fs_repo_changed,
				  .page_ready = fs_page_ready };
	struct wf_err err = { "" };
	char fuse_opts[256], msg[1024];
	int pipefd[2] = { -1, -1 }, status_fd = -1, r, ret = 1;

	if (!config) {
		fprintf(stderr, "wikifs: no config found: pass -c FILE (see 'man wikifs' and the "
				"sample mount.conf)\n");
		return 1;
	}
	if (load_conf(&c, config, o->overrides, o->noverrides) < 0)
		return 1;
	if (preflight(c, o->mountpoint, &mnt) < 0)
		goto out_conf;
	self = realpath("/proc/self/exe", NULL);
	if (!self) {
		fprintf(stderr, "wikifs: cannot find my own executable: %s\n", strerror(errno));
		goto out_conf;
	}
	if (!o->foreground) {
		pid_t pid;

		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			fprintf(stderr, "wikifs: pipe: %s\n", strerror(errno));
			goto out_conf;
		}
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "wikifs: fork: %s\n", strerror(errno));
			goto out_conf;
		}
		if (pid > 0) {
			close(pipefd[1]);
			ret = wait_for_child(pipefd[0], mnt);
			close(pipefd[0]);
			goto out_conf;
		}
		close(pipefd[0]);
		status_fd = pipefd[1];
		setsid();
	}

	memset(&fs, 0, sizeof(fs));
	fs.conf = c;
	fs.mountpoint = mnt;
	fs.uid = getuid();
	fs.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs.start);
	fs.entry_timeout = 3600;
	fs.attr_timeout = 3600;
	fs.wait_ms = wait_limit_ms(c);

	if (o->foreground) {
		log_open(LOG_TO_STDERR, NULL, o->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	} else {
		enum log_level lvl = LOG_LVL_INFO;

		log_level_parse(c->log_level, &lvl);
		if (c->log_file && log_open(LOG_TO_FILE, c->log_file, lvl) < 0) {
			snprintf(msg, sizeof(msg), "wikifs: cannot open log_file '%s': %s\n",
				 c->log_file, strerror(errno));
			report_parent(&status_fd, msg);
			goto out_conf;
		}
		if (!c->log_file)
			log_open(LOG_TO_SYSLOG, NULL, lvl);
	}
	processes_init(c);
	if (fs_nodes_init(&fs) < 0) {
		report_parent(&status_fd, "wikifs: out of memory\n");
		goto out_nodes;
	}
	ev.ctx = &fs;
	r = wiki_new(&fs.wiki, c, backend_for(c->backend), self, &ev, &err);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "wikifs: %s\n", err.msg[0] ? err.msg : strerror(-r));
		report_parent(&status_fd, msg);
		goto out_nodes;
	}
	snprintf(fuse_opts, sizeof(fuse_opts), "fsname=wikifs,subtype=wikifs,default_permissions%s",
		 c->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(&args, "wikifs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, fuse_opts) || (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		report_parent(&status_fd, "wikifs: out of memory\n");
		goto out_wiki;
	}
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!fs.se) {
		report_parent(&status_fd, "wikifs: cannot create the FUSE session\n");
		goto out_wiki;
	}
	if (fuse_set_signal_handlers(fs.se) != 0) {
		report_parent(&status_fd, "wikifs: cannot install signal handlers\n");
		goto out_session;
	}
	if (fuse_session_mount(fs.se, mnt) != 0) {
		snprintf(msg, sizeof(msg),
			 "wikifs: mounting '%s' failed (see the message above; is fusermount3 "
			 "installed, or the mountpoint busy?)\n",
			 mnt);
		report_parent(&status_fd, msg);
		goto out_signals;
	}
	if (fs_park_init(&fs) < 0) {
		report_parent(&status_fd, "wikifs: cannot start the timer thread\n");
		goto out_unmount;
	}
	log_info("mounted %zu repositories at '%s' (config '%s', backend %s, cache '%s')",
		 c->n_repos, mnt, config, conf_backend_name(c->backend), c->cache_dir);
	if (status_fd >= 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (chdir("/") < 0)
			log_warn("chdir /: %s", strerror(errno));
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	report_parent(&status_fd, "");
	if (fs_watch_start(&fs) < 0)
		log_warn("not watching '%s' for a lazy unmount: parked reads then wait for "
			 "open_timeout",
			 mnt);
	wiki_warm(fs.wiki);

	lc = fuse_loop_cfg_create();
	if (!lc) {
		log_err("cannot create the loop config: out of memory");
		goto out_park;
	}
	fuse_loop_cfg_set_max_threads(lc, 16);
	fuse_loop_cfg_set_idle_threads(lc, 16); /* no thread churn: each exit is a munmap */
	fuse_loop_cfg_set_clone_fd(lc, 0);
	r = fuse_session_loop_mt(fs.se, lc);
	fuse_loop_cfg_destroy(lc);
	ret = r < 0 ? 1 : 0;
	log_info("unmounting '%s'", mnt);

out_park:
	fs_watch_stop();
	wiki_shutdown(fs.wiki); /* parked requests answered, helpers killed */
	fs_park_done(&fs);
out_unmount:
	fuse_session_unmount(fs.se);
out_signals:
	fuse_remove_signal_handlers(fs.se);
out_session:
	fs_handles_free(&fs); /* before the wiki: page handles hold cache pins */
	wiki_free(fs.wiki);
	fs.wiki = NULL;
	fuse_session_destroy(fs.se);
	fs.se = NULL;
out_wiki:
	wiki_free(fs.wiki);
	processes_end();
out_nodes:
	fs_nodes_done(&fs);
	fuse_opt_free_args(&args);
	report_parent(&status_fd, "wikifs: failed to start\n");
out_conf:
	conf_free(c);
	return ret;
}

static int check_config_main(int argc, char **argv)
{
	struct conf *c = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: wikifs check-config FILE\n");
		return 2;
	}
	if (load_conf(&c, argv[1], NULL, 0) < 0)
		return 1;
	printf("%s: ok, %zu repositories, backend %s\n", argv[1], c->n_repos,
	       conf_backend_name(c->backend));
	if (c->n_repos == 0)
		printf("%s: note: no [repo NAME] section, so a mount of it is empty: add one\n",
		       argv[1]);
	conf_free(c);
	return 0;
}

static int status_main(int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *text = NULL, *type = NULL;
	const char *mnt, *file = "progress";
	char real[PATH_MAX];
	struct stat st;
	int r;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		file = "progress.json";
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: wikifs status [--json] MOUNTPOINT\n");
		return 2;
	}
	mnt = argv[1];
	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN)
			fprintf(stderr,
				"wikifs: '%s' is a stale mount (its daemon is gone): unmount it "
				"with 'fusermount3 -u %s'\n",
				mnt, mnt);
		else
			fprintf(stderr,
				"wikifs: '%s' cannot be read (%s): pass the mountpoint of "
				"a running wikifs\n",
				mnt, strerror(errno));
		return 1;
	}
	if (asprintf(&path, "%s/" CTLDIR_NAME "/%s", mnt, file) < 0)
		return 1;
	type = realpath(mnt, real) ? mounted_type(real) : NULL;
	r = type && !strcmp(type, "fuse.wikifs") ? read_file(path, 16 << 20, &text, NULL) : -ENOENT;
	if (r == -ENOTCONN) {
		fprintf(stderr,
			"wikifs: '%s' is a stale mount (its daemon is gone): unmount it with "
			"'fusermount3 -u %s'\n",
			mnt, mnt);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr,
			"wikifs: '%s' is not a wikifs mountpoint (%s%s): pass the directory "
			"given to 'wikifs' when mounting\n",
			mnt, type ? "cannot read " CTLDIR_NAME "/" : "not mounted",
			type ? file : "");
		return 1;
	}
	fputs(text, stdout);
	return 0;
}

/* A daemon started by mount(8) at boot may have no HOME; ~ means the user's. */
static void ensure_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return;
	pw = getpwuid(getuid());
	if (pw && pw->pw_dir && *pw->pw_dir)
		setenv("HOME", pw->pw_dir, 1);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
						  { "version", no_argument, NULL, 'V' },
						  { NULL, 0, NULL, 0 } };
	struct opts o = { 0 };
	int ch, ret;

	if (argc > 1 && !strcmp(argv[1], "--clone-helper"))
		return clone_helper_main(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], PROCTREE_GUARD_ARG))
		return proctree_guard_main(argc - 2, argv + 2);
	ensure_home();
	if (argc > 1 && !strcmp(argv[1], "prefetch"))
		return prefetch_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check-config"))
		return check_config_main(argc - 1, argv + 1);

	while ((ch = getopt_long(argc, argv, "fdc:o:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.foreground = true;
			break;
		case 'd':
			o.debug = o.foreground = true;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'o':
			if (add_options(&o, optarg) < 0) {
				fprintf(stderr, "wikifs: out of memory\n");
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("wikifs %s (libfuse %d.%d)\n", WIKIFS_VERSION, FUSE_MAJOR_VERSION,
			       FUSE_MINOR_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, optind >= argc ? "wikifs: missing MOUNTPOINT\n"
					       : "wikifs: too many arguments\n");
		usage(stderr);
		return 2;
	}
	o.mountpoint = argv[optind];
	/* once, before any thread: the clone cache, facts and planner use libgit2 */
	if (gitrepo_global_init() < 0) {
		fprintf(stderr, "wikifs: cannot initialise libgit2\n");
		ret = 1;
	} else {
		ret = mount_main(&o);
		gitrepo_global_shutdown();
	}
	for (size_t i = 0; i < o.noverrides; i++)
		free(o.overrides[i]);
	free(o.overrides);
	return ret;
}
