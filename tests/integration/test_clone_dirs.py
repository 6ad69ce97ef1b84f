#!/usr/bin/env python3
"""Issue 18, items 2 and 8: clone directories in a cache several mounts
share, through real mounts.

  - a clone is named after its repository (acme/widget.git), not
    "repo-<hash>.git" for every mirror whose URL ends in /repo;
  - a clone an earlier version made ("repo-<hash>.git") is renamed, not
    cloned again;
  - a clone no running mount uses is removed once older than clone_gc_grace,
    never while another running mount uses it; a recent one stays;
  - a leftover temporary of a dead clone is swept, the temporary of a clone
    in progress (locked by its maker) is not;
  - a repository name over the length limit says so.
"""
import fcntl
import hashlib
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

DAY = 86400


def old_name(url):
    """The name wikifs gave clones before: <tail>-<16 hex of the URL>.git."""
    tail = url.rstrip("/")
    tail = tail[:-4] if tail.endswith(".git") else tail
    tail = tail.rstrip("/").rsplit("/", 1)[-1]
    return f"{tail}-{hashlib.sha256(url.encode()).hexdigest()[:16]}.git"


def age(path, days):
    when = time.time() - days * DAY
    os.utime(path, (when, when))


def mirrors(env):
    """Two mirrors whose URLs both end in /repo.git, and a third repository."""
    urls = {}
    for owner, name in (("acme", "widget"), ("other", "gadget")):
        src = env.make_repo(f"src-{name}", {"README.md": f"# {name}\n", "m.c": "int m;\n"})
        dest = os.path.join(env.root, "mirrors", name, "repo.git")
        os.makedirs(os.path.dirname(dest))
        os.rename(src, dest)
        urls[f"{owner}/{name}"] = dest
    urls["solo"] = env.make_repo("solo", {"README.md": "# Solo\n", "s.c": "int s;\n"})
    return urls


def names(env, m, urls):
    for n in urls:
        t.eq(listdir_errno(m.path(*n.split("/")))[1], 0, f"{n} is served")
    clones = os.path.join(env.cache, "clones")
    for n, url in urls.items():
        d = os.path.join(clones, n + ".git")
        got = run(["git", "config", "-f", os.path.join(d, "config"), "remote.origin.url"],
                  check=False).stdout.strip()
        t.eq(got, url, f"the clone of {n} is clones/{n}.git")
    flat = [e for e in os.listdir(clones) if e.startswith("repo-")]
    t.eq(flat, [], "no clone is called repo-<hash>.git")


def renamed(env, url):
    """An old-style clone is renamed to its new name, not cloned again."""
    clones = os.path.join(env.cache, "clones")
    old = os.path.join(clones, old_name(url))
    run(["git", "clone", "-q", "--bare", url, old])
    with open(os.path.join(old, "wikifs-test-marker"), "w") as f:
        f.write("made by an earlier version\n")
    m = env.mount({"legacy/thing": url}, options={"refresh_interval": 0})
    t.eq(listdir_errno(m.path("legacy", "thing"))[1], 0, "legacy: the repository is served")
    new = os.path.join(clones, "legacy", "thing.git")
    t.ok(os.path.exists(os.path.join(new, "wikifs-test-marker")) and not os.path.exists(old),
         "legacy: the old clone was renamed to legacy/thing.git", sorted(os.listdir(clones)))
    t.eq(m.progress()["clones"]["done"], 0, "legacy: nothing was cloned again")
    t.eq(m.unmount(), 0, "legacy: unmount")


def gc(env, urls):
    clones = os.path.join(env.cache, "clones")
    widget = os.path.join(clones, "acme", "widget.git")
    gadget = os.path.join(clones, "other", "gadget.git")
    solo = os.path.join(clones, "solo.git")
    # a mount that uses acme/widget only, running while another mount starts
    a = env.mount({"acme/widget": urls["acme/widget"]}, options={"refresh_interval": 0})
    t.eq(listdir_errno(a.path("acme", "widget"))[1], 0, "gc: mount A serves acme/widget")
    for d in (widget, gadget):
        age(d, 30)
    # a leftover temporary of a dead clone, and one a live clone holds locked
    dead = os.path.join(clones, "acme", "dead.git.tmp.AbCdEf")
    live = os.path.join(clones, "other", "live.git.tmp.XyZ123")
    os.makedirs(os.path.join(dead, "objects"))
    os.makedirs(os.path.join(live, "objects"))
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    b = env.mount({"solo": urls["solo"]}, options={"refresh_interval": 0,
                                                  "clone_gc_grace": 7 * DAY})
    t.ok(os.path.isdir(widget), "gc: a clone another running mount uses stays, however old")
    t.ok(not os.path.exists(gadget), "gc: a clone no mount uses, older than the grace, goes")
    t.ok(os.path.isdir(solo), "gc: a recent unused clone stays (grace period)")
    t.ok(not os.path.exists(dead), "gc: a dead clone's temporary is swept")
    t.ok(os.path.isdir(live), "gc: a live clone's temporary is not")
    os.close(fd)
    t.eq(a.unmount(), 0, "gc: unmount A")
    age(widget, 30)
    t.eq(b.unmount(), 0, "gc: unmount B")
    c = env.mount({"solo": urls["solo"]}, options={"refresh_interval": 0,
                                                  "clone_gc_grace": 7 * DAY})
    t.ok(not os.path.exists(widget), "gc: once no mount uses it, the old clone goes too")
    t.ok(os.path.isdir(solo), "gc: the clone the mount uses stays")
    t.ok(not os.path.exists(os.path.join(clones, "other")), "gc: an owner directory left empty goes",
         os.listdir(os.path.join(clones, "other")) if os.path.exists(os.path.join(clones, "other"))
         else None)
    t.eq(c.unmount(), 0, "gc: unmount C")
    keep = env.mount({"solo": urls["solo"]}, options={"clone_gc_grace": 0,
                                                     "refresh_interval": 0})
    t.eq(keep.unmount(), 0, "gc: clone_gc_grace = 0 mounts")


def long_name(env):
    conf = os.path.join(env.root, "long.conf")
    with open(conf, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {env.cache}\n[repo acme/{'x' * 250}]\nurl = /x\n")
    r = run([WIKIFS, "check-config", conf], check=False)
    t.ok(r.returncode == 1 and "too long: 255 bytes, at most 200" in r.stderr,
         "a repository name over the length limit says so", r.stderr)


with Env() as env:
    urls = mirrors(env)
    m = env.mount(urls, options={"refresh_interval": 0})
    names(env, m, urls)
    t.eq(m.unmount(), 0, "unmount")
    gc(env, urls)
    renamed(env, env.make_repo("legacy", {"README.md": "# Legacy\n", "l.c": "int l;\n"}))
    long_name(env)
t.done()
