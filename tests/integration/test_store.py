#!/usr/bin/env python3
"""Issue 17: one wiki for a fleet, through a shared PostgreSQL page store.

The test starts its own PostgreSQL (pgharness.py: initdb into a temporary
directory, pg_ctl on a private socket directory and a loopback port, run as
a non-root user when the test is root) and mounts one repository three
times: three daemons, three cache directories, one store. The generator is
a command that appends "PAGE HOST" to a counter file when it starts, waits
while a gate file is absent, then writes a page that is a pure function of
its name (so every byte can be checked).

- All pages read at once from all three mounts: exactly one generation per
  page in the fleet; every mount reads every page whole.
- A copy corrupted in the store is found out by a new mount (length and
  SHA-256) and made again, once.
- kill -9 of a host running generations (the gate closed): the other hosts
  finish every page, total generations <= pages + that host's jobs in flight,
  no page torn.
- PostgreSQL stopped in the middle: reads keep working (local generation),
  none takes long; progress and the log say so; restarted: the pages made
  meanwhile appear in the store.
- A permanent failure (exit 127) on the host running a job fails it for the
  host parked on it too, with the cause, without another generation.
- A host whose max_calls is spent still reads the pages the store has.
- A store unreachable at mount: the mount works and says why.
- `wikifs status` shows the store's size; `wikifs store init` refuses a newer
  schema; `wikifs store prune` empties old entries.
- The connection string's password appears in no log, progress file, errors
  file, status output or process title."""
import hashlib
import socket
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa
from pgharness import Postgres

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
pg = Postgres.start_or_skip(t)

GEN = ('cat > /dev/null\n'
       'env >> "$ENV_FILE"\n'
       'echo "$WIKIFS_REPO/$WIKIFS_PAGE $HOST_TAG" >> "$COUNT_FILE"\n'
       'while [ -n "$GATE_FILE" ] && [ ! -f "$GATE_FILE" ]; do sleep 0.05; done\n'
       'if grep -qx "$WIKIFS_REPO/$WIKIFS_PAGE" "$FAIL_FILE" 2>/dev/null; then\n'
       '  echo "permanent failure of $WIKIFS_PAGE" >&2; exit 127\n'
       'fi\n'
       + DET_GEN.replace("cat > /dev/null\n", ""))


def starts(path):
    """[(page, host)] of every generation started, from the counter file."""
    try:
        with open(path) as f:
            return [tuple(line.split()) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def per_page(path, repo):
    out = {}
    for page, _ in starts(path):
        if page.startswith(repo + "/"):
            out[page] = out.get(page, 0) + 1
    return out


def read_all(mounts, repo, pages):
    """Every page from every mount at once: {(mount index, page): (data, errno, seconds)}."""
    results = {}
    go = threading.Barrier(len(mounts) * len(pages))

    def reader(i, m, p):
        go.wait()
        t0 = time.monotonic()
        data, err = read_errno(m.path(repo, p))
        results[(i, p)] = (data, err, time.monotonic() - t0)

    threads = [threading.Thread(target=reader, args=(i, m, p))
               for p in pages for i, m in enumerate(mounts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def torn(results):
    return sorted(f"{k}: errno {v[1]}, {None if v[0] is None else len(v[0])} bytes"
                  for k, v in results.items() if v[:2] != (page_body(k[1][:-3]), 0))


def store_state(m):
    try:
        return m.progress().get("store", {})
    except (OSError, ValueError):
        return {}


try:
    with Env() as env:
        files = {"README.md": "# fleet\n\nOne wiki for a team.\n"}
        for i in range(10):
            files[f"mod{i}/m{i}.c"] = f"int m{i}(void)\n{{\n\treturn {i};\n}}\n"
        urls = {name: env.make_repo(name, dict(files, **{"NAME": name}))
                for name in ("one", "two", "three", "four")}
        counter = os.path.join(env.root, "generated")
        gate = os.path.join(env.root, "gate")
        open(gate, "w").close()
        fail_file = os.path.join(env.root, "fail")
        env_file = os.path.join(env.root, "environments")
        os.environ.update(COUNT_FILE=counter, GATE_FILE=gate, FAIL_FILE=fail_file, DELAY="0.3",
                          ENV_FILE=env_file)
        gen = {"backend": "command", "command": write_script(env, "gen.sh", GEN), "timeout": 60}

        def mount(tag, conninfo=None, **extra):
            opts = {"cache_dir": os.path.join(env.root, f"cache-{tag}"), "store": "postgresql",
                    "store_conninfo_env": "WIKIFS_STORE", "store_lease": 4, "store_timeout": 10,
                    "page_workers": 4, "repo_page_workers": 4, "open_timeout": 60,
                    "refresh_interval": 0}
            opts.update(extra)
            repos = {f"team/{n}": u for n, u in urls.items()}
            return mount_with_env(env, repos, {"HOST_TAG": tag,
                                               "WIKIFS_STORE": conninfo or pg.conninfo()},
                                  options=opts, generator=gen)

        a, b, c = mount("A"), mount("B"), mount("C")
        pages = sorted(p for p in os.listdir(a.path("team", "one")) if p.endswith(".md"))
        t.ok(len(pages) >= 12, f"{len(pages)} pages per repository")

        # ---- all pages from all three at once: one generation per page, fleet-wide
        res = read_all([a, b, c], "team/one", pages)
        t.eq(torn(res), [], f"all three mounts read all {len(pages)} pages whole")
        counts = per_page(counter, "team/one")
        t.eq(sorted(k for k, n in counts.items() if n != 1), [],
             f"each page generated exactly once in the fleet ({sum(counts.values())} "
             f"generations for {len(pages)} pages)", counts)
        t.eq(len(counts), len(pages), "every page was generated")
        hosts = sorted({h for p, h in starts(counter)})
        t.diag(f"generations by host: " + ", ".join(
            f"{h} {sum(1 for _, x in starts(counter) if x == h)}" for h in hosts))
        t.eq(int(pg.sql("SELECT count(*) FROM wikifs_pages")), len(pages),
             "the store holds every page once")
        gens = [m.progress()["pages"]["generated"] for m in (a, b, c)]
        t.eq(sum(gens), len(pages), f"the mounts' generation counts add up ({gens})")

        # ---- retry on one host: made again there (not taken from the store), stored
        slug = pages[0][:-3]
        since = pg.sql("SELECT now()")
        b.control(f"retry team/one/{pages[0]}")
        t.until(lambda: per_page(counter, "team/one")[f"team/one/{slug}"] == 2, 30,
                f"retry of {pages[0]} on B generates it again, on B")
        t.eq(read_errno(b.path("team", "one", pages[0])), (page_body(slug), 0),
             "B serves the page made again")
        t.eq([h for p, h in starts(counter) if p == f"team/one/{slug}"][-1:], ["B"],
             "the second generation ran on B")
        t.until(lambda: pg.sql(f"SELECT string_agg(host, ',') FROM wikifs_pages "
                               f"WHERE created > '{since}'") ==
                f"{socket.gethostname()}:{b.proc.pid}", 10,
                "the page made again replaces the store's copy (one page stored since, by B)")
        base_one = len(pages) + 1  # generations of team/one so far

        # ---- a corrupt copy in the store is found out (length + SHA-256) and made again
        pg.sql("UPDATE wikifs_pages SET content = overlay(content PLACING 'XX'::bytea FROM 10) "
               "WHERE key = (SELECT min(key) FROM wikifs_pages)")
        e = mount("E")
        res = read_all([e], "team/one", pages)
        t.eq(torn(res), [], "a fifth mount (empty cache) reads every page whole")
        t.eq(sum(per_page(counter, "team/one").values()), base_one + 1,
             "from the store, but for the corrupt copy: made again, once")
        t.eq(e.progress()["store"]["found"], len(pages) - 1, "the rest came from the store")
        t.eq(e.unmount(), 0, "unmount the fifth mount")

        # ---- kill -9 of a host running generations
        base = len(starts(counter))
        os.unlink(gate)
        holders = []
        for p in pages:
            th = threading.Thread(target=read_errno, args=(a.path("team", "two", p),),
                                  daemon=True)
            th.start()
            holders.append(th)
        t.until(lambda: len(per_page(counter, "team/two")) == 4, 30,
                "A runs 4 generations of team/two (its page_workers), held at the gate")
        in_flight = len(per_page(counter, "team/two"))
        running = pg.sql("SELECT count(*) FROM wikifs_jobs WHERE state = 'running'")
        t.eq(int(running), in_flight, "the store shows A's jobs running")
        res = {}

        def readers(ms):
            return [threading.Thread(target=lambda i=i, m=m, p=p: res.__setitem__(
                (i, p), read_errno(m.path("team", "two", p)) + (0,)))
                for p in pages for i, m in ms]

        rs = readers([(1, b), (2, c)])
        for th in rs:
            th.start()
        busy = min(len(pages), 12)
        t.until(lambda: len(starts(counter)) - base == busy, 30,
                f"B and C take the other jobs: {busy} generations at the gate in all")
        a.kill9()
        open(gate, "w").close()
        for th in rs:
            th.join(timeout=120)
        t.eq(torn(res), [], "after kill -9 of A, B and C read every page of team/two whole")
        counts = per_page(counter, "team/two")
        total = sum(counts.values())
        t.ok(total <= len(pages) + in_flight and len(counts) == len(pages),
             f"{total} generations for {len(pages)} pages: at most one more for each of "
             f"A's {in_flight} jobs in flight",
             [x for x in starts(counter) if x[0].startswith("team/two/")])
        t.eq(int(pg.sql("SELECT count(*) FROM wikifs_jobs WHERE state <> 'done'")), 0,
             "every job in the store is done")

        # ---- PostgreSQL stopped in the middle, then back
        first = pages[:3]
        res = read_all([b], "team/three", first)
        t.eq(torn(res), [], "B reads 3 pages of team/three with the store up")
        before = int(pg.sql("SELECT count(*) FROM wikifs_pages"))
        manifests = int(pg.sql("SELECT count(*) FROM wikifs_manifests"))
        since_stop = pg.sql("SELECT now()")

        pg.stop()
        rest = pages[3:]
        res = read_all([b, c], "team/three", rest)
        t.eq(torn(res), [], f"with PostgreSQL stopped, B and C read the other {len(rest)} "
             "pages whole")
        slowest = max(v[2] for v in res.values())
        t.ok(slowest < 30, f"no read hangs: the slowest took {slowest:.1f} s "
             "(open_timeout = 60)")
        t.until(lambda: all(store_state(m).get("state") == "unreachable" for m in (b, c)), 20,
                "progress.json says the store is unreachable on both mounts")
        with open(b.path(".wikifs", "progress")) as f:
            text = f.read()
        t.ok("unreachable" in text and "generating locally" in text,
             "and .wikifs/progress says the pages are made locally", text[:1500])
        t.until(lambda: "store: unreachable" in b.log(), 10, "the log says so")
        redo = first[0][:-3]
        b.control(f"retry team/three/{first[0]}")
        t.until(lambda: per_page(counter, "team/three").get(f"team/three/{redo}") == 2, 30,
                f"retry of {first[0]} with the store away: made again on B")
        pg.start()
        t.until(lambda: all(store_state(m).get("state") == "up" and
                            store_state(m).get("pending_uploads") == 0 for m in (b, c)), 30,
                "the store is back on both mounts, nothing left to upload",
                [store_state(m) for m in (b, c)])
        after = int(pg.sql("SELECT count(*) FROM wikifs_pages"))

        t.eq(after - before, len(rest), "the pages made meanwhile are in the store",
             [store_state(m) for m in (b, c)])
        t.ok(int(pg.sql("SELECT count(*) FROM wikifs_manifests")) - manifests >= len(rest),
             "with their manifests (another host can reuse them at a later commit)")
        sha = hashlib.sha256(page_body(redo)).hexdigest()
        t.eq(pg.sql(f"SELECT string_agg(host, ',') FROM wikifs_pages WHERE created > "
                    f"'{since_stop}' AND sha256 = decode('{sha}', 'hex')"),
             f"{socket.gethostname()}:{b.proc.pid}",
             "the page retried meanwhile replaced the store's copy when it came back")
        t.ok("reachable again" in b.log(), "the log says the store is back")

        # ---- a permanent failure on one host fails the job for every waiter, with its cause
        with open(fail_file, "w") as f:
            f.write("team/four/Home\n")
        os.unlink(gate)
        got = {}
        rb = threading.Thread(target=lambda: got.__setitem__("B", read_errno(
            b.path("team", "four", "Home.md"))))
        rb.start()
        t.until(lambda: per_page(counter, "team/four").get("team/four/Home") == 1, 30,
                "B generates team/four/Home (held at the gate)")
        parked = store_state(c).get("parked", 0)
        rc = threading.Thread(target=lambda: got.__setitem__("C", read_errno(
            c.path("team", "four", "Home.md"))))
        rc.start()
        t.until(lambda: store_state(c).get("parked", 0) > parked, 30,
                "C waits for B's job (parked)")
        open(gate, "w").close()
        rb.join(60)
        rc.join(60)
        t.eq((got.get("B", (None, 0))[1], got.get("C", (None, 0))[1]), (errno.EIO, errno.EIO),
             "both opens fail with EIO")
        cause = xattr(c.path("team", "four", "Home.md"), "error")
        t.ok("failed in the fleet" in cause and "127" in cause,
             "C's page tells the cause it heard from the fleet", cause)
        t.eq(per_page(counter, "team/four").get("team/four/Home"), 1,
             "made once in the fleet: C did not try again")

        # ---- a host whose budget is spent still reads what the fleet made
        fm = mount("F", max_calls=1)
        data, err = read_errno(fm.path("team", "four", "Architecture.md"))
        t.eq((err, data == page_body("Architecture")), (0, True),
             "a mount with max_calls = 1 makes one page")
        data, err = read_errno(fm.path("team", "one", "Home.md"))
        t.eq((err, data == page_body("Home")), (0, True),
             "with its budget spent, it reads a page the store has")
        t.eq(read_errno(fm.path("team", "four", "Build-and-Test.md"))[1], errno.EDQUOT,
             "but makes no other (EDQUOT)")
        t.eq(fm.unmount(), 0, "unmount it")

        # ---- a store unreachable at mount: the mount works, and says why
        dead_pw = "pw-dead-" + os.urandom(6).hex()
        dead = f"postgresql://wikifs:{dead_pw}@127.0.0.1:{free_port()}/postgres"
        d = mount("D", conninfo=dead)
        data, err = read_errno(d.path("team", "one", "Home.md"))
        t.eq((err, data == page_body("Home")), (0, True),
             "a mount whose store is unreachable at mount reads pages (made locally)")
        t.eq(store_state(d).get("state"), "unreachable", "and its progress says why",
             store_state(d))

        # ---- status, schema, prune
        st = run([WIKIFS, "status", b.dir], check=False)
        t.ok(st.returncode == 0 and "store:  postgresql host=127.0.0.1" in st.stdout and
             "pages," in st.stdout, "wikifs status shows the store and its size",
             st.stdout[:1500])
        conf = b.conf
        env_pg = dict(os.environ, WIKIFS_STORE=pg.conninfo())
        total = int(pg.sql("SELECT count(*) FROM wikifs_pages"))
        r = run([WIKIFS, "store", "status", "-c", conf], check=False, env=env_pg)
        t.ok(r.returncode == 0 and f"pages: {total}," in r.stdout,
             "wikifs store status counts the pages", r.stdout + r.stderr)
        pg.sql("UPDATE wikifs_meta SET value = '99' WHERE name = 'schema_version'")
        r = run([WIKIFS, "store", "init", "-c", conf], check=False, env=env_pg)
        t.ok(r.returncode == 1 and "schema version 99, newer than this wikifs" in r.stderr,
             "wikifs store init refuses a newer schema, saying so", r.stderr)
        pg.sql("UPDATE wikifs_meta SET value = '1' WHERE name = 'schema_version'")
        r = run([WIKIFS, "store", "prune", "--older-than", "0", "-c", conf], check=False,
                env=env_pg)
        t.ok(r.returncode == 0 and f"removed {total} pages" in r.stdout,
             "wikifs store prune --older-than 0 removes every page", r.stdout + r.stderr)
        t.eq(pg.sql("SELECT count(*) FROM wikifs_pages"), "0", "the store is empty")

        # ---- the password shows nowhere
        secrets_ = [pg.password, dead_pw]
        shown = []
        for m in (b, c, d):
            for name in ("progress", "progress.json", "errors"):
                with open(m.path(".wikifs", name)) as f:
                    shown += [f"{m.dir}/.wikifs/{name}" for s in secrets_ if s in f.read()]
            with open(f"/proc/{m.proc.pid}/cmdline", "rb") as f:
                shown += [f"cmdline of {m.proc.pid}" for s in secrets_ if s.encode() in f.read()]
            with open(f"/proc/{m.proc.pid}/environ", "rb") as f:
                shown += [f"environ of {m.proc.pid}" for s in secrets_ if s.encode() in f.read()]
        for m in (a, b, c, d, e, fm):
            shown += [f"log of {m.dir}" for s in secrets_ if s in m.log()]
        shown += ["wikifs status" for s in secrets_ if s in st.stdout + st.stderr]
        with open(env_file) as f:
            shown += ["a generator's environment" for s in secrets_ if s in f.read()]
        t.eq(shown, [], "the password is in no log, progress file, errors file, status "
             "output, process title, daemon's or generator command's environment")
        for m in (b, c, d):
            t.eq(m.unmount(), 0, f"unmount {os.path.basename(m.dir)}")
finally:
    pg.destroy()
t.done()
