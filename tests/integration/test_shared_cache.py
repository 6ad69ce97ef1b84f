#!/usr/bin/env python3
"""Issue 10, item 5: two mounts (two daemons) on one cache directory.

- The second daemon starting does not remove the first's clone in flight:
  the first's clone completes.
- Every page opened from both mounts at once, with a slow generator that
  counts its runs: each page is generated exactly once, and both mounts read
  the same whole page; a page one mount made is a cache hit for the other.
- A page the other mount replaced (`retry` there, with a generator whose
  output has grown) is read whole in its new version, not cut at the size
  verified first."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

# DET_GEN, counting its runs in $COUNT_FILE; with $GROW_FILE present the page
# has 3000 more lines (a pure function of the page and the flag).
COUNT_GEN = DET_GEN.replace("cat > /dev/null\n", 'cat > /dev/null\n'
                            'echo "$WIKIFS_REPO/$WIKIFS_PAGE" >> "$COUNT_FILE"\n') + \
    '[ -f "$GROW_FILE" ] && seq 1 3000 | sed "s/^/grown /"\nexit 0\n'


def body(slug, grown=False):
    extra = "".join(f"grown {i}\n" for i in range(1, 3001)) if grown else ""
    return page_body(slug) + extra.encode()


def summary(r):
    """(errno, length, first line) of a read_errno() result: short enough to print."""
    data, err = r
    return (err, None, None) if data is None else (err, len(data), data.split(b"\n")[0])


def counts(path):
    try:
        with open(path) as f:
            lines = f.read().split()
    except FileNotFoundError:
        return {}
    out = {}
    for line in lines:
        out[line] = out.get(line, 0) + 1
    return out


with Env() as env:
    files = {"README.md": "# shared\n\nOne cache, two mounts.\n"}
    for i in range(8):
        files[f"mod{i}/m{i}.c"] = f"int m{i}(void)\n{{\n\treturn {i};\n}}\n"
    for i in range(12):  # enough bytes that the throttled clone takes seconds
        files[f"blobs/b{i}.bin"] = os.urandom(256 * 1024)
    env.make_repo("shared", files)
    daemon = env.git_daemon()
    proxy = ThrottledProxy(daemon.port, rate=512 * 1024)
    env.servers.append(proxy)
    counter = os.path.join(env.root, "generated")
    grow = os.path.join(env.root, "grow")
    os.environ.update(COUNT_FILE=counter, GROW_FILE=grow, DELAY="0.3")
    gen = {"backend": "command", "command": write_script(env, "count.sh", COUNT_GEN),
           "timeout": 60}
    opts = {"refresh_interval": 0, "page_workers": 4, "open_timeout": 120,
            "clone_timeout": 60}
    repos = {"team/shared": proxy.url("shared.git")}

    # ---- the second daemon starts while the first clones
    a = env.mount(repos, options=opts, generator=gen)
    lister = subprocess.Popen(["ls", a.path("team", "shared")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    clones = os.path.join(env.cache, "clones")
    midway = clone_under_way(proxy, clones)
    t.ok(midway, f"mount A's clone is under way ({proxy.bytes} bytes through the proxy)")
    in_flight = temp_files(clones)
    b = env.mount(repos, options=opts, generator=gen)
    t.ok(in_flight and all(os.path.exists(p) for p in in_flight),
         "mount B's start leaves A's clone in flight alone", in_flight)
    out, err = lister.communicate(timeout=120)
    t.eq((lister.returncode, err), (0, ""), "and A's clone completes", a.log()[-2000:])
    listing, lerr = listdir_errno(b.path("team", "shared"))
    t.eq((sorted(out.split()), lerr), (listing, 0), "B lists the same pages")
    t.eq(b.unmount(), 0, "unmount B")
    t.eq(a.unmount(), 0, "unmount A")

    # ---- two fresh daemons on the cache (the clone is there), pages from both
    a = env.mount(repos, options=opts, generator=gen)
    b = env.mount(repos, options=opts, generator=gen)
    pages = sorted(p for p in os.listdir(a.path("team", "shared")) if p.endswith(".md"))
    t.ok(len(pages) >= 12, f"{len(pages)} pages")

    # ---- a page A made is a hit for B
    first = "Home.md"
    want = summary((body("Home"), 0))
    t.eq(summary(read_errno(a.path("team", "shared", first))), want,
         "A generates and reads Home.md")
    t.eq(summary(read_errno(b.path("team", "shared", first))), want, "B reads the same Home.md")
    t.eq(counts(counter).get("team/shared/Home", 0), 1, "generated once: a hit for B")
    pb = b.progress()["pages"]
    t.ok(pb["generated"] == 0 and pb["cache_hits"] >= 1,
         f"B counts it as a cache hit, not a generation ({pb})")

    # ---- every other page from both mounts at once
    rest = [p for p in pages if p != first]
    results = {}
    go = threading.Barrier(2 * len(rest))

    def reader(m, name, p):
        go.wait()
        results[(name, p)] = read_errno(m.path("team", "shared", p))

    threads = [threading.Thread(target=reader, args=(m, name, p))
               for p in rest for name, m in (("A", a), ("B", b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    bad = [(k, summary(v)) for k, v in results.items() if v != (body(k[1][:-3]), 0)]
    t.eq(bad, [], f"both mounts read all {len(rest)} pages whole and alike, opened at once")
    c = counts(counter)
    t.eq(sorted(k for k, n in c.items() if n != 1), [],
         f"each page is generated exactly once ({sum(c.values())} runs for {len(pages)} "
         "pages)", c)
    t.eq(len(c), len(pages), "every page was generated", c)
    ga, gb = a.progress()["pages"], b.progress()["pages"]
    t.eq(ga["generated"] + gb["generated"], len(pages),
         f"the mounts' generation counts add up (A {ga['generated']}, B {gb['generated']}; "
         f"hits A {ga['cache_hits']}, B {gb['cache_hits']})")

    # ---- a page the other mount replaced is read whole, in its new version
    victim = "Architecture.md"
    vpath = a.path("team", "shared", victim)
    t.eq(summary(read_errno(vpath)), summary((body("Architecture"), 0)),
         "A has read Architecture.md")
    runs = counts(counter).get("team/shared/Architecture")
    open(grow, "w").close()
    b.control(f"retry team/shared/{victim}")
    wait_until(lambda: counts(counter).get("team/shared/Architecture") == runs + 1 and
               xattr(b.path("team", "shared", victim), "state") == "ready", 30,
               what="B regenerated the page")
    data, err = read_errno(vpath)
    want = body("Architecture", grown=True)
    t.ok(err == 0 and data == want, "A reads the version B made, whole "
         f"({None if data is None else len(data)} of {len(want)} bytes)")
    t.eq(os.stat(vpath).st_size, len(want), "and stat in A shows its new size")
    t.eq(counts(counter).get("team/shared/Architecture"), runs + 1,
         "A did not generate it again")

    t.eq(a.sanitizer_reports() + b.sanitizer_reports(), [], "no sanitizer report")
    t.eq(b.unmount(), 0, "unmount B")
    t.eq(a.unmount(), 0, "unmount A")
t.done()
