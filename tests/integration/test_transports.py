#!/usr/bin/env python3
"""Issue 18, items 1, 8 and 9: every transport against a real server on
loopback, through real mounts.

Servers, all started here: a local path and file://, a real `git daemon`,
`git http-backend` behind a TLS server whose certificate comes from a test CA
made with openssl (given to wikifs as clone_ca_bundle), and a real `sshd` on
a private port with a host key and a user key made here (wikifs gets the key
as ssh_key and the host key through ~/.ssh/known_hosts of its HOME).

For every transport:
  - a mirror with pull-request refs clones, one of them naming an object that
    is missing (as in a partial mirror): only branches and tags are taken,
    the pull request's commit is not in the clone;
  - the same failure gets the same errno and the same words: repository not
    found (ENXIO for the directory), connection refused, a server dropping
    the connection midway (ECONNRESET), a repository corrupt on the server
    (EIO, with the server's own "possible repository corruption" kept);
  - https: a redirect is followed; a private repository clones with the
    password from a git credential helper, which is shown nowhere; an
    untrusted certificate and an unknown ssh host key are refused (EACCES).
"""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from gitservers import DropProxy, GitHttpServer, SshServer, http_backend, make_ca  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
if not http_backend():
    t.skip_all("git http-backend is not installed")
if not shutil.which("openssl"):
    t.skip_all("openssl is not installed (the test CA)")

USER = "ada"
SECRET = "cred-" + os.urandom(9).hex()  # the private repository's password
CAUSES = {  # errno a repository directory answers, words in .wikifs/errors
    "missing": (errno.ENXIO, "repository not found"),
    "refused": (errno.ECONNREFUSED, "connection refused"),
    "dropped": (errno.ECONNRESET, "connection lost in the middle of the transfer"),
    "corrupt": (errno.EIO, "possible repository corruption"),
}


def skip(what, why):
    t.n += 1
    print(f"ok {t.n} - {what} # SKIP {why}", flush=True)


def mirror(env):
    """A repository with a branch, a tag and two pull-request refs: one to a
    commit reachable from nothing else, one to an object that is not there."""
    bare = env.make_repo("mirror", sample_files())
    work = os.path.join(env.root, "mirror-work")
    git(["clone", "-q", bare, work], env.root)
    git(["branch", "dev"], work)
    git(["tag", "-a", "v1", "-m", "one"], work)
    git(["push", "-q", "origin", "dev", "v1"], work)
    git(["checkout", "-q", "-b", "pr"], work)
    with open(os.path.join(work, "pr.c"), "w") as f:
        f.write("int pull_request_only(void) { return 1; }\n")
    git(["add", "-A"], work)
    git(["commit", "-q", "-m", "a pull request"], work)
    git(["push", "-q", "origin", "HEAD:refs/pull/1/head"], work)
    pull = git(["rev-parse", "HEAD"], work).stdout.strip()
    os.makedirs(os.path.join(bare, "refs", "pull", "2"))
    with open(os.path.join(bare, "refs", "pull", "2", "head"), "w") as f:
        f.write("0123456789abcdef0123456789abcdef01234567\n")
    return bare, pull


def corrupt_repo(env):
    """A repository one of whose loose objects is damaged on the server."""
    bare = env.make_repo("corrupt", {"README.md": "# Corrupt\n",
                                     "blob.bin": os.urandom(200000)})
    oid = git(["--git-dir", bare, "rev-parse", "HEAD:blob.bin"], env.root).stdout.strip()
    path = os.path.join(bare, "objects", oid[:2], oid[2:])
    os.chmod(path, 0o644)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2: len(data) // 2 + 64] = b"\0" * 64
    os.unlink(path)  # it may be a hard link to the work tree's object
    with open(path, "wb") as f:
        f.write(bytes(data))
    return bare


def clone_dir_of(cache, url):
    """The clone in @cache whose remote is @url, or None."""
    for d, dirs, files in os.walk(os.path.join(cache, "clones")):
        if "HEAD" in files and "config" in files:
            got = run(["git", "config", "-f", os.path.join(d, "config"), "remote.origin.url"],
                      check=False).stdout.strip()
            if got == url:
                return d
            dirs[:] = []
    return None


def error_of(m, name):
    lines = [l for l in m.errors().splitlines() if name in l]
    return lines[-1] if lines else ""


def check_mirrors(m, cache, urls, pull):
    for kind, url in urls.items():
        name = f"ok/{kind}"
        names, err = listdir_errno(m.path("ok", kind))
        if not t.eq(err, 0, f"{kind}: a mirror with a pull-request ref naming a missing "
                    f"object clones", error_of(m, name)):
            continue
        data, err = read_errno(m.path("ok", kind, "Home.md"))
        t.ok(err == 0 and data.startswith(b"# Home"), f"{kind}: its pages read")
        d = clone_dir_of(cache, url)
        refs = run(["git", "--git-dir", d, "for-each-ref", "--format=%(refname)"],
                   check=False).stdout.split() if d else []
        t.ok("refs/heads/dev" in refs and "refs/tags/v1" in refs and
             not any(r.startswith("refs/pull/") for r in refs),
             f"{kind}: the clone has the branches and tags, no pull-request ref", refs)
        if kind in ("local", "file"):
            continue  # packs are linked whole, as git clone --local does
        has_pull = run(["git", "--git-dir", d or "/nonexistent", "cat-file", "-e", pull],
                       check=False).returncode == 0
        t.ok(d and not has_pull, f"{kind}: the pull request's commit was not fetched")


def check_failures(m, cases):
    """@cases: cause -> {kind: repository name}; one errno and one wording per cause."""
    for cause, kinds in cases.items():
        want_errno, words = CAUSES[cause]
        for kind, name in kinds.items():
            _, err = listdir_errno(m.path(*name.split("/")))
            line = error_of(m, name)
            t.ok(err == want_errno and words in line,
                 f"{cause} over {kind}: {errno.errorcode.get(want_errno)}, '{words}'",
                 f"errno {errno.errorcode.get(err, err)}; error line: {line}")


class World:
    """The servers of the test and what they serve."""

    def __init__(self, env):
        self.daemon = env.git_daemon()
        self.bare, self.pull = mirror(env)
        env.make_repo("big", {"README.md": "# Big\n", "data.bin": os.urandom(1500000)})
        corrupt_repo(env)
        env.make_repo("secret", {"README.md": "# Secret\n", "s.c": "int s;\n"})
        self.ca, cert, key = make_ca(os.path.join(env.root, "ca"))
        self.https = GitHttpServer(env.repos, USER, SECRET, private={"secret.git"},
                                   tls=(cert, key))
        env.servers.append(self.https)
        self.https.redirects["/moved.git"] = "/mirror.git"
        self.https.drop_after["big.git"] = 200000
        self.git_drop = DropProxy(self.daemon.port, 200000)
        env.servers.append(self.git_drop)
        self.ssh = SshServer(os.path.join(env.root, "ssh"))
        self.ssh_why = self.ssh.start()
        if not self.ssh_why:
            env.servers.append(self.ssh)
            self.ssh_drop = DropProxy(self.ssh.port, 300000)
            env.servers.append(self.ssh_drop)
        self.closed = free_port()

    def repos(self, env):
        """(repos of the mount, mirror URL per transport, failure cases)."""
        https, nope = self.https, os.path.join(env.repos, "nope.git")
        urls = {"local": self.bare, "file": "file://" + self.bare,
                "git": self.daemon.url("mirror.git"), "https": https.url("mirror.git")}
        repos = {f"ok/{k}": u for k, u in urls.items()}
        repos.update({
            "missing/local": nope, "missing/file": "file://" + nope,
            "missing/git": self.daemon.url("nope.git"), "missing/https": https.url("nope.git"),
            "refused/git": f"git://127.0.0.1:{self.closed}/mirror.git",
            "refused/https": f"https://127.0.0.1:{self.closed}/mirror.git",
            "dropped/git": f"git://127.0.0.1:{self.git_drop.port}/big.git",
            "dropped/https": https.url("big.git"),
            "corrupt/git": self.daemon.url("corrupt.git"),
            "corrupt/https": https.url("corrupt.git"),
            "moved/https": https.url("moved.git"), "private/https": https.url("secret.git"),
        })
        if not self.ssh_why:
            ssh = self.ssh
            urls["ssh"] = ssh.url(self.bare)
            repos.update({
                "ok/ssh": urls["ssh"], "missing/ssh": ssh.url(nope),
                "refused/ssh": ssh.url(self.bare, port=self.closed),
                "dropped/ssh": ssh.url(os.path.join(env.repos, "big.git"),
                                       port=self.ssh_drop.port),
                "corrupt/ssh": ssh.url(os.path.join(env.repos, "corrupt.git"))})
        cases = {cause: {k: f"{cause}/{k}" for k in urls if f"{cause}/{k}" in repos}
                 for cause in CAUSES}
        return repos, urls, cases

    def home(self, env):
        """A HOME with a git credential helper and the ssh host keys."""
        home = os.path.join(env.root, "home")
        os.makedirs(os.path.join(home, ".ssh"))
        helper = write_script(env, "cred-helper.sh",
                              f'cat > /dev/null\n[ "$1" = get ] && echo username={USER} && '
                              f'echo password={SECRET}\nexit 0\n')
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write(f"[credential]\n\thelper = {helper}\n")
        if not self.ssh_why:
            with open(os.path.join(home, ".ssh", "known_hosts"), "w") as f:
                for port in (self.ssh.port, self.ssh_drop.port, self.closed):
                    f.write(self.ssh.known_hosts_line(port))
        return home


QUIET = {"GIT_CONFIG_NOSYSTEM": "1", "SSH_AUTH_SOCK": None, "GIT_SSL_CAINFO": None,
         "GIT_ASKPASS": None}


def check_https(m, w):
    names, err = listdir_errno(m.path("moved", "https"))
    t.ok(err == 0 and "Home.md" in (names or []), "https: a redirect is followed",
         error_of(m, "moved/https"))
    data, err = read_errno(m.path("private", "https", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"),
         "https: a private repository clones with the password of a credential helper",
         error_of(m, "private/https"))
    t.ok(any(ok for _, p, ok in w.https.seen if p.startswith("/secret.git")),
         "the server saw the helper's password")
    shown = {"errors": m.errors(), "log": m.log(),
             "progress": open(m.path(".wikifs", "progress")).read(),
             "progress.json": open(m.path(".wikifs", "progress.json")).read()}
    t.eq([k for k, v in shown.items() if SECRET in v], [],
         "the password is in no error, log line or progress")


def untrusted(env, w):
    """A mount that trusts neither the test CA nor the ssh host key."""
    repos = {"untrusted/https": w.https.url("mirror.git")}
    if not w.ssh_why:
        repos["untrusted/ssh"] = w.ssh.url(w.bare)
    home = os.path.join(env.root, "home-empty")
    os.makedirs(home)
    env.cache = os.path.join(env.root, "cache-untrusted")
    m = mount_with_env(env, repos, dict(QUIET, HOME=home),
                       {"refresh_interval": 0, "ssh_key": w.ssh.user_key})
    _, err = listdir_errno(m.path("untrusted", "https"))
    line = error_of(m, "untrusted/https")
    t.ok(err == errno.EACCES and "server not trusted" in line,
         "https: a certificate from an unknown CA is refused (EACCES)", f"{err}: {line}")
    if w.ssh_why:
        skip("ssh: an unknown host key is refused", w.ssh_why)
    else:
        _, err = listdir_errno(m.path("untrusted", "ssh"))
        line = error_of(m, "untrusted/ssh")
        t.ok(err == errno.EACCES and "hostkey" in line,
             "ssh: a host key missing from known_hosts is refused (EACCES)", f"{err}: {line}")
    t.eq(m.unmount(), 0, "unmount")


def main(env):
    w = World(env)
    repos, urls, cases = w.repos(env)
    options = {"refresh_interval": 0, "clone_concurrency": 3, "clone_timeout": 60,
               "clone_ca_bundle": w.ca}
    if not w.ssh_why:
        options["ssh_key"] = w.ssh.user_key
    m = mount_with_env(env, repos, dict(QUIET, HOME=w.home(env)), options)
    check_mirrors(m, env.cache, urls, w.pull)
    if w.ssh_why:
        skip("ssh: a mirror clones with the key of ssh_key", w.ssh_why)
    check_failures(m, cases)
    check_https(m, w)
    t.diag("\n".join(l for l in m.errors().splitlines()))
    t.eq(m.unmount(), 0, "unmount")
    t.eq(grep_tree(env.cache, [SECRET]), [], "nor in the cache directory")
    untrusted(env, w)


with Env() as env:
    main(env)
t.done()
