#!/usr/bin/env python3
"""Issue 3 on a real mount: lazy generation in open(), single-flight jobs,
the page cache, normal file behaviour, Ctrl-C, deadlines, failures, xattrs,
control files and prefetch. Slow generation comes from the command backend
running a small shell script (the daemon has no test-only code paths)."""
import mmap
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")


def gen_count(m):
    return m.progress()["pages"]["generated"]


with Env() as env:
    repo = env.make_repo("alpha", sample_files(), commits=3)
    counter = os.path.join(env.root, "calls")
    # a generator that takes DELAY seconds, counts its calls and echoes its input size
    slow = write_script(env, "slow.sh",
                      f'cat > /dev/null\necho x >> {counter}\nsleep "${{DELAY:-0.4}}"\n'
                      'echo "# $WIKIFS_PAGE"\necho\nseq 1 4000 | sed "s/^/line /"\n')

    # ---- builtin: first cat generates, second is a cache hit; tools see everything
    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0})
    page = m.path("acme", "alpha", "Home.md")
    t.eq(os.stat(page).st_size, 0, "before generation a page has size 0")
    data, err = read_errno(page)
    t.ok(err == 0 and data.startswith(b"# Home"), "the first cat generates the page", err)
    p1 = m.progress()["pages"]
    t.eq(p1["generated"], 1, "pages.generated is 1 after the first cat")
    again, _ = read_errno(page)
    p2 = m.progress()["pages"]
    t.eq(again, data, "the second cat gives the same bytes")
    t.eq(p2["generated"], 1, "the second cat generates nothing")
    t.eq(p2["cache_hits"], p1["cache_hits"] + 1, "and counts as a cache hit")
    st = os.stat(page)
    t.eq(st.st_size, len(data), "stat shows the real size")
    t.eq(run(["wc", "-c", page]).stdout.split()[0], str(len(data)), "wc -c sees every byte")
    t.eq(run(["tail", "-c", "100", page]).stdout.encode(), data[-100:], "tail -c")
    t.eq(run(["head", "-n", "1", page]).stdout, data.decode().splitlines()[0] + "\n", "head")
    cp = os.path.join(env.root, "copy.md")
    run(["cp", page, cp])
    t.eq(open(cp, "rb").read(), data, "cp copies the whole page")
    with open(page, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        t.eq(mm[:], data, "mmap sees the whole page")
        mm.close()
    r = run(["grep", "-rl", "Architecture", m.path("acme")], check=False)
    t.ok(page in r.stdout.split("\n"), "grep -r finds text in pages", r.stdout + r.stderr)
    t.eq(run(["getfattr", "--only-values", "-n", "user.wikifs.state", page]).stdout, "ready",
         "user.wikifs.state is ready")
    t.eq(run(["getfattr", "--only-values", "-n", "user.wikifs.backend", page]).stdout,
         "builtin", "user.wikifs.backend")
    commit = git(["rev-parse", "HEAD"], repo).stdout.strip()
    t.eq(run(["getfattr", "--only-values", "-n", "user.wikifs.commit", page]).stdout, commit,
         "user.wikifs.commit is the resolved commit")
    r = run(["getfattr", "-n", "user.wikifs.nope", page], check=False)
    t.ok(r.returncode != 0 and "No such attribute" in r.stderr, "an unknown xattr is ENODATA",
         r.stderr)
    r = run(["getfattr", "-d", "-m", "-", page], check=False)
    t.ok(r.returncode == 0 and 'user.wikifs.state="ready"' in r.stdout,
         "getfattr -d lists the attributes", r.stdout + r.stderr)
    t.eq(m.unmount(), 0, "unmount")

    # ---- a second mount reads the page from the on-disk cache
    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0})
    t.eq(read_errno(m.path("acme", "alpha", "Home.md"))[0], data,
         "after remount the cached page is read back")
    t.eq(gen_count(m), 0, "without generating it again")
    t.eq(m.unmount(), 0, "unmount")

    # ---- 32 parallel cats of a new page run one job
    env.cache = os.path.join(env.root, "cache-slow")
    gen = {"backend": "command", "command": slow}
    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0}, generator=gen)
    arch = m.path("acme", "alpha", "Architecture.md")
    out = {}

    def reader(i):
        out[i] = read_errno(arch)

    ths = [threading.Thread(target=reader, args=(i,)) for i in range(32)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    got = {out[i][0] for i in out if out[i][1] == 0}
    t.ok(len(out) == 32 and all(v[1] == 0 for v in out.values()), "32 parallel cats all succeed")
    t.eq(len(got), 1, "and all see the same bytes")
    t.eq(gen_count(m), 1, "pages.generated +1 for 32 concurrent readers")
    t.eq(len(open(counter).read().split()), 1, "the generator ran once")

    # ---- ls -l and find do not generate
    run(["ls", "-lR", m.dir])
    run(["find", m.dir, "-type", "f"])
    t.eq(gen_count(m), 1, "ls -lR and find generate nothing")

    # ---- Ctrl-C on a waiting cat: EINTR fast, the job goes on, a later open gets the page
    os.environ["DELAY"] = "3"
    hist = m.path("acme", "alpha", "History.md")
    p = subprocess.Popen(["cat", hist], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: any(j["path"].endswith("History.md") for j in m.progress()["jobs"]), 10,
               what="job queued")
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.wait(10)
    dt = time.monotonic() - t0
    t.ok(p.returncode != 0 and dt < 1.0, f"an interrupted cat returns within a second ({dt:.2f}s)")
    t.ok(any(j["path"].endswith("History.md") for j in m.progress()["jobs"]),
         "the job keeps running after the interrupt")
    data, err = read_errno(hist)
    t.ok(err == 0 and b"line 4000" in data, "a later open gets the whole page", err)
    del os.environ["DELAY"]
    t.eq(m.unmount(), 0, "unmount")

    # ---- deadline: a parked open waits at most open_timeout, then ETIMEDOUT
    env.cache = os.path.join(env.root, "cache-deadline")
    hang = write_script(env, "hang.sh", "cat >/dev/null; sleep 30; echo late\n")
    m = env.mount({"acme/alpha": repo}, options={"open_timeout": 2, "refresh_interval": 0},
                  generator={"backend": "command", "command": hang, "timeout": 60})
    t0 = time.monotonic()
    _, err = read_errno(m.path("acme", "alpha", "Home.md"))
    dt = time.monotonic() - t0
    t.eq(err, errno.ETIMEDOUT, "a parked open answers ETIMEDOUT")
    t.ok(1.8 < dt < 6, f"after open_timeout=2 ({dt:.1f}s)")
    t.ok(any(j["path"].endswith("Home.md") for j in m.progress()["jobs"]),
         "the job goes on after the deadline")
    t0 = time.monotonic()
    t.eq(m.unmount(), 0, "unmount with a generation running exits 0")
    t.ok(time.monotonic() - t0 < 5, "and promptly")
    t.eq([c for c in children_of(os.getpid()) if c != os.getpid() and
          open(f"/proc/{c}/cmdline").read().find("hang.sh") >= 0], [],
         "no generator process is left")

    # ---- failure: EIO, the cause in xattr, errors and log; retried after the backoff
    env.cache = os.path.join(env.root, "cache-fail")
    fail = write_script(env, "fail.sh", "cat >/dev/null; echo 'model exploded' >&2; exit 3\n")
    m = env.mount({"acme/alpha": repo},
                  options={"retries": 2, "failure_backoff": 3, "refresh_interval": 0},
                  generator={"backend": "command", "command": fail})
    home = m.path("acme", "alpha", "Home.md")
    _, err = read_errno(home)
    t.eq(err, errno.EIO, "a page whose generation fails answers EIO")
    why = run(["getfattr", "--only-values", "-n", "user.wikifs.error", home], check=False).stdout
    t.ok("2 attempts" in why and "model exploded" in why,
         "user.wikifs.error names the attempts and the last error", why)
    t.ok("acme/alpha/Home.md" in m.errors() and "model exploded" in m.errors(),
         ".wikifs/errors has the page and the cause", m.errors())
    t.ok("acme/alpha/Home.md" in m.log(), "the log names the page")
    t.eq(run(["getfattr", "--only-values", "-n", "user.wikifs.state", home]).stdout, "failed",
         "state is failed")
    calls_before = m.progress()["generation"]["attempts"]
    _, err = read_errno(home)
    t.eq((err, m.progress()["generation"]["attempts"]), (errno.EIO, calls_before),
         "within the backoff a new open fails at once without a new attempt")
    wait_until(lambda: run(["getfattr", "--only-values", "-n", "user.wikifs.state", home]
                           ).stdout != "failed", 10, what="backoff over")
    _, err = read_errno(home)
    t.ok(err == errno.EIO and m.progress()["generation"]["attempts"] > calls_before,
         "after the backoff the next open tries again")

    # ---- control file: bad command is EINVAL and a line in errors
    try:
        m.control("explode acme/alpha")
        t.ok(False, "a bad command is refused")
    except OSError as e:
        t.eq(e.errno, errno.EINVAL, "a bad command gets EINVAL")
    t.ok("explode" in m.errors(), "and a line in errors")
    try:
        m.control("prefetch acme/nothing")
        t.ok(False, "prefetch of a missing path is refused")
    except OSError as e:
        t.ok(e.errno in (errno.ENOENT, errno.EINVAL), "prefetch of a missing path is refused")
    r = run(["sh", "-c", f"echo hi > {m.path('.wikifs', 'progress')}"], check=False)
    t.ok(r.returncode != 0, "progress is not writable")
    t.eq(m.unmount(), 0, "unmount")

    # ---- prefetch a repository: every page ready, the bar at 100 %
    env.cache = os.path.join(env.root, "cache-prefetch")
    m = env.mount({"acme/alpha": repo, "acme/beta": repo},
                  options={"refresh_interval": 0}, generator=gen)
    r = run([WIKIFS, "prefetch", m.path("acme", "alpha")], check=False, timeout=120)
    total = len(os.listdir(m.path("acme", "alpha")))
    t.eq(r.returncode, 0, "wikifs prefetch exits 0", r.stdout + r.stderr)
    t.ok(f"{total}/{total} pages" in r.stdout and "#" * 30 in r.stdout,
         "the bar ends at 100 %", r.stdout)
    rep = [x for x in m.progress()["repos"] if x["name"] == "acme/alpha"][0]
    t.eq((rep["ready"], rep["pages"]), (total, total), "every page of the repository is ready")
    other = [x for x in m.progress()["repos"] if x["name"] == "acme/beta"][0]
    t.eq(other["ready"], 0, "nothing outside PATH was generated")
    r = run([WIKIFS, "prefetch", "--no-wait", m.path("acme", "beta")], check=False, timeout=30)
    t.ok(r.returncode == 0 and "queued" in r.stdout, "--no-wait returns at once", r.stdout)
    t.until(lambda: [x for x in m.progress()["repos"] if x["name"] == "acme/beta"][0]
            ["ready"] == total, 120, "--no-wait prefetch completes in the background")
    t.eq(m.unmount(), 0, "unmount")

    # ---- kill -9 during generation, remount: no partial page is ever visible
    env.cache = os.path.join(env.root, "cache-kill")
    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": slow})
    os.environ["DELAY"] = "2"
    p = subprocess.Popen(["cat", m.path("acme", "alpha", "Home.md")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_until(lambda: any(j["state"] == "generating" for j in m.progress()["jobs"]), 10,
               what="generating")
    m.kill9()
    p.wait(10)
    del os.environ["DELAY"]
    m2 = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0}, generator=gen)
    t.eq(os.stat(m2.path("acme", "alpha", "Home.md")).st_size, 0,
         "after kill -9 the interrupted page is absent, not partial")
    data, err = read_errno(m2.path("acme", "alpha", "Home.md"))
    t.ok(err == 0 and data.endswith(b"line 4000\n"), "and regenerates whole")
    leftovers = [f for d, _, fs in os.walk(env.cache) for f in fs if ".tmp." in f]
    t.eq(leftovers, [], "no temp file survives")
    t.eq(m2.unmount(), 0, "unmount")

t.done()
