"""Issue 10: a storm against a real mount.

64 threads of open/read, mmap, stat, getxattr and readdir, plus control
writes of prefetch, cancel, retry and refresh (of a page, a repository and
"/"), while commits land upstream so that refreshes move the pages to new
commits, against a generator that fails 30 % of the time and hangs 5 %.

Every page the generator writes ends with a checksum line of what precedes
it, so a read that returns a truncated, torn or mixed page is caught. The
storm must end with a clean unmount (exit 0), no sanitizer report in the
daemon's log, and no generator process left behind.

WIKIFS_STORM_SECONDS sets the length (default 20 for CI; 120 in TESTING.md).
"""
import hashlib
import mmap
import random
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

SECONDS = float(os.environ.get("WIKIFS_STORM_SECONDS", "20"))
THREADS = 64
# what a reader may see besides the page: a failed page, a deadline, a page
# that a refresh removed, a budget or a full queue; never ENOTCONN (the daemon
# died) or anything else
ALLOWED = {errno.EIO, errno.ETIMEDOUT, errno.ENOENT, errno.EAGAIN, errno.EINTR}


def module_files(n):
    files = {"README.md": "# Storm\n\nA repository for the storm test.\n",
             "Makefile": "all:\n\tcc -o storm src0/a.c\n"}
    for i in range(n):
        files[f"src{i}/a.c"] = f"int f{i}(void)\n{{\n\treturn {i};\n}}\n"
        files[f"src{i}/b.h"] = f"int f{i}(void);\n"
    return files


def generator_script(env, pids):
    # 30 % fail, 5 % hang (killed at the generator timeout), else a page whose
    # last line is the md5 of every line before it. Its length changes with
    # (page, commit) and at random with every attempt: a retry at one commit
    # regenerates it at another length under its readers, whose descriptors
    # must keep their own size and bytes (a new inode for the new version)
    return write_script(env, "storm-gen.sh", f"""
cat >/dev/null
echo $$ > {pids}/$$
r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
r=$((r % 100))
if [ $r -lt 30 ]; then echo "storm: injected failure" >&2; exit 1; fi
if [ $r -lt 35 ]; then sleep 1000 & echo $! > {pids}/$!; wait; exit 1; fi
n=$(( $(printf '%s %s' "$WIKIFS_PAGE" "$WIKIFS_COMMIT" | cksum | cut -d' ' -f1) % 400 + 1 ))
n=$(( n + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 200 ))
body=$(printf '# %s at %s\\n' "$WIKIFS_PAGE" "$WIKIFS_COMMIT"; seq 1 $n | sed 's/^/line /')
printf '%s\\n' "$body"
printf '%s\\n' "$body" | md5sum | sed 's/ .*//; s/^/end /'
""")


def check_page(data):
    """None if data is a whole page as the generator wrote it, else why not."""
    if not data.endswith(b"\n"):
        return "no final newline"
    body, _, last = data[:-1].rpartition(b"\n")
    if not last.startswith(b"end "):
        return f"no checksum line (ends {data[-40:]!r})"
    want = hashlib.md5(body + b"\n").hexdigest().encode()
    if last[4:] != want:
        return "checksum mismatch"
    return None


class Storm:
    def __init__(self, m, repos):
        self.m = m
        self.repos = repos
        self.pages = {r: sorted(os.listdir(m.path(r))) for r in repos}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.bad = []

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, what):
        with self.lock:
            if len(self.bad) < 50:
                self.bad.append(what)

    def page(self, rng):
        repo = rng.choice(self.repos)
        return repo, self.m.path(repo, rng.choice(self.pages[repo]))

    def op_read(self, rng):
        _, path = self.page(rng)
        try:
            with open(path, "rb") as f:
                data = b""
                while True:
                    chunk = f.read(rng.choice((1, 100, 4096, 65536)))
                    if not chunk:
                        break
                    data += chunk
                size = os.fstat(f.fileno()).st_size
        except OSError as e:
            self.errno_seen(e, "read", path)
            return
        why = check_page(data)
        if why:
            self.fail(f"read {path}: {why}")
        elif size != len(data):
            self.fail(f"read {path}: fstat says {size}, read {len(data)}")
        self.count("read ok")

    def op_mmap(self, rng):
        _, path = self.page(rng)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    self.fail(f"mmap {path}: an open page has size 0")
                    return
                with mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ) as mm:
                    data = mm[:]
        except OSError as e:
            self.errno_seen(e, "mmap", path)
            return
        why = check_page(data)
        if why:
            self.fail(f"mmap {path}: {why}")
        self.count("mmap ok")

    def op_stat(self, rng):
        _, path = self.page(rng)
        try:
            os.stat(path)
            self.count("stat")
        except OSError as e:
            self.errno_seen(e, "stat", path)

    def op_xattr(self, rng):
        _, path = self.page(rng)
        name = rng.choice(("state", "commit", "error", "backend"))
        try:
            os.getxattr(path, "user.wikifs." + name)
            self.count("getxattr")
        except OSError as e:
            if e.errno != errno.ENODATA:
                self.errno_seen(e, "getxattr", path)

    def op_readdir(self, rng):
        repo = rng.choice(self.repos)
        try:
            names = os.listdir(self.m.path(repo))
            if "Home.md" not in names:
                self.fail(f"readdir {repo}: no Home.md in {names}")
            self.count("readdir")
        except OSError as e:
            self.errno_seen(e, "readdir", repo)

    def op_control(self, rng):
        repo, path = self.page(rng)
        page = os.path.relpath(path, self.m.dir)
        cmd = rng.choice((f"prefetch {repo}", f"cancel {repo}", f"retry {page}",
                          f"refresh {repo}", f"prefetch {page}", f"cancel {page}",
                          "prefetch /", "cancel /", "retry /", "refresh /"))
        try:
            self.m.control(cmd)
            self.count("control ok")
        except OSError as e:
            # a control command may be refused (a failed repository, say);
            # a dead daemon may not
            if e.errno == errno.ENOTCONN:
                self.fail(f"control {cmd!r}: {e}")
            self.count("control refused")

    def errno_seen(self, e, op, path):
        if e.errno in ALLOWED:
            self.count(f"{op} {errno.errorcode.get(e.errno, e.errno)}")
        else:
            self.fail(f"{op} {path}: {e}")

    def worker(self, seed):
        rng = random.Random(seed)
        ops = [(self.op_read, 40), (self.op_mmap, 15), (self.op_stat, 15), (self.op_xattr, 10),
               (self.op_readdir, 10), (self.op_control, 10)]
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        while not self.stop.is_set():
            rng.choices(funcs, weights)[0](rng)


def alive(pid, marker):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return marker in cmd


def main():
    t = Tap()
    if not fuse_available():
        t.skip_all("FUSE is not available")
    with Env() as env:
        upstream = env.make_repo("storm", module_files(6))
        other = env.make_repo("calm", module_files(3))
        daemon = env.git_daemon()
        pids = os.path.join(env.root, "pids")
        os.makedirs(pids)
        gen = generator_script(env, pids)
        m = env.mount({"storm/a": daemon.url("storm.git"), "storm/b": daemon.url("calm.git")},
                      options={"refresh_interval": 0, "page_workers": 4, "retries": 2,
                               "failure_backoff": 1, "open_timeout": 30},
                      generator={"backend": "command", "command": gen, "timeout": 2})
        storm = Storm(m, ["storm/a", "storm/b"])
        t.ok(all(len(p) >= 5 for p in storm.pages.values()), "both repositories list pages",
             storm.pages)

        threads = [threading.Thread(target=storm.worker, args=(i,)) for i in range(THREADS)]
        for th in threads:
            th.start()
        end = time.monotonic() + SECONDS
        commits = 0
        while time.monotonic() < end:
            # upstream moves: the next refresh changes every page's commit
            env.add_commit(upstream, {f"src{commits % 6}/a.c": f"int v{commits};\n"},
                           message=f"storm {commits}")
            commits += 1
            storm.stop.wait(min(2.0, max(0.0, end - time.monotonic())))
        storm.stop.set()
        for th in threads:
            th.join(timeout=120)
        t.ok(not any(th.is_alive() for th in threads), "every storm thread finished")
        t.diag(f"{SECONDS:.0f}s, {commits} upstream commits: " +
               ", ".join(f"{k} {v}" for k, v in sorted(storm.counts.items())))
        t.ok(not storm.bad, "no reader saw a torn page, a wrong size or a dead mount",
             "\n".join(storm.bad))
        t.ok(storm.counts.get("read ok", 0) > 0 and storm.counts.get("mmap ok", 0) > 0,
             "pages were read whole by read() and by mmap()")
        daemon_pid = m.proc.pid
        t.eq(m.unmount(timeout=60), 0, "fusermount3 -u after the storm: the daemon exits 0")
        t.eq(m.sanitizer_reports(), [], "no sanitizer report in the daemon's log")
        left = [p for p in map(int, os.listdir(pids)) if alive(p, b"sleep") or
                alive(p, b"storm-gen")]
        t.eq(left, [], f"no generator process of daemon {daemon_pid} is left")
    t.done()


main()
