#!/usr/bin/env python3
"""Issue 12 items 1, 5, 6 and 7 through a real mount, on a repository this test
makes with git fast-import: Home renders the README as Markdown (bold, links,
a Quick start from its shell block), Architecture has the edges a Cargo
workspace and a Go module state, Build-and-Test names the ./gradlew wrapper and
how to run the programs, History counts the whole history (more than 5,000
commits) with its releases, and Contributors merges the two identities the
repository's .mailmap names as one person. Then `mkdocs build --strict` reads
the pages."""
import re
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

COMMITS = 5101

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

README = """<!-- a comment the page must not show -->
# Proj

[![CI](https://img.shields.io/badge/ci-passing-green.svg)](https://ci.example.org)

**Proj** is a *small* workspace, see [the guide](docs/guide.md) and
[Rust](https://www.rust-lang.org) for more.

## Install

```sh
cargo install --path crates/app
```
"""

FILES = {
    "README.md": README,
    ".mailmap": "Robert Roe <robert@new.example> Bob <bob@old.example>\n",
    "docs/guide.md": "# Guide\n",
    "Cargo.toml": '[workspace]\nmembers = ["crates/app", "crates/core"]\n',
    "crates/app/Cargo.toml": '[package]\nname = "proj-app"\n\n[[bin]]\nname = "proj"\n'
                             'path = "src/main.rs"\n\n[dependencies]\n'
                             'proj-core = { path = "../core" }\n',
    "crates/app/src/main.rs": "use proj_core::engine::run;\n\nfn main() {\n    run();\n}\n",
    "crates/core/Cargo.toml": '[package]\nname = "proj-core"\n',
    "crates/core/src/lib.rs": "pub mod engine;\n",
    "crates/core/src/engine.rs": "pub fn run() {}\n",
    "go.mod": "module example.com/proj\n\ngo 1.22\n",
    "cmd/tool/main.go": 'package main\n\nimport "example.com/proj/internal/store"\n\n'
                        "func main() {\n\tstore.Open()\n}\n",
    "internal/store/store.go": "package store\n\nfunc Open() {}\n",
    "build.gradle": "plugins {\n    id 'application'\n}\n",
    "gradlew": "#!/bin/sh\nexec java -jar gradle/wrapper/gradle-wrapper.jar \"$@\"\n",
}


def fast_import(dest):
    """COMMITS commits alternating two identities of one person, then a tag."""
    out = []
    for i in range(1, COMMITS + 1):
        who = "Bob <bob@old.example>" if i % 2 else "Robert Roe <robert@new.example>"
        when = 1600000000 + i * 600
        msg = "Use `Engine::run` in main" if i == COMMITS else f"change {i}"
        out.append(f"commit refs/heads/main\nmark :{i}\nauthor {who} {when} +0000\n"
                   f"committer {who} {when} +0000\ndata {len(msg)}\n{msg}\n")
        if i == 1:
            for path, text in sorted(FILES.items()):
                data = text.encode()
                mode = "100755" if path == "gradlew" else "100644"
                out.append(f"M {mode} inline {path}\ndata {len(data)}\n{text}\n")
        out.append(f"M 100644 inline counter\ndata {len(str(i))}\n{i}\n")
    out.append("tag v1.0\nfrom :5000\ntagger Rel <rel@example.org> 1700000000 +0000\n"
               "data 4\nv1.0\n")
    git(["init", "-q", "--bare", "-b", "main", dest], os.path.dirname(dest))
    subprocess.run(["git", "--git-dir", dest, "fast-import", "--quiet"],
                   input="".join(out).encode(), check=True, timeout=120)


def read(m, page):
    with open(m.path("acme", "proj", page)) as f:
        return f.read()


def node(page, label):
    """The Mermaid node id ("m3") of module @label in @page."""
    mt = re.search(r'(m\d+)\["' + re.escape(label) + r'"\]', page)
    return mt.group(1) if mt else None


with Env() as env:
    repo = os.path.join(env.repos, "proj.git")
    fast_import(repo)
    m = env.mount({"acme/proj": repo}, options={"refresh_interval": 0})

    # ---- item 1: Home renders the README
    home = read(m, "Home.md")
    t.ok("**Proj** is a *small* workspace" in home, "Home: the README's emphasis is Markdown",
         home[:1500])
    t.ok("[Rust](https://www.rust-lang.org) for more." in home,
         "Home: a link on a line of its own stays a link, the sentence whole", home[:1500])
    t.ok("the guide (`docs/guide.md`)" in home,
         "Home: a relative link off a forge is its text and the repository path", home[:1500])
    t.ok("shields.io" not in home and "comment" not in home and "\\*" not in home,
         "Home: no badge, no HTML comment, nothing escaped away", home[:1500])
    t.ok("## Quick start\n\nFrom `README.md`:\n\n```sh\ncargo install --path crates/app\n```"
         in home, "Home: a Quick start from the README's shell block", home)
    t.ok("- **Commits:** 5101" in home and "- **Contributors:** 1\n" in home,
         "Home: the whole history's figures", home)
    t.ok("- **Latest release:** `v1.0`" in home, "Home: the latest release")
    t.ok("- `docs` (1 files)" in home, "Home: the repository's own docs listed", home)

    # ---- item 5: Architecture from Cargo and Go dependency edges
    arch = read(m, "Architecture.md")
    app, core = node(arch, "crates/app"), node(arch, "crates/core")
    cmd, internal = node(arch, "cmd"), node(arch, "internal")
    t.ok(app and core and re.search(rf"\n  {app} -->\|\d+\| {core}\n", arch),
         "Architecture: crates/app -> crates/core (Cargo path dependency and use)", arch)
    t.ok(cmd and internal and re.search(rf"\n  {cmd} -->\|1\| {internal}\n", arch),
         "Architecture: cmd -> internal (a Go import of the module's own package)", arch)
    t.ok("- **Base layer (used by other modules, using none)**: " in arch and
         "[Module crates/core](Module-crates-core.md)" in arch.split("## Modules")[0],
         "Architecture: the layers in prose", arch[:2000])

    # ---- item 6: Build-and-Test
    build = read(m, "Build-and-Test.md")
    t.ok("```sh\n./gradlew build\n# tests\n./gradlew test\n```" in build,
         "Build-and-Test: the ./gradlew wrapper", build)
    t.ok("`cargo run --release --manifest-path crates/app/Cargo.toml --`" in build and "`go run ./cmd/tool`" in build and
         "`./gradlew run`" in build, "Build-and-Test: a Run section from the manifests",
         build.split("## Run")[-1])

    # ---- item 7: History and Contributors over the whole history
    hist = read(m, "History.md")
    t.ok(f"{COMMITS} commits by 1 people are reachable" in hist,
         "History: every commit counted, past 5,000", hist[:600])
    t.ok("| Use `Engine::run` in main |" in hist, "History: a subject keeps its code span")
    t.ok(re.search(r"\| `v1.0` \| 2023-11-14 \| `[0-9a-f]{12}` \|", hist),
         "History: the releases table from tags", hist)
    contrib = read(m, "Contributors.md")
    t.ok(f"| 1 | Robert Roe | {COMMITS} |" in contrib and "Bob" not in contrib,
         "Contributors: .mailmap merges two identities into one person", contrib[:800])

    # ---- the pages are valid for a real Markdown site builder
    if shutil.which("mkdocs"):
        site = os.path.join(env.root, "site")
        cfg = os.path.join(env.root, "mkdocs.yml")
        with open(cfg, "w") as f:
            f.write(f"site_name: acme/proj\ndocs_dir: {m.path('acme', 'proj')}\n"
                    f"site_dir: {site}\nuse_directory_urls: false\nstrict: true\n")
        r = run(["mkdocs", "build", "--strict", "--config-file", cfg], check=False,
                cwd=env.root, timeout=240)
        t.ok(r.returncode == 0, "mkdocs build --strict succeeds", (r.stdout + r.stderr)[-3000:])
        with open(os.path.join(site, "Home.html")) as f:
            page = f.read()
        t.ok("<strong>Proj</strong>" in page and re.search(r"<code[^>]*>cargo install", page),
             "mkdocs renders the README's bold and the Quick start as HTML", page[:3000])
    else:
        t.diag("mkdocs not installed: the site check is skipped")
    t.eq(m.unmount(), 0, "unmount: the daemon exits 0")

t.done()
