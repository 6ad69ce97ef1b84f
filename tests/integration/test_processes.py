#!/usr/bin/env python3
"""Issue 10, items 8, 10 and 11 on real mounts.

Processes: a command generator whose script starts a grandchild that calls
setsid and ignores SIGTERM, and records its pid. That grandchild is gone
when the command exits, after `fusermount3 -u` during a generation, and
after `kill -9` of the daemon during a generation.

Model output: a fake LLM answering with terminal escapes (ESC, CSI, BEL, a
lone CR, C1 controls), with a NUL and with invalid UTF-8, and a command
writing the same: `cat` never prints ESC or any control character but
newline and tab; a NUL or invalid UTF-8 fails the page with a clear cause in
user.wikifs.error and .wikifs/errors.

Descriptors: the daemon raises its soft RLIMIT_NOFILE to the hard one; under
a hard limit of 64 with many concurrent generations, running out of
descriptors is retried until every page is made, and .wikifs/errors names
the cause."""
import re
import resource
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from relharness import FakeLLM  # noqa: E402

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")


def alive(pid):
    """True while pid runs (a zombie is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids_in(d):
    """pid files written by the generator scripts below: {name: pid}."""
    out = {}
    for name in os.listdir(d):
        if name.endswith(".pid"):
            with open(os.path.join(d, name)) as f:
                out[name] = int(f.read())
    return out


def both(pids):
    """Pages whose command and grandchild both recorded their pid."""
    return [n[:-7] for n in pids if n.endswith(".gc.pid") and n[:-7] + ".cmd.pid" in pids]


def all_gone(pids, timeout):
    try:
        wait_until(lambda: not any(alive(p) for p in pids), timeout, what="processes gone")
        return True
    except TimeoutError:
        return False


# A generator that starts a setsid'd grandchild ignoring SIGTERM (pid in
# PIDDIR/PAGE.gc.pid), records its own pid (PAGE.cmd.pid), then either
# writes the page and exits (MODE=exit) or never ends (MODE=hang).
GEN = r"""
cat >/dev/null
d=PIDDIR
setsid sh -c "trap '' TERM; echo \$\$ > $d/$WIKIFS_PAGE.gc.tmp; mv $d/$WIKIFS_PAGE.gc.tmp $d/$WIKIFS_PAGE.gc.pid; exec sleep 1000" </dev/null >/dev/null 2>&1 &
echo $$ > $d/$WIKIFS_PAGE.cmd.tmp; mv $d/$WIKIFS_PAGE.cmd.tmp $d/$WIKIFS_PAGE.cmd.pid
while [ ! -s $d/$WIKIFS_PAGE.gc.pid ]; do sleep 0.01; done
if [ MODE = exit ]; then printf '# %s\n\nmade by a command\n' "$WIKIFS_PAGE"; exit 0; fi
exec sleep 1000
"""


def generator(env, name, mode):
    d = os.path.join(env.root, name)
    os.makedirs(d)
    script = write_script(env, name + ".sh", GEN.replace("PIDDIR", d).replace("MODE", mode))
    return d, {"backend": "command", "command": script}


def two_generations(env, url, opts, name):
    """A mount with two hanging generations running; the pids of their processes."""
    d, gen = generator(env, name, "hang")
    m = env.mount({"o/a": url}, options=opts, generator=gen)
    m.control("prefetch o/a")
    wait_until(lambda: len(both(pids_in(d))) >= 2, 20,
               what="two generations with their grandchildren")
    pids = list(pids_in(d).values())
    t.ok(len(pids) >= 4 and all(alive(p) for p in pids),
         f"{len(pids)} processes of two running generations are alive", pids)
    return m, pids


def test_processes(env, url):
    opts = {"refresh_interval": 0, "page_workers": 2, "repo_page_workers": 2}

    # -- the command exits: what it left behind is ended with it
    env.cache = os.path.join(env.root, "cache-exit")
    d, gen = generator(env, "exit", "exit")
    m = env.mount({"o/a": url}, options=opts, generator=gen)
    data, err = read_errno(m.path("o", "a", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"), "the command's page reads", (err, data))
    gc = pids_in(d).get("Home.gc.pid")
    t.ok(gc and all_gone([gc], 10),
         f"the setsid'd grandchild (pid {gc}) that ignores SIGTERM is gone once the command "
         "exited")
    t.eq(m.unmount(), 0, "unmount")

    # -- fusermount3 -u during generations
    env.cache = os.path.join(env.root, "cache-umount")
    m, pids = two_generations(env, url, opts, "umount")
    t0 = time.monotonic()
    t.eq(m.unmount(), 0, "fusermount3 -u during generation: the daemon exits 0")
    t.ok(all_gone(pids, 10), f"after unmount no command or grandchild is left "
         f"({time.monotonic() - t0:.2f}s)", [p for p in pids if alive(p)])

    # -- kill -9 of the daemon during generations
    env.cache = os.path.join(env.root, "cache-kill")
    m, pids = two_generations(env, url, opts, "kill")
    t0 = time.monotonic()
    m.kill9()
    t.ok(all_gone(pids, 10), f"after kill -9 of the daemon no command or grandchild is left "
         f"({time.monotonic() - t0:.2f}s)", [p for p in pids if alive(p)])
    t.eq(m.sanitizer_reports(), [], "no sanitizer report")


# ---- model output ---------------------------------------------------------

ESC_PAGE = ("# Page\n\n\x1b[31mred\x1b[0m alert\x07 \x1b]0;pwned\x07 cr\rover \u009b2J "
            "crlf\r\nbidi \u202eevil\ttab\n")
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def cat(path):
    r = subprocess.run(["cat", path], capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def shows_clean(t, path, what):
    code, out, err = cat(path)
    t.ok(code == 0 and b"\x1b" not in out and not CONTROL.search(out)
         and out.decode("utf-8", "strict") is not None and b"red" in out
         and b"evil\ttab" in out and b"crlf\nbidi" in out,
         f"{what}: cat shows the page without ESC or any control but newline and tab",
         (code, out, err))


def fails_with(t, m, path, words, what):
    code, out, err = cat(path)
    cause = xattr(path, "error")
    errors = m.errors()
    t.ok(code != 0 and "Input/output error" in err and all(w in cause for w in words)
         and all(w in errors for w in words),
         f"{what}: open fails (EIO) and the cause is in user.wikifs.error and .wikifs/errors: "
         f"{cause!r}", (code, out, err, cause, errors))


def test_llm_output(env, url, fake, backend):
    env.cache = os.path.join(env.root, "cache-" + backend)
    m = env.mount({"o/a": url}, options={"refresh_interval": 0, "retries": 2},
                  generator={"backend": backend, "base_url": fake.base, "model": "m"})
    pages = sorted(p for p in os.listdir(m.path("o", "a")) if p != "_Sidebar.md")
    esc, nul, bad = (m.path("o", "a", p) for p in pages[:3])

    fake.reset()
    fake.script([{"mode": "content", "text": ESC_PAGE}])
    shows_clean(t, esc, f"{backend}: an answer with terminal escapes")

    fake.reset()
    fake.script([{"mode": "content", "text": "# Page\n\nbefore\x00after\n"}] * 2)
    fails_with(t, m, nul, ["NUL"], f"{backend}: an answer with a NUL (\\u0000)")
    t.eq(len(fake.requests()), 2, f"{backend}: the NUL answer was retried (2 attempts)")

    fake.reset()
    fake.script([{"mode": "content_bytes", "text": "# Page\n\nbad \x01 bytes\n",
                  "hex": b"\xff\xfe".hex()}] * 2)
    fails_with(t, m, bad, ["not valid UTF-8", "line 3"], f"{backend}: invalid UTF-8")
    t.eq(m.unmount(), 0, "unmount")


GEN_OUTPUT = r"""
cat >/dev/null
case "$WIKIFS_PAGE" in
Home) printf '# Home\n\n\033[31mred\033[0m alert\007 \033]0;pwned\007 cr\rover \302\2332J crlf\r\nbidi \342\200\256evil\ttab\n' ;;
Architecture) printf '# A\n\nbefore\000after\n' ;;
*) printf '# P\n\nbad \377\376 bytes\n' ;;
esac
"""


def test_command_output(env, url):
    env.cache = os.path.join(env.root, "cache-cmd-output")
    script = write_script(env, "output.sh", GEN_OUTPUT)
    m = env.mount({"o/a": url}, options={"refresh_interval": 0, "retries": 1},
                  generator={"backend": "command", "command": script})
    shows_clean(t, m.path("o", "a", "Home.md"), "command: a page with terminal escapes")
    fails_with(t, m, m.path("o", "a", "Architecture.md"), ["NUL byte", "line 3"],
               "command: a page with a NUL")
    other = [p for p in os.listdir(m.path("o", "a")) if p not in ("Home.md", "Architecture.md")]
    fails_with(t, m, m.path("o", "a", other[0]), ["not valid UTF-8", "line 3"],
               "command: a page with invalid UTF-8")
    t.eq(m.unmount(), 0, "unmount")


# ---- descriptors ------------------------------------------------------------

def limited(env, name, line):
    """A wrapper that runs the daemon under the shell line @line (ulimit); exec keeps the pid."""
    return write_script(env, name, f"{line}\nexec {WIKIFS} \"$@\"\n")


def open_files(pid):
    """(soft, hard) open files limit of pid, as /proc/PID/limits shows them."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return tuple(line.split()[3:5])
    return None


def test_descriptors(env, daemon):
    real = harness.WIKIFS
    repos = {}
    for i in range(3):
        env.make_repo(f"fd{i}", sample_files())
        repos[f"o/fd{i}"] = daemon.url(f"fd{i}.git")

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard > 256:
        env.cache = os.path.join(env.root, "cache-rlimit")
        harness.WIKIFS = limited(env, "soft.sh", "ulimit -Sn 256")
        m = env.mount({"o/fd0": repos["o/fd0"]}, options={"refresh_interval": 0})
        harness.WIKIFS = real
        lim = open_files(m.proc.pid)
        t.ok(lim and lim[0] == lim[1] and lim[0] != "256",
             f"started with a soft limit of 256, the daemon raised it to the hard one: {lim}")
        t.eq(m.unmount(), 0, "unmount")
    else:
        t.ok(True, f"# SKIP the hard limit ({hard}) leaves no room to raise a soft one")
        t.ok(True, "# SKIP unmount")

    # hard limit 64, 24 workers, 27 pages, each generation holding 4 descriptors
    env.cache = os.path.join(env.root, "cache-emfile")
    gen = write_script(env, "fd.sh", "cat >/dev/null; sleep 0.2; "
                       "printf '# %s\\n\\nmade with few descriptors\\n' \"$WIKIFS_PAGE\"\n")
    harness.WIKIFS = limited(env, "hard.sh", "ulimit -n 64")
    m = env.mount(repos, options={"refresh_interval": 0, "page_workers": 24,
                                  "repo_page_workers": 24, "retries": 2},
                  generator={"backend": "command", "command": gen})
    harness.WIKIFS = real
    t.eq(open_files(m.proc.pid), ("64", "64"), "the daemon runs with 64:64 open files")
    pages = {r: sorted(os.listdir(m.path(*r.split("/")))) for r in repos}
    total = sum(len(p) for p in pages.values())
    t0 = time.monotonic()
    for r in repos:
        m.control("prefetch " + r)

    def settled():
        p = m.progress()["pages"]
        return p["queued"] + p["running"] + p["retry_wait"] == 0 and p

    p = wait_until(settled, 120, what="every page generated or failed")
    t.ok(p["ready"] == total and p["failed"] == 0,
         f"all {total} pages made in {time.monotonic() - t0:.1f}s, none failed",
         (p, m.progress()["repos"], {r: [(n, xattr(m.path(*r.split("/"), n), "state"))
                                         for n in names] for r, names in pages.items()},
          m.errors()))
    errors = m.errors()
    shortages = errors.count("out of file descriptors")
    t.ok(shortages > 0 and "Too many open files" in errors and "failed after" not in errors,
         f"{shortages} attempts short of descriptors, each in .wikifs/errors with its cause, "
         "and retried", errors[:2000])
    bad = [f"{r}/{n}" for r, names in pages.items() for n in names
           if not (read_errno(m.path(*r.split("/"), n))[0] or b"").startswith(
               b"# " + n[:-3].encode())]
    t.eq(bad, [], "every page reads back whole")
    t.ok("open files limit 64 is low for page_workers = 24" in m.log(),
         "the log warns that the limit is low for the workers")
    t.eq(m.unmount(), 0, "unmount")

    # unmount while every descriptor is taken: each open page holds one in the daemon
    env.cache = os.path.join(env.root, "cache-emfile-umount")
    harness.WIKIFS = limited(env, "hard2.sh", "ulimit -n 64")
    m = env.mount({"o/fd0": repos["o/fd0"]}, options={"refresh_interval": 0})
    harness.WIKIFS = real
    home = m.path("o", "fd0", "Home.md")
    read_errno(home)
    fds = lambda: len(os.listdir(f"/proc/{m.proc.pid}/fd"))  # noqa: E731
    held, refused = [], 0
    while fds() < 64 and len(held) < 64 and refused < 20:
        try:
            held.append(open(home, "rb"))
        except OSError as e:
            # an open that needs a second descriptor for a moment (the entry
            # and its lock) fails once the daemon is one short: EIO
            if e.errno != errno.EIO:
                raise
            refused += 1
    t.ok(fds() >= 63, f"{len(held)} open pages: the daemon holds {fds()} of 64 descriptors "
         f"({refused} opens refused at the limit)")
    # SIGTERM: the daemon unmounts itself (libfuse cancels its workers first)
    m.proc.send_signal(signal.SIGTERM)
    code = m.proc.wait(timeout=30)
    m.proc = None
    for f in held:
        f.close()
    t.eq(code, 0, "SIGTERM with no descriptor left: the daemon unmounts and exits 0",
         m.log()[-1500:])
    t.ok(not mounted(m.dir), "and the mount is gone")
    t.eq(m.sanitizer_reports(), [], "no sanitizer report")


with Env() as env:
    daemon = env.git_daemon()
    bare = env.make_repo("a", sample_files())
    url = daemon.url("a.git")
    test_processes(env, url)
    fake = FakeLLM()
    env.servers.append(fake)
    test_llm_output(env, url, fake, "openai")
    test_llm_output(env, url, fake, "anthropic")
    test_command_output(env, url)
    test_descriptors(env, daemon)
t.done()
