/* SPDX-License-Identifier: MIT */
/*
 * Clone cache. Each URL maps to one bare repository in CACHE_DIR/clones,
 * named after its repository by cache/clone_dirs.c (a new password for the
 * same repository keeps its clone). Its layout mirrors the remote:
 * branches are fetched into refs/heads, tags into refs/tags, and HEAD is
 * set to the branch the server's HEAD pointed to, so resolving a ref is a
 * purely local libgit2 lookup done in the calling thread.
 *
 * A local path is copied in the calling thread (cache/local_copy.h: no
 * network, nothing to kill, and starting a helper would cost more than the
 * copy). Network work (clone or fetch) never runs in this process: libgit2 1.5 has
 * no socket timeout, so a server that accepts and never answers would hang
 * a thread forever. Instead the program's own executable is started as a
 * clone helper (clone_helper.h: the URL on its stdin, never on its command
 * line) through core/child.h, in its own process group. The helper prints
 * one line per progress step and a final result line ("OK" or "E <errno>
 * <message>") on its stdout; child_wait() ends the group after timeout_s
 * seconds without a progress line, or when clone_cache_shutdown() writes
 * the cache's abort eventfd. The helper is always reaped by the thread
 * that spawned it, before the sync returns. A clone goes to
 * "<name>.tmp.XXXXXX" (locked against removal while it lives) and is
 * renamed into place only after the helper reported success; a fetch
 * updates the clone in place (objects are written before refs, so a killed
 * fetch leaves the old refs intact).
 *
 * Every message names the URL as url_redact() shows it: a password in the
 * URL is used, never shown.
 *
 * The last commit each ref resolved to is kept in the clone as
 * refs/wikifs/last/<ref> (refs/wikifs/last/HEAD for the remote HEAD): a
 * fetch prunes a branch deleted upstream, and the pages of that commit stay
 * served, with the cause in the sync's message, instead of the repository
 * vanishing. The ref also keeps the commit's objects reachable.
 *
 * libgit2 errors are turned into errno values in exactly one place,
 * gitrepo_errno(), used both by the helper (which sends the number
 * over the pipe) and by the local resolve.
 */
#include "gitrepo.h"
#include "child.h"
#include "clone_cache.h"
#include "clone_dirs.h"
#include "clone_helper.h"
#include "local_copy.h"
#include "fifo_sem.h"
#include "fsutil.h"
#include "sha256.h"
#include "url.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <git2.h>

#define TAIL_MAX    32			/* readable part of a clone's directory name */
#define LAST_REFS   "refs/wikifs/last/" /* last commit each ref resolved to */
#define SHOWN_MAX   1024		/* a URL as messages show it, cut beyond */
#define GC_EVERY_MS (3600 * 1000)	/* between two looks for unused clones */

struct clone_cache {
	char *clones_dir;
	char *helper_path;
	char *options; /* the helper's option lines, "key=value\n" each, never NULL */
	struct clone_dirs *dirs;
	unsigned timeout_s;
	uint64_t max_bytes;
	struct fifo_sem *sem; /* admission of helpers, FIFO */
	int abort_fd;	      /* eventfd, written once by clone_cache_shutdown() */

	/* Lock order: lock is a leaf, never held across I/O or fifo_sem calls. */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when users drops to 0 */
	/* all below protected by lock */
	bool shut;
	unsigned users; /* threads inside clone_cache_sync() */
	uint64_t done, failed;
	int64_t last_gc_ms; /* when unused clones were last looked for */
};

/* Relaxed stores: readers only want a recent value, never a consistent set. */
static void prog_set(uint64_t *field, uint64_t v)
{
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

static void prog_phase(struct clone_progress *p, enum clone_phase ph)
{
	__atomic_store_n(&p->phase, (int)ph, __ATOMIC_RELAXED);
}

/* ---- parent: running one helper ---------------------------------------- */

/* The URL of one sync: @url for the network, @shown in every message. */
struct sync_url {
	const char *url;
	char shown[SHOWN_MAX];
};

/* What the parent learned from one helper's lines. */
struct helper_report {
	bool ok;
	int err; /* errno from an "E" line, 0 if none */
	char msg[CLONE_HELPER_LINE_MAX];
	struct clone_progress *prog;
};

/* Returns true for a line that shows progress. */
static bool parse_line(const char *line, struct helper_report *rep, struct clone_progress *prog)
{
	uint64_t recv, total, bytes;
	int e, off = 0;

	if (sscanf(line, "P %" SCNu64 " %" SCNu64 " %" SCNu64, &recv, &total, &bytes) == 3) {
		prog_set(&prog->objects_received, recv);
		prog_set(&prog->objects_total, total);
		prog_set(&prog->bytes_received, bytes);
		return true;
	}
	if (!strcmp(line, "S"))
		return true;
	if (!strcmp(line, "OK")) {
		rep->ok = true;
		return true;
	}
	if (sscanf(line, "E %d %n", &e, &off) == 1 && off > 0 && e > 0 && e < 4096) {
		rep->err = e;
		snprintf(rep->msg, sizeof(rep->msg), "%s", line + off);
		return true;
	}
	return false; /* unknown lines do not count as progress */
}

/*
 * The helper's stdout, line by line (child_line_fn): 1 for a progress line.
 * Pieces of an overlong line and an unterminated last line are ignored.
 */
static int on_helper_line(void *opaque, const char *line, size_t len, unsigned flags)
{
	struct helper_report *rep = opaque;

	(void)len;
	if (flags)
		return 0;
	return parse_line(line, rep, rep->prog) ? 1 : 0;
}

/* "@url\n" and the option lines: the helper's stdin, in *@ret (free it). */
static int helper_input(const char *url, const char *options, char **ret)
{
	size_t len = strlen(url), olen = strlen(options);

	if (len >= CLONE_HELPER_URL_MAX || len + olen + 1 >= CLONE_HELPER_INPUT_MAX)
		return -ENAMETOOLONG;
	if (asprintf(ret, "%s\n%s", url, options) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * Starts one helper (core/child.h: its own process group, default signals,
 * descriptors 0-2 only, stderr ours), killed after timeout_s without a
 * progress line or when clone_cache_shutdown() writes the abort eventfd.
 */
static int spawn_helper(struct clone_cache *cc, const char *mode, const struct sync_url *u,
			const char *dir, const char *input, struct helper_report *rep,
			struct child **ret)
{
	char ppid[24], maxb[24];
	/* the URL goes through stdin: a command line is readable by every user */
	char *argv[] = { cc->helper_path,
			 "--clone-helper",
			 (char *)mode,
			 (char *)u->shown,
			 (char *)dir,
			 ppid,
			 maxb,
			 NULL };

	snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
	snprintf(maxb, sizeof(maxb), "%" PRIu64, cc->max_bytes);
	return child_spawn(ret,
			   &(struct child_opts){
			       .path = cc->helper_path,
			       .argv = argv,
			       .stdin_data = input,
			       .stdin_len = strlen(input),
			       .out = { .on_line = on_helper_line, .opaque = rep },
			       .err = { .inherit = true },
			       .line_max = CLONE_HELPER_LINE_MAX - 1,
			       .stall_ms = (int64_t)cc->timeout_s * 1000,
			       .abort_fd = cc->abort_fd,
			   },
			   NULL);
}

/*
 * Runs one helper to completion, killing it after timeout_s without a line.
 * Returns 0 or -errno with @err saying "<verb> of 'URL' failed: cause".
 */
static int run_helper(struct clone_cache *cc, bool clone, const struct sync_url *u, const char *dir,
		      struct clone_progress *prog, struct wf_err *err)
{
	const char *verb = clone ? "clone" : "fetch";
	struct helper_report rep = { .prog = prog };
	_cleanup_free_ char *input = NULL;
	struct child *child = NULL;
	int status = 0, r;
	bool shut;

	r = helper_input(u->url, cc->options, &input);
	if (r == 0)
		r = spawn_helper(cc, verb, u, dir, input, &rep, &child);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' failed: cannot start helper '%s': %s", verb,
				  u->shown, cc->helper_path, strerror(-r));
	/*
	 * Whatever ends it, the group is killed before the helper is reaped,
	 * so nothing it started outlives it. The result is taken from its
	 * lines, not from its exit status.
	 */
	r = child_wait(child, &status, NULL);
	child_free(child);
	pthread_mutex_lock(&cc->lock);
	shut = cc->shut;
	pthread_mutex_unlock(&cc->lock);

	if (rep.ok)
		return 0;
	if (shut || r == -ECANCELED)
		return wf_err_set(err, -ECANCELED, "%s of '%s' cancelled: shutting down", verb,
				  u->shown);
	if (r == -ETIMEDOUT)
		return wf_err_set(
		    err, -ETIMEDOUT,
		    "%s of '%s' timed out: no progress for %u s (clone_timeout), helper killed",
		    verb, u->shown, cc->timeout_s);
	if (rep.err)
		return wf_err_set(err, -rep.err, "%s of '%s' failed: %s", verb, u->shown, rep.msg);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' failed: reading helper: %s", verb, u->shown,
				  strerror(-r));
	if (WIFSIGNALED(status))
		return wf_err_set(err, -EIO, "%s of '%s' failed: helper killed by signal %d", verb,
				  u->shown, WTERMSIG(status));
	return wf_err_set(err, -EIO, "%s of '%s' failed: helper exited with status %d", verb,
			  u->shown, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- parent: clone directory and network step ------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* Progress of an in-process local copy, and whether to stop it. */
struct local_run {
	struct clone_cache *cc;
	struct clone_progress *prog;
	bool too_big, cancelled;
};

static int local_progress(uint64_t done, uint64_t total, uint64_t bytes, void *payload)
{
	struct local_run *lr = payload;
	struct clone_cache *cc = lr->cc;

	prog_set(&lr->prog->objects_received, done);
	prog_set(&lr->prog->objects_total, total);
	prog_set(&lr->prog->bytes_received, bytes);
	lr->too_big = cc->max_bytes && bytes > cc->max_bytes;
	pthread_mutex_lock(&cc->lock);
	lr->cancelled = cc->shut;
	pthread_mutex_unlock(&cc->lock);
	return lr->too_big || lr->cancelled ? -1 : 0;
}

/*
 * A clone (@clone) or fetch into @dir: a local path is copied in this
 * thread (no network, so nothing to kill; a helper's start would cost more
 * than the copy), anything else goes to a helper process.
 */
static int transfer(struct clone_cache *cc, bool clone, const struct sync_url *u, const char *dir,
		    struct clone_progress *prog, struct wf_err *err)
{
	const char *verb = clone ? "clone" : "fetch";
	char path[CLONE_HELPER_URL_MAX], msg[CLONE_HELPER_LINE_MAX];
	struct local_run lr = { .cc = cc, .prog = prog };
	int r;

	if (!local_copy_path(u->url, path, sizeof(path)))
		return run_helper(cc, clone, u, dir, prog, err);
	r = local_copy_run(dir, clone, u->url, path, local_progress, &lr);
	if (r == 0)
		return 0;
	if (lr.cancelled)
		return wf_err_set(err, -ECANCELED, "%s of '%s' cancelled: shutting down", verb,
				  u->shown);
	if (lr.too_big)
		return wf_err_set(err, -EFBIG, "%s of '%s' failed: more than %" PRIu64 " bytes",
				  verb, u->shown, cc->max_bytes);
	r = clone_helper_describe(r, false, msg, sizeof(msg));
	return wf_err_set(err, r, "%s of '%s' failed: %s", verb, u->shown, msg);
}

/* Clones into a temporary directory and renames it to @git_dir on success. */
static int clone_fresh(struct clone_cache *cc, const struct sync_url *u, const char *git_dir,
		       struct clone_progress *prog, struct wf_err *err)
{
	_cleanup_close_ int lock = -1; /* keeps the temporary from removal, until renamed */
	char tmp[sizeof(((struct clone_result *)0)->git_dir) + 16];
	int r;

	r = clone_dirs_mktemp(cc->dirs, git_dir, tmp, sizeof(tmp), &lock);
	if (r < 0)
		return wf_err_set(err, r, "clone of '%s' failed: cannot create '%s.tmp.*': %s",
				  u->shown, git_dir, strerror(-r));
	r = transfer(cc, true, u, tmp, prog, err);
	if (r < 0)
		goto out_remove_tmp;
	if (rename(tmp, git_dir) < 0) {
		/* Someone else's clone got there first: theirs is as good. */
		if ((errno == ENOTEMPTY || errno == EEXIST) && is_dir(git_dir))
			goto out_remove_tmp;
		r = wf_err_set(err, -errno, "clone of '%s' failed: renaming into '%s': %s",
			       u->shown, git_dir, strerror(errno));
		goto out_remove_tmp;
	}
	return fsync_dir(cc->clones_dir);

out_remove_tmp:
	rm_rf(tmp);
	return r;
}

/* The network step, at most `concurrency` at once, FIFO. */
static int network(struct clone_cache *cc, const struct sync_url *u, bool cached,
		   const char *git_dir, struct clone_progress *prog, struct wf_err *err)
{
	const char *verb = cached ? "fetch" : "clone";
	int r;

	prog_phase(prog, CLONE_QUEUED);
	r = fifo_sem_acquire(cc->sem);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' cancelled: shutting down", verb, u->shown);
	prog_set(&prog->objects_received, 0);
	prog_set(&prog->objects_total, 0);
	prog_set(&prog->bytes_received, 0);
	__atomic_store_n(&prog->started_ms, now_ms(), __ATOMIC_RELAXED);
	prog_phase(prog, cached ? CLONE_FETCHING : CLONE_CLONING);
	if (cached)
		r = transfer(cc, false, u, git_dir, prog, err);
	else
		r = clone_fresh(cc, u, git_dir, prog, err);
	if (r == 0)
		clone_dirs_touch(git_dir);
	pthread_mutex_lock(&cc->lock);
	if (r < 0)
		cc->failed++;
	else
		cc->done++;
	pthread_mutex_unlock(&cc->lock);
	fifo_sem_release(cc->sem);
	return r;
}

/* ---- parent: local resolve --------------------------------------------- */

static int peel_commit(git_reference *ref, git_oid *out)
{
	git_object *obj = NULL;
	int r = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);

	if (r == 0)
		git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	return r;
}

/* 0 found, GIT_ENOTFOUND not a ref of that name, other <0 a real error. */
static int lookup_ref(git_repository *repo, const char *prefix, const char *name, git_oid *out)
{
	_cleanup_free_ char *full = NULL;
	git_reference *ref = NULL;
	int r;

	if (asprintf(&full, "%s%s", prefix, name) < 0)
		return GIT_ERROR;
	r = git_reference_lookup(&ref, repo, full);
	if (r == GIT_EINVALIDSPEC)
		r = GIT_ENOTFOUND; /* not a valid ref name, so not a ref: maybe an id */
	if (r == 0)
		r = peel_commit(ref, out);
	git_reference_free(ref);
	return r;
}

static int lookup_commit_id(git_repository *repo, const char *hex, git_oid *out)
{
	size_t len = strlen(hex);
	git_object *obj = NULL, *commit = NULL;
	git_oid id;
	int r;

	if (len < 4 || len > GIT_OID_HEXSZ)
		return GIT_ENOTFOUND;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return GIT_ENOTFOUND;
	r = git_oid_fromstrn(&id, hex, len);
	if (r == 0)
		r = git_object_lookup_prefix(&obj, repo, &id, len, GIT_OBJECT_ANY);
	if (r == 0)
		r = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (r == 0)
		git_oid_cpy(out, git_object_id(commit));
	git_object_free(commit);
	git_object_free(obj);
	return r;
}

/* refs/wikifs/last/REF; false if @ref cannot be part of a ref name. */
static bool last_ref_name(const char *ref, char *out, size_t n)
{
	int len = snprintf(out, n, LAST_REFS "%s", ref ? ref : "HEAD"), valid = 0;

	return len > 0 && (size_t)len < n && git_reference_name_is_valid(&valid, out) == 0 && valid;
}

/*
 * Records @id as the last commit @ref resolved to. Best effort: a failure
 * (another process holding the ref locked) only keeps the older record.
 */
static void remember(git_repository *repo, const char *ref, const git_oid *id)
{
	git_reference *r = NULL;
	char name[512];
	git_oid old;

	if (!last_ref_name(ref, name, sizeof(name)))
		return;
	if (git_reference_name_to_id(&old, repo, name) == 0 && git_oid_equal(&old, id))
		return;
	if (git_reference_create(&r, repo, name, id, 1, "wikifs: resolved") == 0)
		git_reference_free(r);
}

/*
 * @ref (or the remote HEAD) no longer names a commit: the commit it named
 * last, if any. 0 with the cause in @err, or -ENOENT.
 */
static int last_good(git_repository *repo, const char *shown, const char *ref, git_oid *id,
		     struct wf_err *err)
{
	git_commit *commit = NULL;
	char name[512], hex[GIT_OID_HEXSZ + 1];

	if (!last_ref_name(ref, name, sizeof(name)) ||
	    git_reference_name_to_id(id, repo, name) < 0 ||
	    git_commit_lookup(&commit, repo, id) < 0)
		return ref ? wf_err_set(err, -ENOENT, "ref '%s' not found in '%s'", ref, shown)
			   : wf_err_set(err, -ENOENT, "remote HEAD of '%s' names no commit", shown);
	git_commit_free(commit);
	git_oid_tostr(hex, sizeof(hex), id);
	if (ref)
		return wf_err_set(err, 0,
				  "ref '%s' no longer exists on the remote '%s'; serving last good "
				  "commit %.7s",
				  ref, shown, hex);
	return wf_err_set(err, 0,
			  "remote HEAD of '%s' no longer names a commit; serving last good "
			  "commit %.7s",
			  shown, hex);
}

/*
 * Resolves @ref (NULL: HEAD) in the clone. 0 with *@commit set; @err then
 * holds a warning if that is the last good commit of a vanished ref.
 */
static int resolve(const char *git_dir, const char *shown, const char *ref, char commit[41],
		   struct wf_err *err)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	bool by_id = false;
	git_oid id;
	int g, r = 0; /* g: a libgit2 code, r: -errno */

	g = git_repository_open_bare(&repo, git_dir);
	if (g < 0) {
		r = wf_err_set(err, gitrepo_errno(g), "opening clone of '%s' failed: %s", shown,
			       gitrepo_error_text());
		goto out;
	}
	if (!ref) {
		g = git_reference_lookup(&head, repo, "HEAD");
		if (g == 0)
			g = peel_commit(head, &id);
	} else {
		g = lookup_ref(repo, "refs/heads/", ref, &id);
		if (g == GIT_ENOTFOUND)
			g = lookup_ref(repo, "refs/tags/", ref, &id);
		if (g == GIT_ENOTFOUND) {
			g = lookup_commit_id(repo, ref, &id);
			by_id = true;
		}
	}
	if (g == GIT_ENOTFOUND || g == GIT_EUNBORNBRANCH || g == GIT_EPEEL) {
		r = last_good(repo, shown, ref, &id, err);
	} else if (g < 0) {
		r = wf_err_set(err, gitrepo_errno(g), "resolving '%s' in '%s' failed: %s",
			       ref ? ref : "HEAD", shown, gitrepo_error_text());
	} else if (!by_id) {
		remember(repo, ref, &id);
	}
	if (r == 0)
		git_oid_tostr(commit, 41, &id);
out:
	git_reference_free(head);
	git_repository_free(repo);
	return r;
}

/* ---- public ------------------------------------------------------------ */

/* The option lines for every helper: "ssh_key=PATH\n", "ca_bundle=PATH\n". */
static char *helper_options(const struct clone_cache_opts *o)
{
	const char *keys[] = { "ssh_key", "ca_bundle" }, *vals[] = { o->ssh_key, o->ca_bundle };
	char *out = strdup("");

	for (size_t i = 0; out && i < ARRAY_SIZE(keys); i++) {
		char *more = NULL;

		if (!vals[i] || !*vals[i] || strchr(vals[i], '\n'))
			continue;
		if (asprintf(&more, "%s%s=%s\n", out, keys[i], vals[i]) < 0)
			more = NULL;
		free(out);
		out = more;
	}
	return out;
}

/* Every configured repository's clone is named after it and claimed, cloned or not. */
static int claim_repos(struct clone_cache *cc, const struct clone_cache_opts *o)
{
	char dir[sizeof(((struct clone_result *)0)->git_dir)];

	for (size_t i = 0; i < o->n_repos; i++) {
		int r =
		    clone_dirs_claim(cc->dirs, o->repos[i].name, o->repos[i].url, dir, sizeof(dir));

		if (r < 0 && r != -ENAMETOOLONG)
			return r; /* too long: its sync says so */
	}
	return 0;
}

/* An eventfd above 2 (child.h takes descriptor 0 for "no abort descriptor"). */
static int abort_eventfd(int *ret)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), moved;

	if (fd < 0)
		return -errno;
	if (fd > STDERR_FILENO) {
		*ret = fd;
		return 0;
	}
	moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	moved = moved < 0 ? -errno : moved;
	close(fd);
	if (moved < 0)
		return moved;
	*ret = moved;
	return 0;
}

int clone_cache_new(struct clone_cache **ret, const struct clone_cache_opts *o)
{
	struct clone_cache *cc;
	pthread_condattr_t ca;
	int r;

	if (!o->cache_dir || !o->helper_path || !o->concurrency || !o->timeout_s)
		return -EINVAL;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	cc->timeout_s = o->timeout_s;
	cc->max_bytes = o->max_bytes;
	cc->helper_path = strdup(o->helper_path);
	if (asprintf(&cc->clones_dir, "%s/clones", o->cache_dir) < 0)
		cc->clones_dir = NULL;
	cc->options = helper_options(o);
	if (!cc->helper_path || !cc->clones_dir || !cc->options) {
		r = -ENOMEM;
		goto out_free;
	}
	r = mkdir_p(cc->clones_dir, 0700);
	if (r < 0)
		goto out_free;
	r = clone_dirs_new(&cc->dirs, cc->clones_dir, o->gc_grace_s);
	if (r < 0)
		goto out_shutdown;
	r = claim_repos(cc, o);
	if (r < 0)
		goto out_shutdown;
	/* unused clones, and temporaries left by a crash or kill -9 mid-clone */
	clone_dirs_gc(cc->dirs);
	cc->last_gc_ms = now_ms();
	r = fifo_sem_new(&cc->sem, o->concurrency);
	if (r < 0)
		goto out_shutdown;
	r = abort_eventfd(&cc->abort_fd);
	if (r < 0)
		goto out_free_sem;
	pthread_mutex_init(&cc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cc->idle, &ca);
	pthread_condattr_destroy(&ca);
	*ret = cc;
	return 0;

out_free_sem:
	fifo_sem_free(cc->sem);
out_shutdown:
	clone_dirs_free(cc->dirs);
out_free:
	free(cc->options);
	free(cc->clones_dir);
	free(cc->helper_path);
	free(cc);
	return r;
}

void clone_cache_shutdown(struct clone_cache *cc)
{
	uint64_t one = 1;

	pthread_mutex_lock(&cc->lock);
	cc->shut = true;
	pthread_mutex_unlock(&cc->lock);
	/* Never read: every running and later helper sees it and is ended. */
	if (write(cc->abort_fd, &one, sizeof(one)) < 0) {
		/* only EAGAIN at a counter near 2^64: readable already */
	}
	fifo_sem_close(cc->sem);
}

void clone_cache_free(struct clone_cache *cc)
{
	if (!cc)
		return;
	clone_cache_shutdown(cc);
	pthread_mutex_lock(&cc->lock);
	while (cc->users > 0)
		pthread_cond_wait(&cc->idle, &cc->lock);
	pthread_mutex_unlock(&cc->lock);
	fifo_sem_free(cc->sem);
	close(cc->abort_fd);
	pthread_cond_destroy(&cc->idle);
	pthread_mutex_destroy(&cc->lock);
	clone_dirs_free(cc->dirs);
	free(cc->options);
	free(cc->clones_dir);
	free(cc->helper_path);
	free(cc);
}

static bool enter(struct clone_cache *cc)
{
	bool ok;

	pthread_mutex_lock(&cc->lock);
	ok = !cc->shut;
	if (ok)
		cc->users++;
	pthread_mutex_unlock(&cc->lock);
	return ok;
}

static void leave(struct clone_cache *cc)
{
	pthread_mutex_lock(&cc->lock);
	if (--cc->users == 0)
		pthread_cond_broadcast(&cc->idle);
	pthread_mutex_unlock(&cc->lock);
}

/* A long-running mount looks for unused clones now and then too. */
static void gc_if_due(struct clone_cache *cc)
{
	bool due;

	pthread_mutex_lock(&cc->lock);
	due = now_ms() - cc->last_gc_ms >= GC_EVERY_MS;
	if (due)
		cc->last_gc_ms = now_ms();
	pthread_mutex_unlock(&cc->lock);
	if (due)
		clone_dirs_gc(cc->dirs);
}

int clone_cache_sync(struct clone_cache *cc, const char *url, const char *ref, unsigned flags,
		     struct clone_progress *prog, struct clone_result *res, struct wf_err *err)
{
	struct clone_progress dummy = { 0 };
	struct wf_err neterr = { { 0 } }, warn = { { 0 } }, derr = { { 0 } };
	struct sync_url u = { .url = url };
	bool cached, fetch_failed = false;
	int r;

	wf_err_clear(err);
	memset(res, 0, sizeof(*res));
	if (!url || !*url)
		return wf_err_set(err, -EINVAL, "sync failed: empty repository URL");
	url_redact(url, u.shown, sizeof(u.shown));
	if (!prog)
		prog = &dummy;
	if (!enter(cc))
		return wf_err_set(err, -ECANCELED, "sync of '%s' cancelled: shutting down",
				  u.shown);
	r = clone_dirs_claim(cc->dirs, NULL, url, res->git_dir, sizeof(res->git_dir));
	if (r < 0) {
		wf_err_set(err, r, "sync of '%s' failed: %s", u.shown,
			   r == -ENAMETOOLONG ? "the clone's path would be too long"
					      : strerror(-r));
		goto out;
	}
	cached = is_dir(res->git_dir);
	if (!cached && (flags & CLONE_OFFLINE)) {
		r = wf_err_set(err, -ENOENT, "'%s' is not cloned yet and the network is off",
			       u.shown);
		goto out;
	}
	if (!cached || ((flags & CLONE_FETCH) && !(flags & CLONE_OFFLINE))) {
		r = network(cc, &u, cached, res->git_dir, prog, &neterr);
		if (r < 0 && (!cached || r == -ECANCELED)) {
			wf_err_set(err, r, "%s", neterr.msg);
			goto out;
		}
		fetch_failed = r < 0;
		res->fetched = r == 0;
	}
	prog_phase(prog, CLONE_RESOLVING);
	r = resolve(res->git_dir, u.shown, ref, res->commit, &warn);
	if (r == 0 && gitrepo_commit_describe(res->git_dir, res->commit, &res->commit_time,
					      ref ? NULL : res->head, sizeof(res->head), &derr) < 0)
		res->commit_time = 0; /* shown as unknown: the mount's time */
	if (r < 0 || !fetch_failed)
		wf_err_set(err, 0, "%s", warn.msg);
	else if (!warn.msg[0])
		wf_err_set(err, 0, "%s", neterr.msg);
	else
		wf_err_set(err, 0, "%s; %s", neterr.msg, warn.msg);
out:
	prog_phase(prog, CLONE_IDLE);
	gc_if_due(cc);
	leave(cc);
	return r;
}

int clone_cache_git_dir(struct clone_cache *cc, const char *url, char *out, size_t n)
{
	int r = clone_dirs_claim(cc->dirs, NULL, url, out, n);

	if (r < 0)
		return r;
	return is_dir(out) ? 0 : -ENOENT;
}

void clone_cache_stats(struct clone_cache *cc, struct clone_stats *st)
{
	fifo_sem_stats(cc->sem, &st->active, &st->queued, &st->max_active_seen);
	pthread_mutex_lock(&cc->lock);
	st->done = cc->done;
	st->failed = cc->failed;
	pthread_mutex_unlock(&cc->lock);
}
