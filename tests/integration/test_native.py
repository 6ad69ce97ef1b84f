#!/usr/bin/env python3
"""Issue 18: the mount behaves like a native file system in the details tools
look at. Times are the commit's (stable across remounts), extended attributes
are listed (getfattr -d) on pages and repository directories, recursive tools
(grep -r, find) never trip over the control directory, and .wikifs/metrics
is Prometheus text that moves with what the mount does."""
from harness import *

CT = "2023-05-06T07:08:09Z"  # committer dates that no other test repository has
CT_NEXT = "2023-08-09T10:11:12Z"


def commit_dated(work, files, date, message):
    """Commits @files in the work tree @work with committer date @date (the
    author date stays the harness's): the mount must show the committer's."""
    for path, data in files.items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(data)
    git(["add", "-A"], work)
    git(["commit", "-q", "-m", message], work, env=dict(GIT_ENV, GIT_COMMITTER_DATE=date))


def head_time(bare):
    return int(git(["log", "-1", "--format=%ct"], bare).stdout)


def times(path):
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_ctime_ns)


def fattr_dump(path):
    """getfattr -d: {name: value} of what listxattr names, and the exit status."""
    r = run(["getfattr", "-d", "--absolute-names", path], check=False)
    found = dict(re.findall(r'^(user\.wikifs\.[a-z]+)="(.*)"$', r.stdout, re.M))
    return found, r


def test_times(t, env, bare, work):
    ct = head_time(bare)
    sec = ct * 10**9
    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    repo_dir, home = m.path("acme", "alpha"), m.path("acme", "alpha", "Home.md")
    os.stat(repo_dir)  # the lookup before the clone: its times must not stick
    t.ok("Home.md" in os.listdir(repo_dir), "the repository lists its pages")
    t.eq(times(repo_dir), (sec, sec), "a repository directory's mtime and ctime are its "
         "commit's committer time (git log -1 --format=%ct)")
    t.eq(times(home), (sec, sec), "a page not generated yet has its commit's times")
    with open(home, "rb") as f:
        f.read()
    t.eq(times(home), (sec, sec), "a generated page keeps its commit's times")
    before = {p: times(m.path("acme", "alpha", p)) for p in os.listdir(repo_dir)}
    t.eq(m.unmount(), 0, "unmount")

    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    os.listdir(m.path("acme", "alpha"))
    after = {p: times(m.path("acme", "alpha", p)) for p in before}
    t.eq(after, before, f"after a remount every page has the same mtime and ctime "
         f"({len(before)} pages)")
    t.eq(times(m.path("acme", "alpha")), (sec, sec), "and so has the repository directory")

    # a refresh to a commit of another date moves the directory's time with it
    commit_dated(work, {"NEWS.md": "# News\n"}, CT_NEXT, "news")
    git(["push", "-q", bare, "HEAD"], work)
    new = git(["rev-parse", "HEAD"], work).stdout.strip()
    m.control("refresh acme/alpha")
    if not t.until(lambda: xattr(m.path("acme", "alpha"), "commit") == new, 30,
                   "the refresh reached the new commit"):
        t.diag(m.errors() + m.log())
    nsec = head_time(bare) * 10**9
    t.ok(nsec != sec, "the new commit has another committer time")
    t.eq(times(m.path("acme", "alpha")), (nsec, nsec),
         "after a refresh the repository directory shows the new commit's time")
    t.eq(times(m.path("acme", "alpha", "Home.md")), (nsec, nsec),
         "and so do its pages")
    t.eq(m.unmount(), 0, "unmount")


def test_xattrs(t, env, bare, work):
    branch = git(["symbolic-ref", "--short", "HEAD"], bare).stdout.strip()
    m = env.mount({"acme/alpha": bare, "acme/dev": (bare, "dev"),
                   "acme/broken": os.path.join(env.root, "no-such-repo.git")},
                  options={"refresh_interval": 0})
    home = m.path("acme", "alpha", "Home.md")
    commit = git(["rev-parse", "HEAD"], bare).stdout.strip()
    os.listdir(m.path("acme", "alpha"))

    got, r = fattr_dump(home)
    t.eq(got, {"user.wikifs.state": "absent", "user.wikifs.commit": commit,
               "user.wikifs.backend": "builtin"},
         "getfattr -d lists a page's attributes before it is generated", r.stderr)
    t.ok(r.returncode == 0 and not r.stderr.strip(), "getfattr -d succeeds", r.stderr)
    with open(home, "rb") as f:
        f.read()
    got, r = fattr_dump(home)
    t.eq(got.get("user.wikifs.state"), "ready", "and shows it ready once read", r.stdout)
    names = os.listxattr(home)
    t.ok(all(n.startswith("user.wikifs.") for n in names) and len(names) == 3,
         "listxattr names only the user.wikifs.* attributes that answer", names)

    got, r = fattr_dump(m.path("acme", "alpha"))
    t.eq(got, {"user.wikifs.state": "ready", "user.wikifs.commit": commit,
               "user.wikifs.ref": branch},
         "a repository directory lists state, commit and ref (the remote HEAD's branch)",
         r.stdout + r.stderr)
    os.listdir(m.path("acme", "dev"))
    t.eq(xattr(m.path("acme", "dev"), "ref"), "dev", "user.wikifs.ref is the configured ref")

    err = listdir_errno(m.path("acme", "broken"))[1]
    t.ok(err != 0, "a repository that cannot be cloned fails to list", err)
    got, r = fattr_dump(m.path("acme", "broken"))
    t.eq(got.get("user.wikifs.state"), "failed", "a failed clone's directory says failed",
         r.stdout)
    t.ok("no-such-repo" in got.get("user.wikifs.error", ""),
         "and lists user.wikifs.error naming the cause", got)
    t.eq(xattr(m.path("acme", "broken"), "error"), got.get("user.wikifs.error"),
         "user.wikifs.error reads by name too")
    t.ok("user.wikifs.commit" not in got, "no commit attribute before any clone", got)

    r = run(["getfattr", "-n", "system.posix_acl_access", home], check=False)
    t.ok(r.returncode != 0 and "No such attribute" in r.stderr,
         "the kernel's ACL probe is answered ENODATA", r.stderr)
    got, r = fattr_dump(m.path(".wikifs", "progress"))
    t.ok(r.returncode == 0 and got == {}, "a control file lists no attributes", r.stderr)
    t.eq(m.unmount(), 0, "unmount")


def test_recursive(t, env, bare):
    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    with open(m.path("acme", "alpha", "Home.md")) as f:
        text = f.read()
    word = max(re.findall(r"[A-Za-z]{6,}", text), key=len)
    t.ok(".wikifs" not in os.listdir(m.dir), "the control directory is not listed")
    t.ok(".wikifs" not in run(["ls", "-a", m.dir]).stdout, "not even by ls -a")
    t.ok(os.path.isfile(m.path(".wikifs", "progress")) and
         "control" in os.listdir(m.path(".wikifs")),
         "but it is reachable by its name, and lists its files")
    r = run(["grep", "-r", "-l", word, m.dir], check=False)
    t.eq(r.returncode, 0, f"grep -r of a word of Home.md ({word}) exits 0", r.stderr)
    t.ok(m.path("acme", "alpha", "Home.md") in r.stdout.split("\n"),
         "and names Home.md", r.stdout)
    r = run(["grep", "-r", "no-such-word-in-any-page-qq", m.dir], check=False)
    t.eq(r.returncode, 1, "grep -r of a word in no page exits 1, not 2", r.stderr)
    r = run(["find", m.dir], check=False)
    t.ok(r.returncode == 0 and ".wikifs" not in r.stdout, "find walks the mount cleanly",
         r.stderr)
    t.eq(m.unmount(), 0, "unmount")


def main():
    t = Tap()
    if not fuse_available():
        t.skip_all("FUSE not available")
    with Env() as env:
        work = env.make_repo("alpha", sample_files(), bare=False)
        commit_dated(work, {"CHANGES.md": "# Changes\n"}, CT, "changes")
        git(["branch", "dev"], work)  # a configured ref (the clone is made once, now)
        bare = os.path.join(env.repos, "alpha.git")
        git(["clone", "-q", "--bare", work, bare], env.root)
        test_times(t, env, bare, work)
        test_xattrs(t, env, bare, work)
        test_recursive(t, env, bare)
    t.done()


main()
