#!/usr/bin/env python3
"""Issue 10, items 6 and 13, on real mounts.

Credentials: a repository served over HTTP with Basic auth by the real
`git http-backend` (run as CGI by a small stdlib server below). A password
embedded in the URL must work for cloning and be shown nowhere: not in the
clone helper's command line (`ps`, /proc/PID/cmdline) or environment, not in
.wikifs/errors, progress, progress.json, the log or the cache directory; the
URL is shown as http://user:***@host/... instead. A URL without a password
gets it from git's credential conventions (GIT_ASKPASS, a credential helper).

Refs deleted upstream: a mount following `ref = feature` keeps serving the
last good commit's pages when the branch is deleted on the remote, on
refresh and after a remount, and says why in .wikifs/errors and the log."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa
from gitservers import GitHttpServer, http_backend  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
if not http_backend():
    t.skip_all("git http-backend is not installed")

USER = "ada"
PASS = "pw-" + os.urandom(9).hex()      # the right password
WRONG = "wrong-" + os.urandom(9).hex()  # a wrong one: must not be shown either
ASKPASS = "ask-" + os.urandom(9).hex()  # the password given by GIT_ASKPASS
HELPED = "helped-" + os.urandom(9).hex()  # the one a credential helper gives


def secrets_in(text):
    return [s for s in (PASS, WRONG, ASKPASS, HELPED) if s in text]


def helper_pids(m):
    return [p for p in procs_matching("--clone-helper", m.env.cache)]


def shown(m):
    """Everything the mount shows a person, as one string per place (the
    log: a foreground mount logs to stderr)."""
    return {
        "errors": m.errors(),
        "progress": open(m.path(".wikifs", "progress")).read(),
        "progress.json": open(m.path(".wikifs", "progress.json")).read(),
        "log": m.log(),
    }


def credentials(env):
    srv = GitHttpServer(env.repos, USER, PASS)
    env.servers.append(srv)
    env.make_repo("secret", sample_files())
    env.make_repo("other", {"README.md": "# Other\n", "o.c": "int o;\n"})
    for name in ("asked", "helped", "bad"):
        env.make_repo(name, {"README.md": f"# {name}\n", "q.c": "int q;\n"})
    good, bad = srv.url("secret.git", USER, PASS), srv.url("other.git", USER, WRONG)
    m = env.mount({"acme/secret": good, "acme/other": bad},
                  options={"refresh_interval": 0, "clone_concurrency": 1})

    # ------------------------------------------------ while the clone runs
    srv.hold.set()
    lister = threading.Thread(target=lambda: listdir_errno(m.path("acme", "secret")))
    lister.start()
    wait_until(lambda: srv.waiting > 0, 30, what="the clone helper's first request")
    pids = wait_until(lambda: helper_pids(m), 10, what="a running clone helper")
    ps = run(["ps", "-eo", "args"]).stdout
    t.eq(secrets_in(ps), [], "the password is not in `ps -eo args` while a clone runs")
    helper_ps = [l for l in ps.splitlines() if "--clone-helper" in l and env.cache in l]
    t.ok(helper_ps and f"{USER}:***@127.0.0.1" in helper_ps[0],
         "ps shows the helper with the URL redacted", helper_ps)
    proc = {}
    for p in pids:
        for what in ("cmdline", "environ"):
            with open(f"/proc/{p}/{what}", "rb") as f:
                proc[f"{p}/{what}"] = f.read().decode(errors="replace")
    t.eq({k: secrets_in(v) for k, v in proc.items() if secrets_in(v)}, {},
         "nor in the helper's /proc/PID/cmdline or environ", sorted(proc))
    during = shown(m)
    t.eq({k: secrets_in(v) for k, v in during.items() if secrets_in(v)}, {},
         "nor in errors, progress, progress.json or the log during the clone")
    srv.release.set()
    srv.hold.clear()
    lister.join(60)

    # ------------------------------------------------ the clone worked
    data, err = read_errno(m.path("acme", "secret", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"), "the password in the URL cloned the repository",
         f"errno {err}, log: {m.log()[-2000:]}")
    t.ok(any(ok for _, _, ok in srv.seen), "the server really saw the right password")
    t.eq(listdir_errno(m.path("acme", "other"))[1], errno.EACCES,
         "a wrong password fails the clone (EACCES)")
    errs = m.errors()
    t.ok(f"{USER}:***@127.0.0.1:{srv.port}/other.git" in errs,
         "the error names the URL with the password redacted", errs)
    after = shown(m)
    after["xattr"] = xattr(m.path("acme", "secret", "Home.md"), "error")
    t.eq({k: secrets_in(v) for k, v in after.items() if secrets_in(v)}, {},
         "no password in errors, progress, progress.json, the log or xattrs", after["errors"])
    m.control("refresh acme/secret")
    wait_until(lambda: m.progress()["clones"]["done"] >= 2, 60, what="the refresh")
    t.eq(secrets_in(m.errors() + m.log()), [], "a refresh (fetch) shows no password either")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(grep_tree(env.cache, [PASS, WRONG]), [], "no password in the cache directory")
    t.eq(secrets_in(m.log()), [], "nor in the log after unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports (password in the URL)")
    return srv


def askpass(env, srv):
    """No password in the URL: GIT_ASKPASS gives it (through git credential fill)."""
    srv.password = ASKPASS
    ask = write_script(env, "askpass.sh",
                       f'case "$1" in Username*) echo {USER};; *) echo {ASKPASS};; esac\n')
    home = os.path.join(env.root, "home")
    os.makedirs(home, exist_ok=True)
    m = mount_with_env(env, {"acme/asked": srv.url("asked.git")},
                       {"GIT_ASKPASS": ask, "HOME": home, "GIT_CONFIG_NOSYSTEM": "1"},
                       {"refresh_interval": 0})
    data, err = read_errno(m.path("acme", "asked", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"),
         "a URL without a password clones with the password from GIT_ASKPASS",
         f"errno {err}, errors: {m.errors()}")
    t.eq(secrets_in(m.errors() + m.log()), [],
         "the GIT_ASKPASS password is shown nowhere")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(grep_tree(env.cache, [ASKPASS]), [], "nor stored in the cache directory")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports (GIT_ASKPASS)")


def credential_helper(env, srv):
    """A git credential helper gives the password (a wrong one for paths with
    "bad"), and hears back: store after a success, erase after a refusal."""
    srv.password = HELPED
    calls = os.path.join(env.root, "helper-calls")
    helper = write_script(env, "cred-helper.sh", f"""in=$(cat)
case "$1" in
get) echo username={USER}
     case "$in" in *path=*bad*) echo password={WRONG};; *) echo password={HELPED};; esac;;
*) echo "$1 $(echo "$in" | grep '^path=')" >> {calls};;
esac
""")
    home = os.path.join(env.root, "home-helper")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, ".gitconfig"), "w") as f:
        f.write(f"[credential]\n\thelper = {helper}\n\tuseHttpPath = true\n")
    m = mount_with_env(env, {"acme/helped": srv.url("helped.git"),
                             "acme/bad": srv.url("bad.git")},
                       {"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "/bin/false"},
                       {"refresh_interval": 0})
    data, err = read_errno(m.path("acme", "helped", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"),
         "a URL without a password clones with the password from a credential helper",
         f"errno {err}, errors: {m.errors()}")
    t.eq(listdir_errno(m.path("acme", "bad"))[1], errno.EACCES,
         "a credential the server refuses fails the clone (EACCES)")
    errs = m.errors()
    t.ok("refused the credentials from git credential fill" in errs,
         "and the error says whose credential was refused", errs)
    got = open(calls).read().splitlines() if os.path.exists(calls) else []
    t.eq(sorted(got), ["erase path=bad.git", "store path=helped.git"],
         "the helper is told: store the working one, erase the refused one")
    t.eq(secrets_in(m.errors() + m.log()), [], "the helper's passwords are shown nowhere")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(grep_tree(env.cache, [HELPED, WRONG]), [], "nor stored in the cache directory")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports (credential helper)")


def deleted_ref(env):
    daemon = env.git_daemon()
    bare = env.make_repo("feat", {"README.md": "# Feat\n", "src/main.c": "int main;\n"})
    work = os.path.join(env.root, "feat-work")
    git(["clone", "-q", bare, work], env.root)
    git(["checkout", "-q", "-b", "feature"], work)
    os.makedirs(os.path.join(work, "engine"))
    with open(os.path.join(work, "engine", "motor.c"), "w") as f:
        f.write("int motor(void) { return 42; }\n")
    git(["add", "-A"], work)
    git(["commit", "-q", "-m", "the feature"], work)
    git(["push", "-q", "origin", "feature"], work)
    feature = git(["rev-parse", "HEAD"], work).stdout.strip()

    env.cache = os.path.join(env.root, "cache-ref")
    repos = {"acme/feat": (daemon.url("feat.git"), "feature")}
    opts = {"refresh_interval": 0}
    m = env.mount(repos, options=opts)
    d = m.path("acme", "feat")
    names, err = listdir_errno(d)
    t.eq(err, 0, "the feature branch is served")
    before = {n: read_errno(os.path.join(d, n))[0] for n in names}
    t.ok(all(before.values()), "and every page reads", sorted(before))
    t.eq(xattr(os.path.join(d, "Home.md"), "commit")[:40], feature, "at the branch's commit")

    git(["--git-dir", bare, "branch", "-D", "feature"], env.root)
    m.control("refresh acme/feat")
    wait_until(lambda: "acme/feat" in m.errors(), 60, what="the refresh to report")
    errs = m.errors()
    t.ok(f"ref 'feature' no longer exists on the remote" in errs and feature[:7] in errs,
         "refresh: the error names the cause and the commit served", errs)
    now = {n: read_errno(os.path.join(d, n))[0] for n in names}
    t.ok(now == before, "refresh: the last good commit's pages are still served")
    t.eq(m.unmount(), 0, "unmount")
    t.ok("no longer exists on the remote" in m.log(), "the log names the cause too")

    m = env.mount(repos, options=opts)
    d = m.path("acme", "feat")
    got, err = listdir_errno(d)
    t.eq((got, err), (names, 0), "remount: the repository still lists its pages (no ENXIO)")
    now = {n: read_errno(os.path.join(d, n))[0] for n in names}
    t.ok(now == before, "remount: the same pages, same content")
    errs = m.errors()
    t.ok("ref 'feature' no longer exists on the remote" in errs and feature[:7] in errs,
         "remount: the error names the cause", errs)
    t.eq(m.unmount(), 0, "unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports (deleted ref)")


def password_change(env, srv):
    """A password is not part of a page's identity and never reaches a prompt:
    a new password keeps every generated page (no generation after the
    remount) and the generator's stdin never holds it."""
    env.cache = os.path.join(env.root, "cache-rotate")
    prompts = os.path.join(env.root, "prompts")
    gen = write_script(env, "record.sh", f"cat >> {prompts}; echo '# page'; echo body\n")
    srv.password = PASS
    m = env.mount({"acme/secret": srv.url("secret.git", USER, PASS)},
                  options={"refresh_interval": 0},
                  generator={"backend": "command", "command": gen})
    data, err = read_errno(m.path("acme", "secret", "Home.md"))
    t.eq((data, err), (b"# page\nbody\n", 0), "a page generated through the password's URL")
    t.eq(secrets_in(open(prompts).read()), [], "the prompt does not hold the password")
    t.eq(m.unmount(), 0, "unmount")
    srv.password = HELPED
    m = env.mount({"acme/secret": srv.url("secret.git", USER, HELPED)},
                  options={"refresh_interval": 0},
                  generator={"backend": "command", "command": gen})
    data, err = read_errno(m.path("acme", "secret", "Home.md"))
    p = m.progress()["pages"]
    t.ok(err == 0 and p["generated"] == 0 and p["cache_hits"] == 1,
         "a changed password keeps the page: a cache hit, no generation", p)
    t.eq(m.unmount(), 0, "unmount")
    srv.password = PASS


with Env() as env:
    srv = credentials(env)
    password_change(env, srv)
    askpass(env, srv)
    credential_helper(env, srv)
    deleted_ref(env)
t.done()
