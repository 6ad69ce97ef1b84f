#!/usr/bin/env python3
"""A page regenerated at its own commit (`retry PAGE`) with another length
never changes under a reader: the descriptor opened before keeps its fstat
size, reads and maps the old bytes to their end, while a new open sees the
new version with its own size. The regenerated page gets a new inode, the
old one lives on unlisted while open, like a page retired by a refresh."""
import errno
import mmap
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

# Each call for a page makes it longer: call k writes 3000 * k numbered lines.
GEN = r'''cat > /dev/null
calls="$CALLS_DIR/$WIKIFS_PAGE"
echo x >> "$calls"
k=$(wc -l < "$calls")
printf '# %s version %s\n' "$WIKIFS_PAGE" "$k"
seq 1 $((k * 3000)) | sed "s/\$/ of version $k/"
printf 'END %s\n' "$k"
'''


def expected(page, k):
    out = [f"# {page} version {k}"]
    out += [f"{i} of version {k}" for i in range(1, k * 3000 + 1)]
    out.append(f"END {k}")
    return ("\n".join(out) + "\n").encode()


with Env() as env:
    daemon = env.git_daemon()
    env.make_repo("x", sample_files())
    calls = os.path.join(env.root, "calls")
    os.mkdir(calls)
    os.environ["CALLS_DIR"] = calls  # the daemon's commands inherit it
    gen = {"backend": "command", "command": write_script(env, "gen.sh", GEN), "timeout": 60}
    m = env.mount({"acme/x": daemon.url("x.git")}, options={"refresh_interval": 0},
                  generator=gen)
    home = m.path("acme", "x", "Home.md")
    v1, v2 = expected("Home", 1), expected("Home", 2)

    # ---- a reader opens version 1 and reads part of it
    fa = os.open(home, os.O_RDONLY)
    head = os.read(fa, 4096)
    t.eq(head, v1[:4096], "the reader's first bytes are version 1")
    t.eq(os.fstat(fa).st_size, len(v1), "fstat says version 1's size")
    mapped_before = mmap.mmap(fa, len(v1), prot=mmap.PROT_READ)
    t.eq(mapped_before[:100], v1[:100], "a map made before the retry sees version 1")
    gen_before = m.progress()["pages"]["generated"]

    # ---- the page is regenerated at the same commit, longer
    m.control("retry acme/x/Home.md")
    wait_until(lambda: m.progress()["pages"]["generated"] > gen_before and
               xattr(home, "state") == "ready", 30, what="regenerated Home.md")

    # ---- the old descriptor: same size, same bytes, by read() and by mmap
    t.eq(os.fstat(fa).st_size, len(v1), "after the retry fstat of the old fd keeps version 1's size")
    rest = read_rest(fa)
    t.ok(head + rest == v1, "the rest of the old fd reads version 1 to its end",
         f"{len(head) + len(rest)} bytes, want {len(v1)}")
    late = mmap.mmap(fa, len(v1), prot=mmap.PROT_READ)
    t.ok(late[:] == v1, "a map of the old fd made after the retry sees version 1 whole",
         f"{len(late)} bytes, want {len(v1)}")
    t.ok(mapped_before[:] == v1, "the map made before sees version 1 whole")
    t.eq(os.fstat(fa).st_nlink, 0, "the old inode has no name any more")

    # ---- a new open sees version 2, with its size
    fb = os.open(home, os.O_RDONLY)
    got = read_rest(fb)
    t.ok(got == v2, "a new open reads version 2", f"{len(got)} bytes, want {len(v2)}")
    t.eq(os.fstat(fb).st_size, len(v2), "its fstat says version 2's size")
    t.eq(os.stat(home).st_size, len(v2), "stat of the name says version 2's size")
    t.ok(os.fstat(fb).st_ino != os.fstat(fa).st_ino, "the new version is a new inode")
    t.eq(os.pread(fa, 4096, 0), v1[:4096], "the old fd still reads version 1 after it")
    t.eq(os.fstat(fa).st_size, len(v1), "and still says its size")
    for mm in (mapped_before, late):
        mm.close()
    os.close(fa)
    os.close(fb)

    # ---- a retry while nothing holds the page: the name shows the new version
    gen_before = m.progress()["pages"]["generated"]
    m.control("retry acme/x/Home.md")
    wait_until(lambda: m.progress()["pages"]["generated"] > gen_before and
               xattr(home, "state") == "ready", 30, what="regenerated Home.md again")
    v3 = expected("Home", 3)
    data, err = read_errno(home)
    t.ok(err == 0 and data == v3, "with no reader left a retry shows version 3",
         f"err {err}, {len(data or b'')} bytes, want {len(v3)}")
    t.eq(os.stat(home).st_size, len(v3), "stat says version 3's size")
    t.eq(sorted(os.listdir(m.path("acme", "x"))).count("Home.md"), 1,
         "the listing names Home.md once")

    t.eq(m.unmount(), 0, "unmount")
    t.eq(m.sanitizer_reports(), [], "no sanitizer reports")

t.done()
