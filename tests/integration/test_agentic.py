#!/usr/bin/env python3
"""Issue 15 on real mounts: the command backend as a host for agentic page
writers.

The generator is a small Python script written here that inspects what it
was given and writes it into the page as JSON: its cwd and WIKIFS_TREE (the
read-only checkout of the page's commit: every file's bytes are compared
with `git show COMMIT:PATH`), whether writing into the checkout fails (the
daemon runs as root here, so the mode bits alone would not stop it), the
descriptors it has open (the daemon is started with an extra inherited
descriptor, 7, to prove it is closed), the WIKIFS_* variables and the plan
JSON. It reports two real files and one missing one into WIKIFS_DEPS, and
cites one existing and one missing file.

Then: two pages of one commit share one checkout; under a one-byte
checkout budget a generation held at a gate file keeps its checkout while
another commit's is made and evicted, and reads it whole once released;
language = fr is another page (the command runs again) while en is a cache
hit; a .wikifs.json page appears in ls with its purpose and files, its
notes reach the prompt; an invalid steering file is one line in
.wikifs/errors; a crash's partial checkout is swept at start."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

AGENT = r'''#!/usr/bin/env python3
import json, os, sys
prompt = sys.stdin.read()
e = os.environ
out = {k: e.get(k) for k in ("WIKIFS_TREE", "WIKIFS_REPO", "WIKIFS_COMMIT", "WIKIFS_PAGE",
                             "WIKIFS_PAGE_TITLE", "WIKIFS_LANGUAGE", "WIKIFS_PLAN",
                             "WIKIFS_DEPS")}
out["cwd"] = os.getcwd()
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
# the listing's own descriptor is closed once it returns
out["fds"] = sorted(fd for fd in map(int, os.listdir("/proc/self/fd")) if is_open(fd))
out["notes_in_prompt"] = "frobnicator" in prompt
gates = e.get("AGENT_GATES", "")
name = e["WIKIFS_REPO"].replace("/", "_") + "-" + e["WIKIFS_PAGE"]
if gates and os.path.exists(os.path.join(gates, "hold-" + name)):
    open(os.path.join(gates, "started-" + name), "w").close()
    while not os.path.exists(os.path.join(gates, "release-" + name)):
        os.sched_yield()
with open(os.path.join(e["AGENT_LOG"], "runs"), "a") as f:
    f.write(name + " " + e["WIKIFS_LANGUAGE"] + "\n")
files = {}
for d, _, fs in os.walk("."):
    for fn in fs:
        p = os.path.join(d, fn)[2:]
        with open(p, "rb") as fh:
            files[p] = fh.read().hex()
out["files"] = files
try:
    with open("written-by-agent", "w") as f:
        f.write("x")
    out["write"] = "ok"
except OSError as err:
    out["write"] = err.errno
try:
    os.chmod("README.md", 0o644)
    out["chmod"] = "ok"
except OSError as err:
    out["chmod"] = err.errno
with open(e["WIKIFS_PLAN"]) as f:
    out["plan"] = json.load(f)
with open(e["WIKIFS_DEPS"], "w") as f:
    f.write("README.md\nnot/there.c\n./src/main.c\n")
print("# " + e["WIKIFS_PAGE_TITLE"])
print()
print("Entry point: src/main.c:2-4; see also missing.c:7.")
print()
print("<!--AGENT " + json.dumps(out) + " AGENT-->")
'''


def page_json(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        t.diag(f"{path}: {e}")
        return {}
    m = re.search(r"<!--AGENT (.*) AGENT-->", text, re.S)
    return json.loads(m.group(1)) if m else {}


def blobs(bare, commit):
    """{path: hex of content} of every file at commit."""
    out = {}
    names = git(["ls-tree", "-r", "--name-only", commit], bare).stdout.split("\n")
    for p in filter(None, names):
        data = subprocess.run(["git", "show", f"{commit}:{p}"], cwd=bare, check=True,
                              stdout=subprocess.PIPE).stdout
        out[p] = data.hex()
    return out


def manifest_paths(sources):
    """The repository paths of a user.wikifs.sources value (KIND SHORT-ID PATH lines) by kind."""
    got = {}
    for line in (sources or "").splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("blob", "tree", "absent"):
            got[rest.partition(" ")[2]] = kind
    return got


def head(bare):
    return git(["rev-parse", "HEAD"], bare).stdout.strip()


def runs(log):
    try:
        with open(os.path.join(log, "runs")) as f:
            return f.read().split("\n")[:-1]
    except OSError:
        return []


def agent_mount(env, repos, log, gates="", options=None, generator=None, wrap=()):
    script = os.path.join(env.root, "agent.py")
    with open(script, "w") as f:
        f.write(AGENT)
    os.chmod(script, 0o755)
    g = {"backend": "command", "command": script, "timeout": 60}
    g.update(generator or {})
    o = {"retries": 1}
    o.update(options or {})
    return mount_with_env(env, repos, {"AGENT_LOG": log, "AGENT_GATES": gates},
                          options=o, generator=g, wrap=wrap)


STEER = json.dumps({
    "repo_notes": [{"content": "Always mention the frobnicator."}],
    "pages": [{"title": "Deep Dive", "purpose": "how util adds numbers",
               "parent": "Architecture", "files": ["src/util.c", "nope/gone.c", "lib/"]}],
})

with Env() as env:
    files = sample_files()
    files[".wikifs.json"] = STEER
    bare = env.make_repo("alpha", files)
    bad = env.make_repo("beta", dict(sample_files(), **{".wikifs.json": '{"pages": [{"x": 1}]'}))
    commit = head(bare)
    log = os.path.join(env.root, "log")
    os.makedirs(log)
    stale = os.path.join(env.cache, "checkouts", commit + ".tmp.crashed")
    os.makedirs(os.path.join(stale, "src"))
    # the launching shell leaves descriptor 7 open to the daemon
    m = agent_mount(env, {"acme/alpha": bare, "acme/beta": bad}, log,
                    wrap=["sh", "-c", 'exec 7</etc/hostname; exec "$@"', "sh"])
    t.ok(os.path.exists(f"/proc/{m.proc.pid}/fd/7"),
         "premise: the daemon inherited descriptor 7 from the launching shell")
    t.ok(not os.path.exists(stale), "a partial checkout a crash left is removed at start")
    names = sorted(os.listdir(m.path("acme", "alpha")))
    t.ok("Deep-Dive.md" in names, "the .wikifs.json page appears in ls", names)

    home = m.path("acme", "alpha", "Home.md")
    got = page_json(home)
    tree = os.path.join(env.cache, "checkouts", commit)
    t.eq(got.get("cwd"), tree, "cwd is the checkout of the page's commit")
    t.eq(got.get("WIKIFS_TREE"), tree, "WIKIFS_TREE names it")
    t.eq(got.get("files"), blobs(bare, commit),
         "every file of the checkout holds its blob's bytes, and nothing else is there")
    t.eq(got.get("write"), errno.EROFS, "writing into the checkout fails with EROFS, as root")
    t.eq(got.get("chmod"), errno.EROFS, "and so does a chmod (mode bits do not stop root)")
    t.eq(got.get("fds"), [0, 1, 2], "only descriptors 0-2 are open in the command")
    t.eq([got.get(k) for k in ("WIKIFS_REPO", "WIKIFS_COMMIT", "WIKIFS_PAGE",
                               "WIKIFS_PAGE_TITLE", "WIKIFS_LANGUAGE")],
         ["acme/alpha", commit, "Home", "Home", "en"], "the page's identity in the environment")
    plan = got.get("plan", {})
    slugs = [p["slug"] for p in plan.get("pages", [])]
    t.eq(sorted(s + ".md" for s in slugs), names, "WIKIFS_PLAN lists every page of ls", slugs)
    t.ok(all("files" in p and "kind" in p and "title" in p for p in plan.get("pages", [])),
         "each with its title, kind and relevant files")
    by = {p["slug"]: p for p in plan.get("pages", [])}
    mods = [p for p in plan.get("pages", []) if p["kind"] == "module"]
    t.ok(mods and all(p["files"] for p in mods) and "src/main.c" in by.get(
        "Module-src", {}).get("files", []), "module pages carry their code files", mods)
    t.eq(by.get("Deep-Dive", {}).get("files"), ["src/util.c", "lib"],
         "the steering page's files: those in the tree, unknown ones dropped")
    t.eq(by.get("Deep-Dive", {}).get("purpose"), "how util adds numbers",
         "and its purpose")
    t.eq(plan.get("notes"), "Always mention the frobnicator.", "the notes are in the plan")
    t.ok(got.get("notes_in_prompt"), "and in the prompt on stdin")
    deps = manifest_paths(xattr(home, "sources"))
    t.ok(deps.get("README.md") == "blob" and deps.get("src/main.c") == "blob" and
         "not/there.c" not in deps and "/" not in deps,
         "WIKIFS_DEPS is what the page depends on, in user.wikifs.sources (a path not in the "
         "tree dropped, no whole tree)", xattr(home, "sources"))
    t.eq(xattr(home, "citations"), "1 verified, 1 unresolved",
         "user.wikifs.citations: the missing file is 1 unresolved citation")
    repo = [r for r in m.progress()["repos"] if r["name"] == "acme/alpha"][0]
    t.eq((repo.get("citations_verified"), repo.get("citations_unresolved")), (1, 1),
         "progress.json counts them for the repository")

    arch = page_json(m.path("acme", "alpha", "Architecture.md"))
    t.eq(arch.get("cwd"), tree, "a second page of the commit runs in the same checkout")
    t.eq(sorted(os.listdir(os.path.join(env.cache, "checkouts"))), [commit],
         "one checkout for the two pages, nothing else beside it")
    st = os.stat(tree)
    t.eq((oct(st.st_mode & 0o777), oct(os.stat(os.path.join(tree, "src", "main.c")).st_mode
                                       & 0o777)), ("0o555", "0o444"),
         "the checkout's directories are 0555, its files 0444")

    os.listdir(m.path("acme", "beta"))
    t.until(lambda: ".wikifs.json" in m.errors(), 10,
            "an invalid steering file is reported in .wikifs/errors", m.errors())
    t.ok("Deep-Dive.md" not in os.listdir(m.path("acme", "beta")) and
         "Home.md" in os.listdir(m.path("acme", "beta")),
         "and otherwise ignored: the plan is the builtin one")
    before = len(runs(log))
    t.eq(m.unmount(), 0, "unmount exits 0")

    # language: another page at fr, the same one at en
    m = agent_mount(env, {"acme/alpha": bare}, log, generator={"language": "fr"})
    fr = page_json(m.path("acme", "alpha", "Home.md"))
    t.eq(fr.get("WIKIFS_LANGUAGE"), "fr", "language = fr: the command is asked for French")
    t.eq(len(runs(log)), before + 1, "and it ran: fr is another page key than en")
    t.eq(m.unmount(), 0, "unmount exits 0 (fr)")
    m = agent_mount(env, {"acme/alpha": bare}, log)
    en = page_json(m.path("acme", "alpha", "Home.md"))
    t.eq((en.get("WIKIFS_LANGUAGE"), len(runs(log))), ("en", before + 1),
         "back at en: the cached page, no new run")
    t.eq(m.unmount(), 0, "unmount exits 0 (en)")

with Env() as env:
    # eviction under a one-byte budget never takes a checkout in use
    one = env.make_repo("one", sample_files())
    two = env.make_repo("two", dict(sample_files(), **{"extra.c": "int extra;\n"}))
    c1, c2 = head(one), head(two)
    log = os.path.join(env.root, "log")
    gates = os.path.join(env.root, "gates")
    os.makedirs(log)
    os.makedirs(gates)
    open(os.path.join(gates, "hold-acme_one-Home"), "w").close()
    m = agent_mount(env, {"acme/one": one, "acme/two": two}, log, gates,
                    options={"checkout_max_bytes": 1})
    co = os.path.join(env.cache, "checkouts")
    result = {}
    reader = threading.Thread(
        target=lambda: result.update(page_json(m.path("acme", "one", "Home.md"))))
    reader.start()
    t.until(lambda: os.path.exists(os.path.join(gates, "started-acme_one-Home")), 30,
            "the first generation runs and holds at its gate")
    other = page_json(m.path("acme", "two", "Home.md"))
    t.eq(other.get("files"), blobs(two, c2), "a second commit's page is made meanwhile")
    t.ok(os.path.isdir(os.path.join(co, c1)),
         "the held generation's checkout is kept past the budget", os.listdir(co))
    t.until(lambda: c2 not in os.listdir(co), 10,
            "the second one, no longer used, is evicted to the budget", os.listdir(co))
    open(os.path.join(gates, "release-acme_one-Home"), "w").close()
    reader.join(60)
    t.eq(result.get("files"), blobs(one, c1),
         "released, the held generation reads its whole checkout")
    t.until(lambda: os.listdir(co) == [], 10,
            "and its checkout goes once it is no longer used", os.listdir(co))
    t.eq(m.unmount(), 0, "unmount exits 0 (budget)")

FAKE_CLAUDE = r'''#!/usr/bin/env python3
import json, os, sys
argv = sys.argv[1:]
prompt = sys.stdin.read()
safe = ("--dangerously-skip-permissions" not in argv and
        argv[argv.index("--allowedTools") + 1] == "Read,Grep,Glob" and
        "Bash" in argv[argv.index("--disallowedTools") + 1].split(","))
tree = os.getcwd()
def say(o):
    print(json.dumps(o), flush=True)
say({"type": "system", "subtype": "init"})
say({"type": "assistant", "message": {"content": [
    {"type": "tool_use", "name": "Read", "input": {"file_path": tree + "/src/util.c"}},
    {"type": "tool_use", "name": "Grep", "input": {"pattern": "x", "path": "lib"}},
    {"type": "tool_use", "name": "Read", "input": {"file_path": "/etc/passwd"}}]}})
text = open("src/util.c").read()
say({"type": "result", "subtype": "success", "is_error": False,
     "result": "# Util\n\nsafe=%s cwd=%s first=%s\n" % (safe, tree, text.split("\n")[0])})
'''

with Env() as env:
    # contrib/wikifs-claude-page against a fake claude speaking stream-json
    bare = env.make_repo("gamma", sample_files())
    fake = write_script(env, "claude", "")
    with open(fake, "w") as f:
        f.write(FAKE_CLAUDE)
    recipe = os.path.join(os.environ.get("WIKIFS_SRCDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")), "contrib",
        "wikifs-claude-page")
    m = mount_with_env(env, {"acme/gamma": bare}, {"CLAUDE": fake},
                       options={"retries": 1},
                       generator={"backend": "command", "command": recipe, "timeout": 60})
    page = m.path("acme", "gamma", "Home.md")
    data, err = read_errno(page)
    text = (data or b"").decode()
    tree = os.path.join(env.cache, "checkouts", head(bare))
    t.eq(text, f"# Util\n\nsafe=True cwd={tree} first=#include \"util.h\"\n",
         "contrib/wikifs-claude-page: the page is the final answer, made in the checkout "
         "with the read-only tools only", m.log()[-2000:])
    deps = manifest_paths(xattr(page, "sources"))
    t.ok(deps.get("src/util.c") == "blob" and deps.get("lib") == "tree" and "/" not in deps,
         "and the files it read are the page's sources (one outside the tree dropped)",
         xattr(page, "sources"))
    t.eq(m.unmount(), 0, "unmount exits 0 (recipe)")

t.done()
