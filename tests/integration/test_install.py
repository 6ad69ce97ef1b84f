#!/usr/bin/env python3
"""Issue 7, install: `meson install --destdir` into a temporary directory puts
the binary, the man page, the sample config, the mount(8) helpers and the
systemd user unit in place, and a mount through the helper works -- called
exactly as mount(8) calls it, and through a real `mount -t fuse.wikifs`,
`mount -t wikifs` and an fstab line, with the staged helper made visible in
/sbin only inside a private mount namespace (an overlay, gone with it)."""
import re
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
BUILD = os.environ.get("WIKIFS_BUILD_ROOT", "")
SRC = os.environ.get("WIKIFS_SRCDIR", "")
if not BUILD or not SRC:
    t.skip_all("WIKIFS_BUILD_ROOT and WIKIFS_SRCDIR are not set (meson sets them)")


def conf_keys(text):
    """[wikifs] and [generator] keys of a mount.conf, uncommented."""
    keys, section = [], None
    for line in text.splitlines():
        m = re.match(r"\s*\[(\w+)", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"\s*([a-z_]+)\s*=", line)
        if m and section in ("wikifs", "generator"):
            keys.append(m.group(1))
    return keys


with Env() as env:
    dest = os.path.join(env.root, "destdir")
    r = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest], check=False)
    if not t.ok(r.returncode == 0, "meson install --destdir succeeds", r.stdout + r.stderr):
        t.done()
    opts = {o["name"]: o["value"] for o in
            json.loads(run(["meson", "introspect", "--buildoptions", BUILD]).stdout)}
    prefix = opts["prefix"]

    def staged(path):
        path = path if os.path.isabs(path) else os.path.join(prefix, path)
        return dest + path

    bindir = os.path.join(prefix, opts["bindir"])
    helperdir = opts["mount_helper_dir"]
    wikifs = staged(bindir) + "/wikifs"
    helper = staged(helperdir) + "/mount.fuse.wikifs"
    alias = staged(helperdir) + "/mount.wikifs"

    # ---- the binary
    t.ok(os.access(wikifs, os.X_OK), f"wikifs is installed in {bindir}")
    r = run([wikifs, "--version"], check=False)
    t.ok(r.returncode == 0 and r.stdout.startswith("wikifs "), "the installed wikifs runs",
         r.stdout + r.stderr)

    # ---- the man page
    man = staged(opts["mandir"]) + "/man1/wikifs.1"
    t.ok(os.path.isfile(man), "wikifs(1) is installed in mandir/man1")
    r = run(["groff", "-man", "-Tutf8", "-ww", "-z", man], check=False)
    t.ok(r.returncode == 0 and not r.stderr.strip(), "groff -man -ww renders it without warnings",
         r.stderr)
    text = ""
    if shutil.which("man"):
        r = run(["man", "--warnings", "-l", man], check=False,
                env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0", PAGER="cat"))
        t.ok(r.returncode == 0 and not r.stderr.strip(), "man -l renders it without warnings",
             r.stderr)
        text = r.stdout
    else:
        text = run(["groff", "-man", "-Tutf8", "-P-cbou", man]).stdout
    text = re.sub(r".\x08", "", text)
    for sect in ("NAME", "SYNOPSIS", "OPTIONS", "CONFIGURATION", "CONTROL FILES",
                 "EXTENDED ATTRIBUTES", "DIAGNOSTICS", "EXIT STATUS", "FILES", "EXAMPLES",
                 "SEE ALSO"):
        t.ok(re.search(rf"^{sect}$", text, re.M), f"the man page has {sect}")
    with open(os.path.join(SRC, "mount.conf")) as f:
        src_conf = f.read()
    keys = conf_keys(src_conf)
    t.ok(len(keys) > 20, f"mount.conf has {len(keys)} keys")
    missing = [k for k in keys if not re.search(rf"^ {{7}}{k} \(default", text, re.M)]
    t.eq(missing, [], "every mount.conf key is described in the man page with its default")
    words = ["progress", "progress.json", "errors", "control", "prefetch PATH", "cancel PATH",
             "retry PATH", "refresh PATH", "user.wikifs.state", "user.wikifs.error",
             "user.wikifs.commit", "user.wikifs.backend", "check-config", "status",
             "fusermount3 -u", "mount.fuse.wikifs", "fuse.wikifs", "_netdev"]
    t.eq([w for w in words if w not in text], [], "control files, commands and xattrs are there")
    flat = re.sub(r"\s+", " ", text)
    t.ok("wikifs -c CONFIG -o OPTIONS MOUNTPOINT" in flat,
         "the mount helper's command renders with its spaces (-o OPTIONS MOUNTPOINT)",
         re.findall(r"which runs[^.]*\.", flat))
    # the config search path: the same in --help and in the man page
    m = re.search(r"Without it, the first of:(.*?) A build with another", flat)
    man_paths = re.findall(r"[$~/][\w/.$]*wikifs/mount\.conf", m.group(1) if m else "")
    r = run([wikifs, "--help"], check=False)
    help_text = re.sub(r"\s+", " ", r.stdout)
    m = re.search(r"CONFIG is the first of: (.*?mount\.conf)\. ", help_text)
    help_paths = re.findall(r"[$~/][\w/.$]*wikifs/mount\.conf", m.group(1) if m else "")
    sysconf = os.path.join(prefix, opts["sysconfdir"]) + "/wikifs/mount.conf"
    t.ok(len(man_paths) == 3 and
         [p for p in help_paths if p != sysconf or p in man_paths] == man_paths,
         "wikifs --help lists the config search path of the man page (and sysconfdir's)",
         f"man: {man_paths}\nhelp: {help_paths}")
    t.ok(sysconf in help_paths, "--help names this build's sysconfdir", r.stdout)
    for usage in ("wikifs status [--json] PATH", "wikifs prefetch [--no-wait] PATH"):
        t.ok(usage in help_text and usage in flat, f"--help and the synopsis agree: {usage}")

    # ---- the sample config
    etc = staged(opts["sysconfdir"]) + "/wikifs/mount.conf"
    t.ok(os.path.isfile(etc), "the sample config is installed in sysconfdir/wikifs")
    with open(etc) as f:
        etc_conf = f.read()
    t.eq(conf_keys(etc_conf), keys, "it has every key of the documented mount.conf, in order")
    t.ok(not re.search(r"^\s*\[repo", etc_conf, re.M) and "# [repo" in etc_conf,
         "its repositories are commented examples (no 'url = .' into a source tree)")
    r = run([wikifs, "check-config", etc], check=False)
    t.ok(r.returncode == 0 and "ok, 0 repositories" in r.stdout, "wikifs check-config accepts it",
         r.stdout + r.stderr)

    # ---- the mount helpers
    t.ok(os.access(helper, os.X_OK), f"mount.fuse.wikifs is installed in {helperdir}")
    t.ok(os.path.islink(alias) and os.readlink(alias) == "mount.fuse.wikifs",
         "mount.wikifs is a link to mount.fuse.wikifs")
    t.eq(run(["sh", "-n", helper], check=False).returncode, 0, "the helper is valid sh")
    conf = os.path.join(env.root, "install.conf")
    repo = env.make_repo("inst", sample_files())
    logf = os.path.join(env.root, "install.log")
    with open(conf, "w") as f:
        f.write(f"[wikifs]\ncache_dir = {env.cache}\nlog_file = {logf}\n"
                f"[repo acme/inst]\nurl = {repo}\n")
    mnt = os.path.join(env.root, "mnt")
    os.makedirs(mnt)
    r = run([helper, conf, mnt, "-fv", "-o", "rw,nosuid,nodev,_netdev,nofail,x-systemd.automount"],
            check=False)
    t.ok(r.returncode == 0 and f"{wikifs} -c {conf} -o " in r.stderr and not mounted(mnt),
         "-f (fake) only shows the command; it runs the wikifs installed beside the helper",
         r.stderr)
    r = run([helper, conf, mnt, "-s", "-n", "-x"], check=False)
    t.ok(r.returncode != 0 and "unknown option -x" in r.stderr, "an unknown flag is refused",
         r.stderr)
    r = run([helper, conf], check=False)
    t.ok(r.returncode != 0 and "usage" in r.stderr, "a missing mountpoint prints the usage")

    # ---- systemd user unit
    unitdir = opts["systemd_user_unit_dir"] or os.path.join(prefix, "lib/systemd/user")
    unit = staged(unitdir) + "/wikifs@.service"
    if opts["systemd_user_unit_dir"] != "no":
        t.ok(os.path.isfile(unit), "wikifs@.service is installed in the user unit directory")
        with open(unit) as f:
            body = f.read()
        t.ok(f"ExecStart={bindir}/wikifs -c %h/.config/wikifs/%i.conf %h/wiki/%i" in body
             and "Type=forking" in body and "ExecStop=fusermount3 -u %h/wiki/%i" in body,
             "it runs the installed wikifs, Type=forking, stops with fusermount3 -u")
        if shutil.which("systemd-analyze"):
            copy = os.path.join(env.root, "wikifs@t.service")
            with open(copy, "w") as f:
                f.write(body.replace(f"{bindir}/wikifs", wikifs))
            r = run(["systemd-analyze", "verify", "--man=no", copy], check=False,
                    env=dict(os.environ, HOME=env.root))
            t.ok(r.returncode == 0 and "wikifs@t" not in r.stderr,
                 "systemd-analyze verify finds nothing wrong in it", r.stderr)

    if not fuse_available():
        t.diag("no usable /dev/fuse or fusermount3: the mount part is skipped")
        t.done()

    # ---- the helper called exactly as mount(8) calls it
    r = run([helper, conf, mnt, "-o", "rw,nosuid,nodev,_netdev,nofail,x-systemd.automount"],
            check=False, timeout=60)
    t.ok(r.returncode == 0 and mounted(mnt) == "fuse.wikifs",
         "mount.fuse.wikifs CONFIG MOUNTPOINT -o rw,...,_netdev,nofail,x-* mounts", r.stderr)
    pages, err = listdir_errno(os.path.join(mnt, "acme", "inst"))
    t.ok(err == 0 and "Home.md" in pages, "the mount answers at once (the helper returned "
         "only when it did)", (pages, err))
    data, err = read_errno(os.path.join(mnt, "acme", "inst", "Home.md"))
    t.ok(err == 0 and data.startswith(b"# Home"), "a page reads")
    run(["fusermount3", "-u", mnt], check=False)
    wait_until(lambda: not mounted(mnt), 20, what="unmount")

    def logged_unmount():
        with open(logf) as f:
            text = f.read()
        return text if "unmounting" in text else None

    try:
        log = wait_until(logged_unmount, 10, what="the daemon's last log line")
    except TimeoutError:
        log = open(logf).read()
    t.ok("mounted 1 repositories" in log and "unmounting" in log,
         "the daemon logged to log_file", log[-1000:])

    # ---- a real mount(8), fstab included, in a private mount namespace
    if not (shutil.which("unshare") and shutil.which("mount")):
        t.diag("no unshare or mount: mount(8) part skipped")
        t.done()
    sbin = os.path.realpath("/sbin")
    real_bindir = os.path.realpath(bindir) if os.path.isdir(bindir) else None
    fstab = os.path.join(env.root, "fstab")
    mnts = [os.path.join(env.root, f"m{i}") for i in range(3)]
    for d in mnts:
        os.makedirs(d)
    with open(fstab, "w") as f:
        f.write(f"# a test fstab\n{conf} {mnts[2]} fuse.wikifs "
                "defaults,_netdev,nofail,x-systemd.automount,noauto 0 0\n")
    # The staged helper and binary are put over /sbin and bindir with an
    # overlay that exists only in this namespace; PATH covers a missing bindir.
    script = f"""
set -u
cleanup() {{ for d in {' '.join(mnts)}; do umount -l "$d" 2>/dev/null; done; }}
trap cleanup EXIT
mount -t overlay overlay -o lowerdir={staged(helperdir)}:{sbin} {sbin} || exit 90
{f'mount -t overlay overlay -o lowerdir={staged(bindir)}:{real_bindir} {real_bindir} || exit 91'
 if real_bindir else f'PATH={staged(bindir)}:$PATH; export PATH'}
check() {{ # LABEL MNT
    if grep -q " $2 .* - fuse.wikifs " /proc/self/mountinfo && ls "$2/acme/inst" | grep -q Home.md
    then echo "$1 mounted"; else echo "$1 not-mounted"; fi
    umount "$2" && echo "$1 unmounted"
}}
mount -v -t fuse.wikifs {conf} {mnts[0]} 2>&1 && check fuse.wikifs {mnts[0]}
mount -t wikifs {conf} {mnts[1]} 2>&1 && check wikifs {mnts[1]}
mount -T {fstab} {mnts[2]} 2>&1 && check fstab {mnts[2]}
"""
    r = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], check=False,
            timeout=120)
    if r.returncode in (90, 91):
        t.diag(f"overlay mounts are not possible here ({r.stderr.strip()}): mount(8) skipped")
        t.done()
    out = r.stdout + r.stderr
    t.ok(re.search(rf"mount.fuse.wikifs: ({re.escape(bindir)}|{re.escape(staged(bindir))})"
                   rf"/wikifs -c {re.escape(conf)} ", out),
         "mount -v -t fuse.wikifs runs /sbin/mount.fuse.wikifs, which runs wikifs", out)
    for label in ("fuse.wikifs", "wikifs", "fstab"):
        t.ok(f"{label} mounted" in out, f"mount -t {label}: mounted and lists pages"
             if label != "fstab" else "an fstab line (defaults,_netdev,nofail,x-*) mounts", out)
        t.ok(f"{label} unmounted" in out, f"{label}: umount works and the daemon lets go", out)
    t.ok(all(not mounted(d) for d in mnts), "nothing is left mounted outside the namespace")

    def daemons():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if conf.encode() in argv and any(a.endswith(b"wikifs") for a in argv[:1]):
                found.append(int(pid))
        return found

    if not t.until(lambda: not daemons(), 20, "every daemon exited after its unmount"):
        for pid in daemons():
            os.kill(pid, signal.SIGKILL)

t.done()
