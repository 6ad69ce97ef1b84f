#!/usr/bin/env python3
"""Issue 10, items 1, 4, 9 and 12 on real mounts:

 1. `cancel` racing opens: prefetch/cancel in a loop while threads open
    pages of a slow generator; the daemon must survive (ASan build: no
    report) and the queue must stay whole (every page can still be made).
 4. A page is per repository: two [repo] sections of one URL get pages that
    each name their own repository, one cache entry each; and single-flight
    is per key, even for two page objects of one key (a refresh that went to
    another commit and back while a job of the first was in flight).
 9. `wikifs prefetch` ends once every page is ready or failed in this run,
    even when a failure's failure_backoff passes before the rest is done,
    and says how many failed.
12. Control paths: "/" is the whole mount for prefetch, cancel, retry and
    refresh; a refresh of a repository that is syncing is coalesced (one
    more fetch afterwards), not EBUSY.

WIKIFS_RACE_SECONDS (default 20) bounds the race of item 1.
"""
import random
import socket
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

RACE_SECONDS = float(os.environ.get("WIKIFS_RACE_SECONDS", "20"))


def repo_row(m, name):
    return [r for r in m.progress()["repos"] if r["name"] == name][0]


def pages_of(m, repo):
    return sorted(os.listdir(m.path(*repo.split("/"))))


def waited(fn, timeout, what):
    """wait_until as a truth value, for a condition the test asserts."""
    try:
        return wait_until(fn, timeout, what=what)
    except TimeoutError:
        return False


def prefetch(path, timeout):
    """Runs wikifs prefetch PATH: (exit status or None if it did not end, output)."""
    p = subprocess.Popen([WIKIFS, "prefetch", path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        return p.wait(timeout), p.stdout.read()
    except subprocess.TimeoutExpired:
        p.kill()
        return None, p.communicate()[0]


OPENAT = {"x86_64": 257, "aarch64": 56}.get(os.uname().machine)


def parked_in_open(pid):
    """True if @pid sits in openat(2) (a FUSE open the daemon has parked)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] == str(OPENAT)
    except (OSError, IndexError):
        return False


def stays_parked(pid):
    """Parked on five looks 50 ms apart: not just passing through a lookup."""
    for _ in range(5):
        if not parked_in_open(pid):
            return False
        time.sleep(0.05)  # spacing the looks
    return True


def control_errno(m, line):
    """Writes one command; 0 or the errno the write failed with."""
    try:
        m.control(line)
        return 0
    except OSError as e:
        return e.errno


class GatedProxy(TcpProxy):
    """TCP proxy to 127.0.0.1:port. While the gate is shut the server's
    bytes are held back (the client's still reach the server), so a fetch
    begun then waits with the refs the server advertised when it began."""

    def __init__(self, port):
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0
        super().__init__(port)

    def _pipe(self, a, b, gated):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                if gated and not self.gate.is_set():
                    self.held += 1
                    self.gate.wait()
                    self.held -= 1
                b.sendall(data)
        except OSError:
            pass
        self._shutdown(a, b)

    def stop(self):
        self.gate.set()
        self.sock.close()


with Env() as env:
    daemon = env.git_daemon()
    bare = env.make_repo("alpha", sample_files())
    first = git(["rev-parse", "HEAD"], bare).stdout.strip()

    # ---- 1. cancel racing opens
    # A slow generator (failing while fail-flag exists, failure_backoff 0, so
    # pages stay absent and keep being queued), prefetch+cancel of the whole
    # mount in a loop, and opener processes. Each opener is poked with a
    # signal every millisecond: the kernel interrupts its parked open, the
    # daemon answers EINTR, and the opener goes on to another page, so each
    # makes many opens, each promoting a queued prefetch job, the call that
    # found the job cancel had just taken out of the queue.
    env.cache = os.path.join(env.root, "cache-race")
    flag = os.path.join(env.root, "fail-flag")
    open(flag, "w").close()
    gen = write_script(env, "racegen.sh", f"cat >/dev/null; if [ -e {flag} ]; then sleep 0.2; "
                       "echo 'not yet' >&2; exit 1; fi; echo \"# $WIKIFS_REPO $WIKIFS_PAGE\"\n")
    repos = {f"acme/r{i}": daemon.url("alpha.git") for i in range(3)}
    m = env.mount(repos, options={"refresh_interval": 0, "page_workers": 1,
                                  "repo_page_workers": 1, "retries": 1, "failure_backoff": 0,
                                  "open_timeout": 2},
                  generator={"backend": "command", "command": gen})
    pages = [m.path(r, p) for r in repos for p in pages_of(m, r)]
    began = time.monotonic()
    stop = began + RACE_SECONDS
    counts = {"commands": 0, "pokes": 0}

    class Poked(Exception):
        pass

    def opener(seed):
        """A forked process opening random pages until stop. A poke while
        it waits in open raises Poked: it moves on to another page."""
        pid = os.fork()
        if pid:
            return pid
        armed = [False]

        def poked(*a):
            if armed[0]:  # only inside the try below, once per open
                armed[0] = False
                raise Poked()

        try:
            signal.signal(signal.SIGUSR1, poked)
            rnd = random.Random(seed)
            while time.monotonic() < stop:
                try:
                    armed[0] = True
                    fd = os.open(rnd.choice(pages), os.O_RDONLY)
                    armed[0] = False
                    os.close(fd)
                except (OSError, Poked):
                    armed[0] = False
        finally:
            os._exit(0)  # never unwind into the parent's Env

    def alive():
        return m.proc.poll() is None and time.monotonic() < stop

    def commander():
        while alive():
            for line in ("prefetch .", "cancel ."):
                control_errno(m, line)
                counts["commands"] += 1

    openers = [opener(i) for i in range(6)]
    cmd = threading.Thread(target=commander)
    cmd.start()
    while alive():
        for pid in openers:
            try:
                os.kill(pid, signal.SIGUSR1)
                counts["pokes"] += 1
            except OSError:
                pass
        time.sleep(0.001)  # the poking pace, not a wait for a condition
    died = m.proc.poll() is not None
    lasted = time.monotonic() - began
    if died:  # parked opens of a dead daemon: unblock them
        run(["fusermount3", "-uz", m.dir], check=False)
    cmd.join()
    for pid in openers:
        os.waitpid(pid, 0)
    t.diag(f"{counts['commands']} commands, {counts['pokes']} pokes in "
           f"{lasted:.1f} s")
    t.ok(not died, "the daemon survives prefetch/cancel racing opens",
         "\n".join(m.log().splitlines()[-20:]))
    t.eq(m.sanitizer_reports(), [], "no sanitizer report from the race")
    if not died:
        os.unlink(flag)
        m.control("cancel .")
        wait_until(lambda: m.progress()["pages"]["running"] == 0, 20, what="the queue to drain")
        code, out = prefetch(m.dir, 120)
        rows = [repo_row(m, name) for name in repos]
        t.ok(code == 0 and all(x["ready"] == x["pages"] for x in rows),
             "afterwards the queue is whole: a prefetch makes every page",
             out[-400:] + json.dumps(rows))
        t.eq(m.unmount(), 0, "unmount")

    # ---- 4. page identity includes the repository
    env.cache = os.path.join(env.root, "cache-identity")
    m = env.mount({"acme/one": daemon.url("alpha.git"), "acme/two": daemon.url("alpha.git")},
                  options={"refresh_interval": 0})
    one, _ = read_errno(m.path("acme", "one", "Home.md"))
    two, _ = read_errno(m.path("acme", "two", "Home.md"))
    t.ok(one and b"`acme/one`" in one and b"acme/two" not in one,
         "two [repo] sections of one URL: the first's Home names the first", one[:300])
    t.ok(two and b"`acme/two`" in two and b"acme/one" not in two,
         "and the second's names the second, not the first", two[:300])
    t.eq(m.unmount(), 0, "unmount")

    env.cache = os.path.join(env.root, "cache-many")
    calls = os.path.join(env.root, "many-calls")
    gen = write_script(env, "manygen.sh", f"cat >/dev/null; echo \"$WIKIFS_REPO $WIKIFS_PAGE\" "
                       f">> {calls}; echo \"# $WIKIFS_REPO $WIKIFS_PAGE\"\n")
    many = {f"same/r{i:02d}": daemon.url("alpha.git") for i in range(24)}
    m = env.mount(many, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": gen})
    code, out = prefetch(m.dir, 300)
    t.eq(code, 0, "24 repositories of one URL prefetch", out[-400:])
    with open(calls) as f:
        made = f.read().splitlines()
    want = {f"{name} {p[:-3]}" for name in many for p in pages_of(m, name)}
    dup = sorted({x for x in made if made.count(x) > 1})
    t.ok(set(made) == want and not dup,
         f"each of the {len(want)} pages generated exactly once ({len(made)} generations)",
         f"missing {sorted(want - set(made))[:5]}, twice {dup[:5]}")
    wrong = []
    for name in many:
        for p in pages_of(m, name):
            data, err = read_errno(m.path(*name.split("/"), p))
            if data != f"# {name} {p[:-3]}\n".encode():
                wrong.append((name, p, data))
    t.eq(wrong[:3], [], "every page holds its own repository's text")
    t.eq(m.progress()["cache"]["entries"], 2 * len(want),
         "one cache entry per page, and one manifest each")
    t.eq(m.unmount(), 0, "unmount")

    # single-flight per key: a refresh goes to another commit and back to the
    # first while a job of the first is generating; the page of the new
    # array has the key of the old one and must join its job
    env.cache = os.path.join(env.root, "cache-flight")
    gate = os.path.join(env.root, "flight-gate")
    calls = os.path.join(env.root, "flight-calls")
    gen = write_script(env, "flightgen.sh", f"cat >/dev/null; echo \"$WIKIFS_COMMIT $WIKIFS_PAGE\""
                       f" >> {calls}; while [ ! -e {gate} ]; do sleep 0.05; done; "
                       "echo \"# $WIKIFS_PAGE at $WIKIFS_COMMIT\"\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "page_workers": 4, "repo_page_workers": 4},
                  generator={"backend": "command", "command": gen, "timeout": 120})
    home = m.path("acme", "alpha", "Home.md")
    readers = [subprocess.Popen(["cat", home], stdout=subprocess.PIPE)]
    wait_until(lambda: os.path.exists(calls), 20, what="the first generation")
    other = env.add_commit(bare, {"src/other.c": "int other;\n"})
    m.control("refresh acme/alpha")
    wait_until(lambda: xattr(home, "commit") == other, 30, what="refresh to the new commit")
    git(["update-ref", "refs/heads/main", first], bare)
    m.control("refresh acme/alpha")
    wait_until(lambda: xattr(home, "commit") == first, 30, what="refresh back to the first")
    t.eq(xattr(home, "state"), "generating",
         "back at the first commit, Home shows the job still generating its key")
    readers.append(subprocess.Popen(["cat", home], stdout=subprocess.PIPE))
    wait_until(lambda: stays_parked(readers[1].pid), 20, what="the second open parked")
    open(gate, "w").close()
    outs = [p.communicate(timeout=60)[0] for p in readers]
    want = f"# Home at {first}\n".encode()
    t.ok(all(o == want for o in outs), "both readers get the page of the first commit", outs)
    with open(calls) as f:
        made = f.read().splitlines()
    t.eq(made, [f"{first} Home"], "one generation for the key, not one per page object")
    t.eq(m.unmount(), 0, "unmount")

    # ---- 9. prefetch ends when every page is ready or failed once
    env.cache = os.path.join(env.root, "cache-prefetch-end")
    gate = os.path.join(env.root, "end-gate")
    gen = write_script(env, "endgen.sh", "cat >/dev/null; case \"$WIKIFS_PAGE\" in History) "
                       "echo 'history is broken' >&2; exit 1;; esac; "
                       f"while [ ! -e {gate} ]; do sleep 0.05; done; echo \"# $WIKIFS_PAGE\"\n")
    m = env.mount({"acme/alpha": daemon.url("alpha.git")},
                  options={"refresh_interval": 0, "retries": 1, "failure_backoff": 1,
                           "page_workers": 16, "repo_page_workers": 16},
                  generator={"backend": "command", "command": gen, "timeout": 120})
    total = len(pages_of(m, "acme/alpha"))
    history = m.path("acme", "alpha", "History.md")
    p = subprocess.Popen([WIKIFS, "prefetch", m.path("acme", "alpha")], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: "History.md: failed" in m.errors(), 20, what="History to fail")
    wait_until(lambda: xattr(history, "state") == "absent", 20, what="its backoff to pass")
    t.ok(True, "History failed, and after failure_backoff it is absent again")
    open(gate, "w").close()
    try:
        code = p.wait(60)
        out = p.stdout.read()
    except subprocess.TimeoutExpired:
        p.kill()
        out, code = p.communicate()[0], None
    t.eq(code, 1, "wikifs prefetch ends (status 1: a page failed) instead of waiting "
         "for a page nothing retries", out[-500:])
    t.ok(f"1 of {total} pages failed" in out, "it says how many failed", out[-500:])
    t.eq(repo_row(m, "acme/alpha")["ready"], total - 1, "every other page is ready")
    t.eq(repo_row(m, "acme/alpha").get("last_failed"), 1,
         "progress.json counts the failure until the page is tried again")
    t.eq(m.unmount(), 0, "unmount")

    # ---- 12. "/" is the whole mount; refresh while syncing is coalesced
    env.cache = os.path.join(env.root, "cache-paths")
    bare2 = env.make_repo("beta", sample_files())
    gate = os.path.join(env.root, "paths-gate")
    gen = write_script(env, "pathsgen.sh", f"cat >/dev/null; while [ ! -e {gate} ]; do "
                       "sleep 0.05; done; echo \"# $WIKIFS_PAGE\"\n")
    two = {"acme/alpha": daemon.url("alpha.git"), "other/beta": daemon.url("beta.git")}
    m = env.mount(two, options={"refresh_interval": 0, "page_workers": 1,
                                "repo_page_workers": 1},
                  generator={"backend": "command", "command": gen, "timeout": 120})
    for name in two:
        pages_of(m, name)  # cloned and planned
    t.eq(control_errno(m, "prefetch /"), 0, "prefetch / is accepted")
    rows = [repo_row(m, name) for name in two]
    t.ok(all(x["queued"] + x["running"] == x["pages"] for x in rows),
         "and queues every page of every repository", rows)
    t.eq(control_errno(m, "cancel /"), 0, "cancel / is accepted")
    rows = [repo_row(m, name) for name in two]
    t.ok(all(x["queued"] == 0 for x in rows), "and drops every queued job", rows)
    t.eq(control_errno(m, "retry /"), 0, "retry / is accepted")
    heads = {name: env.add_commit(b, {"NEWS": "news\n"}) for name, b in
             (("acme/alpha", bare), ("other/beta", bare2))}
    t.eq(control_errno(m, "refresh /"), 0, "refresh / is accepted")
    t.ok(all(waited(lambda: repo_row(m, name)["commit"] == head, 30, f"{name} refreshed")
             for name, head in heads.items()), "and fetches every repository")
    open(gate, "w").close()
    t.eq(m.unmount(), 0, "unmount")

    env.cache = os.path.join(env.root, "cache-coalesce")
    proxy = GatedProxy(daemon.port)
    env.servers.append(proxy)
    m = env.mount({"acme/alpha": proxy.url("alpha.git")}, options={"refresh_interval": 0})
    home = m.path("acme", "alpha", "Home.md")
    start = xattr(home, "commit")
    proxy.gate.clear()
    mid = env.add_commit(bare, {"NEWS": "mid\n"})
    m.control("refresh acme/alpha")
    wait_until(lambda: proxy.held >= 1, 20, what="the fetch held at the proxy")
    last = env.add_commit(bare, {"NEWS": "last\n"})  # after the held fetch saw the refs
    t.eq(control_errno(m, "refresh acme/alpha"), 0,
         "a refresh of a repository already fetching is accepted, not EBUSY")
    t.eq(control_errno(m, "refresh acme/alpha"), 0, "and so is a third")
    proxy.gate.set()
    t.ok(waited(lambda: xattr(home, "commit") == last, 30, "the coalesced fetch") and
         start != mid != last, "the refresh asked during a fetch fetched again afterwards: "
         "the commit pushed during the first fetch is shown", xattr(home, "commit"))
    t.ok("EBUSY" not in m.errors() and "already syncing" not in m.errors(),
         "no error was recorded", m.errors())
    t.eq(m.unmount(), 0, "unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports")

t.done()
