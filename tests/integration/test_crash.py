#!/usr/bin/env python3
"""Issue 5, crash consistency on real mounts: kill -9 at random moments
while 50+ pages generate, then remount. After every kill: every page the
cache shows (size > 0) reads back complete and byte-exact, every other page
regenerates, and no temp file survives the restart. A corrupted entry is
detected and regenerated. A clone killed midway is redone cleanly at the
next mount, and the killed clone helper does not outlive the daemon.

WIKIFS_CRASH_ITERATIONS overrides the number of kills (default 20)."""
import random
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

ITER = int(os.environ.get("WIKIFS_CRASH_ITERATIONS", "20"))
seed = int(os.environ.get("WIKIFS_SEED", str(random.randrange(1 << 30))))
rng = random.Random(seed)
t.diag(f"seed {seed} (WIKIFS_SEED to replay), {ITER} iterations")


def module_repo(env, name, n):
    files = {"README.md": f"# {name}\n\nCrash test repository.\n"}
    for i in range(n):
        files[f"mod{i:02d}/m{i}.c"] = f"int m{i}(void)\n{{\n\treturn {i};\n}}\n" * (i + 1)
    return env.make_repo(name, files)


def pages_of(m, repo):
    return sorted(os.listdir(m.path(*repo.split("/"))))


with Env() as env:
    repos = {"crash/a": module_repo(env, "a", 22), "crash/b": module_repo(env, "b", 22)}
    gen = {"backend": "command", "command": write_script(env, "det.sh", DET_GEN),
           "timeout": 60}
    opts = {"refresh_interval": 0, "page_workers": 4, "repo_page_workers": 3,
            "open_timeout": 120}
    delay_file = os.path.join(env.root, "delay")
    os.environ["DELAY_FILE"] = delay_file

    m = env.mount(repos, options=opts, generator=gen)
    all_pages = [(r, p) for r in repos for p in pages_of(m, r)]
    t.ok(len(all_pages) >= 50, f"{len(all_pages)} pages to generate (>= 50)")
    t.eq(m.unmount(), 0, "first mount (clone and plan) unmounts cleanly")

    totals = {"kills": 0, "ready_checked": 0, "absent": 0, "bad": [], "temps": [],
              "ready_at_kill": []}

    def check_state(model, it):
        """Remount after a kill with the killed run's model: every page is ready
        and byte-exact, or absent (and will regenerate); no temp file is left."""
        m = env.mount(repos, options=opts, generator=dict(gen, model=model))
        totals["temps"].extend(temp_files(env.cache))
        for r, p in all_pages:
            path = m.path(*r.split("/"), p)
            if os.stat(path).st_size > 0:
                data, err = read_errno(path)
                totals["ready_checked"] += 1
                if err or data != page_body(p[:-3]):
                    totals["bad"].append((it, r, p, err, len(data or b"")))
            else:
                totals["absent"] += 1
        return m

    for it in range(ITER):
        with open(delay_file, "w") as f:
            f.write(f"{rng.choice([0.02, 0.05, 0.1, 0.2])}\n")
        # the model is part of the page key: a new one gives 50+ pages to generate
        model = f"crash-{it}"
        m = check_state(model, it)
        for r in repos:
            m.control(f"prefetch {r}")
        # kill at a random moment while the pages generate
        wait_until(lambda: m.progress()["pages"]["running"] > 0 or
                   m.progress()["pages"]["queued"] == 0, 30, what="work started")
        deadline = time.monotonic() + rng.uniform(0.0, 2.5)
        while time.monotonic() < deadline:
            time.sleep(0.01)
        totals["ready_at_kill"].append(m.progress()["pages"]["ready"])
        m.kill9()
        totals["kills"] += 1
        # the command generators die with their group or finish on their own
        wait_until(lambda: not procs_matching("det.sh", env.root), 15, what="generators gone")
        m = check_state(model, it)
        t_ok = m.unmount() == 0
        if not t_ok:
            totals["bad"].append((it, "unmount failed"))
    gen["model"] = f"crash-{ITER - 1}"

    t.eq(totals["kills"], ITER, f"{ITER} kill -9 during generation")
    t.eq(totals["bad"], [], f"every page shown ready after a kill was complete "
                            f"({totals['ready_checked']} reads, {totals['absent']} absent)")
    t.eq(totals["temps"], [], "no temp file survived any restart")
    t.diag(f"pages ready at each kill: {totals['ready_at_kill']}")
    t.ok(any(0 < x < len(all_pages) for x in totals["ready_at_kill"]),
         "some kills landed mid-run (between 0 and all pages ready)")

    # the state left by the last kill: a final prefetch completes everything. Temps
    # a kill leaves in every kind of cache file are swept at start; planted ones too
    # (a page's meta file and a facts file, written beside pages since issues 12, 15)
    for sub in ("page-meta/ab", "facts"):
        os.makedirs(os.path.join(env.cache, sub), exist_ok=True)
        with open(os.path.join(env.cache, sub, "planted.tmp.AbCdEf"), "w") as f:
            f.write("half")
    m = env.mount(repos, options=opts, generator=gen)
    t.eq(temp_files(env.cache), [], "no temp file after the last kill either")
    with open(delay_file, "w") as f:
        f.write("0\n")
    r = run([WIKIFS, "prefetch", m.path("crash")], check=False, timeout=300)
    t.eq(r.returncode, 0, "a final prefetch completes every page", r.stdout[-500:] + r.stderr)

    def mismatches():
        bad = []
        for rp, p in all_pages:
            data, err = read_errno(m.path(*rp.split("/"), p))
            if err or data != page_body(p[:-3]):
                bad.append((rp, p, err, len(data or b""), len(page_body(p[:-3]))))
        return bad

    t.eq(mismatches(), [], f"all {len(all_pages)} pages read back byte-exact after {ITER} crashes")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(temp_files(env.cache), [], "no temp file after a clean unmount")

    # a corrupted entry (same size, bytes changed) and a truncated one regenerate;
    # the entries of a fresh model are the new files of one complete prefetch
    def entry_files():
        """The page entries (not the manifests beside them, issue 14)."""
        found = {os.path.join(d, f) for d, _, fs in os.walk(os.path.join(env.cache, "pages"))
                 for f in fs}
        return {e for e in found if open(e, "rb").read()[64:79] != b"wikifs-manifest"}

    before = entry_files()
    gen["model"] = "tamper"
    m = env.mount(repos, options=opts, generator=gen)
    run([WIKIFS, "prefetch", m.path("crash")], check=False, timeout=300)
    t.eq(m.unmount(), 0, "unmount")
    entries = sorted(entry_files() - before)
    t.eq(len(entries), len(all_pages), "one new entry per page")
    with open(entries[0], "r+b") as f:
        f.seek(-10, 2)
        f.write(b"XXXXXXXXXX")
    m = env.mount(repos, options=opts, generator=gen)
    t.eq(mismatches(), [], "a corrupted entry is detected and regenerated byte-exact")
    t.eq(m.progress()["pages"]["generated"], 1, "exactly that one page regenerated")
    t.eq(m.unmount(), 0, "unmount")
    with open(entries[1], "r+b") as f:
        f.truncate(os.path.getsize(entries[1]) // 2)
    m = env.mount(repos, options=opts, generator=gen)
    r = run([WIKIFS, "prefetch", m.path("crash")], check=False, timeout=300)
    bad = mismatches()
    t.ok(bad == [], "a truncated entry is regenerated and read back whole", bad)
    t.eq(m.progress()["pages"]["generated"], 1, "the truncated entry regenerated once")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a clone killed midway is redone cleanly at the next mount
    big = {"README.md": "# big\n", "src/main.c": "int main(void) { return 0; }\n"}
    for i in range(12):
        big[f"blobs/b{i}.bin"] = os.urandom(256 * 1024)
    bigrepo = env.make_repo("big", big)
    daemon = env.git_daemon()
    proxy = ThrottledProxy(daemon.port, rate=512 * 1024)
    env.servers.append(proxy)
    env.cache = os.path.join(env.root, "cache-clone")
    m = env.mount({"crash/big": proxy.url("big.git")}, options={"clone_timeout": 60})
    lister = subprocess.Popen(["ls", m.path("crash", "big")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    clones = os.path.join(env.cache, "clones")
    midway = clone_under_way(proxy, clones)
    t.ok(midway, f"the clone is under way ({proxy.bytes} bytes through the proxy)")
    helpers = procs_matching("--clone-helper", env.root)
    t.ok(helpers, "a clone helper runs", helpers)
    m.kill9()
    lister.wait(10)
    t.ok(temp_files(clones), "the killed clone left its temp directory behind (the case under test)")
    try:
        wait_until(lambda: not procs_matching("--clone-helper", env.root), 5, what="helper gone")
        gone = True
    except TimeoutError:
        gone = False
    t.ok(gone, "the clone helper dies with the daemon", procs_matching("--clone-helper", env.root))
    before = proxy.bytes
    m = env.mount({"crash/big": proxy.url("big.git")}, options={"clone_timeout": 60})
    listing, err = listdir_errno(m.path("crash", "big"))
    t.ok(err == 0 and "Home.md" in (listing or []), "the next mount clones again and plans",
         err)
    t.ok(proxy.bytes - before >= 12 * 256 * 1024, "the clone was redone from scratch, "
         f"{proxy.bytes - before} bytes")
    t.eq(temp_files(clones), [], "no temp clone directory is left")
    data, err = read_errno(m.path("crash", "big", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"), "and its pages generate", err)
    r = run(["git", "--git-dir", os.path.join(clones, "crash", "big.git"),  # named after the repo
             "fsck", "--no-progress"], check=False)
    t.eq(r.returncode, 0, "the new clone passes git fsck", r.stderr)
    t.eq(m.unmount(), 0, "unmount")


t.done()
