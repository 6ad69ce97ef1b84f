#!/usr/bin/env python3
"""Issue 10 item 3 on a real mount: a page opened at one commit reads that
commit's bytes to its end, by read() and by mmap, whatever a refresh that
moves the repository to a new commit does meanwhile; fstat keeps its size,
no mmap reader gets SIGBUS, and a new open sees the new commit. Repeated
commit-moving refreshes do not keep the retired page versions alive."""
import mmap
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

# The page is a pure function of (page, commit, line count); the line count
# comes from a file the test writes, so each commit's pages differ in size.
GEN = r'''cat > /dev/null
n=$(cat "$LINES_FILE")
printf '# %s at %s\n\n' "$WIKIFS_PAGE" "$WIKIFS_COMMIT"
seq 1 "$n" | sed "s/\$/ of $WIKIFS_PAGE at $WIKIFS_COMMIT/; s/^/line /"
printf 'END-OF-PAGE %s\n' "$WIKIFS_PAGE"
'''


def expected(page, commit, lines):
    out = [f"# {page} at {commit}", ""]
    out += [f"line {i} of {page} at {commit}" for i in range(1, lines + 1)]
    out.append(f"END-OF-PAGE {page}")
    return ("\n".join(out) + "\n").encode()


# Opens PATH, maps it and touches its first byte, says "ready" on stdout,
# waits for a line on stdin, then reads every byte through the mapping (and
# fstat) and writes them to OUT. A SIGBUS kills it: the parent sees -7.
MMAP_READER = r'''
import mmap, os, sys, time
path, out = sys.argv[1:3]
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
first = mm[0]
print("ready", size, flush=True)
sys.stdin.readline()
data = bytes(mm[:])
with open(out, "wb") as f:
    f.write(data)
try:
    late = mmap.mmap(fd, size, prot=mmap.PROT_READ)  # mapped after the refresh
    ok = bytes(late[:]) == data
except ValueError:  # the file shrank under the open descriptor
    ok = False
print(os.fstat(fd).st_size, ok, flush=True)
'''


def pread_all(fd, size, chunk=3000):
    parts, off = [], 0
    while True:
        b = os.pread(fd, chunk, off)
        if not b:
            return b"".join(parts)
        parts.append(b)
        off += len(b)


def repo_row(m, name):
    return [r for r in m.progress()["repos"] if r["name"] == name][0]


with Env() as env:
    daemon = env.git_daemon()
    bare = env.make_repo("alpha", sample_files())
    old = git(["rev-parse", "HEAD"], bare).stdout.strip()
    lines_file = os.path.join(env.root, "lines")
    with open(lines_file, "w") as f:
        f.write("20000\n")
    gen = {"backend": "command", "command": write_script(env, "gen.sh", GEN), "timeout": 60}
    os.environ["LINES_FILE"] = lines_file  # the daemon's commands inherit it
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0},
                  generator=gen)
    d = m.path("acme", "alpha")
    module = sorted(p for p in os.listdir(d) if p.startswith("Module"))[0][:-3]
    home_old = expected("Home", old, 20000)
    mod_old = expected(module, old, 20000)

    # ---- readers that open at the old commit
    fa = os.open(m.path("acme", "alpha", "Home.md"), os.O_RDONLY)
    head = os.read(fa, 4096)
    fb = os.open(m.path("acme", "alpha", module + ".md"), os.O_RDONLY)
    t.eq(os.fstat(fa).st_size, len(home_old), "Home.md opened at the old commit has its size")
    t.eq(head, home_old[:4096], "and its first bytes")
    gate_out = os.path.join(env.root, "mmap-out")
    child = subprocess.Popen([sys.executable, "-c", MMAP_READER, m.path("acme", "alpha",
                              "Home.md"), gate_out], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    ready = child.stdout.readline().split()
    t.eq(ready, ["ready", str(len(home_old))], "an mmap reader mapped Home.md at the old commit")

    # ---- the repository moves, and a refresh follows it
    new = env.add_commit(bare, {"README.md": "# Sample\n\nMoved on.\n",
                                "src/more.c": "int more(void) { return 4; }\n"})
    with open(lines_file, "w") as f:
        f.write("5000\n")
    m.control("refresh acme/alpha")
    wait_until(lambda: repo_row(m, "acme/alpha")["commit"] == new, 30, what="refresh")
    home_path = m.path("acme", "alpha", "Home.md")
    wait_until(lambda: xattr(home_path, "commit") == new, 10, what="new Home.md")

    # ---- the old readers still read the old commit, to its end
    t.eq(os.fstat(fa).st_size, len(home_old), "after the refresh fstat keeps the old size")
    rest = read_rest(fa)
    t.ok(head + rest == home_old, "read() in 4 KiB chunks returns the old page to its end",
         f"{len(head) + len(rest)} bytes, want {len(home_old)}")
    t.eq(os.getxattr(fa, "user.wikifs.commit").decode(), old,
         "the open file's user.wikifs.commit is still the old commit")
    t.eq(os.fstat(fb).st_size, len(mod_old), f"{module}.md opened before: fstat unchanged")
    got = pread_all(fb, len(mod_old))
    t.ok(got == mod_old, f"pread() of {module}.md returns the old page whole",
         f"{len(got)} bytes, want {len(mod_old)}")

    child.stdin.write("go\n")
    child.stdin.flush()
    verdict = child.stdout.read().split()
    code = child.wait(timeout=60)
    t.eq(code, 0, "the mmap reader is not killed (no SIGBUS)")
    mapped = b""
    if os.path.exists(gate_out):
        with open(gate_out, "rb") as f:
            mapped = f.read()
    t.ok(mapped == home_old and verdict == [str(len(home_old)), "True"],
         "mmap (mapped before and after the refresh) reads the old page whole",
         f"{len(mapped)} bytes, fstat and late map: {verdict}")

    # ---- a new open sees the new commit, and the old descriptors do not
    home_new = expected("Home", new, 5000)
    data, err = read_errno(home_path)
    t.ok(err == 0 and data == home_new, "a new open reads the new commit's page",
         f"err {err}, {len(data or b'')} bytes, want {len(home_new)}")
    t.eq(xattr(home_path, "commit"), new, "and its user.wikifs.commit is the new commit")
    t.eq(os.stat(home_path).st_size, len(home_new), "stat of the name shows the new size")
    t.ok(pread_all(fa, len(home_old)) == home_old,
         "the old descriptor still reads the old bytes after the new version was read")
    t.eq(os.fstat(fa).st_size, len(home_old), "and its fstat still says the old size")
    fc = os.open(m.path("acme", "alpha", module + ".md"), os.O_RDONLY)
    mod_new = expected(module, new, 5000)
    got = read_rest(fc)
    t.ok(got == mod_new, f"a new open of {module}.md generates the new commit's page",
         f"{len(got)} bytes, want {len(mod_new)}")
    t.ok(pread_all(fb, len(mod_old)) == mod_old, f"while the old {module}.md descriptor "
         "still reads the old page")
    for fd in (fa, fb, fc):
        os.close(fd)

    # ---- refreshes that move the commit do not keep the old versions alive
    listing = sorted(os.listdir(d))
    for i in range(8):
        c = env.add_commit(bare, {"README.md": f"# Sample\n\nRevision {i}.\n"})
        m.control("refresh acme/alpha")
        wait_until(lambda: repo_row(m, "acme/alpha")["commit"] == c, 30, what="refresh")
        wait_until(lambda: xattr(home_path, "commit") == c, 10, what="new Home.md")
        t.ok(read_errno(home_path)[0] == expected("Home", c, 5000),
             f"refresh {i + 1}: Home.md is the new commit's page")
        os.listdir(d)
        os.stat(m.path("acme", "alpha", module + ".md"))
    versions = lambda: repo_row(m, "acme/alpha").get("page_versions")  # noqa: E731
    try:
        wait_until(lambda: versions() == 1, 10, what="old page versions freed")
    except TimeoutError:
        pass
    t.eq(versions(), 1, "after 8 more refreshes only the current page version is alive "
         "(the kernel forgot the old page inodes, they were freed)")

    t.eq(m.unmount(), 0, "unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports")

    # ---- an open waiting for the old commit's page while a refresh moves on
    env.cache = os.path.join(env.root, "cache-parked")
    gate = os.path.join(env.root, "gate")
    gated = write_script(env, "gated.sh", f"while [ ! -e {gate} ]; do sleep 0.02; done\n" + GEN)
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options={"refresh_interval": 0},
                  generator={"backend": "command", "command": gated, "timeout": 60})
    home_path = m.path("acme", "alpha", "Home.md")
    before = xattr(home_path, "commit")
    box = {}
    opener = threading.Thread(target=lambda: box.update(r=read_errno(home_path)))
    opener.start()
    wait_until(lambda: xattr(home_path, "state") == "generating", 20, what="generating")
    moved = env.add_commit(bare, {"README.md": "# Sample\n\nWhile you waited.\n"})
    m.control("refresh acme/alpha")
    wait_until(lambda: repo_row(m, "acme/alpha")["commit"] == moved, 30, what="refresh")
    wait_until(lambda: xattr(home_path, "commit") == moved, 10, what="new Home.md")
    open(gate, "w").close()
    opener.join(60)
    data, err = box.get("r", (None, -1))
    t.ok(err == 0 and data == expected("Home", before, 5000),
         "an open parked on the old commit's page gets that page once generated",
         f"err {err}, {len(data or b'')} bytes")
    t.ok(read_errno(home_path)[0] == expected("Home", moved, 5000),
         "and a new open gets the new commit's page")
    t.eq(m.unmount(), 0, "unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports")

t.done()
