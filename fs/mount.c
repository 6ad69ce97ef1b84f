/* SPDX-License-Identifier: MIT */
/*
 * Mounting: "wikifs [-f] [-d] [-c CONFIG] [-o key=value,...] MOUNTPOINT".
 * Everything that can be checked is checked before touching the kernel
 * (preflight.c). Without -f it forks before any thread exists; the parent
 * waits on a pipe and exits 0 only once the mount is up, or prints the
 * child's error and exits 1. The daemon then owns one struct fs: its node
 * table, its parking lot, its mount watcher and its open handles.
 */
#include "mount.h"
#include "child.h"
#include "fs.h"
#include "fsutil.h"
#include "gitrepo.h"
#include "log.h"
#include "preflight.h"
#include "proctree.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#ifndef WIKIFS_VERSION
#define WIKIFS_VERSION "0.1.0"
#endif
#ifndef WIKIFS_SYSCONFDIR
#define WIKIFS_SYSCONFDIR "/etc"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wikifs [-f] [-d] [-c CONFIG] [-o key=value,...] MOUNTPOINT\n"
		"       wikifs prefetch [--no-wait] PATH\n"
		"       wikifs status [--json] PATH\n"
		"       wikifs check-config FILE\n"
		"       wikifs --help | --version\n\n"
		"Mounts the wikis of the repositories in CONFIG at MOUNTPOINT. Without -c,\n"
		"CONFIG is the first of: $XDG_CONFIG_HOME/wikifs/mount.conf,\n"
		"~/.config/wikifs/mount.conf, %s/etc/wikifs/mount.conf.\n"
		"Unmount with: fusermount3 -u MOUNTPOINT. See wikifs(1).\n\n"
		"  -f            stay in the foreground, log to stderr\n"
		"  -d            debug logging (implies -f)\n"
		"  -c CONFIG     the mount.conf to use\n"
		"  -o OPTIONS    [wikifs] keys as key=value (or generator.key=value),\n"
		"                comma-separated; standard mount options are ignored\n",
		strcmp(WIKIFS_SYSCONFDIR, "/etc") ? WIKIFS_SYSCONFDIR "/wikifs/mount.conf, " : "");
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

/*
 * Forks unless -f: the parent waits for the daemon's word. Returns true
 * when this process is done (the parent, or a failure), its exit status
 * in *ret; false in the daemon, which reports through *status_fd.
 */
static bool detach(const struct opts *o, const char *mnt, int *status_fd, int *ret)
{
	int pipefd[2];
	pid_t pid;

	*ret = 1;
	if (o->foreground)
		return false;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "wikifs: pipe: %s\n", strerror(errno));
		return true;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "wikifs: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return true;
	}
	if (pid > 0) {
		close(pipefd[1]);
		*ret = wait_for_child(pipefd[0], mnt);
		close(pipefd[0]);
		return true;
	}
	close(pipefd[0]);
	*status_fd = pipefd[1];
	setsid();
	return false;
}

/* -f logs to stderr; a daemon to log_file, else syslog. */
static int open_log(const struct opts *o, const struct conf *c, int *status_fd)
{
	enum log_level lvl = LOG_LVL_INFO;
	char msg[1024];

	if (o->foreground) {
		log_open(LOG_TO_STDERR, NULL, o->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
		return 0;
	}
	log_level_parse(c->log_level, &lvl);
	if (c->log_file && log_open(LOG_TO_FILE, c->log_file, lvl) < 0) {
		snprintf(msg, sizeof(msg), "wikifs: cannot open log_file '%s': %s\n", c->log_file,
			 strerror(errno));
		report_parent(status_fd, msg);
		return -1;
	}
	if (!c->log_file)
		log_open(LOG_TO_SYSLOG, NULL, lvl);
	return 0;
}

static void fs_setup(struct fs *fs, const struct conf *c, char *mnt)
{
	memset(fs, 0, sizeof(*fs));
	fs->conf = c;
	fs->mountpoint = mnt;
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->start);
	fs->entry_timeout = 3600;
	fs->attr_timeout = 3600;
	fs->wait_ms = wait_limit_ms(c);
	pthread_mutex_init(&fs->handles_lock, NULL);
}

/* The daemon drops the terminal once mounted; the parent says what went wrong. */
static void daemon_detach_stdio(int status_fd)
{
	int null;

	if (status_fd < 0)
		return;
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

/* Serves until unmounted. 0, or 1 if the loop failed. */
static int serve(struct fs *fs)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	int r;

	if (!lc) {
		log_err("cannot create the loop config: out of memory");
		return 1;
	}
	fuse_loop_cfg_set_max_threads(lc, 16);
	fuse_loop_cfg_set_idle_threads(lc, 16); /* no thread churn: each exit is a munmap */
	fuse_loop_cfg_set_clone_fd(lc, 0);
	r = fuse_session_loop_mt(fs->se, lc);
	fuse_loop_cfg_destroy(lc);
	return r < 0 ? 1 : 0;
}

/* Creates the session and installs its signal handlers. 0, or -1 reported. */
static int session_new(struct fs *fs, struct fuse_args *args, bool debug, int *status_fd)
{
	char fuse_opts[256];

	snprintf(fuse_opts, sizeof(fuse_opts), "fsname=wikifs,subtype=wikifs,default_permissions%s",
		 fs->conf->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(args, "wikifs") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, fuse_opts) || (debug && fuse_opt_add_arg(args, "-d"))) {
		report_parent(status_fd, "wikifs: out of memory\n");
		return -1;
	}
	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se) {
		report_parent(status_fd, "wikifs: cannot create the FUSE session\n");
		return -1;
	}
	if (fuse_set_signal_handlers(fs->se) != 0) {
		report_parent(status_fd, "wikifs: cannot install signal handlers\n");
		fuse_session_destroy(fs->se);
		fs->se = NULL;
		return -1;
	}
	return 0;
}

/* Mounts and serves @fs, whose wiki is made: returns the exit status. */
static int run_session(struct fs *fs, const struct opts *o, const char *config, int *status_fd)
{
	const struct conf *c = fs->conf;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char msg[1024];
	int ret = 1;

	if (session_new(fs, &args, o->debug, status_fd) < 0)
		goto out_free_args;
	if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
		snprintf(msg, sizeof(msg),
			 "wikifs: mounting '%s' failed (see the message above; is fusermount3 "
			 "installed, or the mountpoint busy?)\n",
			 fs->mountpoint);
		report_parent(status_fd, msg);
		goto out_session;
	}
	if (park_lot_new(&fs->park, fs->wiki, fs->wait_ms, fs_answer, fs) < 0) {
		report_parent(status_fd, "wikifs: cannot start the timer thread\n");
		goto out_unmount;
	}
	log_info("mounted %zu repositories at '%s' (config '%s', backend %s, cache '%s')",
		 c->n_repos, fs->mountpoint, config, conf_backend_name(c->backend), c->cache_dir);
	daemon_detach_stdio(*status_fd);
	report_parent(status_fd, "");
	if (watch_start(&fs->watch, fs->mountpoint, fs->wiki) < 0)
		log_warn("not watching '%s' for a lazy unmount: parked reads then wait for "
			 "open_timeout",
			 fs->mountpoint);
	wiki_warm(fs->wiki);
	ret = serve(fs);
	log_info("unmounting '%s'", fs->mountpoint);
	watch_stop(fs->watch);
	fs->watch = NULL;
	wiki_shutdown(fs->wiki); /* parked requests answered, helpers killed */
	park_lot_free(fs->park);
	fs->park = NULL;
out_unmount:
	fuse_session_unmount(fs->se);
out_session:
	fuse_remove_signal_handlers(fs->se);
	fs_handles_free(fs); /* before the wiki: page handles hold cache pins */
	wiki_free(fs->wiki);
	fs->wiki = NULL;
	fuse_session_destroy(fs->se);
	fs->se = NULL;
out_free_args:
	fuse_opt_free_args(&args);
	return ret;
}

/* The daemon's side, after preflight (and the fork): returns the exit status. */
static int run_daemon(const struct opts *o, const struct conf *c, const char *config,
		      const char *self, char *mnt, int status_fd)
{
	struct fs fs;
	struct wiki_events ev = { .error = ev_error,
				  .repo_changed = fs_repo_changed,
				  .page_ready = fs_page_ready,
				  .version_dropped = fs_version_dropped,
				  .ctx = &fs };
	struct wf_err err = { "" };
	char msg[1024];
	int r, ret = 1;

	fs_setup(&fs, c, mnt);
	if (open_log(o, c, &status_fd) < 0)
		goto out_handles;
	processes_init(c);
	if (fs_nodes_init(&fs) < 0) {
		report_parent(&status_fd, "wikifs: out of memory\n");
		goto out_nodes;
	}
	r = wiki_new(&fs.wiki, c, backend_for(c->backend), self, &ev, &err);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "wikifs: %s\n", err.msg[0] ? err.msg : strerror(-r));
		report_parent(&status_fd, msg);
		goto out_nodes;
	}
	r = c->backend == BACKEND_COMMAND ? child_ro_supported() : 0;
	if (r < 0)
		log_warn("cannot make checkouts read-only for generator commands with a private "
			 "mount namespace (%s): commands run there with only file modes "
			 "(0444/0555) protecting it, which do not stop root",
			 strerror(-r));
	ret = run_session(&fs, o, config, &status_fd);
	wiki_free(fs.wiki); /* NULL unless the session could not be made */
	processes_end();
out_nodes:
	fs_nodes_done(&fs);
	report_parent(&status_fd, "wikifs: failed to start\n");
out_handles:
	pthread_mutex_destroy(&fs.handles_lock);
	return ret;
}

static int mount_main(struct opts *o)
{
	_cleanup_free_ char *config = o->config ? strdup(o->config) : default_config();
	_cleanup_free_ char *self = NULL, *mnt = NULL;
	struct conf *c = NULL;
	int status_fd = -1, ret = 1;

	if (!config) {
		fprintf(stderr, "wikifs: no config found: pass -c FILE (see 'man wikifs' and the "
				"sample mount.conf)\n");
		return 1;
	}
	if (load_conf(&c, config, o->overrides, o->noverrides) < 0)
		return 1;
	if (preflight_run(c, o->mountpoint, &mnt) < 0)
		goto out_conf;
	self = realpath("/proc/self/exe", NULL);
	if (!self) {
		fprintf(stderr, "wikifs: cannot find my own executable: %s\n", strerror(errno));
		goto out_conf;
	}
	if (!detach(o, mnt, &status_fd, &ret))
		ret = run_daemon(o, c, config, self, mnt, status_fd);
out_conf:
	conf_free(c);
	return ret;
}

/* Parses the mount's options into @o: -1 to go on, else the exit status. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
						  { "version", no_argument, NULL, 'V' },
						  { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, "fdc:o:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = o->foreground = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			if (add_options(o, optarg) < 0) {
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
	o->mountpoint = argv[optind];
	return -1;
}

int fs_mount_main(int argc, char **argv)
{
	struct opts o = { 0 };
	int ret = parse_args(&o, argc, argv);

	if (ret >= 0)
		goto out_free_overrides;
	/* once, before any thread: the clone cache, facts and planner use libgit2 */
	if (gitrepo_global_init() < 0) {
		fprintf(stderr, "wikifs: cannot initialise libgit2\n");
		ret = 1;
	} else {
		ret = mount_main(&o);
		gitrepo_global_shutdown();
	}
out_free_overrides:
	for (size_t i = 0; i < o.noverrides; i++)
		free(o.overrides[i]);
	free(o.overrides);
	return ret;
}
