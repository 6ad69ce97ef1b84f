"""Test harness for wikifs integration tests: real mounts, a real git daemon,
real tools. Python standard library only. Tests print TAP.

A test file does:

    from harness import *
    t = Tap()
    with Env() as env:
        repo = env.make_repo("a", {"README.md": "# A\n", "src/a.c": "int a;\n"})
        with env.mount({"wikifs/a": repo}) as m:
            t.ok(...)
    t.done()

WIKIFS (the daemon binary) comes from the environment (meson sets it).
"""
import contextlib
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WIKIFS = os.environ.get("WIKIFS", "")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "WARNING: ThreadSanitizer",
                   "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


class Tap:
    current = None  # the test's Tap, for the checks Env makes at its end

    def __init__(self):
        self.n = 0
        self.failed = 0
        Tap.current = self

    def ok(self, cond, msg, detail=None):
        self.n += 1
        print(("ok" if cond else "not ok") + f" {self.n} - {msg}", flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                for line in str(detail).splitlines()[:40]:
                    print(f"#   {line}", flush=True)
        return cond

    def eq(self, got, want, msg, detail=None):
        extra = f"\n{detail}" if detail is not None else ""
        return self.ok(got == want, msg, f"got {got!r}, want {want!r}{extra}")

    def until(self, fn, timeout, msg, detail=None):
        """ok() of whether fn() becomes true within timeout seconds."""
        try:
            return self.ok(wait_until(fn, timeout, what=msg), msg, detail)
        except TimeoutError as e:
            return self.ok(False, msg, f"{e}" + (f"\n{detail}" if detail is not None else ""))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print(f"# {line}", flush=True)

    def skip_all(self, why):
        print(f"1..0 # SKIP {why}", flush=True)
        sys.exit(0)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


def wait_until(fn, timeout, interval=0.02, what="condition"):
    """Polls fn() until it returns a true value or timeout seconds pass."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(cmd, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd!r} failed ({r.returncode}): {r.stderr}")
    return r


GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Ada Lovelace", GIT_AUTHOR_EMAIL="ada@example.org",
               GIT_COMMITTER_NAME="Ada Lovelace", GIT_COMMITTER_EMAIL="ada@example.org",
               GIT_AUTHOR_DATE="2024-01-02T03:04:05Z", GIT_COMMITTER_DATE="2024-01-02T03:04:05Z")


def git(args, cwd, env=None):
    return run(["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"]
               + args, cwd=cwd, env=env or GIT_ENV)


def mounted(path):
    """The fuse type mounted at path, from mountinfo (whose mount points escape
    space, tab, newline and backslash as \\ooo), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            point = re.sub(r"\\([0-3][0-7]{2})", lambda m: chr(int(m.group(1), 8)), parts[4])
            if point == path and parts[sep + 1].startswith("fuse"):
                return parts[sep + 1]
    return None


def fuse_available():
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        return False
    return os.access("/dev/fuse", os.R_OK | os.W_OK)


class GitDaemon:
    """git daemon on 127.0.0.1 serving every repository below base."""

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=upload-pack",
             f"--base-path={base}", "--listen=127.0.0.1", f"--port={self.port}", base],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._accepts, 10, what="git daemon")

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def url(self, name):
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


class StalledServer:
    """Accepts TCP connections and never answers (a stalled git server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            c.close()


class TcpProxy:
    """TCP proxy from a loopback port to 127.0.0.1:@port. A subclass defines
    _pipe(src, dst, down), which copies src to dst (down: the server-to-client
    direction) and then calls _shutdown(src, dst); it sets its own fields
    before calling this constructor, which starts accepting."""

    def __init__(self, port):
        self.target = port
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _shutdown(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            u = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def url(self, name):
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.sock.close()


class Mount:
    def __init__(self, env, repos, options, generator, foreground=True, extra="", prefix="mnt-",
                 wrap=()):
        self.env = env
        self.wrap = list(wrap)  # a command the daemon runs under (/usr/bin/time -v ...)
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=env.root)
        self.conf = os.path.join(env.root, f"mount-{os.path.basename(self.dir)}.conf")
        self.stderr_path = self.conf + ".stderr"
        options = dict({"cache_dir": env.cache}, **options)
        lines = ["[wikifs]"] + [f"{k} = {v}" for k, v in options.items()]
        lines += ["", "[generator]"]
        lines += [f"{k} = {v}" for k, v in generator.items()]
        for name, spec in repos.items():
            url, ref = (spec, None) if isinstance(spec, str) else spec
            lines += ["", f"[repo {name}]", f"url = {url}"]
            if ref:
                lines.append(f"ref = {ref}")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        self.proc = None
        self.foreground = foreground

    def start(self, expect_ok=True, timeout=20):
        self.stderr = open(self.stderr_path, "ab")
        args = [WIKIFS, "-c", self.conf, self.dir]
        if self.foreground:
            args.insert(1, "-f")
        args = self.wrap + args
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     start_new_session=True)
        if expect_ok:
            wait_until(lambda: mounted(self.dir) or self.proc.poll() is not None, timeout,
                       what="mount")
            if not mounted(self.dir):
                raise RuntimeError(f"mount failed: {self.log()}")
        return self

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        return [l for l in self.log().splitlines() if any(m in l for m in SANITIZER_MARKS)]

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def progress(self):
        with open(self.path(".wikifs", "progress.json")) as f:
            return json.load(f)

    def errors(self):
        with open(self.path(".wikifs", "errors")) as f:
            return f.read()

    def control(self, line):
        with open(self.path(".wikifs", "control"), "w") as f:
            f.write(line + "\n")

    def unmount(self, timeout=20):
        """fusermount3 -u, then the daemon must exit 0 by itself."""
        r = run(["fusermount3", "-u", self.dir], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"fusermount3 -u failed: {r.stderr}")
        if self.proc:
            code = self.proc.wait(timeout=timeout)
            self.proc = None
            self.stderr.close()
            return code
        return 0

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        self.stderr.close()
        run(["fusermount3", "-uz", self.dir], check=False)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            run(["fusermount3", "-uz", self.dir], check=False)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        elif mounted(self.dir):
            run(["fusermount3", "-uz", self.dir], check=False)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()


class Env:
    """A temporary world: repositories, a cache directory, mounts, servers."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="wikifs-test-")
        self.cache = os.path.join(self.root, "cache")
        self.repos = os.path.join(self.root, "repos")
        os.makedirs(self.repos)
        self.mounts = []
        self.servers = []

    def make_repo(self, name, files, commits=1, bare=True):
        """A repository with @files (path -> str|bytes) in @commits commits; returns its path."""
        work = os.path.join(self.root, "work", name)
        os.makedirs(work)
        git(["init", "-q"], work)
        items = sorted(files.items())
        for c in range(commits):
            chunk = items[c::commits] if commits > 1 else items
            for path, data in chunk:
                full = os.path.join(work, path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as f:
                    f.write(data.encode() if isinstance(data, str) else data)
            git(["add", "-A"], work)
            git(["commit", "-q", "--allow-empty", "-m", f"commit {c + 1} of {name}"], work)
        if not bare:
            return work
        dest = os.path.join(self.repos, name + ".git")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        git(["clone", "-q", "--bare", work, dest], self.root)
        return dest

    def add_commit(self, bare, files, message="more"):
        work = os.path.join(self.root, "upd-" + str(random.randrange(1 << 30)))
        git(["clone", "-q", bare, work], self.root)
        for path, data in files.items():
            full = os.path.join(work, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(data)
        git(["add", "-A"], work)
        git(["commit", "-q", "-m", message], work)
        git(["push", "-q", "origin", "HEAD"], work)
        return git(["rev-parse", "HEAD"], work).stdout.strip()

    def git_daemon(self):
        d = GitDaemon(self.repos)
        self.servers.append(d)
        return d

    def stalled_server(self):
        s = StalledServer()
        self.servers.append(s)
        return s

    def mount(self, repos, options=None, generator=None, start=True, **kw):
        m = Mount(self, repos, options or {}, generator or {}, **kw)
        self.mounts.append(m)
        return m.start() if start else m

    def __enter__(self):
        return self

    def __exit__(self, *a):
        for m in self.mounts:
            m.cleanup()
        for s in self.servers:
            s.stop()
        # a sanitizer report in any daemon this test started fails the test
        reports = [f"{os.path.basename(m.dir)}: {line}" for m in self.mounts
                   for line in m.sanitizer_reports()]
        if Tap.current and self.mounts:
            Tap.current.ok(not reports, f"no sanitizer report in the log of any of the "
                           f"{len(self.mounts)} daemons", "\n".join(reports))
        # keep every daemon's stderr for the post-mortem (build-logs in CI)
        keep = os.environ.get("WIKIFS_TEST_LOGS", "/tmp/wikifs-test-logs")
        dest = os.path.join(keep, os.path.basename(sys.argv[0]) + "-" + str(os.getpid()))
        for m in self.mounts:
            if os.path.exists(m.stderr_path):
                os.makedirs(dest, exist_ok=True)
                shutil.copy(m.stderr_path, dest)
        shutil.rmtree(self.root, ignore_errors=True)


def mount_with_env(env, repos, extra_env, options=None, **kw):
    """env.mount(...) with the daemon started under the environment variables
    @extra_env (a None value unsets one); the test's own environment is put
    back afterwards."""
    saved = {k: os.environ.get(k) for k in extra_env}

    def put(values):
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    put(extra_env)
    try:
        return env.mount(repos, options=options, **kw)
    finally:
        put(saved)


def grep_tree(root, needles):
    """The files under @root holding any of the strings @needles, as
    "path: needle" lines."""
    hits = []
    for d, _, fs in os.walk(root):
        for f in fs:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            hits += [f"{os.path.join(d, f)}: {n}" for n in needles if n.encode() in data]
    return hits


def children_of(pid):
    """PIDs whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except OSError:
            pass
    return out


def read_errno(path):
    """Opens and reads path; returns (data, 0) or (None, errno)."""
    try:
        with open(path, "rb") as f:
            return f.read(), 0
    except OSError as e:
        return None, e.errno


def read_rest(fd, chunk=4096):
    """What is left to read on descriptor fd, read in chunks."""
    parts = []
    while True:
        b = os.read(fd, chunk)
        if not b:
            return b"".join(parts)
        parts.append(b)


def listdir_errno(path):
    try:
        return sorted(os.listdir(path)), 0
    except OSError as e:
        return None, e.errno


def write_script(env, name, body):
    """An executable /bin/sh script in the test's directory; returns its path."""
    path = os.path.join(env.root, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def xattr(path, name):
    """The value of user.wikifs.NAME, or "" if absent."""
    return run(["getfattr", "--only-values", "-n", "user.wikifs." + name, path],
               check=False).stdout


def sample_files():
    """A small multi-language repository."""
    return {
        "README.md": "# Sample\n\nA sample project used by the wikifs tests.\n\nIt has modules.\n",
        "meson.build": "project('sample', 'c')\nexecutable('sample', 'src/main.c')\n",
        "src/main.c": '#include "util.h"\n\nint main(void)\n{\n\treturn util_add(1, 2);\n}\n',
        "src/util.h": "int util_add(int a, int b);\n",
        "src/util.c": '#include "util.h"\n\nint util_add(int a, int b)\n{\n\treturn a + b;\n}\n',
        "lib/helper.py": "import os\n\n\ndef helper():\n    return os.getcwd()\n\n\nclass Thing:\n    pass\n",
        "tests/test_main.py": "def test_ok():\n    assert True\n",
        "docs/guide.md": "# Guide\n",
    }


__all__ = [n for n in dir() if not n.startswith("_")] + ["errno", "os", "time", "json",
                                                           "subprocess", "signal", "threading"]
