#!/usr/bin/env python3
"""Issue 13 on a real mount: OWNER/REPO@REF version directories. A repository
with two tags, a branch and a moving main, served by a real git daemon: pages
at each tag differ where the tree differs and are byte-identical across
remounts; diff -r of two versions; abbreviated commit ids; an unknown ref is
ENOENT after one fetch, and more unknown refs within failure_backoff cost no
fetch; a refresh moves main and the branch while a reader of @v1 and of the
old branch reads to the end unchanged; find never enters a version; prefetch
of a version; the .versions file; max_versions; '@' in a [repo] name."""
import sys
import threading
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")


def version_row(m, name):
    for r in m.progress()["repos"]:
        for v in r.get("versions", []):
            if v["name"] == name:
                return v
    return None


def repo_row(m, name):
    return [r for r in m.progress()["repos"] if r["name"] == name][0]


def lookup_errno(path):
    try:
        os.stat(path)
        return 0
    except OSError as e:
        return e.errno


def tree_bytes(root):
    out = {}
    for name in sorted(os.listdir(root)):
        with open(os.path.join(root, name), "rb") as f:
            out[name] = f.read()
    return out


with Env() as env:
    daemon = env.git_daemon()
    files = sample_files()
    files["README.md"] = "# Sample\n\nversion one of the sample\n"
    bare = env.make_repo("alpha", files)
    v1 = git(["rev-parse", "HEAD"], bare).stdout.strip()
    git(["tag", "v1"], bare)  # lightweight
    v2 = env.add_commit(bare, {"README.md": "# Sample\n\nversion two of the sample\n",
                               "engine/core.c": "int core(void)\n{\n\treturn 1;\n}\n"})
    git(["tag", "-a", "-m", "release two", "v2"], bare)  # annotated: peeled
    git(["branch", "feature", v1], bare)
    feat1 = v1

    opts = {"refresh_interval": 0, "failure_backoff": 60, "open_timeout": 60}
    m = env.mount({"acme/alpha": daemon.url("alpha.git")}, options=opts)
    alpha = m.path("acme", "alpha")
    main_pages = sorted(os.listdir(alpha))  # the main view clones (no ref fetch)
    t.eq(repo_row(m, "acme/alpha")["commit"], v2, "the main directory follows the remote HEAD")
    v3 = env.add_commit(bare, {"docs/three.md": "# Three\n"})
    git(["tag", "v3"], bare)  # pushed after the clone: not in it yet

    # ---- tags: lookup-only directories pinned to their commits
    p1, p2 = m.path("acme", "alpha@v1"), m.path("acme", "alpha@v2")
    pages1, err1 = listdir_errno(p1)
    pages2, err2 = listdir_errno(p2)
    t.ok(err1 == 0 and "Home.md" in pages1, "ls acme/alpha@v1 lists the pages of tag v1",
         (pages1, err1))
    t.ok(err2 == 0 and "Module-engine.md" in pages2 and "Module-engine.md" not in pages1,
         "the plans differ where the trees differ (engine/ only at v2)", (pages1, pages2))
    t.eq((xattr(p1, "commit"), xattr(p1, "ref")), (v1, "v1"),
         "alpha@v1 answers user.wikifs.commit and user.wikifs.ref")
    t.eq(xattr(p2, "commit"), v2, "an annotated tag is peeled to its commit")
    home1 = open(os.path.join(p1, "Home.md"), "rb").read()
    home2 = open(os.path.join(p2, "Home.md"), "rb").read()
    t.ok(b"version one" in home1 and b"version two" in home2 and v1.encode() in home1,
         "Home.md at each tag is generated from that tag's tree and names its commit")
    t.eq(xattr(os.path.join(p1, "Home.md"), "commit"), v1, "a page of @v1 pins user.wikifs.commit")
    t.eq(sorted(os.listdir(m.path("acme"))), ["alpha"], "readdir of the owner lists no version")
    t.ok(".versions" not in os.listdir(alpha) and sorted(os.listdir(alpha)) == main_pages,
         "nor does the repository list its .versions file")

    # ---- diff -r of two versions, and of two names of one commit
    r = run(["diff", "-r", p1, p2], check=False)
    t.ok(r.returncode == 1 and "Only in " + p2 + ": Module-engine.md" in r.stdout and
         "version two" in r.stdout, "diff -r alpha@v1 alpha@v2 shows what changed",
         r.stdout[-800:] + r.stderr)
    short, longer = m.path("acme", "alpha@" + v1[:7]), m.path("acme", "alpha@" + v1[:12])
    r = run(["diff", "-r", p1, short], check=False)
    t.ok(r.returncode == 0, "an abbreviated id (7 hex digits) is the same tree as its tag",
         r.stdout[-500:] + r.stderr)
    t.eq((xattr(short, "commit"), xattr(longer, "commit"), xattr(m.path("acme", "alpha@" + v1),
                                                                 "commit")), (v1, v1, v1),
         "7 and 12 hex digits and the full id all resolve to the commit")

    # ---- names that are no version
    for name in ["alpha@", "alpha@..", "alpha@a..b", "alpha@\x01x", "alpha@ma\x7fin", "nosuch@v1",
                 "@v1"]:
        t.eq(lookup_errno(m.path("acme", name)), errno.ENOENT, f"{name!r} is ENOENT")

    # ---- .versions: branches and tags with their commits, from the clone
    listing = open(os.path.join(alpha, ".versions")).read().splitlines()
    t.eq(listing, [f"{feat1} branch feature", f"{v2} branch main", f"{v1} tag v1",
                   f"{v2} tag v2"], "acme/alpha/.versions lists branches and tags (as cloned)")

    # ---- an unknown ref: one fetch, ENOENT, remembered; more unknown refs fetch no more
    fetches0 = repo_row(m, "acme/alpha")["ref_fetches"]
    done0 = m.progress()["clones"]["done"]
    t0 = time.monotonic()
    t.eq(lookup_errno(m.path("acme", "alpha@nope")), errno.ENOENT, "alpha@nope is ENOENT")
    dt = time.monotonic() - t0
    t.ok(dt < 5, f"answered once the fetch said so ({dt:.2f}s)")
    t.eq(repo_row(m, "acme/alpha")["ref_fetches"] - fetches0, 1, "after exactly one fetch")
    t.eq(m.progress()["clones"]["done"] - done0, 1, "one network operation")
    t.ok("acme/alpha@nope" in m.errors() and "nope" in m.errors(),
         "and .wikifs/errors has a line for it", m.errors())
    t0 = time.monotonic()
    t.eq(lookup_errno(m.path("acme", "alpha@nope")), errno.ENOENT, "a second lookup: ENOENT")
    t.ok(time.monotonic() - t0 < 1, "at once (negative-cached)")
    t.eq(xattr(m.path("acme", "alpha@v3"), "commit"), v3,
         "the tag pushed before that fetch was fetched with it")
    burst = ["alpha@%040x" % (0xdead0000 + i) for i in range(20)] + ["alpha@nope%d" % i
                                                                      for i in range(20)]
    errs = []
    workers = [threading.Thread(target=lambda n=n: errs.append(lookup_errno(m.path("acme", n))))
               for n in burst]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    t.eq(sorted(set(errs)), [errno.ENOENT], "a burst of 40 unknown refs: all ENOENT")
    t.eq(lookup_errno(m.path("acme", "alpha@" + v1[:6])), errno.ENOENT,
         "6 hex digits are too few: ENOENT")
    t.eq(repo_row(m, "acme/alpha")["ref_fetches"] - fetches0, 1,
         "and no fetch within failure_backoff")
    t.eq(m.progress()["clones"]["done"] - done0, 1, "the daemon saw no more network operations")

    # ---- find never enters a version directory
    r = run(["find", m.dir, "-not", "-path", "*/.wikifs*"])
    t.ok("@" not in r.stdout and "Home.md" in r.stdout, "find MOUNT lists no version directory",
         r.stdout[-500:])

    # ---- a refresh moves main and the branch; open readers keep their bytes
    pf = m.path("acme", "alpha@feature")
    t.eq(xattr(pf, "commit"), feat1, "alpha@feature resolves at its first lookup")
    feat_home = open(os.path.join(pf, "Home.md"), "rb").read()
    fa = os.open(os.path.join(p1, "Home.md"), os.O_RDONLY)
    head = os.read(fa, 100)
    fb = os.open(os.path.join(pf, "Home.md"), os.O_RDONLY)
    fb_head = os.read(fb, 50)
    cwd = os.open(pf, os.O_RDONLY | os.O_DIRECTORY)
    work = os.path.join(env.root, "feature-work")
    git(["clone", "-q", "-b", "feature", bare, work], env.root)
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("# Sample\n\nthe feature moved on\n")
    git(["commit", "-qam", "feature moves"], work)
    git(["push", "-q", "origin", "feature"], work)
    feat2 = git(["rev-parse", "HEAD"], work).stdout.strip()
    main2 = env.add_commit(bare, {"README.md": "# Sample\n\nmain moved on\n"})
    t.eq(xattr(pf, "commit"), feat1, "a push alone moves no branch version")
    m.control("refresh acme/alpha")
    wait_until(lambda: repo_row(m, "acme/alpha")["commit"] == main2, 30, what="refresh")
    wait_until(lambda: xattr(pf, "commit") == feat2, 30, what="feature moved")
    t.ok(True, "after the refresh alpha@feature names the branch's new commit")
    new_feat = open(os.path.join(pf, "Home.md"), "rb").read()
    t.ok(b"the feature moved on" in new_feat, "and a new open reads the new commit's page")
    t.eq(head + read_rest(fa), home1, "the reader of alpha@v1/Home.md reads it to its end unchanged")
    t.eq(fb_head + read_rest(fb), feat_home, "the old alpha@feature/Home.md reads unchanged")
    t.eq(os.getxattr(fb, "user.wikifs.commit").decode(), feat1, "and keeps its commit")
    old_dir_home = os.open("Home.md", os.O_RDONLY, dir_fd=cwd)
    t.eq(read_rest(old_dir_home), feat_home,
         "a directory opened before the refresh still shows the old commit")
    for fd in (fa, fb, old_dir_home, cwd):
        os.close(fd)
    t.eq(xattr(p1, "commit"), v1, "the tag did not move")

    # ---- lookups and reads racing refreshes that move the branch (for the sanitizers)
    stop = threading.Event()
    failures = []

    def reader(k):
        names = ["alpha@feature", "alpha@v1", "alpha@" + v2[:8], "alpha@gone%d" % k]
        i = 0
        while not stop.is_set():
            d = m.path("acme", names[i % len(names)])
            i += 1
            try:
                for name in sorted(os.listdir(d))[:3]:
                    with open(os.path.join(d, name), "rb") as f:
                        if not f.read():
                            failures.append(f"{d}/{name}: empty")
            except FileNotFoundError:
                if "gone" not in d:
                    failures.append(f"{d}: ENOENT")
            except OSError as e:
                failures.append(f"{d}: {e}")

    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for th in readers:
        th.start()
    for round_ in range(3):
        with open(os.path.join(work, "README.md"), "a") as f:
            f.write(f"round {round_}\n")
        git(["commit", "-qam", f"round {round_}"], work)
        git(["push", "-q", "origin", "feature"], work)
        moved = git(["rev-parse", "HEAD"], work).stdout.strip()
        m.control("refresh acme/alpha")
        wait_until(lambda: xattr(pf, "commit") == moved, 30, what=f"round {round_}")
    stop.set()
    for th in readers:
        th.join()
    t.eq(failures, [], "lookups and reads of versions racing 3 refreshes all succeed")

    # ---- prefetch of a version, and status
    r = run([WIKIFS, "prefetch", p2], check=False)
    row = version_row(m, "acme/alpha@v2")
    t.ok(r.returncode == 0 and row and row["ready"] == row["pages"] == len(pages2),
         "wikifs prefetch acme/alpha@v2 generates every page of the version",
         (r.returncode, r.stdout[-300:], r.stderr, row))
    st = run([WIKIFS, "status", m.dir]).stdout
    t.ok("acme/alpha@v2" in st and "acme/alpha@v1" in st and "acme/alpha@nope" in st,
         "wikifs status shows the materialised versions", st)
    before = tree_bytes(p2)
    t.eq(m.unmount(), 0, "unmount")

    # ---- remount: the same bytes, and a bound on materialised versions
    opts2 = dict(opts, max_versions=2)
    m2 = env.mount({"acme/alpha": daemon.url("alpha.git")}, options=opts2)
    q2 = m2.path("acme", "alpha@v2")
    t.ok(tree_bytes(q2) == before, "every page of alpha@v2 is byte-identical after a remount")
    for ref in ["v1", "v3", v1[:9], "feature"]:
        os.listdir(m2.path("acme", "alpha@" + ref))
    wait_until(lambda: len(repo_row(m2, "acme/alpha")["versions"]) <= 2, 10, what="eviction")
    names = [v["ref"] for v in repo_row(m2, "acme/alpha")["versions"]]
    t.ok(len(names) == 2 and "feature" in names,
         "max_versions = 2: the least recently used versions are dropped", names)
    t.eq(xattr(m2.path("acme", "alpha@v1"), "commit"), v1, "a dropped version comes back")
    t.eq(m2.unmount(), 0, "unmount")

    # ---- '@' is reserved in repository names
    bad = os.path.join(env.root, "bad.conf")
    with open(bad, "w") as f:
        f.write("[wikifs]\n\n[repo acme/al@pha]\nurl = %s\n" % daemon.url("alpha.git"))
    r = run([WIKIFS, "check-config", bad], check=False)
    t.ok(r.returncode == 1 and f"{bad}:3" in r.stderr and "'@' is reserved" in r.stderr,
         "a [repo] name with '@' is a config error naming file:line", r.stderr)

t.done()
