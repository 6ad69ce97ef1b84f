#!/usr/bin/env python3
"""Issues 2 and 3 on a real mount: refresh (command and interval), clone
progress while cloning, ref pinned to a tag, cancel, retry, Ctrl-C on
`wikifs prefetch`, a corrupt cache entry regenerated, stale temp files
removed, and the page-cache budget with an open page."""
import random
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")


def repo_row(m, name):
    return [r for r in m.progress()["repos"] if r["name"] == name][0]


with Env() as env:
    daemon = env.git_daemon()
    bare = env.make_repo("alpha", sample_files())
    first = git(["rev-parse", "HEAD"], bare).stdout.strip()

    # ---- ref pinned to a tag
    git(["tag", "v1", first], bare)
    second = env.add_commit(bare, {"src/extra.c": "int extra(void) { return 2; }\n"})
    m = env.mount({"acme/pinned": (daemon.url("alpha.git"), "v1"),
                   "acme/head": daemon.url("alpha.git")}, options={"refresh_interval": 0})
    t.eq(xattr(m.path("acme", "pinned", "Home.md"), "commit"), first,
         "ref = v1 resolves the tag's commit")
    t.eq(xattr(m.path("acme", "head", "Home.md"), "commit"), second,
         "no ref follows the remote HEAD")
    t.eq(m.unmount(), 0, "unmount")

    # ---- refresh REPO through the control file, and refresh_interval
    env.cache = os.path.join(env.root, "cache-refresh")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0})
    home = m.path("acme", "alpha", "Home.md")
    old_pages = sorted(os.listdir(m.path("acme", "alpha")))
    read_errno(home)
    third = env.add_commit(bare, {"newmod/thing.py": "def thing():\n    return 3\n",
                                  "newmod/other.py": "X = 1\n"})
    t.eq(xattr(home, "commit"), second, "before refresh the old commit is shown")
    m.control("refresh acme/alpha")
    t.until(lambda: xattr(home, "commit") == third, 30, "refresh REPO fetches the new commit")
    new_pages = sorted(os.listdir(m.path("acme", "alpha")))
    t.ok(new_pages != old_pages and any("newmod" in p for p in new_pages),
         "the listing shows the new plan", (old_pages, new_pages))
    t.eq(os.stat(home).st_size, 0, "the page of the new commit is not generated yet")
    data, err = read_errno(home)
    t.ok(err == 0 and third[:8].encode() in data, "opening it generates the new commit's page")
    t.eq(m.unmount(), 0, "unmount")

    env.cache = os.path.join(env.root, "cache-interval")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 1})
    home = m.path("acme", "alpha", "Home.md")
    t.eq(xattr(home, "commit"), third, "mounted at the current commit")
    fourth = env.add_commit(bare, {"README.md": "# Sample\n\nNow with more.\n"})
    t.until(lambda: xattr(home, "commit") == fourth, 30,
            "refresh_interval fetches new commits by itself")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a running clone shows in progress (objects, bytes)
    rnd = random.Random(7)
    big = sample_files()
    for i in range(40):
        big[f"blobs/b{i}.bin"] = bytes(rnd.getrandbits(8) for _ in range(512 * 1024))
    env.make_repo("big", big)
    env.cache = os.path.join(env.root, "cache-big")
    m = env.mount({"acme/big": daemon.url("big.git")}, options={"refresh_interval": 0})
    seen = {}

    def watch():
        end = time.monotonic() + 60
        while time.monotonic() < end and "done" not in seen:
            try:
                row = repo_row(m, "acme/big")
                c = row.get("clone")
                if c and c.get("phase") in ("cloning", "fetching") and \
                        c.get("objects_received", 0) > 0:
                    seen["json"] = c
                    with open(m.path(".wikifs", "progress")) as f:
                        text = f.read()
                    if "CLONES" in text and "objects" in text:
                        seen["text"] = text
            except (OSError, ValueError, IndexError):
                pass

    w = threading.Thread(target=watch)
    w.start()
    pages, err = listdir_errno(m.path("acme", "big"))
    seen["done"] = True
    w.join()
    t.ok(err == 0 and pages, "a 20 MB repository clones")
    t.ok("json" in seen and seen["json"]["bytes_received"] > 0,
         "progress.json shows the running clone's objects and bytes", seen.get("json"))
    t.ok("text" in seen, "the text progress has a CLONES section while cloning")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a person's open jumps the prefetch queue: it runs right after the running job.
    # Generations wait for a gate file and log the order in which they start.
    env.cache = os.path.join(env.root, "cache-promote")
    gate = os.path.join(env.root, "gate-promote")
    order = os.path.join(env.root, "order-promote")
    step = write_script(env, "step.sh", f"cat >/dev/null; echo \"$WIKIFS_PAGE\" >> {order}; "
                        f"while [ ! -e {gate} ]; do sleep 0.02; done; echo \"# $WIKIFS_PAGE\"\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "page_workers": 1, "repo_page_workers": 1},
                  generator={"backend": "command", "command": step})
    pages = sorted(os.listdir(m.path("acme", "alpha")))
    m.control("prefetch acme/alpha")
    wait_until(lambda: m.progress()["pages"]["running"] == 1, 10, what="prefetch running")
    last = [j["path"] for j in m.progress()["jobs"] if j["state"] == "queued"][-1]
    got = {}
    reader = threading.Thread(target=lambda: got.update(r=read_errno(os.path.join(m.dir, last))))
    reader.start()
    t.until(lambda: [j for j in m.progress()["jobs"]
                     if j["path"] == last and j["priority"] == "interactive"], 10,
            "the open promotes the last queued prefetch job")
    open(gate, "w").close()
    reader.join(30)
    started = open(order).read().split()
    t.ok(got.get("r", (None, -1))[1] == 0 and len(started) >= 2 and
         started[1] == os.path.basename(last)[:-3],
         f"it ran right after the running job, not after the {len(pages) - 2} queued before it",
         started)
    t.eq(m.unmount(), 0, "unmount")

    # ---- cancel, retry, and Ctrl-C on wikifs prefetch
    env.cache = os.path.join(env.root, "cache-ctl")
    gate = os.path.join(env.root, "gate-ctl")
    slow = write_script(env, "slow.sh", f"cat >/dev/null; while [ ! -e {gate} ]; do sleep 0.02; "
                        "done; echo '# page'; echo body\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "page_workers": 1, "repo_page_workers": 1},
                  generator={"backend": "command", "command": slow})
    total = len(os.listdir(m.path("acme", "alpha")))
    m.control("prefetch acme/alpha")
    wait_until(lambda: m.progress()["pages"]["running"] == 1, 10, what="a job running")
    t.ok(m.progress()["pages"]["queued"] >= 2, "prefetch queued the other pages")
    m.control("cancel acme/alpha")
    p = m.progress()["pages"]
    t.eq(p["queued"], 0, "cancel drops every queued prefetch job at once")
    open(gate, "w").close()
    wait_until(lambda: m.progress()["pages"]["running"] == 0, 10, what="running job done")
    os.unlink(gate)
    t.ok(repo_row(m, "acme/alpha")["ready"] < total, "cancelled pages were not generated")

    p = subprocess.Popen([WIKIFS, "prefetch", m.path("acme", "alpha")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_until(lambda: m.progress()["pages"]["queued"] >= 1, 10, what="prefetch queued")
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    t.eq(p.returncode, 130, "Ctrl-C on wikifs prefetch exits 130")
    t.eq(m.progress()["pages"]["queued"], 0, "and cancels the queued prefetch jobs it made")
    t.ok("cancelled" in out, "it says so", out)
    t.eq(m.unmount(), 0, "unmount")

    env.cache = os.path.join(env.root, "cache-retry")
    flag = os.path.join(env.root, "fail-now")
    open(flag, "w").close()
    flaky = write_script(env, "flaky.sh", f"cat >/dev/null; if [ -e {flag} ]; then echo 'not today' >&2;"
                   " exit 1; fi; echo '# fine'\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "retries": 1, "failure_backoff": 3600},
                  generator={"backend": "command", "command": flaky})
    home = m.path("acme", "alpha", "Home.md")
    t.eq(read_errno(home)[1], errno.EIO, "a failing generator: EIO")
    os.unlink(flag)
    t.eq(read_errno(home)[1], errno.EIO, "the failure is remembered during the backoff")
    m.control("retry acme/alpha/Home.md")
    wait_until(lambda: xattr(home, "state") == "ready", 20, what="retried page")
    t.eq(read_errno(home)[0], b"# fine\n", "retry PATH forgets the failure and regenerates")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a ready page regenerated with another size is read whole (no stale kernel size)
    env.cache = os.path.join(env.root, "cache-regrow")
    calls = os.path.join(env.root, "regrow-calls")
    grow = write_script(env, "grow.sh", f"cat >/dev/null; echo x >> {calls}; "
                        f"n=$(wc -l < {calls}); echo '# grows'; seq 1 $((n * 300))\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": grow})
    home = m.path("acme", "alpha", "Home.md")
    v1, _ = read_errno(home)
    size1 = os.stat(home).st_size
    m.control("retry acme/alpha/Home.md")
    wait_until(lambda: m.progress()["pages"]["generated"] == 2 and
               xattr(home, "state") == "ready", 20, what="regenerated page")
    v2, err = read_errno(home)
    t.ok(err == 0 and v2.endswith(b"\n600\n") and len(v2) > len(v1),
         f"after regeneration cat reads the new version whole ({len(v1)} -> "
         f"{len(v2) if v2 else None} bytes)")
    t.ok(os.stat(home).st_size == len(v2) != size1, "and stat shows its new size")
    t.eq(m.unmount(), 0, "unmount")

    # ---- corrupt entry regenerated; stale temp files removed at start
    env.cache = os.path.join(env.root, "cache-corrupt")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0})
    good, _ = read_errno(m.path("acme", "alpha", "Home.md"))
    t.eq(m.unmount(), 0, "unmount")
    entries = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(env.cache, "pages"))
               for f in fs]
    manifests = [e for e in entries if open(e, "rb").read()[64:79] == b"wikifs-manifest"]
    entries = [e for e in entries if e not in manifests]
    t.eq((len(entries), len(manifests)), (1, 1), "one page in the cache, and its manifest")
    with open(entries[0], "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xff]))
    stale = os.path.join(os.path.dirname(entries[0]), "deadbeef.tmp.123456")
    open(stale, "w").write("half a page")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0})
    t.ok(not os.path.exists(stale), "stale temp files are removed at start")
    again, err = read_errno(m.path("acme", "alpha", "Home.md"))
    t.eq((again, err), (good, 0), "a corrupt entry is discarded and regenerated")
    t.eq(m.progress()["pages"]["generated"], 1, "by a new generation")
    t.eq(m.unmount(), 0, "unmount")

    # ---- the budget: LRU eviction that never evicts an open page
    env.cache = os.path.join(env.root, "cache-budget")
    fat = write_script(env, "fat.sh", "cat >/dev/null; echo \"# $WIKIFS_PAGE\"; "
                 "head -c 400000 /dev/zero | tr '\\0' 'x'; echo\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "cache_max_bytes": "1M"},
                  generator={"backend": "command", "command": fat})
    pages = sorted(os.listdir(m.path("acme", "alpha")))
    held = open(m.path("acme", "alpha", pages[0]), "rb")
    for pg in pages[1:5]:
        read_errno(m.path("acme", "alpha", pg))
    cache = m.progress()["cache"]
    t.ok(cache["bytes"] <= cache["max_bytes"] + 400100, f"cache stays near its budget "
         f"({cache['bytes']} of {cache['max_bytes']})")
    t.ok(cache["evicted"] >= 1, f"older pages were evicted ({cache['evicted']})")
    data = held.read()
    held.close()
    t.ok(len(data) > 400000 and data.endswith(b"x\n"), "the open page stays whole")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a lazy unmount answers parked readers at once; the daemon exits
    # (on a mountpoint whose name mountinfo escapes: "mnt with space" is "mnt\040with...")
    env.cache = os.path.join(env.root, "cache-lazy")
    hang = write_script(env, "hang.sh", "cat >/dev/null; sleep 60; echo late\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": hang, "timeout": 120},
                  prefix="mnt with space-")
    readers = [subprocess.Popen(["cat", m.path("acme", "alpha", pg)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for pg in ("Home.md", "History.md")]
    wait_until(lambda: m.progress()["pages"]["running"] == 2, 10, what="two generations")
    r = run(["fusermount3", "-u", m.dir], check=False)
    t.ok(r.returncode != 0 and "busy" in r.stderr.lower(),
         "a plain unmount with parked readers is refused as busy", r.stderr)
    t0 = time.monotonic()
    run(["fusermount3", "-uz", m.dir])
    codes = []
    for p in readers:
        try:
            codes.append(p.wait(max(0.1, t0 + 10 - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(None)  # still parked: the daemon missed the unmount
            p.kill()
    dt = time.monotonic() - t0
    t.ok(all(c not in (None, 0) for c in codes) and dt < 1,
         f"after fusermount3 -uz parked readers get an error at once ({dt:.2f}s)", codes)
    try:
        code = m.proc.wait(max(0.1, t0 + 10 - time.monotonic()))
        m.proc = None
    except subprocess.TimeoutExpired:
        code = None  # Mount.cleanup() kills it
    t.ok(code == 0 and time.monotonic() - t0 < 5, f"the daemon exits 0 within 5 s "
         f"({time.monotonic() - t0:.2f}s, code {code})")
    left = run(["pgrep", "-f", hang], check=False).stdout.split()
    t.eq(left, [], "no generator process is left")

t.done()
