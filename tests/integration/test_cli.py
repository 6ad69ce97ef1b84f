#!/usr/bin/env python3
"""Issue 7, the command line: --help/--version, check-config, status, daemon
mode (the parent returns 0 only once the mount answers, errors after the fork
reach the terminal, the log goes to log_file), and each diagnostic before
mounting, with its fix: a stale mount, a mount already there, /dev/fuse
missing or not accessible, and -- as an unprivileged user, in a private
mount namespace -- fusermount3 missing or not setuid, allow_other without
user_allow_other, an unwritable cache directory; then a real mount as that
user, and a root mount that needs no fusermount3 at all."""
import stat as stat_mod
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

NOBODY = 65534


def wikifs(args, **kw):
    kw.setdefault("timeout", 60)
    return run([WIKIFS] + args, check=False, **kw)


def daemons_of(conf):
    """PIDs of wikifs processes started with this config."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if conf.encode() in argv and b"-c" in argv:
            found.append(int(pid))
    return found


class GateProxy(TcpProxy):
    """TCP proxy to 127.0.0.1:@port that passes @limit bytes from the server,
    then trickles the rest (2 KiB every 50 ms) until gate is set: a clone that
    stays under way, and keeps reporting progress."""

    def __init__(self, port, limit):
        self.limit = limit
        self.gate = threading.Event()
        super().__init__(port)

    def _pipe(self, a, b, down):
        sent = 0
        try:
            while True:
                data = a.recv(8192)
                if not data:
                    break
                while down and data and sent + len(data) > self.limit and not self.gate.is_set():
                    b.sendall(data[:2048])
                    sent += len(data[:2048])
                    data = data[2048:]
                    self.gate.wait(0.05)
                b.sendall(data)
                sent += len(data)
        except OSError:
            pass
        self._shutdown(a, b)
        a.close()
        b.close()


def one_line(t, msg, what):
    t.ok(len(msg.strip().splitlines()) == 1, f"{what}: one line", msg)


with Env() as env:
    repo = env.make_repo("cli", sample_files())

    # ---- --help, --version, usage errors
    r = wikifs(["--help"])
    t.ok(r.returncode == 0 and r.stdout.startswith("usage: wikifs") and "check-config" in
         r.stdout and "fusermount3 -u" in r.stdout, "--help prints the usage, exit 0", r.stdout)
    r = wikifs(["--version"])
    t.ok(r.returncode == 0 and r.stdout.startswith("wikifs 0.") and "libfuse 3." in r.stdout,
         "--version prints the version, exit 0", r.stdout)
    r = wikifs(["--bogus"])
    t.eq(r.returncode, 2, "an unknown flag exits 2")
    r = wikifs([])
    t.ok(r.returncode == 2 and "missing MOUNTPOINT" in r.stderr, "no mountpoint exits 2")

    # ---- check-config
    good = os.path.join(env.root, "good.conf")
    with open(good, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {env.cache}\n[repo acme/cli]\nurl = {repo}\n")
    r = wikifs(["check-config", good])
    t.ok(r.returncode == 0 and "ok, 1 repositories, backend builtin" in r.stdout and not r.stderr,
         "check-config: a clean file exits 0", r.stdout + r.stderr)
    bad = os.path.join(env.root, "bad.conf")
    with open(bad, "w") as f:
        f.write("[wikifs]\n"            # 1
                "retries = 0\n"         # 2 out of range
                "open_timeout = soon\n"  # 3 bad value
                "colour = blue\n"       # 4 unknown key
                "[generator]\n"         # 5
                "backend = gpt\n"       # 6 bad choice
                "[repo .hidden]\n"      # 7 bad name
                "url = /x\n"            # 8
                "[repo a]\n"            # 9 no url
                "ref = main\n")         # 10
    r = wikifs(["check-config", bad])
    lines = r.stderr.strip().splitlines()
    t.ok(r.returncode == 1 and not r.stdout, "check-config: a broken file exits 1", r.stdout)
    for line, what in [(2, "out of range"), (3, "bad value"), (4, "unknown key"),
                       (6, "bad backend"), (7, "bad repository name"), (9, "missing url")]:
        t.ok(any(l.startswith(f"{bad}:{line}: ") for l in lines),
             f"check-config: {what} reported as FILE:{line}:", r.stderr)
    t.ok(len(lines) >= 6, "check-config reports every error, not only the first", r.stderr)
    r = wikifs(["check-config", os.path.join(env.root, "nope.conf")])
    t.ok(r.returncode == 1 and "cannot read config" in r.stderr, "check-config: a missing file",
         r.stderr)
    t.eq(wikifs(["check-config"]).returncode, 2, "check-config without FILE exits 2")

    # ---- daemon mode: the parent returns 0 once the mount answers; log_file
    logf = os.path.join(env.root, "daemon.log")
    dconf = os.path.join(env.root, "daemon.conf")
    with open(dconf, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {env.cache}\nlog_file = {logf}\n"
                f"[repo acme/cli]\nurl = {repo}\n")
    mnt = os.path.join(env.root, "dmnt")
    os.makedirs(mnt)
    r = wikifs(["-c", dconf, mnt])
    t.ok(r.returncode == 0 and not r.stderr, "daemon: the parent exits 0", r.stderr)
    t.eq(mounted(mnt), "fuse.wikifs", "daemon: mounted when the parent has exited")
    pages, err = listdir_errno(os.path.join(mnt, "acme", "cli"))
    t.ok(err == 0 and "Home.md" in pages, "daemon: the mount answers at once", (pages, err))
    pids = daemons_of(dconf)
    t.eq(len(pids), 1, "daemon: one daemon runs")
    if pids:
        pid = pids[0]
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        t.ok(int(fields[3]) == pid and int(fields[1]) != os.getpid(),
             "daemon: a session leader, not our child", fields[:4])
        fds = {n: os.readlink(f"/proc/{pid}/fd/{n}") for n in (0, 1, 2)}
        t.eq(set(fds.values()), {"/dev/null"}, "daemon: stdin, stdout, stderr are /dev/null")
    data, err = read_errno(os.path.join(mnt, "acme", "cli", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"), "daemon: a page generates and reads")

    # ---- status
    r = wikifs(["status", mnt])
    t.ok(r.returncode == 0 and "pages:" in r.stdout and "acme/cli" in r.stdout,
         "status MOUNTPOINT prints the progress summary", r.stdout + r.stderr)
    r = wikifs(["status", "--json", mnt])
    try:
        prog = json.loads(r.stdout)
    except ValueError:
        prog = {}
    t.ok(r.returncode == 0 and prog.get("pages", {}).get("generated", 0) >= 1,
         "status --json prints progress.json", r.stdout[:500])
    plain = os.path.join(env.root, "plain")
    os.makedirs(plain)
    r = wikifs(["status", plain])
    t.ok(r.returncode == 1 and "is not inside a wikifs mount" in r.stderr and plain in r.stderr,
         "status of a plain directory: a clear error", r.stderr)
    one_line(t, r.stderr, "status of a plain directory")
    for inside in (os.path.join(mnt, "acme"), os.path.join(mnt, "acme", "cli", "Home.md")):
        r = wikifs(["status", inside])
        t.ok(r.returncode == 0 and "pages:" in r.stdout and "acme/cli" in r.stdout,
             f"status of a path inside the mount ({os.path.relpath(inside, mnt)}) prints the "
             f"mount's progress", r.stdout + r.stderr)

    # ---- prefetch of one page file: that page, followed by its own state
    arch = os.path.join(mnt, "acme", "cli", "Architecture.md")
    before = json.loads(wikifs(["status", "--json", mnt]).stdout)["pages"]["generated"]
    r = wikifs(["prefetch", arch])
    t.ok(r.returncode == 0 and r.stdout.rstrip().split("\n")[-1].startswith("[") and
         "1/1 pages" in r.stdout.rstrip().split("\n")[-1],
         "prefetch of a page file draws that one page to 1/1", r.stdout + r.stderr)
    t.eq(xattr(arch, "state"), "ready", "and the page is ready when it returns")
    after = json.loads(wikifs(["status", "--json", mnt]).stdout)["pages"]["generated"]
    t.eq(after - before, 1, "and only that page was generated")
    r = wikifs(["status", os.path.join(env.root, "nothing")])
    t.ok(r.returncode == 1 and "cannot be read" in r.stderr, "status of a missing path", r.stderr)
    t.eq(wikifs(["status"]).returncode, 2, "status without MOUNTPOINT exits 2")

    # ---- a second mount on the same mountpoint
    r = wikifs(["-c", dconf, mnt])
    t.ok(r.returncode == 1 and "already mounted" in r.stderr and f"fusermount3 -u {mnt}" in
         r.stderr, "mounting over a live mount: names fusermount3 -u", r.stderr)
    one_line(t, r.stderr, "already mounted")

    # ---- unmount: the daemon exits 0 by itself, the log went to log_file
    run(["fusermount3", "-u", mnt])
    wait_until(lambda: not daemons_of(dconf), 20, what="the daemon to exit")
    with open(logf) as f:
        log = f.read()
    t.ok("mounted 1 repositories" in log and "unmounting" in log,
         "daemon: the log went to log_file", log[-1000:])

    # ---- an error after the fork reaches the terminal, exit 1
    with open(dconf, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {env.cache}\nlog_file = /proc/version/wikifs.log\n"
                f"[repo acme/cli]\nurl = {repo}\n")
    r = wikifs(["-c", dconf, mnt])
    t.ok(r.returncode == 1 and "cannot open log_file '/proc/version/wikifs.log'" in r.stderr,
         "daemon: a failure in the daemon before the mount is printed, exit 1", r.stderr)
    t.ok(not mounted(mnt) and not daemons_of(dconf), "and nothing is mounted or left running")

    # ---- an LLM backend on the provider's API without its key
    noenv = {k: v for k, v in os.environ.items() if k != "WIKIFS_TEST_NO_SUCH_KEY"}
    r = wikifs(["-c", good, "-o", "generator.backend=openai,generator.model=m,"
                "generator.api_key_env=WIKIFS_TEST_NO_SUCH_KEY", mnt], env=noenv)
    t.ok(r.returncode == 1 and "$WIKIFS_TEST_NO_SUCH_KEY" in r.stderr and "export" in r.stderr,
         "openai without its key in the environment: names the variable", r.stderr)
    r = wikifs(["-c", good, "-o", "generator.backend=anthropic,generator.model=m", mnt])
    t.ok(r.returncode == 1 and "api_key_env" in r.stderr,
         "anthropic without api_key_env: names the key to set", r.stderr)
    t.ok(not mounted(mnt), "neither mounted")

    # ---- a stale mount: kill -9 a daemon without unmounting
    m = env.mount({"acme/cli": repo})
    listdir_errno(m.path("acme", "cli"))
    os.kill(m.proc.pid, signal.SIGKILL)
    m.proc.wait(timeout=10)
    m.proc = None
    t.eq(listdir_errno(m.dir)[1], errno.ENOTCONN, "after kill -9 the mountpoint is stale")
    r = wikifs(["-c", m.conf, m.dir])
    t.ok(r.returncode == 1 and "stale mount" in r.stderr and f"fusermount3 -u {m.dir}" in
         r.stderr, "mounting on a stale mount: says run 'fusermount3 -u MOUNTPOINT'", r.stderr)
    one_line(t, r.stderr, "stale mount")
    r = wikifs(["status", m.dir])
    t.ok(r.returncode == 1 and "stale" in r.stderr and "fusermount3 -u" in r.stderr,
         "status of a stale mount says so", r.stderr)
    inside = wikifs(["status", m.path("acme", "cli")])
    t.eq(inside.stderr, r.stderr, "status of a path inside a stale mount says the same")
    p = wikifs(["prefetch", m.path("acme", "cli")])
    t.ok(p.returncode == 1 and p.stderr == r.stderr,
         "prefetch on a stale mount names the cause as status does", p.stderr)
    r = run(["fusermount3", "-u", m.dir], check=False)
    t.ok(r.returncode == 0 and not mounted(m.dir), "the fix works: fusermount3 -u", r.stderr)
    r = wikifs(["-c", m.conf, m.dir])
    t.ok(r.returncode == 0 and mounted(m.dir), "and then it mounts again", r.stderr)
    run(["fusermount3", "-u", m.dir], check=False)
    wait_until(lambda: not daemons_of(m.conf), 20, what="the daemon to exit")

    # ---- prefetch while a repository clones: what the clone received, not a bar
    files = {f"data/f{i:03}.bin": os.urandom(4096) for i in range(400)}
    env.make_repo("big", dict(files, **{"README.md": "# Big\n"}))
    gate = GateProxy(env.git_daemon().port, 300_000)
    env.servers.append(gate)
    m = env.mount({"acme/big": gate.url("big.git")}, options={"refresh_interval": 0})
    p = subprocess.Popen([WIKIFS, "prefetch", m.path("acme", "big")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()

    def received():
        repo = m.progress()["repos"][0]
        return repo.get("clone", {}).get("objects_received", 0) > 0

    t.until(received, 60, "the clone is under way, held by the proxy")
    t.until(lambda: any(re.search(r"cloning 1 repository: [1-9]\d*/[1-9]\d* objects", l)
                        for l in list(lines)), 20,
            "prefetch shows the objects the clone received so far", lambda: lines)
    gate.gate.set()
    code = p.wait(timeout=120)
    reader.join(10)
    t.eq(code, 0, "prefetch ends once the pages are made", "".join(lines) + p.stderr.read())
    t.ok(not any(" 0/0 pages" in l for l in lines), "no empty bar while the clone runs",
         "".join(lines))
    t.ok(lines and re.search(r"\] (\d+)/\1 pages", lines[-1]), "and then the bar, full",
         "".join(lines))
    m.unmount()

    # ---- in a private mount namespace: /dev, fusermount3, /etc/fuse.conf
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        t.diag("no unshare or setpriv: the namespace diagnostics are skipped")
        t.done()
    # a world-readable corner for the unprivileged user
    os.chmod(env.root, 0o755)
    world = os.path.join(env.root, "world")
    os.makedirs(world)
    bin_copy = os.path.join(world, "wikifs")
    shutil.copy(WIKIFS, bin_copy)
    nmnt = os.path.join(world, "mnt")
    ncache = os.path.join(world, "cache")
    rocache = os.path.join(world, "rocache")
    for d in (nmnt, ncache):
        os.makedirs(d)
        os.chown(d, NOBODY, NOBODY)
    os.makedirs(rocache, 0o755)
    nrepo = env.make_repo("nobody", sample_files())
    run(["chown", "-R", f"{NOBODY}:{NOBODY}", nrepo])
    nconf = os.path.join(world, "mount.conf")
    with open(nconf, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {ncache}\n[repo acme/nobody]\nurl = {nrepo}\n")
    fm = shutil.which("fusermount3")
    no_suid = os.path.join(world, "fusermount3-nosuid")
    shutil.copy(fm, no_suid)
    os.chmod(no_suid, 0o755)
    empty = os.path.join(world, "empty")
    open(empty, "w").close()
    conf_without = os.path.join(world, "fuse.conf-without")
    conf_with = os.path.join(world, "fuse.conf-with")
    with open(conf_without, "w") as f:
        f.write("# mount_max = 1000\n#user_allow_other\n")
    with open(conf_with, "w") as f:
        f.write("# allowed\nuser_allow_other\n")
    as_nobody = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups env HOME={world}"
    devs = ("mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && "
            "mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/urandom c 1 9")

    def ns(script):
        r = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                 f"set -u\ntrap 'umount -l {nmnt} 2>/dev/null' EXIT\n{script}"],
                check=False, timeout=120)
        return r.returncode, r.stdout + r.stderr

    code, out = ns(f"mount -t tmpfs none /dev && exec {bin_copy} -c {nconf} {nmnt}")
    t.ok(code == 1 and "/dev/fuse is missing" in out and "modprobe fuse" in out,
         "/dev/fuse missing: names modprobe fuse", out)
    one_line(t, out, "/dev/fuse missing")
    code, out = ns(f"{devs} && mknod -m 600 /dev/fuse c 10 229 && "
                   f"exec {as_nobody} {bin_copy} -c {nconf} {nmnt}")
    t.ok(code == 1 and "/dev/fuse is not accessible" in out and "mode" in out,
         "/dev/fuse not accessible to the user: names the group or mode fix", out)
    one_line(t, out, "/dev/fuse not accessible")

    devs += " && mknod -m 666 /dev/fuse c 10 229"
    code, out = ns(f"{devs} && mount --bind {empty} {fm} && PATH=/usr/bin:/bin "
                   f"{as_nobody} {bin_copy} -c {nconf} {nmnt}")
    t.ok(code == 1 and "fusermount3 is missing" in out and "apt-get install fuse3" in out,
         "fusermount3 missing (non-root): names the package", out)
    one_line(t, out, "fusermount3 missing")
    code, out = ns(f"{devs} && mount --bind {no_suid} {fm} && "
                   f"{as_nobody} {bin_copy} -c {nconf} {nmnt}")
    t.ok(code == 1 and "is not setuid root" in out and "chmod u+s" in out,
         "fusermount3 not setuid (non-root): names chmod u+s", out)
    code, out = ns(f"{devs} && mount --bind {conf_without} /etc/fuse.conf && "
                   f"{as_nobody} {bin_copy} -c {nconf} -o allow_other {nmnt}")
    t.ok(code == 1 and "user_allow_other" in out and "/etc/fuse.conf" in out,
         "allow_other without user_allow_other (non-root): names /etc/fuse.conf", out)
    one_line(t, out, "allow_other without user_allow_other")
    code, out = ns(f"{devs} && {as_nobody} {bin_copy} -c {nconf} -o cache_dir={rocache}/c "
                   f"{nmnt}")
    t.ok(code == 1 and "cannot be written" in out and "cache_dir" in out,
         "an unwritable cache directory (non-root): names cache_dir", out)
    one_line(t, out, "unwritable cache directory")

    # the fixes work: a real mount by the unprivileged user, through fusermount3
    code, out = ns(f"""{devs} && mount --bind {conf_with} /etc/fuse.conf || exit 3
{as_nobody} {bin_copy} -c {nconf} -o allow_other {nmnt} || exit 4
grep " {nmnt} " /proc/self/mountinfo
{as_nobody} head -1 {nmnt}/acme/nobody/Home.md
head -1 {nmnt}/acme/nobody/Home.md | sed 's/^/root reads: /'
{as_nobody} fusermount3 -u {nmnt} && echo unmounted-by-user
""")
    t.ok(" - fuse.wikifs " in out and "allow_other" in out.split(" - ")[-1],
         "with user_allow_other, the user mounts with allow_other (via fusermount3)", out)
    t.ok("\n# Home" in out and "root reads: # Home" in out,
         "the user and another user (root) read a page", out)
    t.ok("unmounted-by-user" in out, "the user unmounts with fusermount3 -u", out)

    # root mounts with mount(2) directly: no fusermount3 needed (in a cache of
    # its own: the user's, owned by nobody, is refused to root as ssh would)
    rcache = os.path.join(world, "rootcache")
    code, out = ns(f"""mount --bind {empty} {fm} || exit 3
PATH=/usr/bin:/bin {bin_copy} -c {nconf} -o cache_dir={rcache} {nmnt} || exit 4
ls {nmnt}/acme && umount {nmnt} && echo unmounted""")
    t.ok(code == 0 and "nobody" in out and "unmounted" in out,
         "root needs no fusermount3: it mounts and umount unmounts", out)
    if not t.until(lambda: not daemons_of(nconf), 20, "no daemon is left behind in the "
                   "namespaces"):
        for pid in daemons_of(nconf):
            os.kill(pid, signal.SIGKILL)

t.done()
