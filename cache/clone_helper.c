/* SPDX-License-Identifier: MIT */
/*
 * The clone helper process (see clone_helper.h for its protocol). It reads
 * the URL (and options) from stdin, opens or creates the bare repository,
 * connects (the server's HEAD is only known while connected), fetches
 * every branch and tag with pruning (the refspecs: nothing else is asked
 * for, whatever else the server advertises), points HEAD at the server's
 * default branch, and reports on stdout. A line at least every
 * PROGRESS_EVERY ms while data flows (coalesced; any line resets the
 * parent's stall deadline). A local path is not fetched but copied
 * (cache/local_copy.h). The transport is libgit2's own, tapped to hear what
 * the server says (cache/transport_tap.h), and a failure is reported by
 * helper_cause() in the same words whatever the transport.
 *
 * The remote's URL in the clone's configuration is the URL without its
 * password (url_strip_password()); the real one is set on the in-memory
 * remote only (git_remote_set_instance_url()), so a password never reaches
 * the disk. Clones made before that stored the whole URL: a fetch rewrites
 * it.
 */
#include "clone_helper.h"
#include "gitrepo.h"
#include "credential.h"
#include "local_copy.h"
#include "transport_tap.h"
#include "url.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#define REMOTE_NAME    "origin"
#define HEADS_REFSPEC  "+refs/heads/*:refs/heads/*"
#define TAGS_REFSPEC   "+refs/tags/*:refs/tags/*"
#define PROGRESS_EVERY 100 /* ms between two progress lines */

/* ---- helper process ---------------------------------------------------- */

struct helper_state {
	const char *url;	  /* the real URL, password and all */
	const char *ssh_key;	  /* private key file for ssh, NULL = ssh-agent only */
	const char *ca_bundle;	  /* CA certificates for https, NULL = the system's */
	struct transport_tap tap; /* what the server said */
	uint64_t max_bytes;
	int64_t last_line_ms;
	bool too_big;
	unsigned cred_tried;	/* GIT_CREDENTIAL_* types offered so far */
	bool key_tried;		/* ssh_key offered */
	struct credential cred; /* from git credential fill, if asked */
	bool filled;		/* cred holds a filled credential */
};

/* Writes one bounded line to stdout, the pipe to the parent. */
static int emit(const char *fmt, ...) PRINTF(1, 2);
static int emit(const char *fmt, ...)
{
	char line[CLONE_HELPER_LINE_MAX];
	va_list ap;
	size_t n, off = 0;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	/* libgit2's messages may quote the URL: never its password. */
	url_redact_text(line, sizeof(line) - 1);
	n = strlen(line);
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
 * https without a password in the URL: git's credential conventions. With
 * one, libgit2 has already offered it (before calling us), so being asked
 * means the server refused it: say so rather than ask for another.
 */
static int userpass_credentials(git_credential **out, struct helper_state *hs,
				const char *user_from_url)
{
	struct wf_err err = { "" };
	int r;

	if (url_has_password(hs->url)) {
		git_error_set_str(
		    GIT_ERROR_HTTP,
		    "authentication failed: the server refused the password in the URL");
		return GIT_EAUTH;
	}
	r = credential_init(&hs->cred, hs->url, user_from_url);
	if (r == 0)
		r = credential_fill(&hs->cred, &err);
	else
		wf_err_set(&err, r, "cannot describe the URL to git credential: %s", strerror(-r));
	if (r < 0) {
		git_error_set(GIT_ERROR_HTTP, "authentication required: %s", err.msg);
		return GIT_EAUTH;
	}
	hs->filled = true;
	return git_credential_userpass_plaintext_new(out, hs->cred.username, hs->cred.password);
}

/* The key file of ssh_key, with its public half if "KEY.pub" exists. */
static int ssh_key_credential(git_credential **out, const char *user, const char *key)
{
	_cleanup_free_ char *pub = NULL;

	if (access(key, R_OK) < 0) {
		git_error_set(GIT_ERROR_SSH, "authentication failed: cannot read ssh_key '%s': %s",
			      key, strerror(errno));
		return GIT_EAUTH;
	}
	if (asprintf(&pub, "%s.pub", key) < 0)
		pub = NULL;
	return git_credential_ssh_key_new(out, user, pub && access(pub, R_OK) == 0 ? pub : NULL,
					  key, NULL);
}

/*
 * https: see userpass_credentials(). ssh: the user name from the URL (or
 * "git"), then the key file of ssh_key if set, then whatever keys ssh-agent holds (libssh2 tries each of them
 * within one attempt). libgit2 asks again after a rejected credential;
 * offering the same type twice would loop forever, so a second request for
 * a type is a final failure.
 */
static int helper_credentials(git_credential **out, const char *url, const char *user_from_url,
			      unsigned int allowed, void *payload)
{
	struct helper_state *hs = payload;
	const char *user = user_from_url && *user_from_url ? user_from_url : "git";
	bool http = !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);

	if (http && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) &&
	    !(hs->cred_tried & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		hs->cred_tried |= GIT_CREDENTIAL_USERPASS_PLAINTEXT;
		return userpass_credentials(out, hs, user_from_url);
	}
	if ((allowed & GIT_CREDENTIAL_USERNAME) && !(hs->cred_tried & GIT_CREDENTIAL_USERNAME)) {
		hs->cred_tried |= GIT_CREDENTIAL_USERNAME;
		return git_credential_username_new(out, user);
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && hs->ssh_key && !hs->key_tried) {
		hs->key_tried = true;
		return ssh_key_credential(out, user, hs->ssh_key);
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !(hs->cred_tried & GIT_CREDENTIAL_SSH_KEY) &&
	    getenv("SSH_AUTH_SOCK")) {
		hs->cred_tried |= GIT_CREDENTIAL_SSH_KEY;
		return git_credential_ssh_key_from_agent(out, user);
	}
	if (http && (hs->cred_tried & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		git_error_set_str(GIT_ERROR_HTTP, hs->filled ? "authentication failed: the server "
							       "refused the credentials from git "
							       "credential fill"
							     : "authentication failed");
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		bool agent = hs->cred_tried & GIT_CREDENTIAL_SSH_KEY;

		if (!hs->key_tried && !agent)
			git_error_set_str(GIT_ERROR_SSH,
					  "authentication failed: no ssh key to offer "
					  "(set ssh_key, or run ssh-agent)");
		else
			git_error_set(GIT_ERROR_SSH,
				      "authentication failed: the server refused %s%s%s",
				      hs->key_tried ? "the key of ssh_key" : "",
				      hs->key_tried && agent ? " and " : "",
				      agent ? "the keys of ssh-agent" : "");
		return GIT_EAUTH;
	}
	return GIT_PASSTHROUGH; /* no stored or interactive credentials: unauthenticated */
}

/*
 * libgit2 1.5.1's ssh transport leaks in every connection's set-up (the
 * known_hosts list is never freed, two strings are cleared, not freed),
 * where LeakSanitizer's unwinder cannot see past libgit2 to name it: a
 * helper process that used ssh is not leak-checked at its exit (sanitizer
 * builds only). Process state of the single-threaded helper.
 */
static bool used_ssh;

#if defined(__SANITIZE_ADDRESS__)
#define HELPER_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HELPER_LSAN 1
#endif
#endif
#ifdef HELPER_LSAN
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return used_ssh;
}
#endif

static int helper_transport(git_transport **out, git_remote *owner, void *payload)
{
	struct helper_state *hs = payload;
	int r = transport_tap_new(out, owner, hs->url, &hs->tap);

	if (hs->tap.inner == git_smart_subtransport_ssh)
		used_ssh = true;
	return r;
}

/*
 * Opens (fetch) or creates (clone) the repository and its remote. The
 * configuration holds @stored, the URL without its password; the remote
 * object works with @url itself.
 */
static int helper_open(git_repository **repo, git_remote **remote, bool clone, const char *url,
		       const char *stored, const char *dir)
{
	int r;

	if (!clone) {
		r = git_repository_open_bare(repo, dir);
		if (r == 0)
			r = git_remote_lookup(remote, *repo, REMOTE_NAME);
		/* a clone made before passwords were kept off the disk */
		if (r == 0 && strcmp(git_remote_url(*remote), stored))
			r = git_remote_set_url(*repo, REMOTE_NAME, stored);
		return r == 0 ? git_remote_set_instance_url(*remote, url) : r;
	}
	r = git_repository_init(repo, dir, 1);
	if (r < 0)
		return r;
	r = git_remote_create_with_fetchspec(remote, *repo, REMOTE_NAME, stored, HEADS_REFSPEC);
	if (r < 0)
		return r;
	r = git_remote_add_fetch(*repo, REMOTE_NAME, TAGS_REFSPEC);
	if (r < 0)
		return r;
	/* The remote object holds the refspecs it was loaded with: reload. */
	git_remote_free(*remote);
	*remote = NULL;
	r = git_remote_lookup(remote, *repo, REMOTE_NAME);
	return r == 0 ? git_remote_set_instance_url(*remote, url) : r;
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

/* Progress of a local copy, shown and bounded like a transfer. */
static int local_progress(uint64_t done, uint64_t total, uint64_t bytes, void *payload)
{
	git_indexer_progress st = { .received_objects = (unsigned)done,
				    .total_objects = (unsigned)total,
				    .received_bytes = (size_t)bytes };

	return helper_transfer(&st, payload);
}

static int helper_run(struct helper_state *hs, bool clone, const char *dir)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_buf head = { 0 };
	char stored[CLONE_HELPER_URL_MAX], path[CLONE_HELPER_URL_MAX];
	int r;

	fo.callbacks.transfer_progress = helper_transfer;
	fo.callbacks.sideband_progress = helper_sideband;
	fo.callbacks.update_tips = helper_update_tip;
	fo.callbacks.credentials = helper_credentials;
	fo.callbacks.transport = helper_transport;
	fo.callbacks.payload = hs;
	fo.proxy_opts.type = GIT_PROXY_AUTO;
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
	fo.update_fetchhead = 0; /* of no use here, and it would quote the URL */

	if (url_strip_password(hs->url, stored, sizeof(stored)) < 0) {
		git_error_set_str(GIT_ERROR_INVALID, "the URL is too long");
		return GIT_EINVALID;
	}
	r = helper_open(&repo, &remote, clone, hs->url, stored, dir);
	if (r < 0)
		goto out;
	/* A local path: its files, linked, not libgit2's local transport. */
	if (local_copy_path(hs->url, path, sizeof(path))) {
		r = local_copy_sync(repo, path, local_progress, hs);
		goto out;
	}
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
	/* Tell git's credential helpers how their credential fared. */
	if (hs->filled && r == 0)
		credential_approve(&hs->cred);
	else if (hs->filled && gitrepo_errno(r) == -EACCES)
		credential_reject(&hs->cred);
	credential_done(&hs->cred);
	git_buf_dispose(&head);
	git_remote_free(remote);
	git_repository_free(repo);
	return r;
}

/*
 * The helper's input on stdin (kept off the command line): the URL, then
 * "key=value" lines (ssh_key, ca_bundle). Returns 0 with hs->url and the
 * options pointing into @buf, or -EINVAL.
 */
static int read_input(struct helper_state *hs, char *buf, size_t size)
{
	size_t len = 0;
	char *line, *save = NULL;

	while (len < size - 1) {
		ssize_t n = read(STDIN_FILENO, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	line = strtok_r(buf, "\n", &save);
	if (!line || !*line)
		return -EINVAL;
	hs->url = line;
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (!strncmp(line, "ssh_key=", 8) && line[8])
			hs->ssh_key = line + 8;
		else if (!strncmp(line, "ca_bundle=", 10) && line[10])
			hs->ca_bundle = line + 10;
	}
	return 0;
}

/*
 * https: the CA certificates of clone_ca_bundle, else of GIT_SSL_CAINFO
 * (git's variable), else the system's. They replace the system's.
 */
static int use_ca_bundle(const struct helper_state *hs)
{
	const char *ca = hs->ca_bundle ? hs->ca_bundle : getenv("GIT_SSL_CAINFO");

	if (!ca || !*ca || strncasecmp(hs->url, "https://", 8))
		return 0;
	if (access(ca, R_OK) < 0) {
		git_error_set(GIT_ERROR_SSL, "cannot read the CA certificates '%s': %s", ca,
			      strerror(errno));
		return GIT_ECERTIFICATE;
	}
	return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca, NULL);
}

/* How each errno reads, whatever the transport that met it. */
static const char *cause_text(int e)
{
	switch (e) {
	case ENOENT:
		return "repository not found";
	case EACCES:
		return "access denied";
	case ECONNREFUSED:
		return "connection refused";
	case ECONNRESET:
		return "connection lost in the middle of the transfer";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "host unreachable";
	case ETIMEDOUT:
		return "connection timed out";
	case EINVAL:
		return "invalid request";
	default:
		return "transfer failed";
	}
}

/* snprintf() whose output may be cut: a message, not data. */
static void cut_printf(char *out, size_t n, const char *fmt, ...) PRINTF(3, 4);
static void cut_printf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

/*
 * helper_cause(): the errno and message of a failed clone or fetch: the
 * cause in the same words for every transport, then the server's own
 * message if it sent one (libgit2 drops the side-band error channel), else
 * libgit2's (clone_helper_describe()). A connection that ended while data
 * was still expected, with nothing more specific known, is ECONNRESET
 * whatever the transport called it.
 */
int clone_helper_describe(int code, bool eof, char *msg, size_t n)
{
	int e = gitrepo_errno(code);
	char detail[CLONE_HELPER_LINE_MAX];

	snprintf(detail, sizeof(detail), "%s", gitrepo_error_text());
	if (eof && e == -EIO)
		e = -ECONNRESET;
	if (code == GIT_ECERTIFICATE)
		cut_printf(msg, n, "server not trusted: %s", detail);
	else
		cut_printf(msg, n, "%s: %s", cause_text(-e), detail);
	return e;
}

static int helper_cause(const struct helper_state *hs, int code, char *msg, size_t n)
{
	int e;
	char detail[CLONE_HELPER_LINE_MAX];

	if (!hs->tap.remote_msg[0])
		return clone_helper_describe(code, hs->tap.eof, msg, n);
	snprintf(detail, sizeof(detail), "%s", gitrepo_error_text());
	git_error_set_str(GIT_ERROR_NET, hs->tap.remote_msg);
	e = gitrepo_errno(GIT_ERROR);
	if (e == -ECONNRESET)
		e = -EIO; /* the server spoke: it was not a lost connection */
	if (strstr(detail, hs->tap.remote_msg))
		cut_printf(msg, n, "%s: %s", cause_text(-e), detail);
	else
		cut_printf(msg, n, "%s: the server said: %s (%s)", cause_text(-e),
			   hs->tap.remote_msg, detail);
	return e;
}

/* The parent renames a new clone into place on success: make it durable first. */
static int sync_clone(const char *dir)
{
	/*
	 * One syncfs() instead of libgit2's fsync of every file it writes
	 * (GIT_OPT_ENABLE_FSYNC_GITDIR), which made a large clone markedly
	 * slower than git clone.
	 */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (dfd < 0 || syncfs(dfd) < 0) {
		r = -1;
		git_error_set_str(GIT_ERROR_OS, "cannot sync the new clone to disk");
	}
	if (dfd >= 0)
		close(dfd);
	return r;
}

int clone_helper_main(int argc, char **argv)
{
	struct helper_state hs = { 0 };
	char input[CLONE_HELPER_INPUT_MAX], msg[CLONE_HELPER_LINE_MAX];
	bool clone;
	int r;

	if (argc > 0 && !strcmp(argv[0], "--clone-helper")) {
		argc--;
		argv++;
	}
	/* Die with the parent thread; if it is already gone, do nothing. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc != 5 || (strcmp(argv[0], "clone") && strcmp(argv[0], "fetch"))) {
		emit("E %d usage: --clone-helper clone|fetch SHOWN_URL DIR PPID MAXBYTES "
		     "(the URL on stdin)",
		     EINVAL);
		return 2;
	}
	if (getppid() != (pid_t)strtol(argv[3], NULL, 10))
		return 3;
	/* A closed pipe must become an error we handle, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (read_input(&hs, input, sizeof(input)) < 0) {
		emit("E %d no URL on stdin", EINVAL);
		return 2;
	}
	clone = !strcmp(argv[0], "clone");
	hs.max_bytes = strtoull(argv[4], NULL, 10);

	git_libgit2_init();
	r = use_ca_bundle(&hs);
	if (r == 0)
		r = helper_run(&hs, clone, argv[2]);
	if (r == 0)
		r = sync_clone(argv[2]);
	if (r < 0 && hs.too_big) {
		emit("E %d more than %" PRIu64 " bytes received", EFBIG, hs.max_bytes);
	} else if (r < 0) {
		r = helper_cause(&hs, r, msg, sizeof(msg));
		emit("E %d %s", -r, msg);
	} else {
		emit("OK");
	}
	git_libgit2_shutdown();
	explicit_bzero(input, sizeof(input));
	return r < 0 ? 1 : 0;
}
