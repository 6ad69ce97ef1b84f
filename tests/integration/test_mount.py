#!/usr/bin/env python3
"""Issue 2 on a real mount: namespace, clones (FIFO, concurrency, stall
timeout, offline remount), no generation from ls/stat/find, read-only tree,
bad input with clear messages."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")


def big_files(seed, n=6, size=384 * 1024):
    rnd = __import__("random").Random(seed)
    files = sample_files()
    for i in range(n):
        files[f"data/blob{i}.bin"] = bytes(rnd.getrandbits(8) for _ in range(size))
    return files


with Env() as env:
    daemon = env.git_daemon()
    env.make_repo("alpha", sample_files())
    env.make_repo("solo", {"README.md": "# Solo\n", "main.go": "package main\n\nfunc main() {}\n"})
    file_repo = env.make_repo("local", sample_files())
    for i in range(6):
        env.make_repo(f"many{i}", big_files(i))

    # ---- namespace: root, owner and repository directories
    m = env.mount({"acme/alpha": daemon.url("alpha.git"), "solo": daemon.url("solo.git"),
                   "acme/local": "file://" + file_repo},
                  options={"clone_concurrency": 2, "refresh_interval": 0})
    t.eq(mounted(m.dir), "fuse.wikifs", "the mount shows as fuse.wikifs")
    t.eq(sorted(os.listdir(m.dir)), ["acme", "solo"],
         "root lists owners and repos (the control directory by name only)")
    t.eq(sorted(os.listdir(m.path("acme"))), ["alpha", "local"], "owner lists its repositories")
    t.eq(m.progress()["clones"]["done"], 0, "listing root and owner touched no network")
    pages, err = listdir_errno(m.path("acme", "alpha"))
    t.ok(err == 0 and "Home.md" in pages and "_Sidebar.md" in pages,
         "the first ls of a repository clones it and lists the plan", (pages, err))
    t.ok(pages and len(pages) >= 4, f"the plan has several pages ({pages})")
    local_pages, err = listdir_errno(m.path("acme", "local"))
    t.ok(err == 0 and "Home.md" in (local_pages or []), "a file:// repository lists too")
    st = os.stat(m.path("solo", "Home.md"))  # lookup inside a repo not yet listed
    t.ok(st.st_size == 0 and (st.st_mode & 0o777) == 0o444,
         "a lookup inside an uncloned repository clones it; a page not generated has size 0")
    t.eq(oct(os.stat(m.path("acme")).st_mode & 0o777), "0o555", "directories are 0555")

    # ---- ls, stat and find never generate
    run(["ls", "-lR", m.dir])
    run(["find", m.dir, "-type", "f"])
    for p in pages:
        os.stat(m.path("acme", "alpha", p))
    prog = m.progress()
    t.eq(prog["pages"]["generated"], 0, "ls -lR, find and stat generated nothing")
    t.eq(prog["pages"]["queued"] + prog["pages"]["running"], 0, "and queued nothing")

    # ---- read-only: EROFS everywhere but the control file
    for what, fn in [("create", lambda: open(m.path("acme", "alpha", "New.md"), "w")),
                     ("write", lambda: open(m.path("acme", "alpha", "Home.md"), "w")),
                     ("mkdir", lambda: os.mkdir(m.path("acme", "x"))),
                     ("unlink", lambda: os.unlink(m.path("acme", "alpha", "Home.md"))),
                     ("rename", lambda: os.rename(m.path("acme", "alpha", "Home.md"),
                                                  m.path("acme", "alpha", "H.md")))]:
        try:
            fn()
            t.ok(False, f"{what} is refused")
        except OSError as e:
            t.eq(e.errno, errno.EROFS, f"{what} gets EROFS")
    t.eq(m.unmount(), 0, "fusermount3 -u: the daemon exits 0")

    # ---- 6 repositories listed concurrently, clone_concurrency = 2
    env.cache = os.path.join(env.root, "cache-many")
    repos = {f"many/r{i}": daemon.url(f"many{i}.git") for i in range(6)}
    m = env.mount(repos, options={"clone_concurrency": 2, "refresh_interval": 0})
    results = {}

    def ls(i):
        results[i] = listdir_errno(m.path("many", f"r{i}"))

    threads = [threading.Thread(target=ls, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    t.ok(all(results.get(i, (None, 1))[1] == 0 for i in range(6)),
         "6 repositories listed concurrently all succeed", results)
    clones = m.progress()["clones"]
    t.eq(clones["max_active_seen"], 2, "clones.max_active_seen is exactly clone_concurrency")
    t.eq(clones["done"], 6, "6 clones done")
    t.eq(m.unmount(), 0, "unmount")

    # ---- stalled server: cut off by clone_timeout, clear errno and messages
    stall = env.stalled_server()
    url = f"git://127.0.0.1:{stall.port}/stuck.git"
    env.cache = os.path.join(env.root, "cache-stall")
    m = env.mount({"stuck": url}, options={"clone_timeout": 2, "refresh_interval": 0})
    t0 = time.monotonic()
    _, err = listdir_errno(m.path("stuck"))
    dt = time.monotonic() - t0
    t.ok(err not in (0, errno.ENOENT), f"ls of a stalled repository fails with a clear errno "
         f"({errno.errorcode.get(err, err)})")
    t.ok(1.5 <= dt < 10, f"cut off by clone_timeout=2 after {dt:.1f}s")
    errs = m.errors()
    t.ok(url in errs, "the errors file names the URL", errs)
    t.ok(url in m.log() and "time" in m.log().lower(), "the log names the URL and the cause",
         m.log()[-2000:])
    t.eq(children_of(m.proc.pid), [], "no clone helper left behind")
    t.eq(m.unmount(), 0, "unmount")

    # ---- unmount, stop the git daemon, remount: the pages are still listed
    env.cache = os.path.join(env.root, "cache-offline")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0})
    before, _ = listdir_errno(m.path("acme", "alpha"))
    t.eq(m.unmount(), 0, "unmount")
    daemon.stop()
    m = env.mount({"acme/alpha": daemon.url("alpha.git")})
    after, err = listdir_errno(m.path("acme", "alpha"))
    t.eq((after, err), (before, 0), "after remount with the server gone, the same pages list")
    t.eq(m.progress()["clones"]["failed"], 0, "and no clone was attempted")
    t.eq(m.unmount(), 0, "unmount")

    # ---- bad input: clear one-line messages, non-zero exit
    def attempt(args, env_extra=None):
        r = run([WIKIFS] + args, check=False, env=dict(os.environ, **(env_extra or {})),
                timeout=30)
        return r.returncode, r.stderr

    bad = os.path.join(env.root, "bad.conf")
    with open(bad, "w") as f:
        f.write("[wikifs]\nbogus = 1\npage_workers = lots\nretries = 0\n[repo a/b]\n"
                "url = /x\n[repo a/b]\nurl = /y\n[repo c]\nref = main\n")
    empty = os.path.join(env.root, "empty-mnt")
    os.makedirs(empty)
    code, msg = attempt(["-f", "-c", bad, empty])
    lines = msg.strip().splitlines()
    t.ok(code != 0 and not mounted(empty), "a broken config does not mount")
    for needle, what in [(":2:", "unknown key"), (":3:", "bad value"), (":4:", "out of range"),
                         (":7:", "duplicate repository"), (":9:", "missing url")]:
        t.ok(any(needle in l and bad in l for l in lines), f"{what} reported as file{needle}",
             msg)
    good = m.conf
    code, msg = attempt(["-c", good, os.path.join(env.root, "nope")])
    t.ok(code != 0 and "does not exist" in msg and "mkdir" in msg, "missing mountpoint", msg)
    full = os.path.join(env.root, "full")
    os.makedirs(full)
    open(os.path.join(full, "x"), "w").close()
    code, msg = attempt(["-c", good, full])
    t.ok(code != 0 and "not empty" in msg, "non-empty mountpoint", msg)
    inside = os.path.join(env.cache, "mnt")
    os.makedirs(inside, exist_ok=True)
    code, msg = attempt(["-c", good, inside])
    t.ok(code != 0 and "cache" in msg, "mountpoint inside the cache directory", msg)
    code, msg = attempt(["-c", good, "-o", "cache_dir=/proc/version/cache", empty])
    t.ok(code != 0 and "cannot be written" in msg and "cache_dir" in msg,
         "unwritable cache directory", msg)
    if shutil.which("unshare"):
        r = run(["unshare", "-m", "sh", "-c",
                 f"mount -t tmpfs none /dev && exec {WIKIFS} -c {good} {empty}"], check=False)
        t.ok(r.returncode != 0 and "/dev/fuse" in r.stderr and "modprobe" in r.stderr,
             "/dev/fuse missing", r.stderr)
    for code_msg in (msg,):
        t.ok(len(code_msg.strip().splitlines()) == 1, "each message is one line", code_msg)
    code, msg = attempt(["-c", good, "-o", "nonsense=1", empty])
    t.ok(code != 0 and "nonsense" in msg, "an unknown -o key is an error", msg)

    # ---- daemon mode: the parent returns once the mount answers
    d = env.mount({"acme/alpha": daemon.url("alpha.git")}, start=False, foreground=False)
    r = run([WIKIFS, "-c", d.conf, d.dir], check=False, timeout=30)
    t.ok(r.returncode == 0 and mounted(d.dir), "without -f the parent exits 0 once mounted",
         r.stderr)
    t.ok(os.path.isdir(d.path(".wikifs")), "and the mount answers at once")
    run(["fusermount3", "-u", d.dir], check=False)
    wait_until(lambda: not mounted(d.dir), 10, what="unmount")

t.done()
