#!/usr/bin/env python3
"""Issue 16 on a real mount: a [group] of three repositories the test makes (a Go
service with an OpenAPI file, a JavaScript front end that calls it, a shared
library both depend on) shown as one wiki. Listing it clones the members and
generates nothing; Architecture shows the three edges; prefetch of the group works;
a member's change regenerates only the group pages whose material it changed; bad
[group] sections are refused with FILE:LINE."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

OPENAPI = """openapi: 3.0.0
info:
  title: Users API
paths:
  /users:
    get:
      summary: list users
  /users/{id}:
    get:
      summary: one user
  /health:
    get:
      summary: liveness
"""

SERVICE = {
    "go.mod": "module example.com/acme/service\n\ngo 1.21\n\nrequire example.com/acme/shared "
              "v0.1.0\n\nreplace example.com/acme/shared => ../shared\n",
    "api/openapi.yaml": OPENAPI,
    "main.go": "package main\n\nimport \"example.com/acme/shared\"\n\nfunc main() "
               "{ shared.Serve(\"/users\") }\n",
    "README.md": "# service\n\nThe users service: a JSON API over HTTP.\n",
}
WEB = {
    "package.json": '{\n  "name": "@acme/web",\n  "dependencies": {\n    "@acme/shared": '
                    '"file:../shared"\n  }\n}\n',
    "src/api.js": "export const list = () => fetch('/users');\n"
                  "export const one = (id) => fetch(`/users/${id}`);\n",
    "src/app.js": "import { list } from './api.js';\nlist();\n",
    "README.md": "# web\n\nThe browser front end.\n",
}
SHARED = {
    "go.mod": "module example.com/acme/shared\n\ngo 1.21\n",
    "package.json": '{"name": "@acme/shared", "main": "index.js"}\n',
    "shared.go": "package shared\n\nfunc Serve(path string) {}\n",
    "index.js": "module.exports = {};\n",
    "README.md": "# shared\n\nCode both sides use.\n",
}
GROUP = "\n[group acme-sys]\nrepos = acme/service acme/web acme/shared\n"


def read_all(d):
    return {p: open(os.path.join(d, p)).read() for p in sorted(os.listdir(d)) if p.endswith(".md")}


with Env() as env:
    daemon = env.git_daemon()
    bare = {n: env.make_repo(n, files) for n, files in
            (("service", SERVICE), ("web", WEB), ("shared", SHARED))}
    repos = {f"acme/{n}": daemon.url(n + ".git") for n in bare}
    m = env.mount(repos, options={"refresh_interval": 0}, extra=GROUP)

    # ---- listing clones the members, generates nothing
    top = sorted(os.listdir(m.dir))
    t.ok("acme-sys" in top and "acme" in top, "the group is a directory beside the owners", top)
    gdir = m.path("acme-sys")
    pages = sorted(os.listdir(gdir))
    t.ok({"Home.md", "_Sidebar.md", "Architecture.md"} <= set(pages),
         "the group lists Home, _Sidebar and Architecture", pages)
    pairs = sorted(p for p in pages if "-and-" in p)
    t.eq(pairs, ["service-and-shared.md", "service-and-web.md", "web-and-shared.md"],
         "one page per related pair (all three members relate)", pages)
    prog = m.progress()
    t.eq(prog["pages"]["generated"], 0, "listing the group generated nothing")
    t.eq(prog["clones"]["done"], 3, "listing cloned the three members", prog["clones"])

    # ---- Architecture: the three edges
    arch = open(os.path.join(gdir, "Architecture.md")).read()
    edges = [l for l in arch.splitlines() if l.startswith("| acme/")]
    t.ok(any("acme/service | depends on | acme/shared" in l and "example.com/acme/shared" in l
             for l in edges), "service depends on shared (go.mod)", edges)
    t.ok(any("acme/web | depends on | acme/shared" in l and "@acme/shared" in l for l in edges),
         "web depends on shared (package.json)", edges)
    t.ok(any("acme/web | calls | acme/service" in l and "/users/{id}" in l and "src/api.js" in l
             for l in edges), "web calls the service's /users/{id} (OpenAPI)", edges)
    t.ok(not any("/health" in l for l in edges), "an API path nobody calls is no edge")
    t.ok("```mermaid" in arch and "-->|\"calls\"|" in arch, "a Mermaid graph of the members")
    home = open(os.path.join(gdir, "Home.md")).read()
    t.ok("(../acme/web/Home.md)" in home and "The users service" in home,
         "Home links each member's own wiki and says what it is", home[:1500])
    t.ok(os.path.isfile(os.path.join(m.dir, "acme", "web", "Home.md")),
         "the member's wiki the link names exists")

    # ---- prefetch of the group
    r = run([WIKIFS, "prefetch", gdir], check=False, timeout=120)
    t.ok(r.returncode == 0, "wikifs prefetch of the group succeeds", r.stdout + r.stderr)
    before = read_all(gdir)
    t.eq(xattr(os.path.join(gdir, "Home.md"), "state"), "ready",
         "a group page answers user.wikifs.state")
    gen0 = m.progress()["pages"]["generated"]
    t.eq(gen0, len(pages), "every group page was generated once (Architecture and Home by "
         "the reads above, the rest by prefetch)")

    # ---- a member's change regenerates only the pages that used it
    def group_commit():
        return [r for r in m.progress()["repos"] if r["name"] == "acme-sys"][0]["commit"]

    c0 = group_commit()
    env.add_commit(bare["shared"], {"README.md": "# shared\n\nCode every service uses.\n"},
                   "shared: reword the README")
    m.control("refresh acme-sys")
    t.until(lambda: group_commit() != c0, 30, "the refresh moved the group")
    after = read_all(gdir)
    t.ok("Code every service uses." in after["Home.md"], "Home shows the new README")
    changed = sorted(p for p in after if after[p] != before.get(p))
    t.eq(changed, ["Home.md"], "a README change touches Home only")
    t.eq(m.progress()["pages"]["generated"] - gen0, 1,
         "one group page generated again; the others are reused")

    gen1 = m.progress()["pages"]["generated"]
    c1 = group_commit()
    env.add_commit(bare["web"], {"src/app.js": "import { list } from './api.js';\nlist();\n"
                                               "console.log('started');\n"},
                   "web: log at start")
    m.control("refresh acme-sys")
    t.until(lambda: group_commit() != c1, 30, "the second refresh moved the group")
    t.eq(read_all(gdir), after, "a source change that calls no new API changes no group page")
    t.eq(m.progress()["pages"]["generated"], gen1, "and generates nothing")

    env.add_commit(bare["web"], {"src/health.js": "export const ok = () => fetch('/health');\n"},
                   "web: health check")
    c2 = group_commit()
    m.control("refresh acme-sys")
    t.until(lambda: group_commit() != c2, 30, "the third refresh moved the group")
    final = read_all(gdir)
    t.ok("| `/health` | `src/health.js`" in final["Architecture.md"],
         "the new call of /health shows on Architecture")
    t.eq(final["Home.md"], after["Home.md"], "Home does not show what is called: unchanged")
    t.ok("| `/health` | `src/health.js`" in final["service-and-web.md"],
         "the pair page shows the new call")

    # ---- what was reused is what a fresh cache makes: reuse never serves a stale page
    env.cache = os.path.join(env.root, "cache-fresh")
    fresh = env.mount(repos, options={"refresh_interval": 0}, extra=GROUP)
    t.eq(read_all(fresh.path("acme-sys")), final,
         "every group page equals the one a fresh cache generates")

    # ---- bad [group] sections
    cases = [
        ("[group g]\nrepos = acme/nope\n", "no [repo] called 'acme/nope'"),
        ("[group g]\n", "empty group [group g]"),
        ("[group acme]\nrepos = acme/web\n", "collides with"),
        ("[group g]\nrepos = acme/web acme/web\n", "listed twice"),
        ("[group g]\nurl = x\n", "unknown key 'url' in [group g]"),
    ]
    for body, want in cases:
        conf = os.path.join(env.root, "bad-group.conf")
        with open(conf, "w") as f:
            f.write(f"[repo acme/web]\nurl = {bare['web']}\n\n{body}")
        r = run([WIKIFS, "check-config", conf], check=False)
        t.ok(r.returncode != 0 and want in r.stderr and f"{conf}:" in r.stderr,
             f"check-config refuses: {want}", r.stderr)
t.done()
