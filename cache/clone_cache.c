/* SPDX-License-Identifier: MIT */
/*
 * Clone cache. Each URL maps to one bare repository in CACHE_DIR/clones,
 * named "<tail>-<sha256(url)[0:16]>.git". Its layout mirrors the remote:
 * branches are fetched into refs/heads, tags into refs/tags, and HEAD is
 * set to the branch the server's HEAD pointed to, so resolving a ref is a
 * purely local libgit2 lookup done in the calling thread.
 *
 * Network work (clone or fetch) never runs in this process: libgit2 1.5 has
 * no socket timeout, so a server that accepts and never answers would hang
 * a thread forever. Instead the program's own executable is posix_spawn()ed
 * as "HELPER --clone-helper MODE URL DIR PPID MAXBYTES" in its own process
 * group. The helper prints one line per progress step and a final result
 * line ("OK" or "E <errno> <message>") on a pipe; the parent poll()s that
 * pipe and SIGKILLs the group after timeout_s seconds without a line. The
 * helper is always reaped by the thread that spawned it, before the sync
 * returns. A clone goes to "<name>.tmp.XXXXXX" and is renamed into place
 * only after the helper reported success; a fetch updates the clone in
 * place (libgit2 writes objects before refs, so a killed fetch leaves the
 * old refs intact).
 *
 * libgit2 errors are turned into errno values in exactly one place,
 * git_error_to_errno(), used both by the helper (which sends the number
 * over the pipe) and by the local resolve.
 */
#include "clone_cache.h"
#include "fifo_sem.h"
#include "fsutil.h"
#include "sha256.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

extern char **environ;

#define REMOTE_NAME    "origin"
#define HEADS_REFSPEC  "+refs/heads/*:refs/heads/*"
#define TAGS_REFSPEC   "+refs/tags/*:refs/tags/*"
#define TAIL_MAX       32   /* readable part of a clone's directory name */
#define LINE_MAX_LEN   1024 /* longest helper line kept; the rest is dropped */
#define PROGRESS_EVERY 100  /* ms between two progress lines of the helper */

/* One running helper, on the stack of the thread that spawned it. */
struct helper_proc {
	pid_t pid; /* also its process group id */
	struct helper_proc *next;
};

struct clone_cache {
	char *clones_dir;
	char *helper_path;
	unsigned timeout_s;
	uint64_t max_bytes;
	struct fifo_sem *sem; /* admission of helpers, FIFO */

	/* Lock order: lock is a leaf, never held across I/O or fifo_sem calls. */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when users drops to 0 */
	/* all below protected by lock */
	bool shut;
	unsigned users; /* threads inside clone_cache_sync() */
	struct helper_proc *helpers;
	uint64_t done, failed;
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

/*
 * The one mapping from libgit2's error space to errno. libgit2 1.5 keeps
 * the OS errno only inside its message text, so network causes are told
 * apart by the strerror() text or libgit2's own wording.
 */
static int git_error_to_errno(int code)
{
	static const struct {
		const char *needle;
		int err;
	} by_text[] = {
		{ "connection refused", ECONNREFUSED },
		{ "no route to host", EHOSTUNREACH },
		{ "network is unreachable", ENETUNREACH },
		{ "failed to resolve address", EHOSTUNREACH },
		{ "connection timed out", ETIMEDOUT },
		{ "connection reset", ECONNRESET },
		{ "authentication", EACCES },
		{ "status code: 401", EACCES },
		{ "status code: 403", EACCES },
		{ "status code: 404", ENOENT },
		{ "not exported", ENOENT },
		{ "could not find repository", ENOENT },
		{ "failed to resolve path", ENOENT },
		{ "does not appear to be a git repository", ENOENT },
		{ "repository not found", ENOENT },
	};
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "";

	switch (code) {
	case GIT_ENOTFOUND:
		return -ENOENT;
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
		return -EACCES;
	case GIT_EEXISTS:
		return -EEXIST;
	case GIT_EINVALIDSPEC:
	case GIT_EAMBIGUOUS:
	case GIT_EINVALID:
		return -EINVAL;
	case GIT_ELOCKED:
		return -EBUSY;
	case GIT_EOWNER:
		return -EPERM;
	case GIT_EUSER:
		return -ECANCELED;
	default:
		break;
	}
	if (e && e->klass == GIT_ERROR_NOMEMORY)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(by_text); i++)
		if (strcasestr(msg, by_text[i].needle))
			return -by_text[i].err;
	return -EIO;
}

static const char *git_error_text(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

/* ---- helper process ---------------------------------------------------- */

struct helper_state {
	uint64_t max_bytes;
	int64_t last_line_ms;
	bool too_big;
	unsigned cred_tried; /* GIT_CREDENTIAL_* types offered so far */
};

/* Writes one bounded line to stdout, the pipe to the parent. */
static int emit(const char *fmt, ...) PRINTF(1, 2);
static int emit(const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	size_t n, off = 0;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	n = MIN((size_t)len, sizeof(line) - 2);
	/* The message may come from a server: one line, whatever it says. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	while (off < n) {
		ssize_t w = write(STDOUT_FILENO, line + off, n - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

/* A heartbeat: any line resets the parent's stall deadline. */
static int helper_alive(struct helper_state *hs, bool force)
{
	int64_t now = now_ms();

	if (!force && now - hs->last_line_ms < PROGRESS_EVERY)
		return 0;
	hs->last_line_ms = now;
	return emit("S") < 0 ? -1 : 0;
}

static int helper_transfer(const git_indexer_progress *st, void *payload)
{
	struct helper_state *hs = payload;
	int64_t now = now_ms();
	bool last =
	    st->received_objects == st->total_objects && st->indexed_deltas == st->total_deltas;

	if (hs->max_bytes && st->received_bytes > hs->max_bytes) {
		hs->too_big = true;
		return -1;
	}
	if (!last && now - hs->last_line_ms < PROGRESS_EVERY)
		return 0;
	hs->last_line_ms = now;
	if (emit("P %u %u %zu %u %u", st->received_objects, st->total_objects, st->received_bytes,
		 st->indexed_deltas, st->total_deltas) < 0)
		return -1; /* the parent is gone: stop */
	return 0;
}

static int helper_sideband(const char *str, int len, void *payload)
{
	return helper_alive(payload, false);
}

static int helper_update_tip(const char *refname, const git_oid *a, const git_oid *b, void *payload)
{
	return helper_alive(payload, false);
}

/*
 * ssh only: the user name from the URL (or "git"), then whatever keys
 * ssh-agent holds (libssh2 tries each of them within one attempt). libgit2
 * asks again after a rejected credential; offering the same type twice
 * would loop forever, so a second request for a type is a final failure.
 */
static int helper_credentials(git_credential **out, const char *url, const char *user_from_url,
			      unsigned int allowed, void *payload)
{
	struct helper_state *hs = payload;
	const char *user = user_from_url && *user_from_url ? user_from_url : "git";

	if ((allowed & GIT_CREDENTIAL_USERNAME) && !(hs->cred_tried & GIT_CREDENTIAL_USERNAME)) {
		hs->cred_tried |= GIT_CREDENTIAL_USERNAME;
		return git_credential_username_new(out, user);
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !(hs->cred_tried & GIT_CREDENTIAL_SSH_KEY)) {
		hs->cred_tried |= GIT_CREDENTIAL_SSH_KEY;
		return git_credential_ssh_key_from_agent(out, user);
	}
	if (hs->cred_tried) {
		git_error_set_str(GIT_ERROR_SSH, "authentication with ssh-agent keys failed");
		return GIT_EAUTH;
	}
	return GIT_PASSTHROUGH; /* no stored or interactive credentials: unauthenticated */
}

static int helper_open(git_repository **repo, git_remote **remote, bool clone, const char *url,
		       const char *dir)
{
	int r;

	if (!clone) {
		r = git_repository_open_bare(repo, dir);
		if (r == 0)
			r = git_remote_lookup(remote, *repo, REMOTE_NAME);
		return r;
	}
	r = git_repository_init(repo, dir, 1);
	if (r < 0)
		return r;
	r = git_remote_create_with_fetchspec(remote, *repo, REMOTE_NAME, url, HEADS_REFSPEC);
	if (r < 0)
		return r;
	r = git_remote_add_fetch(*repo, REMOTE_NAME, TAGS_REFSPEC);
	if (r < 0)
		return r;
	/* The remote object holds the refspecs it was loaded with: reload. */
	git_remote_free(*remote);
	*remote = NULL;
	return git_remote_lookup(remote, *repo, REMOTE_NAME);
}

/*
 * The pack writer of a fetch, with appends coalesced. libgit2 1.5's indexer
 * maps and unmaps the pack file for every append, and the smart protocol
 * appends every side-band packet, 8 KiB from git's upload-pack: about 13,000
 * mmap/munmap pairs for 100 MB, most of a clone's time where munmap is dear
 * (a VM's TLB flushes). A small ODB backend that implements only writepack,
 * registered ahead of the default pack backend, wraps the real writer and
 * hands it up to 1 MiB at a time; it also passes on whatever it holds every
 * 100 ms, so a slow link still shows progress (and is not taken for stalled).
 */
#define COALESCE_BYTES (1u << 20)
#define COALESCE_MS    100

struct coalesce_backend {
	git_odb_backend parent;
	git_odb_backend *pack; /* a default pack backend on the same objects dir */
};

struct coalesce_writepack {
	git_odb_writepack parent;
	git_odb_writepack *inner;
	char *buf;
	size_t len;
	int64_t since_ms; /* when buf got its first byte */
};

static int cw_flush(struct coalesce_writepack *w, git_indexer_progress *stats)
{
	int r = w->len ? w->inner->append(w->inner, w->buf, w->len, stats) : 0;

	w->len = 0;
	return r;
}

static int cw_append(git_odb_writepack *wp, const void *data, size_t size,
		     git_indexer_progress *stats)
{
	struct coalesce_writepack *w = (struct coalesce_writepack *)wp;
	int r = 0;

	if (w->len + size > COALESCE_BYTES)
		r = cw_flush(w, stats);
	if (r == 0 && size >= COALESCE_BYTES)
		return w->inner->append(w->inner, data, size, stats);
	if (r < 0)
		return r;
	if (w->len == 0)
		w->since_ms = now_ms();
	memcpy(w->buf + w->len, data, size);
	w->len += size;
	if (now_ms() - w->since_ms >= COALESCE_MS)
		r = cw_flush(w, stats);
	return r;
}

static int cw_commit(git_odb_writepack *wp, git_indexer_progress *stats)
{
	struct coalesce_writepack *w = (struct coalesce_writepack *)wp;
	int r = cw_flush(w, stats);

	return r < 0 ? r : w->inner->commit(w->inner, stats);
}

static void cw_free(git_odb_writepack *wp)
{
	struct coalesce_writepack *w = (struct coalesce_writepack *)wp;

	w->inner->free(w->inner);
	free(w->buf);
	free(w);
}

static int cb_writepack(git_odb_writepack **out, git_odb_backend *be, git_odb *odb,
			git_indexer_progress_cb cb, void *payload)
{
	struct coalesce_backend *b = (struct coalesce_backend *)be;
	struct coalesce_writepack *w = calloc(1, sizeof(*w));

	if (!w || !(w->buf = malloc(COALESCE_BYTES)) ||
	    b->pack->writepack(&w->inner, b->pack, odb, cb, payload) < 0) {
		if (w)
			free(w->buf);
		free(w);
		return -1;
	}
	w->parent.backend = be;
	w->parent.append = cw_append;
	w->parent.commit = cw_commit;
	w->parent.free = cw_free;
	*out = &w->parent;
	return 0;
}

static void cb_free(git_odb_backend *be)
{
	struct coalesce_backend *b = (struct coalesce_backend *)be;

	b->pack->free(b->pack);
	free(b);
}

/* Best effort: without it the fetch uses libgit2's own writer, only slower. */
static void add_coalescing_writer(git_repository *repo)
{
	_cleanup_free_ char *objects = NULL;
	struct coalesce_backend *b;
	git_odb_backend *pack = NULL;
	git_odb *odb = NULL;

	if (asprintf(&objects, "%sobjects", git_repository_path(repo)) < 0 ||
	    git_repository_odb(&odb, repo) < 0)
		return;
	b = calloc(1, sizeof(*b));
	if (!b || git_odb_backend_pack(&pack, objects) < 0 ||
	    git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) < 0) {
		if (pack)
			pack->free(pack);
		free(b);
		git_odb_free(odb);
		return;
	}
	b->parent.writepack = cb_writepack;
	b->parent.free = cb_free;
	b->pack = pack;
	if (git_odb_add_backend(odb, &b->parent, 1000) < 0) /* ahead of the pack backend */
		cb_free(&b->parent);
	git_odb_free(odb);
}

static int helper_run(struct helper_state *hs, bool clone, const char *url, const char *dir)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_buf head = { 0 };
	int r;

	fo.callbacks.transfer_progress = helper_transfer;
	fo.callbacks.sideband_progress = helper_sideband;
	fo.callbacks.update_tips = helper_update_tip;
	fo.callbacks.credentials = helper_credentials;
	fo.callbacks.payload = hs;
	fo.proxy_opts.type = GIT_PROXY_AUTO;
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;

	r = helper_open(&repo, &remote, clone, url, dir);
	if (r < 0)
		goto out;
	add_coalescing_writer(repo);
	/* Connect first: the server's HEAD is only known while connected. */
	r = git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, &fo.proxy_opts, NULL);
	if (r < 0)
		goto out;
	if (helper_alive(hs, true) < 0) {
		r = -1;
		goto out;
	}
	r = git_remote_default_branch(&head, remote);
	if (r < 0 && r != GIT_ENOTFOUND) /* ENOTFOUND: empty or HEAD-less remote */
		goto out;
	r = git_remote_fetch(remote, NULL, &fo, "wikifs: fetch");
	if (r < 0)
		goto out;
	if (head.ptr)
		r = git_repository_set_head(repo, head.ptr);
out:
	git_buf_dispose(&head);
	git_remote_free(remote);
	git_repository_free(repo);
	return r;
}

int clone_helper_main(int argc, char **argv)
{
	struct helper_state hs = { 0 };
	bool clone;
	int r;

	if (argc > 0 && !strcmp(argv[0], "--clone-helper")) {
		argc--;
		argv++;
	}
	/* Die with the parent thread; if it is already gone, do nothing. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc != 5 || (strcmp(argv[0], "clone") && strcmp(argv[0], "fetch"))) {
		emit("E %d usage: --clone-helper clone|fetch URL DIR PPID MAXBYTES", EINVAL);
		return 2;
	}
	if (getppid() != (pid_t)strtol(argv[3], NULL, 10))
		return 3;
	/* A closed pipe must become an error we handle, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	clone = !strcmp(argv[0], "clone");
	hs.max_bytes = strtoull(argv[4], NULL, 10);

	git_libgit2_init();
	r = helper_run(&hs, clone, argv[1], argv[2]);
	if (r == 0) {
		/*
		 * The parent renames the clone into place on success: make it
		 * durable first. One syncfs() instead of libgit2's fsync of every
		 * file it writes (GIT_OPT_ENABLE_FSYNC_GITDIR), which made a large
		 * clone markedly slower than git clone.
		 */
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || syncfs(dfd) < 0) {
			r = -1;
			git_error_set_str(GIT_ERROR_OS, "cannot sync the new clone to disk");
		}
		if (dfd >= 0)
			close(dfd);
	}
	if (r < 0 && hs.too_big)
		emit("E %d more than %" PRIu64 " bytes received", EFBIG, hs.max_bytes);
	else if (r < 0)
		emit("E %d %s", -git_error_to_errno(r), git_error_text());
	else
		emit("OK");
	git_libgit2_shutdown();
	return r < 0 ? 1 : 0;
}

/* ---- parent: running one helper ---------------------------------------- */

/* What the parent learned from one helper's lines. */
struct helper_report {
	bool ok;
	int err; /* errno from an "E" line, 0 if none */
	char msg[LINE_MAX_LEN];
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

/* Splits the helper's output into bounded lines. */
struct line_reader {
	char buf[LINE_MAX_LEN];
	size_t len;
	bool dropping; /* inside an overlong line, skipping to its end */
};

/*
 * Reads what is available: 1 when something came, 0 on EOF, or -errno.
 * Sets *@progressed when a complete progress line was among it.
 */
static int read_lines(int fd, struct line_reader *lr, struct helper_report *rep,
		      struct clone_progress *prog, bool *progressed)
{
	char chunk[4096];
	ssize_t n;

	n = read(fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		char c = chunk[i];

		if (c != '\n') {
			if (lr->len < sizeof(lr->buf) - 1)
				lr->buf[lr->len++] = c;
			else
				lr->dropping = true;
			continue;
		}
		lr->buf[lr->len] = '\0';
		if (!lr->dropping && parse_line(lr->buf, rep, prog))
			*progressed = true;
		lr->len = 0;
		lr->dropping = false;
	}
	return 1;
}

static void track_helper(struct clone_cache *cc, struct helper_proc *hp)
{
	pthread_mutex_lock(&cc->lock);
	hp->next = cc->helpers;
	cc->helpers = hp;
	/* A shutdown between spawn and here must not miss this helper. */
	if (cc->shut)
		kill(-hp->pid, SIGKILL);
	pthread_mutex_unlock(&cc->lock);
}

/* Returns whether the cache was shut down meanwhile. */
static bool untrack_helper(struct clone_cache *cc, struct helper_proc *hp)
{
	bool shut;

	pthread_mutex_lock(&cc->lock);
	for (struct helper_proc **pp = &cc->helpers; *pp; pp = &(*pp)->next) {
		if (*pp == hp) {
			*pp = hp->next;
			break;
		}
	}
	shut = cc->shut;
	pthread_mutex_unlock(&cc->lock);
	return shut;
}

static int spawn_helper(struct clone_cache *cc, const char *mode, const char *url, const char *dir,
			pid_t *ret_pid, int *ret_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char ppid[24], maxb[24];
	char *argv[] = { cc->helper_path,
			 "--clone-helper",
			 (char *)mode,
			 (char *)url,
			 (char *)dir,
			 ppid,
			 maxb,
			 NULL };
	int fds[2], r;
	static const int reset[] = { SIGPIPE, SIGINT,  SIGTERM, SIGHUP, SIGQUIT,
				     SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM };

	snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
	snprintf(maxb, sizeof(maxb), "%" PRIu64, cc->max_bytes);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < ARRAY_SIZE(reset); i++)
		sigaddset(&dfl, reset[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/*
	 * Own process group, so one kill(-pid) also takes any child it starts;
	 * default signals and an empty mask whatever this thread had.
	 */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Other code may have opened fds without O_CLOEXEC: keep them out. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	r = -posix_spawn(ret_pid, cc->helper_path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r < 0) {
		close(fds[0]);
		return r;
	}
	*ret_fd = fds[0];
	return 0;
}

/*
 * Runs one helper to completion, killing it after timeout_s without a line.
 * Returns 0 or -errno with @err saying "<verb> of 'URL' failed: cause".
 */
static int run_helper(struct clone_cache *cc, bool clone, const char *url, const char *dir,
		      struct clone_progress *prog, struct wf_err *err)
{
	const char *verb = clone ? "clone" : "fetch";
	struct helper_report rep = { 0 };
	struct line_reader lr = { 0 };
	struct helper_proc hp = { 0 };
	int64_t stall_ms = (int64_t)cc->timeout_s * 1000, last = now_ms();
	bool timed_out = false, shut;
	int fd = -1, status = 0, r;

	r = spawn_helper(cc, verb, url, dir, &hp.pid, &fd);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' failed: cannot start helper '%s': %s", verb,
				  url, cc->helper_path, strerror(-r));
	track_helper(cc, &hp);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = last + stall_ms - now_ms();
		bool progressed = false;
		int n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		n = poll(&pfd, 1, (int)MIN(left, 60000));
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (n <= 0)
			continue;
		n = read_lines(fd, &lr, &rep, prog, &progressed);
		if (n <= 0) {
			r = n;
			break;
		}
		if (progressed)
			last = now_ms();
	}
	close(fd);
	shut = untrack_helper(cc, &hp);
	/*
	 * Kill the group even after EOF: the helper is not reaped yet, so its
	 * pid (= group id) cannot have been reused, and nothing it may have
	 * started outlives it. The result is taken from its lines, not from
	 * its exit status.
	 */
	kill(-hp.pid, SIGKILL);
	while (waitpid(hp.pid, &status, 0) < 0 && errno == EINTR)
		;

	if (rep.ok)
		return 0;
	if (shut)
		return wf_err_set(err, -ECANCELED, "%s of '%s' cancelled: shutting down", verb,
				  url);
	if (timed_out)
		return wf_err_set(
		    err, -ETIMEDOUT,
		    "%s of '%s' timed out: no progress for %u s (clone_timeout), helper killed",
		    verb, url, cc->timeout_s);
	if (rep.err)
		return wf_err_set(err, -rep.err, "%s of '%s' failed: %s", verb, url, rep.msg);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' failed: reading helper: %s", verb, url,
				  strerror(-r));
	if (WIFSIGNALED(status))
		return wf_err_set(err, -EIO, "%s of '%s' failed: helper killed by signal %d", verb,
				  url, WTERMSIG(status));
	return wf_err_set(err, -EIO, "%s of '%s' failed: helper exited with status %d", verb, url,
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- parent: clone directory and network step ------------------------- */

/* "<tail>-<16 hex>.git": readable, unique per URL, never matching ".tmp.". */
static int clone_dir_name(const char *clones_dir, const char *url, char *out, size_t size)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX], tail[TAIL_MAX + 1];
	size_t end = strlen(url), start, n = 0;
	int len;

	while (end > 0 && url[end - 1] == '/')
		end--;
	if (end >= 4 && !strncmp(url + end - 4, ".git", 4))
		end -= 4;
	while (end > 0 && url[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && url[start - 1] != '/' && url[start - 1] != ':')
		start--;
	/* Only [A-Za-z0-9_-]: no dots, so a name can never look like a temp. */
	for (size_t i = start; i < end && n < TAIL_MAX; i++) {
		unsigned char c = (unsigned char)url[i];

		tail[n++] = isalnum(c) || c == '-' || c == '_' ? (char)c : '_';
	}
	tail[n] = '\0';
	sha256_digest(url, strlen(url), d);
	sha256_to_hex(d, hex);
	len = snprintf(out, size, "%s/%s-%.16s.git", clones_dir, n ? tail : "repo", hex);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

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

/* Clones into a temporary directory and renames it to @git_dir on success. */
static int clone_fresh(struct clone_cache *cc, const char *url, const char *git_dir,
		       struct clone_progress *prog, struct wf_err *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int live = -1; /* its lock: another process's sweep skips it */
	int r;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", git_dir) < 0)
		return wf_err_set(err, -ENOMEM, "clone of '%s' failed: out of memory", url);
	r = mkdtemp_locked(tmp, &live);
	if (r < 0)
		return wf_err_set(err, r, "clone of '%s' failed: cannot create '%s': %s", url, tmp,
				  strerror(-r));
	r = run_helper(cc, true, url, tmp, prog, err);
	if (r < 0)
		goto out_remove_tmp;
	if (rename(tmp, git_dir) < 0) {
		/* Someone else's clone got there first: theirs is as good. */
		if ((errno == ENOTEMPTY || errno == EEXIST) && is_dir(git_dir))
			goto out_remove_tmp;
		r = wf_err_set(err, -errno, "clone of '%s' failed: renaming into '%s': %s", url,
			       git_dir, strerror(errno));
		goto out_remove_tmp;
	}
	return fsync_dir(cc->clones_dir);

out_remove_tmp:
	rm_rf(tmp);
	return r;
}

/* The network step, at most `concurrency` at once, FIFO. */
static int network(struct clone_cache *cc, const char *url, bool cached, const char *git_dir,
		   struct clone_progress *prog, struct wf_err *err)
{
	const char *verb = cached ? "fetch" : "clone";
	int r;

	prog_phase(prog, CLONE_QUEUED);
	r = fifo_sem_acquire(cc->sem);
	if (r < 0)
		return wf_err_set(err, r, "%s of '%s' cancelled: shutting down", verb, url);
	prog_set(&prog->objects_received, 0);
	prog_set(&prog->objects_total, 0);
	prog_set(&prog->bytes_received, 0);
	__atomic_store_n(&prog->started_ms, now_ms(), __ATOMIC_RELAXED);
	prog_phase(prog, cached ? CLONE_FETCHING : CLONE_CLONING);
	if (cached)
		r = run_helper(cc, false, url, git_dir, prog, err);
	else
		r = clone_fresh(cc, url, git_dir, prog, err);
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

static int resolve(const char *git_dir, const char *url, const char *ref, char commit[41],
		   struct wf_err *err)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	git_oid id;
	int g, r = 0; /* g: a libgit2 code, r: -errno */

	g = git_repository_open_bare(&repo, git_dir);
	if (g < 0) {
		r = wf_err_set(err, git_error_to_errno(g), "opening clone of '%s' failed: %s", url,
			       git_error_text());
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
		if (g == GIT_ENOTFOUND)
			g = lookup_commit_id(repo, ref, &id);
	}
	if (g == GIT_ENOTFOUND || g == GIT_EUNBORNBRANCH || g == GIT_EPEEL) {
		if (ref)
			r = wf_err_set(err, -ENOENT, "ref '%s' not found in '%s'", ref, url);
		else
			r = wf_err_set(err, -ENOENT, "remote HEAD of '%s' names no commit", url);
	} else if (g < 0) {
		r = wf_err_set(err, git_error_to_errno(g), "resolving '%s' in '%s' failed: %s",
			       ref ? ref : "HEAD", url, git_error_text());
	} else {
		git_oid_tostr(commit, 41, &id);
	}
out:
	git_reference_free(head);
	git_repository_free(repo);
	return r;
}

/* ---- public ------------------------------------------------------------ */

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
	if (!cc->helper_path || !cc->clones_dir) {
		r = -ENOMEM;
		goto out_free;
	}
	r = mkdir_p(cc->clones_dir, 0700);
	if (r < 0)
		goto out_free;
	/*
	 * A crash or kill -9 mid-clone leaves "<name>.tmp.XXXXXX" behind. One
	 * that another process sharing the cache is cloning into is locked
	 * (mkdtemp_locked()) and stays.
	 */
	r = remove_stale_temps(cc->clones_dir, NULL);
	if (r < 0)
		goto out_free;
	r = fifo_sem_new(&cc->sem, o->concurrency);
	if (r < 0)
		goto out_free;
	pthread_mutex_init(&cc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cc->idle, &ca);
	pthread_condattr_destroy(&ca);
	git_libgit2_init();
	*ret = cc;
	return 0;

out_free:
	free(cc->clones_dir);
	free(cc->helper_path);
	free(cc);
	return r;
}

void clone_cache_shutdown(struct clone_cache *cc)
{
	pthread_mutex_lock(&cc->lock);
	cc->shut = true;
	/* Each helper's pipe then hits EOF and its thread reaps it. */
	for (struct helper_proc *hp = cc->helpers; hp; hp = hp->next)
		kill(-hp->pid, SIGKILL);
	pthread_mutex_unlock(&cc->lock);
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
	pthread_cond_destroy(&cc->idle);
	pthread_mutex_destroy(&cc->lock);
	free(cc->clones_dir);
	free(cc->helper_path);
	free(cc);
	git_libgit2_shutdown();
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

int clone_cache_sync(struct clone_cache *cc, const char *url, const char *ref, unsigned flags,
		     struct clone_progress *prog, struct clone_result *res, struct wf_err *err)
{
	struct clone_progress dummy = { 0 };
	struct wf_err neterr = { { 0 } };
	bool cached, fetch_failed = false;
	int r;

	wf_err_clear(err);
	memset(res, 0, sizeof(*res));
	if (!url || !*url)
		return wf_err_set(err, -EINVAL, "sync failed: empty repository URL");
	if (!prog)
		prog = &dummy;
	if (!enter(cc))
		return wf_err_set(err, -ECANCELED, "sync of '%s' cancelled: shutting down", url);
	r = clone_dir_name(cc->clones_dir, url, res->git_dir, sizeof(res->git_dir));
	if (r < 0) {
		wf_err_set(err, r, "sync of '%s' failed: clone path too long", url);
		goto out;
	}
	cached = is_dir(res->git_dir);
	if (!cached && (flags & CLONE_OFFLINE)) {
		r = wf_err_set(err, -ENOENT, "'%s' is not cloned yet and the network is off", url);
		goto out;
	}
	if (!cached || ((flags & CLONE_FETCH) && !(flags & CLONE_OFFLINE))) {
		r = network(cc, url, cached, res->git_dir, prog, &neterr);
		if (r < 0 && (!cached || r == -ECANCELED)) {
			wf_err_set(err, r, "%s", neterr.msg);
			goto out;
		}
		fetch_failed = r < 0;
		res->fetched = r == 0;
	}
	prog_phase(prog, CLONE_RESOLVING);
	r = resolve(res->git_dir, url, ref, res->commit, err);
	if (r == 0 && fetch_failed)
		wf_err_set(err, 0, "%s", neterr.msg);
out:
	prog_phase(prog, CLONE_IDLE);
	leave(cc);
	return r;
}

void clone_cache_stats(struct clone_cache *cc, struct clone_stats *st)
{
	fifo_sem_stats(cc->sem, &st->active, &st->queued, &st->max_active_seen);
	pthread_mutex_lock(&cc->lock);
	st->done = cc->done;
	st->failed = cc->failed;
	pthread_mutex_unlock(&cc->lock);
}
