#!/usr/bin/env python3
"""Issue 5, permissions and unmount under load on real mounts: the cache
directory is created 0700; without allow_other another uid cannot even list
the mount; pages are 0444, directories 0555, and only the mounting user may
write the control file (checked with allow_other on, as another uid); a
known API key never reaches the cache, the log or the control files. Then
fusermount3 -u while jobs run and readers are parked: the readers get an
error at once, the daemon exits within 5 s, no child is left behind (command
generators, clone helpers) and the cache stays consistent."""
import stat
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
if os.getuid() != 0 or not shutil.which("setpriv"):
    t.skip_all("switching to another uid needs root and setpriv")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
KEY = "sk-wikifs-test-" + os.urandom(12).hex()


def as_nobody(cmd):
    return run(NOBODY + cmd, check=False)


def grep_tree(root, needle):
    hits = []
    for d, _, fs in os.walk(root):
        for f in fs:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    if needle in fh.read():
                        hits.append(os.path.join(d, f))
            except OSError:
                pass
    return hits


with Env() as env:
    os.chmod(env.root, 0o755)  # let nobody reach the mountpoints: the mount itself must refuse
    repo = env.make_repo("alpha", sample_files())

    # ---------------------------------------------------------- permissions
    env.cache = os.path.join(env.root, "fresh", "cache")
    old = os.umask(0o022)
    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0})
    os.umask(old)
    t.eq(stat.S_IMODE(os.stat(env.cache).st_mode), 0o700, "the cache directory is created 0700")
    data, err = read_errno(m.path("acme", "alpha", "Home.md"))
    t.eq(err, 0, "the mounting user reads a page")
    writable = [os.path.join(d, n) for d, ds, fs in os.walk(env.cache) for n in ds + fs
                if os.stat(os.path.join(d, n)).st_mode & 0o022]
    t.eq(writable, [], "nothing in the cache is group- or other-writable")
    r = as_nobody(["ls", m.dir])
    t.ok(r.returncode != 0, "without allow_other another uid cannot list the mount", r.stdout)
    r = as_nobody(["cat", m.path("acme", "alpha", "Home.md")])
    t.ok(r.returncode != 0 and not r.stdout, "nor read a page")
    opts = run(["findmnt", "-n", "-o", "OPTIONS", m.dir], check=False).stdout
    t.ok("allow_other" not in opts, "allow_other is off by default", opts)
    modes = {}
    for d, dirs, fs in os.walk(m.dir):
        for n in dirs:
            modes[os.path.join(d, n)] = stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)
        for n in fs:
            modes[os.path.join(d, n)] = stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)
    dirs = {p: md for p, md in modes.items() if os.path.isdir(p)}
    pages = {p: md for p, md in modes.items() if p.endswith(".md")}
    t.ok(dirs and all(md == 0o555 for md in dirs.values()), "directories are 0555", dirs)
    t.ok(pages and all(md == 0o444 for md in pages.values()), "pages are 0444", pages)
    # .wikifs is not listed (issue 18: recursive tools), but reachable by name
    t.eq(stat.S_IMODE(os.stat(m.path(".wikifs", "control")).st_mode), 0o200,
         "the control file is 0200")
    t.eq(stat.S_IMODE(os.stat(m.dir).st_mode), 0o555, "the mount root is 0555")
    try:
        with open(m.path("acme", "alpha", "Home.md"), "w"):
            pass
        t.ok(False, "a page cannot be opened for writing")
    except OSError as e:
        t.ok(e.errno in (errno.EROFS, errno.EACCES), f"a page cannot be opened for writing "
             f"({errno.errorcode[e.errno]})")
    t.eq(m.unmount(), 0, "unmount")

    m = env.mount({"acme/alpha": repo}, options={"refresh_interval": 0, "allow_other": "true"})
    r = as_nobody(["cat", m.path("acme", "alpha", "Home.md")])
    t.ok(r.returncode == 0 and r.stdout.startswith("# Home"),
         "with allow_other another uid reads pages", r.stderr)
    r = as_nobody(["sh", "-c", f"echo 'prefetch acme/alpha' > {m.path('.wikifs', 'control')}"])
    t.ok(r.returncode != 0 and "denied" in r.stderr,
         "but cannot write the control file", r.stderr)
    r = as_nobody(["sh", "-c", f"echo x > {m.path('acme', 'alpha', 'Home.md')}"])
    t.ok(r.returncode != 0, "nor a page")
    t.ok(run(["sh", "-c", f"echo 'prefetch acme/alpha' > {m.path('.wikifs', 'control')}"],
             check=False).returncode == 0, "the mounting user writes the control file")
    # let the prefetch finish (and the kernel release the control file) before
    # unmounting: an unmount racing that release leaks the handle (reported)
    wait_until(lambda: m.progress()["pages"]["queued"] == 0 and
               m.progress()["pages"]["running"] == 0, 60, what="prefetch done")
    t.eq(m.unmount(), 0, "unmount")

    # ---------------------------------------------------- the API key stays secret
    llm = FakeLLM()
    try:
        env.cache = os.path.join(env.root, "cache-key")
        logf = os.path.join(env.root, "wikifs.log")
        os.environ["WIKIFS_TEST_API_KEY"] = KEY
        m = env.mount({"acme/alpha": repo},
                      options={"refresh_interval": 0, "retries": 2, "failure_backoff": 1,
                               "log_file": logf, "log_level": "debug"},
                      generator={"backend": "openai", "model": "fake", "timeout": 3,
                                 "base_url": llm.base + "/v1",
                                 "api_key_env": "WIKIFS_TEST_API_KEY"})
        del os.environ["WIKIFS_TEST_API_KEY"]
        llm.script(["normal", "401", "401", "500", "malformed", "normal", "429:1", "normal"])
        pages = sorted(p for p in os.listdir(m.path("acme", "alpha")) if not p.startswith("_"))
        res = [read_errno(m.path("acme", "alpha", p))[1] for p in pages]
        t.ok(0 in res and any(res), f"some pages generated, some failed ({res})")
        sent = [r for r in llm.requests() if KEY in json.dumps(r.get("headers", {}))]
        t.ok(sent, "the key was really sent to the provider (so the grep below can fail)")
        seen = {
            "cache": grep_tree(env.cache, KEY.encode()),
            "stderr": KEY in m.log(),
            "log_file": os.path.exists(logf) and KEY in open(logf, errors="replace").read(),
            "progress": KEY in open(m.path(".wikifs", "progress")).read(),
            "progress.json": KEY in open(m.path(".wikifs", "progress.json")).read(),
            "errors": KEY in m.errors(),
            "xattrs": [p for p in pages for a in ("error", "backend", "state", "commit")
                       if KEY in (xattr(m.path("acme", "alpha", p), a)
                                  or "")],
        }
        t.eq({k: v for k, v in seen.items() if v}, {},
             "the key is in no cache file, log, progress, errors or xattr")
        environ = open(f"/proc/{m.proc.pid}/environ", "rb").read()
        t.diag("the daemon's own environment holds the key, as the user set it: "
               f"{KEY.encode() in environ}")
        t.eq(m.unmount(), 0, "unmount")
    finally:
        llm.stop()

    # ------------------------------------------------------- unmount under load
    env.cache = os.path.join(env.root, "cache-load")
    hang = write_script(env, "hang-gen.sh", "cat >/dev/null; sleep 300; echo late\n")
    stalled = env.stalled_server()
    wide = env.make_repo("wide", dict(sample_files(), **{
        f"part{i}/p{i}.c": f"int p{i}(void) {{ return {i}; }}\n" for i in range(6)}))
    m = env.mount({"acme/wide": wide, "acme/stuck": f"git://127.0.0.1:{stalled.port}/x.git"},
                  options={"refresh_interval": 0, "page_workers": 4, "open_timeout": 300,
                           "clone_timeout": 600},
                  generator={"backend": "command", "command": hang, "timeout": 600})
    pages = sorted(p for p in os.listdir(m.path("acme", "wide")) if not p.startswith("_"))
    readers = [subprocess.Popen(["cat", m.path("acme", "wide", p)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for p in pages]
    readers.append(subprocess.Popen(["ls", m.path("acme", "stuck")], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE))
    wait_until(lambda: len(procs_matching("hang-gen.sh", env.root)) >= 3 and procs_matching("--clone-helper", env.root),
               20, what="4 generators and a clone helper running")
    m.fuse_dev = os.minor(os.stat(m.dir).st_dev)  # the connection's number
    prog = m.progress()
    t.ok(prog["pages"]["running"] >= 3 and prog["pages"]["queued"] >= 1,
         f"under load: {prog['pages']['running']} running, {prog['pages']['queued']} queued, "
         f"{len(readers)} readers parked, a clone stalled")
    t0 = time.monotonic()
    r = run(["fusermount3", "-u", m.dir], check=False)
    lazy = False
    if r.returncode != 0:
        t.diag(f"plain fusermount3 -u refused ({r.stderr.strip()}): using -z")
        r = run(["fusermount3", "-uz", m.dir], check=False)
        lazy = True
    t.ok(r.returncode == 0, f"fusermount3 {'-uz' if lazy else '-u'} succeeds under load",
         r.stderr)
    codes = []
    for p in readers:
        try:
            p.wait(max(0.1, t0 + 2 - time.monotonic()))
            codes.append(p.returncode)
        except subprocess.TimeoutExpired:
            codes.append(None)
    dt_readers = time.monotonic() - t0
    t.ok(all(c not in (None, 0) for c in codes),
         f"every parked reader gets an error at once ({dt_readers:.2f}s)", codes)
    try:
        code = m.proc.wait(max(0.1, t0 + 5 - time.monotonic()))
    except subprocess.TimeoutExpired:
        code = None
    dt = time.monotonic() - t0
    t.ok(code is not None and dt < 5, f"the daemon exits within 5 s ({dt:.2f}s, code {code})")
    if code is None:
        # what an administrator does with a wedged mount: abort the connection
        aborted = False
        dev = m.fuse_dev
        if not os.listdir("/sys/fs/fuse/connections"):
            run(["mount", "-t", "fusectl", "fusectl", "/sys/fs/fuse/connections"], check=False)
        for c in os.listdir("/sys/fs/fuse/connections"):
            if dev is not None and int(c) == dev:
                with open(f"/sys/fs/fuse/connections/{c}/abort", "w") as f:
                    f.write("1\n")
                aborted = True
        t.ok(aborted, "the connection is aborted through /sys/fs/fuse/connections")
        t1 = time.monotonic()
        codes = []
        for p in readers:
            try:
                p.wait(2)
                codes.append(p.returncode)
            except subprocess.TimeoutExpired:
                codes.append(None)
        t.ok(all(c not in (None, 0) for c in codes),
             f"after the abort every reader has an error ({time.monotonic() - t1:.2f}s)", codes)
        try:
            code = m.proc.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        t.ok(code is not None, f"after the abort the daemon exits within 5 s "
             f"({time.monotonic() - t1:.2f}s, code {code})")
    if code is not None:
        m.proc = None
        m.stderr.close()
    # the generators and the clone helper die with their process groups: give
    # the kernel a moment to deliver the SIGKILLs, polling the real state
    try:
        wait_until(lambda: not procs_matching("hang-gen.sh", env.root) and
                   not procs_matching("--clone-helper", env.root), 3, what="children gone")
    except TimeoutError:
        pass
    t.eq(procs_matching("hang-gen.sh", env.root), [], "no command generator is left")
    t.eq(procs_matching("--clone-helper", env.root), [], "no clone helper is left")
    t.eq(temp_files(env.cache), [], "no temp file or temp clone is left")
    quick = write_script(env, "quick.sh", DET_GEN)
    m = env.mount({"acme/wide": wide}, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": quick})
    bad = []
    for p in pages:
        data, err = read_errno(m.path("acme", "wide", p))
        if err or data != page_body(p[:-3]):
            bad.append((p, err))
    t.eq(bad, [], "after remount every page generates whole: the cache is consistent")
    t.eq(m.unmount(), 0, "unmount")

t.done()
