"""Helpers shared by the reliability and security tests (issue 5): process
inspection, cache inspection, slow and hostile servers. Standard library
only; builds on harness.py."""
import json
import os
import sys
import socket
import threading
import time

from harness import TcpProxy, run, wait_until  # noqa: F401


def page_body(slug, lines=2000):
    """What the deterministic test generator (DET_GEN) writes for a page."""
    out = [f"# {slug}", ""] + [f"line {i} of {slug}" for i in range(1, lines + 1)]
    out.append(f"END-OF-PAGE {slug}")
    return ("\n".join(out) + "\n").encode()


# A command generator whose output is a pure function of the page, so a test
# can check every byte; DELAY (seconds, from a file if set) paces it.
DET_GEN = r'''cat > /dev/null
d="${DELAY:-0.05}"
[ -n "$DELAY_FILE" ] && [ -f "$DELAY_FILE" ] && d=$(cat "$DELAY_FILE")
sleep "$d"
printf '# %s\n\n' "$WIKIFS_PAGE"
seq 1 2000 | sed "s/\$/ of $WIKIFS_PAGE/; s/^/line /"
printf 'END-OF-PAGE %s\n' "$WIKIFS_PAGE"
'''


def temp_files(cache):
    """Paths of temp files and temp clone directories below cache."""
    out = []
    for d, dirs, files in os.walk(cache):
        out += [os.path.join(d, n) for n in files + dirs if ".tmp." in n]
    return out


def clone_under_way(proxy, clones, timeout=30):
    """Whether, within @timeout seconds, a clone through the ThrottledProxy
    @proxy has passed 256 KiB and left temp files below @clones."""
    try:
        wait_until(lambda: proxy.bytes > 256 * 1024 and temp_files(clones), timeout,
                   what="clone under way")
        return True
    except TimeoutError:
        return False


def procs_matching(*needles):
    """PIDs (other than ours) whose command line contains every needle (pass
    the test's own root too: other test runs may share the machine)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if all(n.encode() in cmd for n in needles) and state != "Z":
            out.append(int(d))
    return out


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class ThrottledProxy(TcpProxy):
    """TCP proxy to 127.0.0.1:port passing at most rate bytes/s downstream,
    so that a clone lasts long enough to be killed in the middle."""

    def __init__(self, port, rate=256 * 1024):
        self.rate = rate
        self.bytes = 0
        super().__init__(port)

    def _pipe(self, a, b, throttle):
        chunk = 8192
        try:
            while True:
                data = a.recv(chunk)
                if not data:
                    break
                b.sendall(data)
                if throttle:
                    self.bytes += len(data)
                    time.sleep(len(data) / self.rate)  # pacing, not a wait
        except OSError:
            pass
        self._shutdown(a, b)


class GarbageServer:
    """Accepts connections and answers every one with junk, then closes
    (mode "junk"), or keeps trickling junk forever (mode "stream")."""

    def __init__(self, mode="junk"):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.conns = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _talk(self, c):
        junk = bytes(range(256)) * 4 + b"\n0000ERR nonsense\nPACK\x00\x00\x00\x02garbage"
        try:
            if self.mode == "junk":
                c.sendall(junk)
            else:
                while not self.stopping:
                    c.sendall(junk[:64])
                    time.sleep(0.2)  # pacing the trickle
        except OSError:
            pass
        c.close()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._talk, args=(c,), daemon=True).start()

    def url(self, name):
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.stopping = True
        self.sock.close()




def _fi_path(p):
    """A path in git fast-import's C-style quoting (any byte but NUL)."""
    b = p if isinstance(p, bytes) else p.encode()
    out = '"'
    for c in b:
        if c in (0x22, 0x5c):
            out += "\\" + chr(c)
        elif c == 0x0a:
            out += "\\n"
        elif c < 0x20 or c >= 0x7f:
            out += "\\%03o" % c
        else:
            out += chr(c)
    return (out + '"').encode("latin-1")


def fast_import_repo(dest, files, symlinks=None):
    """A bare repository at dest with one commit on main holding files
    (path -> bytes|str, paths may be bytes with any byte but NUL and '/')
    and symlinks (path -> target). Fast even for 100,000 files."""
    run(["git", "-c", "init.defaultBranch=main", "init", "-q", "--bare", dest])
    chunks = []
    entries = []
    mark = 0
    for kind, items in (("100644", files), ("120000", symlinks or {})):
        for path, data in items.items():
            mark += 1
            data = data if isinstance(data, bytes) else data.encode()
            chunks.append(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
            entries.append(b"M %s :%d " % (kind.encode(), mark) + _fi_path(path) + b"\n")
    msg = b"hostile commit\n"
    chunks.append(b"commit refs/heads/main\nauthor Ada <ada@example.org> 1700000000 +0000\n"
                  b"committer Ada <ada@example.org> 1700000000 +0000\n"
                  b"data %d\n" % len(msg) + msg + b"".join(entries) + b"\n")
    import subprocess as sp
    r = sp.run(["git", "--git-dir", dest, "fast-import", "--quiet"], input=b"".join(chunks),
               capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"fast-import failed: {r.stderr.decode(errors='replace')}")
    return dest


def markdown_problems(data):
    """Why data is not valid UTF-8 Markdown text, or [] (strict decoding)."""
    try:
        text = data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        return [f"invalid UTF-8: {e}"]
    bad = sorted({hex(ord(c)) for c in text if ord(c) < 0x20 and c not in "\n\t\r" or
                  ord(c) == 0x7f})
    return [f"control characters {bad}"] if bad else []


class FakeLLM:
    """tests/fake_llm.py as a subprocess; script() queues fault modes."""

    def __init__(self, mode="normal"):
        import subprocess as sp
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = sp.Popen([sys.executable, os.path.join(here, "..", "fake_llm.py"),
                              "--mode", mode], stdout=sp.PIPE, stderr=sp.DEVNULL,
                             start_new_session=True)
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"

    def _call(self, method, path, body=None):
        import urllib.request
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def script(self, modes):
        return self._call("POST", "/_script", modes)

    def reset(self):
        return self._call("POST", "/_reset", {})

    def requests(self):
        return self._call("GET", "/_requests")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
