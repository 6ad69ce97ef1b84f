#!/usr/bin/env python3
"""Issue 14 on a real mount: a page is reused across commits when what it was
made from did not change. The openai backend talks to the loopback fake LLM
(tests/fake_llm.py), whose request log counts the model calls. Each kind of
dependency is changed in turn (blob, file added to a listed directory, file
deleted, an unrelated change), then a model change; stale_pages = serve
answers with the old version at once; a corrupt manifest is dropped."""
import json
import time
import secrets
import signal
import subprocess
import sys
import urllib.request
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_LLM = os.path.join(HERE, "..", "fake_llm.py")
KEY_ENV = "WIKIFS_TEST_REUSE_KEY"
os.environ[KEY_ENV] = "sk-test-reuse"
REPO = "acme/alpha"


class FakeLLM:
    """tests/fake_llm.py on 127.0.0.1, port from a port file."""

    def __init__(self, env):
        self.port_file = os.path.join(env.root, f"fake-llm-{secrets.token_hex(4)}.port")
        self.proc = subprocess.Popen([sys.executable, FAKE_LLM, "--port-file", self.port_file],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_until(lambda: os.path.exists(self.port_file) and os.path.getsize(self.port_file),
                   10, what="fake llm port file")
        self.base = f"http://127.0.0.1:{int(open(self.port_file).read())}"
        env.servers.append(self)

    def requests(self):
        with urllib.request.urlopen(self.base + "/_requests", timeout=10) as r:
            return json.loads(r.read())

    def calls(self):
        return len(self.requests())

    def titles_since(self, n):
        """The page titles of the requests after the first n."""
        out = []
        for rq in self.requests()[n:]:
            body = rq["body"]
            msgs = (json.loads(body) if isinstance(body, str) else body)["messages"]
            out.append(msgs[-1]["content"].split("\n", 1)[0].replace("Page: ", ""))
        return sorted(out)

    def script(self, modes):
        rq = urllib.request.Request(self.base + "/_script", data=json.dumps(modes).encode(),
                                    method="POST")
        urllib.request.urlopen(rq, timeout=10).read()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


def repo_files():
    """About 60 files: a README, a build file and five modules."""
    files = {"README.md": "# Alpha\n\nA project for the reuse tests.\n",
             "meson.build": "project('alpha', 'c')\n"}
    for mod in ("core", "net", "ui", "store"):
        for i in range(11):
            files[f"src/{mod}/{mod}{i}.c"] = (f'#include "{mod}.h"\n\nint {mod}_{i}(void)\n'
                                              f"{{\n\treturn {i};\n}}\n")
        files[f"src/{mod}/{mod}.h"] = "".join(f"int {mod}_{i}(void);\n" for i in range(11))
    for i in range(8):
        files[f"tools/tool{i}.py"] = f"def tool{i}():\n    return {i}\n"
    return files


def commit(env, bare, write=None, remove=(), message="change"):
    """A commit on @bare writing @write (path -> text) and removing @remove."""
    work = os.path.join(env.root, "upd-" + secrets.token_hex(4))
    git(["clone", "-q", bare, work], env.root)
    for path, data in (write or {}).items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(data)
    for path in remove:
        git(["rm", "-q", path], work)
    git(["add", "-A"], work)
    git(["commit", "-q", "-m", message], work)
    git(["push", "-q", "origin", "HEAD"], work)
    return git(["rev-parse", "HEAD"], work).stdout.strip()


def repo_row(m):
    return next(r for r in m.progress()["repos"] if r["name"] == REPO)


def refresh_to(m, c):
    m.control(f"refresh {REPO}")
    wait_until(lambda: repo_row(m)["commit"] == c, 30, what=f"refresh to {c[:8]}")


def read(m, slug):
    data, err = read_errno(m.path("acme", "alpha", slug + ".md"))
    return data if err == 0 else None


def slugs(m):
    return sorted(f[:-3] for f in os.listdir(m.path("acme", "alpha")) if f.endswith(".md"))


def calls_to_read(m, fake, pages):
    """Model calls made by reading @pages (all read whole)."""
    before = fake.calls()
    ok = all(read(m, s) is not None for s in pages)
    return fake.calls() - before if ok else None


with Env() as env:
    bare = env.make_repo("alpha", repo_files())
    fake = FakeLLM(env)
    gen = {"backend": "openai", "model": "fake-model-1", "api_key_env": KEY_ENV,
           "base_url": fake.base + "/v1", "timeout": 30}
    opts = {"refresh_interval": 0, "failure_backoff": 1}
    m = env.mount({REPO: bare}, options=opts, generator=gen)
    pages = slugs(m)
    core = "Module-src-core"
    t.ok(core in pages and "Module-src-net" in pages, "the plan has module pages", pages)
    t.eq(calls_to_read(m, fake, pages), len(pages), f"reading the {len(pages)} pages: one "
         "model call each")

    cited = xattr(m.path("acme", "alpha", core + ".md"), "citations")

    # ---- a commit touching only README.md
    c = commit(env, bare, {"README.md": "# Alpha\n\nNow with more words.\n"})
    refresh_to(m, c)
    n = calls_to_read(m, fake, pages)
    t.diag(f"README-only commit: {n} model calls for {len(pages)} pages "
           f"({fake.titles_since(fake.calls() - (n or 0))})")
    mods = [s for s in pages if s.startswith("Module-")]
    t.ok(n is not None and n <= len(pages) - len(mods),
         "after a README-only commit no module page is made again", n)
    t.eq(m.progress()["pages"]["reused"], len(pages) - n,
         "progress.json counts the pages reused")
    t.ok(cited != "" and
         xattr(m.path("acme", "alpha", core + ".md"), "citations") == cited,
         "a reused page has its citations checked at the new commit (user.wikifs.citations)",
         cited)
    t.ok("reused" in open(m.path(".wikifs", "progress")).read(),
         ".wikifs/progress shows the reused pages")
    metrics = open(m.path(".wikifs", "metrics")).read()
    t.ok(f"\nwikifs_reuses_total {len(pages) - n}\n" in metrics,
         ".wikifs/metrics counts them in wikifs_reuses_total",
         [x for x in metrics.splitlines() if x.startswith("wikifs_reuses_total")])

    # ---- retry remakes a reused page: it asks the model, not the older commit's bytes
    before = fake.calls()
    m.control(f"retry {REPO}/{core}.md")
    wait_until(lambda: fake.calls() > before or xattr(m.path("acme", "alpha", core + ".md"),
                                                        "state") == "ready", 20, what="retry")
    wait_until(lambda: xattr(m.path("acme", "alpha", core + ".md"), "state") == "ready", 20,
               what="retried page")
    t.eq(fake.calls() - before, 1, "retry of a reused page makes it again (one model call)")

    # ---- each kind of change, seen by the page of module src/core
    cases = [
        ("a blob it read changed", {"src/core/core3.c": "int core_3(void) { return 33; }\n"},
         (), 1),
        ("an unrelated change (another module's file)",
         {"src/net/net2.c": "int net_2(void) { return 22; }\n"}, (), 0),
        ("a file added to another module's directory (the plan lists it there)",
         {"src/net/extra.c": "int net_extra;\n"}, (), 0),
        ("a file added to its directory", {"src/core/extra.c": "int extra;\n"}, (), 1),
        ("a file of its directory deleted", None, ("src/core/core7.c",), 1),
    ]
    for what, write, remove, want in cases:
        before = fake.calls()
        c = commit(env, bare, write, remove, message=what)
        refresh_to(m, c)
        data = read(m, core)
        got = fake.calls() - before
        t.ok(data is not None and got == want,
             f"{what}: {core} makes {want} model call{'s' if want != 1 else ''}",
             f"{got} calls: {fake.titles_since(before)}")
    sources = xattr(m.path("acme", "alpha", core + ".md"), "sources")
    t.ok("blob " in sources and " src/core/core3.c\n" in sources and
         " paths:src/core\n" in sources and "core7.c" not in sources,
         "user.wikifs.sources lists the files and facts the page was made from", sources)
    t.eq(m.unmount(), 0, "unmount")

    # ---- another model: nothing is reused
    gen2 = dict(gen, model="fake-model-2")
    m = env.mount({REPO: bare}, options=opts, generator=gen2)
    t.eq(calls_to_read(m, fake, [core]), 1, "another model makes the page again")
    t.eq(m.unmount(), 0, "unmount")

    # ---- stale_pages = serve: the old version at once, then the new one
    m = env.mount({REPO: bare}, options=dict(opts, stale_pages="serve"), generator=gen)
    core_path = m.path("acme", "alpha", core + ".md")
    old = read(m, core)  # waits for the clone: the repository's commit is known after it
    old_commit = repo_row(m)["commit"]
    t.ok(old is not None and xattr(core_path, "commit") == old_commit,
         "serve: the page is ready at the current commit")
    fake.script(["latency:3000"])  # the regeneration takes a while
    before = fake.calls()
    c = commit(env, bare, {"src/core/core4.c": "int core_4(void) { return 44; }\n"})
    refresh_to(m, c)
    t0 = time.monotonic()
    stale = read(m, core)
    took = time.monotonic() - t0
    t.ok(stale == old and took < 2, "serve: an open of a changed page answers the old bytes at "
         "once", f"{took:.2f}s")
    t.eq((xattr(core_path, "state"), xattr(core_path, "commit")), ("stale", old_commit),
         "serve: user.wikifs.state is stale, with the commit it was made at")
    wait_until(lambda: xattr(core_path, "state") == "ready", 30, what="regenerated")
    t.eq((xattr(core_path, "commit"), fake.calls() - before, read(m, core) is not None),
         (c, 1, True), "serve: then the page made at the new commit, in one model call")
    t.eq(m.unmount(), 0, "unmount")

    # ---- a corrupt manifest is dropped, and the page made again
    damaged = 0
    for d, _, fs in os.walk(os.path.join(env.cache, "pages")):
        for f in fs:
            path = os.path.join(d, f)
            with open(path, "r+b") as fh:
                fh.seek(64)
                if fh.read(15) == b"wikifs-manifest":
                    fh.seek(64 + 20)
                    fh.write(b"#")
                    damaged += 1
    t.ok(damaged > 0, f"{damaged} manifests damaged on disk")
    m = env.mount({REPO: bare}, options=opts, generator=gen)
    c = commit(env, bare, {"tools/tool1.py": "def tool1():\n    return 11\n"})
    refresh_to(m, c)
    t.eq(calls_to_read(m, fake, [core]), 1,
         "with its manifest corrupt, an unchanged page is made again")
    c = commit(env, bare, {"tools/tool2.py": "def tool2():\n    return 12\n"})
    refresh_to(m, c)
    t.eq(calls_to_read(m, fake, [core]), 0, "and its new manifest serves the next commit")
    t.eq(m.unmount(), 0, "unmount")

t.done()
