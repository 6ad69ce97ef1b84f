#!/usr/bin/env python3
"""Issue 12, items 9-12, on a real mount with the openai backend against the
loopback fake LLM server, which records every prompt: Home's prompt carries
the README, a module page's prompt carries its module's files and neither
the README nor other modules' files, History's carries the commits and the
others do not; a page the model wrapped whole in a ```markdown fence reads
unwrapped through `cat`."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from relharness import FakeLLM  # noqa: E402

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

WRAPPED = "```markdown\n# Wrapped\n\nText.\n\n```mermaid\ngraph LR\n  a --> b\n```\n```\n"


def user_prompt(req):
    """The user message of a recorded OpenAI request."""
    msgs = req["body"]["messages"] if isinstance(req.get("body"), dict) else []
    return "".join(m.get("content", "") for m in msgs if m.get("role") == "user")


def prompt_of(fake, path, script=()):
    """Reads @path through the mount; the prompt the fake saw for it, and the page."""
    fake.reset()
    if script:
        fake.script(list(script))
    with open(path) as f:
        page = f.read()
    reqs = fake.requests()
    return (user_prompt(reqs[-1]) if reqs else ""), page, len(reqs)


with Env() as env:
    daemon = env.git_daemon()
    bare = env.make_repo("a", sample_files())
    fake = FakeLLM()
    env.servers.append(fake)
    m = env.mount({"o/a": daemon.url("a.git")}, options={"refresh_interval": 0, "retries": 1},
                  generator={"backend": "openai", "base_url": fake.base + "/v1", "model": "m"})
    names = sorted(os.listdir(m.path("o", "a")))
    mods = [n for n in names if n.startswith("Module-")]
    t.ok(mods, "the plan has module pages", names)
    src = [n for n in mods if "src" in n] or mods

    home, _, n = prompt_of(fake, m.path("o", "a", "Home.md"))
    t.eq(n, 1, "reading Home makes one model call")
    t.ok("### README.md" in home and "A sample project used by the wikifs tests." in home,
         "Home's prompt carries the README's text", home[-3000:])
    t.ok("commit 1 of a" not in home, "Home's prompt carries no commit")

    mod, _, n = prompt_of(fake, m.path("o", "a", src[0]))
    t.eq(n, 1, f"reading {src[0]} makes one model call")
    t.ok("### src/main.c" in mod and "### src/util.c" in mod,
         f"{src[0]}'s prompt carries its module's files", mod[-3000:])
    t.ok("### README.md" not in mod and "A sample project used" not in mod,
         f"{src[0]}'s prompt does not carry the README")
    t.ok("### lib/helper.py" not in mod and "### tests/test_main.py" not in mod,
         f"{src[0]}'s prompt carries no other module's file")
    t.ok("## Outline" in mod and "function util_add" in mod and "## What this prompt shows" in mod,
         f"{src[0]}'s prompt has the outline and says what it shows")
    t.ok("commit 1 of a" not in mod, f"{src[0]}'s prompt carries no commit")

    if "History.md" in names:
        hist, _, _ = prompt_of(fake, m.path("o", "a", "History.md"))
        t.ok("commit 1 of a" in hist and "### " not in hist,
             "History's prompt carries the commits and no file")
    else:
        t.ok(False, "the plan has a History page", names)

    other = [n for n in names if n not in ("Home.md", "_Sidebar.md", "History.md") and
             n not in src[:1]]
    _, page, n = prompt_of(fake, m.path("o", "a", other[0]),
                           [{"mode": "content", "text": WRAPPED}])
    t.eq(n, 1, f"reading {other[0]} makes one model call")
    t.eq(page, WRAPPED[len("```markdown\n"):-len("```\n")],
         "a page wrapped whole in ```markdown reads unwrapped, its inner fence kept")
    t.eq(m.unmount(), 0, "unmount")
t.done()
