#!/usr/bin/env python3
"""Issue 7, a real client: Debian's `mkdocs build --strict` with docs_dir set
to a repository directory of a mount. Every page renders, the links between
pages resolve, and the pages were written by the worker pool (progress.json
pages.generated equals the number of pages)."""
import html.parser
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")
if not shutil.which("mkdocs") and os.geteuid() == 0 and shutil.which("apt-get"):
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mkdocs"], check=False,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdin=subprocess.DEVNULL,
        timeout=600)
if not shutil.which("mkdocs"):
    t.skip_all("mkdocs is not installed and cannot be (scripts/deps installs it)")


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []
        self.h1 = []
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1 and data.strip():
            self.h1.append(data.strip())


with Env() as env:
    files = sample_files()
    files.update({"net/socket.c": "int net_open(void)\n{\n\treturn 0;\n}\n",
                  "net/socket.h": "int net_open(void);\n",
                  "docs/api.md": "# API\n"})
    repo = env.make_repo("site", files, commits=3)
    m = env.mount({"acme/site": repo}, options={"page_workers": 2, "refresh_interval": 0})
    docs = m.path("acme", "site")
    pages = sorted(p for p in os.listdir(docs) if p.endswith(".md"))
    t.ok(len(pages) >= 5 and "Home.md" in pages, f"the repository lists {len(pages)} pages",
         pages)
    t.eq(m.progress()["pages"]["generated"], 0, "nothing generated before mkdocs runs")

    site = os.path.join(env.root, "site")
    cfg = os.path.join(env.root, "mkdocs.yml")
    with open(cfg, "w") as f:
        f.write(f"site_name: acme/site\ndocs_dir: {docs}\nsite_dir: {site}\n"
                "use_directory_urls: false\nstrict: true\n")
    r = run(["mkdocs", "build", "--strict", "--config-file", cfg], check=False, cwd=env.root,
            timeout=240)
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0, "mkdocs build --strict succeeds on the mount", out[-3000:])
    t.eq([l for l in out.splitlines() if "WARNING" in l], [], "mkdocs printed no warning")

    # ---- every page rendered, with its title
    missing, untitled, bad_links, internal = [], [], [], 0
    for p in pages:
        slug = p[:-3]
        out_html = os.path.join(site, slug + ".html")
        if not os.path.isfile(out_html):
            missing.append(slug)
            continue
        with open(out_html) as f:
            doc = Links()
            doc.feed(f.read())
        with open(os.path.join(docs, p)) as f:
            first = f.readline().lstrip("# ").strip()
        if first not in doc.h1:
            untitled.append((slug, first, doc.h1[:3]))
        for href in doc.hrefs:
            target = href.split("#", 1)[0]
            if not target or "://" in target or target.startswith(("mailto:", "/")):
                continue
            if target.endswith(".md"):
                bad_links.append((slug, href, "left as .md: mkdocs did not resolve it"))
                continue
            if target.endswith(".html") and target[:-5] in [q[:-3] for q in pages]:
                internal += 1
            path = os.path.normpath(os.path.join(site, target))
            if not os.path.exists(path):
                bad_links.append((slug, href, "no such file in the site"))
    t.eq(missing, [], "every page rendered to an HTML file")
    t.eq(untitled, [], "every rendered page carries its title as <h1>")
    t.eq(bad_links, [], "every relative link in the site resolves")
    t.ok(internal >= len(pages), f"pages link each other ({internal} links between pages)")

    # ---- generation went through the pool, once per page
    prog = m.progress()
    t.eq(prog["pages"]["generated"], len(pages), "progress.json: pages.generated = the pages")
    t.eq(prog["pages"]["failed"], 0, "progress.json: no page failed")
    t.eq(prog["pages"]["ready"], len(pages), "progress.json: every page is ready")
    r = run(["mkdocs", "build", "--strict", "--config-file", cfg], check=False, cwd=env.root,
            timeout=240)
    t.eq(r.returncode, 0, "a second build succeeds too")
    prog = m.progress()
    t.eq(prog["pages"]["generated"], len(pages), "and generates nothing (served from cache)")
    t.eq(m.unmount(), 0, "unmount: the daemon exits 0")

t.done()
