#!/usr/bin/env python3
"""Issue 17 item 6: reuse across commits works fleet-wide. The manifests of
issue 14's reuse live in the shared store too, so a host that has never
seen a page reuses another host's page for a new commit.

The test starts its own PostgreSQL (pgharness.py). The generator is a
command that appends "PAGE HOST" to a counter file and writes a page that
is a pure function of its name; a module page reports its own directory in
WIKIFS_DEPS (so it depends on that directory only), every other page on the
whole tree.

- Host A reads every page at commit 1; a commit changing only README.md is
  pushed; host B, with an empty cache, mounts at commit 2 and reads every
  page: no module page is generated on B (their manifests match A's), their
  bytes are A's, and the pages made from the whole tree are generated.
- A commit changing mod1/m1.c: host C, empty too, generates Module mod1
  and reuses the others from the store."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa
from pgharness import Postgres
import secrets

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
pg = Postgres.start_or_skip(t)

GEN = ('cat > /dev/null\n'
       'echo "$WIKIFS_PAGE $HOST_TAG" >> "$COUNT_FILE"\n'
       'case "$WIKIFS_PAGE" in\n'
       '  Module-*) echo "${WIKIFS_PAGE#Module-}" > "$WIKIFS_DEPS" ;;\n'
       'esac\n'
       + DET_GEN.replace("cat > /dev/null\n", ""))


def commit(env, bare, write):
    """A commit on @bare writing @write (path -> text), pushed."""
    work = os.path.join(env.root, "upd-" + secrets.token_hex(4))
    git(["clone", "-q", bare, work], env.root)
    for path, data in write.items():
        with open(os.path.join(work, path), "w") as f:
            f.write(data)
    git(["commit", "-q", "-am", "change"], work)
    git(["push", "-q", "origin", "HEAD"], work)


def made_by(path, host):
    try:
        with open(path) as f:
            return sorted(ln.split()[0] for ln in f if ln.split()[1:] == [host])
    except FileNotFoundError:
        return []


def read_pages(m, pages):
    return {p: read_errno(m.path("team", "one", p)) for p in pages}


try:
    with Env() as env:
        files = {"README.md": "# fleet\n\nOne wiki for a team.\n"}
        for i in range(4):
            files[f"mod{i}/m{i}.c"] = f"int m{i}(void)\n{{\n\treturn {i};\n}}\n"
        bare = env.make_repo("one", files)
        counter = os.path.join(env.root, "generated")
        os.environ.update(COUNT_FILE=counter, DELAY="0.05")
        gen = {"backend": "command", "command": write_script(env, "gen.sh", GEN), "timeout": 60}

        def mount(tag):
            opts = {"cache_dir": os.path.join(env.root, f"cache-{tag}"), "store": "postgresql",
                    "store_conninfo_env": "WIKIFS_STORE", "store_timeout": 10,
                    "refresh_interval": 0}
            return mount_with_env(env, {"team/one": bare},
                                  {"HOST_TAG": tag, "WIKIFS_STORE": pg.conninfo()},
                                  options=opts, generator=gen)

        a = mount("A")
        pages = sorted(p for p in os.listdir(a.path("team", "one")) if p.endswith(".md"))
        modules = [p for p in pages if p.startswith("Module-")]
        others = [p for p in pages if p not in modules]
        t.ok(len(modules) >= 3 and others, f"module pages {modules}, others {others}")
        at_a = read_pages(a, pages)
        t.eq(sorted(p for p, (d, e) in at_a.items() if e != 0), [], "A reads every page")
        t.eq(made_by(counter, "A"), sorted(p[:-3] for p in pages), "A generated each page once")
        t.eq(int(pg.sql("SELECT count(*) FROM wikifs_manifests")), len(pages),
             "the store holds a manifest for each page A made")

        # ---- README only: B, which never saw commit 1, reuses A's module pages
        commit(env, bare, {"README.md": "# fleet\n\nNow with more words.\n"})
        b = mount("B")
        at_b = read_pages(b, pages)
        t.eq(sorted(p for p, (d, e) in at_b.items() if e != 0), [], "B reads every page")
        t.eq([p for p in made_by(counter, "B") if p.startswith("Module-")], [],
             "B generates no module page: A's manifests match commit 2")
        t.eq([p for p in modules if at_b[p][0] != at_a[p][0]], [],
             "B's module pages are A's bytes")
        t.eq(made_by(counter, "B"), sorted(p[:-3] for p in others),
             "the pages made from the whole tree (README changed) are generated on B")
        t.eq(b.progress()["store"].get("reused"), len(modules),
             "B's progress counts the module pages reused through the store")
        t.eq([p for p in modules if xattr(a.path("team", "one", p), "citations") in
              ("", None) or xattr(b.path("team", "one", p), "citations") !=
              xattr(a.path("team", "one", p), "citations")], [],
             "B checked the citations of the pages it reused (user.wikifs.citations as A's)")

        # ---- mod1 changed: C generates Module mod1, reuses the other modules
        commit(env, bare, {"mod1/m1.c": "int m1(void)\n{\n\treturn 11;\n}\n"})
        c = mount("C")
        at_c = read_pages(c, modules)
        t.eq(sorted(p for p, (d, e) in at_c.items() if e != 0), [], "C reads every module page")
        t.eq(made_by(counter, "C"), ["Module-mod1"],
             "C generates only the module whose directory changed")
        for m in (a, b, c):
            t.eq(m.unmount(), 0, f"unmount {os.path.basename(m.dir)}")
finally:
    pg.destroy()
t.done()
