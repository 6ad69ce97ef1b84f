#!/usr/bin/env python3
"""Issue 4 on real mounts: the openai, anthropic and command backends against
a loopback fake LLM server (tests/fake_llm.py) and small shell scripts; the
retry policy for every fault the server can play, with measured gaps and
bounded times; budgets (EDQUOT); the LLM planner and its fallback; the
circuit breaker and the rate limit as progress and the server see them; and
that the API key never leaks into anything the daemon writes or shows."""
import glob
import secrets
import sys
import urllib.request
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_LLM = os.path.join(HERE, "..", "fake_llm.py")
sys.path.insert(0, os.path.join(HERE, ".."))
import fake_llm  # noqa: E402  (for page_text and the token counts)

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

KEY_ENV = "WIKIFS_IT_API_KEY"
KEY = "sk-itest-" + secrets.token_hex(20)
os.environ[KEY_ENV] = KEY
os.environ.pop("WIKIFS_IT_NO_KEY", None)
TOK_IN, TOK_OUT = fake_llm.INPUT_TOKENS, fake_llm.OUTPUT_TOKENS

# every text the daemon showed or wrote, checked for the key at the end
seen = []


class FakeLLM:
    """tests/fake_llm.py on 127.0.0.1, port 0, port from a port file."""

    def __init__(self, env, mode="normal"):
        self.port_file = os.path.join(env.root, f"fake-llm-{secrets.token_hex(4)}.port")
        self.proc = subprocess.Popen([sys.executable, FAKE_LLM, "--mode", mode,
                                      "--port-file", self.port_file],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_until(lambda: os.path.exists(self.port_file) or self.proc.poll() is not None, 10,
                   what="fake llm port file")
        self.port = int(open(self.port_file).read())
        self.base = f"http://127.0.0.1:{self.port}"
        env.servers.append(self)

    def _call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        rq = urllib.request.Request(self.base + path, data=data, method=method)
        with urllib.request.urlopen(rq, timeout=10) as r:
            return json.loads(r.read())

    def requests(self):
        return self._call("GET", "/_requests")

    def reset(self, script=()):
        self._call("POST", "/_reset", {})
        if script:
            self._call("POST", "/_script", list(script))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


def alive(pid):
    """True while pid runs; a zombie (nobody reaps orphans here) is dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def xattr(path, name):
    return run(["getfattr", "--only-values", "-n", name, path], check=False).stdout


def timed_read(path):
    t0 = time.monotonic()
    data, err = read_errno(path)
    return data, err, time.monotonic() - t0


def page_names(m, repo="acme/alpha"):
    return sorted(os.listdir(m.path(*repo.split("/"))))


def content_pages(m, repo="acme/alpha"):
    """Pages other than Home and _Sidebar, in a stable order."""
    return [p for p in page_names(m, repo) if p not in ("Home.md", "_Sidebar.md")]


def repo_progress(m, name="acme/alpha"):
    return [r for r in m.progress()["repos"] if r["name"] == name][0]


def snapshot(m):
    """Everything the mount shows, kept for the secret scan."""
    for f in ("progress", "progress.json", "errors"):
        try:
            seen.append((f"{m.dir}/.wikifs/{f}", open(m.path(".wikifs", f), errors="replace")
                         .read()))
        except OSError:
            pass
    for p in glob.glob(m.path("*", "*", "*.md")):
        seen.append((p + " user.wikifs.error", xattr(p, "user.wikifs.error")))
    pids = [m.proc.pid] if m.proc else []
    for pid in pids + (children_of(pids[0]) if pids else []):
        try:
            seen.append((f"/proc/{pid}/cmdline", open(f"/proc/{pid}/cmdline", "rb").read()
                         .decode(errors="replace")))
        except OSError:
            pass


def finish(m, what):
    snapshot(m)
    t.eq(m.unmount(), 0, f"{what}: unmount exits 0")


def llm_gen(fake, backend, **kw):
    g = {"backend": backend, "model": "fake-model-1", "api_key_env": KEY_ENV,
         "base_url": fake.base + ("/v1" if backend == "openai" else ""), "timeout": 30}
    g.update(kw)
    return g


ONLY = os.environ.get("BACKENDS_ONLY")  # run one section while debugging


def section(name):
    def wrap(fn):
        if ONLY and ONLY != name and name != "secrets":
            return fn
        t.diag(f"---- {name}")
        try:
            fn()
        except Exception as e:  # a crashed section is a failure, not the end of the run
            import traceback
            t.ok(False, f"{name}: section ran to the end", traceback.format_exc())
        return fn
    return wrap


with Env() as env:
    repo = env.make_repo("alpha", sample_files(), commits=2)
    beta = env.make_repo("beta", dict(sample_files(), **{"README.md": "# Beta\n"}))
    fake = FakeLLM(env)
    OPTS = {"refresh_interval": 0, "failure_backoff": 60}

    def new_mount(gen, cache, opts=None, repos=None, **kw):
        env.cache = os.path.join(env.root, cache)
        o = dict(OPTS)
        o.update(opts or {})
        return env.mount(repos or {"acme/alpha": repo}, options=o, generator=gen, **kw)

    # ------------------------------------------------------------------ openai
    @section("openai")
    def _():
        fake.reset()
        m = new_mount(llm_gen(fake, "openai", max_tokens=777,
                              max_tokens_field="max_completion_tokens"), "c-openai")
        home = m.path("acme", "alpha", "Home.md")
        data, err = read_errno(home)
        reqs = fake.requests()
        t.eq(len(reqs), 1, "openai: one request for one page")
        rq = reqs[0]
        t.eq(rq["path"], "/v1/chat/completions", "openai: POST {base_url}/chat/completions")
        t.eq(rq["headers"].get("authorization"), f"Bearer {KEY}",
             "openai: Authorization: Bearer from $api_key_env")
        body = rq["body"]
        t.eq(body.get("model"), "fake-model-1", "openai: the configured model")
        roles = [x.get("role") for x in body.get("messages", [])]
        t.eq(roles, ["system", "user"], "openai: a system and a user message")
        user = body["messages"][1]["content"]
        t.ok(user.startswith("Page: Home\n"), "openai: the user message is Home's prompt",
             user[:200])
        t.ok("README.md" in user and "src/main.c" in user,
             "openai: the prompt carries the repository's files", user[:400])
        t.ok("Mermaid" in body["messages"][0]["content"], "openai: the system prompt asks for "
             "Mermaid")
        t.eq(body.get("max_completion_tokens"), 777, "openai: max_tokens_field names the field")
        t.ok("max_tokens" not in body, "openai: and max_tokens is not sent then")
        t.eq(err, 0, "openai: the page opens")
        t.eq(data, fake_llm.page_text("fake-model-1", "Home").encode(),
             "openai: the page is exactly what the server answered")
        t.eq(xattr(home, "user.wikifs.backend"), "openai", "openai: user.wikifs.backend")
        arch = m.path("acme", "alpha", content_pages(m)[0])
        read_errno(arch)
        rp = repo_progress(m)
        t.eq((rp.get("tokens_in"), rp.get("tokens_out")), (2 * TOK_IN, 2 * TOK_OUT),
             "openai: token usage of two pages summed in progress.json")
        txt = open(m.path(".wikifs", "progress")).read()
        t.ok(str(2 * (TOK_IN + TOK_OUT)) in txt, "openai: and shown in progress", txt)
        finish(m, "openai")

        # no key configured: no Authorization; max_tokens by default; base_url with a path
        fake.reset()
        g = llm_gen(fake, "openai", api_key_env="WIKIFS_IT_NO_KEY")
        g["base_url"] = fake.base + "/custom/v1/"
        m = new_mount(g, "c-openai-nokey")
        data, err = read_errno(m.path("acme", "alpha", "Home.md"))
        reqs = fake.requests()
        t.ok(err == 0 and len(reqs) == 1, "openai without a key: the page opens", err)
        t.eq(reqs[0]["path"], "/custom/v1/chat/completions",
             "openai: the path follows base_url (trailing slash dropped)")
        t.ok("authorization" not in reqs[0]["headers"],
             "openai: no Authorization header when $api_key_env is unset", reqs[0]["headers"])
        t.eq(reqs[0]["body"].get("max_tokens"), 8192, "openai: max_tokens by default")
        finish(m, "openai without a key")

    # --------------------------------------------------------------- anthropic
    @section("anthropic")
    def _():
        fake.reset()
        m = new_mount(llm_gen(fake, "anthropic", model="claude-fake",
                              anthropic_version="2023-06-01", max_tokens=999), "c-anthropic")
        home = m.path("acme", "alpha", "Home.md")
        data, err = read_errno(home)
        rq = fake.requests()[0]
        t.eq(rq["path"], "/v1/messages", "anthropic: POST {base_url}/v1/messages")
        t.eq(rq["headers"].get("x-api-key"), KEY, "anthropic: x-api-key from $api_key_env")
        t.ok("authorization" not in rq["headers"], "anthropic: no Authorization header")
        t.eq(rq["headers"].get("anthropic-version"), "2023-06-01", "anthropic: anthropic-version")
        b = rq["body"]
        t.eq((b.get("model"), b.get("stream"), b.get("max_tokens")), ("claude-fake", True, 999),
             "anthropic: model, stream: true, max_tokens")
        t.ok(isinstance(b.get("system"), str) and "Mermaid" in b["system"],
             "anthropic: the rules go in system")
        t.ok([x["role"] for x in b.get("messages", [])] == ["user"] and
             b["messages"][0]["content"].startswith("Page: Home\n"),
             "anthropic: one user message with the page's prompt")
        t.eq((err, data), (0, fake_llm.page_text("claude-fake", "Home").encode()),
             "anthropic: the streamed page is exactly the text sent")
        pages = content_pages(m)

        fake.reset(["multiblock"])
        p = m.path("acme", "alpha", pages[0])
        data, err = read_errno(p)
        title = fake.requests()[0]["body"]["messages"][0]["content"].split("\n")[0][6:]
        t.eq((err, data), (0, fake_llm.page_text("claude-fake", title).encode()),
             "anthropic: two text blocks are joined")

        fake.reset(["json_multiblock"])
        p = m.path("acme", "alpha", pages[1])
        data, err = read_errno(p)
        title = fake.requests()[0]["body"]["messages"][0]["content"].split("\n")[0][6:]
        t.eq((err, data), (0, fake_llm.page_text("claude-fake", title).encode()),
             "anthropic: a JSON (non-streamed) answer's blocks are joined")

        fake.reset(["sse_error"])
        p = m.path("acme", "alpha", pages[2])
        data, err, dt = timed_read(p)
        reqs = fake.requests()
        title = reqs[0]["body"]["messages"][0]["content"].split("\n")[0][6:]
        t.eq([r["mode"] for r in reqs], ["sse_error", "normal"],
             "anthropic: an error event mid-stream fails the attempt, which is retried")
        t.eq((err, data), (0, fake_llm.page_text("claude-fake", title).encode()),
             "anthropic: the page is the retry's whole answer, nothing of the failed one")
        t.ok(dt < 5, f"anthropic: within bounded time ({dt:.2f}s)")

        fake.reset(["sse_truncated"])
        p = m.path("acme", "alpha", pages[3])
        data, err = read_errno(p)
        t.eq(([r["mode"] for r in fake.requests()], err), (["sse_truncated", "normal"], 0),
             "anthropic: a stream without message_stop is retried")
        rp = repo_progress(m)
        # Home, multiblock, json_multiblock, sse_error (billed: 123 in, 1 out) + retry,
        # sse_truncated (message_delta said 45 out) + retry
        t.eq((rp.get("tokens_in"), rp.get("tokens_out")), (7 * TOK_IN, 6 * TOK_OUT + 1),
             "anthropic: usage summed, billed failed attempts included")
        finish(m, "anthropic")

        # credit balance: not retried, the error says so
        fake.reset(["credit_balance"])
        m = new_mount(llm_gen(fake, "anthropic", model="claude-fake"), "c-anthropic-credit")
        p = m.path("acme", "alpha", "Home.md")
        _, err, dt = timed_read(p)
        why = xattr(p, "user.wikifs.error")
        t.eq(len(fake.requests()), 1, "anthropic: credit balance too low: no retry")
        t.eq(err, errno.EDQUOT, "anthropic: credit balance: EDQUOT")
        t.ok("quota" in why or "billing" in why, "anthropic: the error says billing/quota", why)
        finish(m, "anthropic credit")

    # ------------------------------------------------------------ fault matrix
    @section("fault matrix")
    def _():
        fake.reset()
        # pages generate one at a time here so the script applies to the page opened
        m = new_mount(llm_gen(fake, "openai", timeout=3), "c-faults",
                      opts={"retries": 3, "page_workers": 1},
                      repos={"acme/alpha": repo, "acme/beta": beta})
        pages = [os.path.join(r, p) for r in ("acme/alpha", "acme/beta")
                 for p in ["Home.md", "_Sidebar.md"] + content_pages(m, r)]
        t.diag(f"pages: {pages}")
        gaps = {}

        def case(script, want_err, want_modes, lo, hi, label, gap=None):
            if not pages:
                t.ok(False, f"fault {label}: a page left to open")
                return
            page = m.path(pages.pop(0))
            fake.reset(script)
            data, err, dt = timed_read(page)
            reqs = fake.requests()
            modes = [r["mode"] for r in reqs]
            why = xattr(page, "user.wikifs.error")
            t.eq(err, want_err, f"fault {label}: open answers {errno.errorcode.get(want_err, 0)}",
                 f"{why}\n{m.errors()[-600:]}")
            t.eq(modes, want_modes, f"fault {label}: the requests the server saw", why)
            t.ok(dt < hi, f"fault {label}: outcome within {hi}s ({dt:.2f}s)")
            if gap and len(reqs) >= 2:
                g = reqs[1]["t"] - reqs[0]["t"]
                gaps[label] = g
                t.ok(gap[0] <= g <= gap[1],
                     f"fault {label}: gap before the retry {g:.2f}s in [{gap[0]}, {gap[1]}]")
            return data, why

        case([{"mode": "429", "retry_after": 2}], 0, ["429", "normal"], 0, 5,
             "429 Retry-After: 2", gap=(2.0, 2.8))
        case([{"mode": "429", "retry_after_ms": 1200}], 0, ["429", "normal"], 0, 4,
             "429 retry-after-ms: 1200", gap=(1.2, 1.9))
        case([{"mode": "429", "retry_after_date": 3}], 0, ["429", "normal"], 0, 6,
             "429 Retry-After: HTTP date", gap=(1.0, 3.9))
        for code in ("500", "503", "529"):
            case([code], 0, [code, "normal"], 0, 3, f"{code}", gap=(0.0, 0.9))
        _, why = case(["401"], errno.EIO, ["401"], 0, 2, "401")
        t.ok("401" in why and "api key" in why, "fault 401: the error names the status", why)
        t.ok("sk-fake-abcdefgh12345678wxyz" not in why and "sk-fake" not in m.errors(),
             "fault 401: a key echoed by the server is redacted", why)
        _, why = case(["insufficient_quota"], errno.EDQUOT, ["insufficient_quota"], 0, 2,
                      "insufficient_quota")
        t.ok("quota" in why, "fault insufficient_quota: the error says quota", why)
        case(["hang"], 0, ["hang", "normal"], 0, 6, "hang (timeout 3)", gap=(2.9, 4.0))
        case([{"mode": "trickle", "interval_ms": 1}], 0, ["trickle"], 0, 6,
             "trickle faster than the timeout")
        case([{"mode": "trickle", "interval_ms": 50}], 0, ["trickle", "normal"], 0, 6,
             "trickle slower than the timeout", gap=(2.9, 4.0))
        for mode in ("truncated", "malformed", "reset", "empty"):
            case([mode], 0, [mode, "normal"], 0, 3, mode, gap=(0.0, 0.9))
        _, why = case(["500", "500", "500"], errno.EIO, ["500", "500", "500"], 0, 4,
                      "500 three times (retries = 3)")
        t.ok("3 attempts" in why and "http 500" in why,
             "fault 500 x3: the error names the attempts and the status", why)
        t.diag("retry gaps: " + ", ".join(f"{k} {v:.3f}s" for k, v in gaps.items()))
        finish(m, "fault matrix")

    # ----------------------------------------------------------------- command
    @section("command")
    def _():
        got = os.path.join(env.root, "stdin-got")
        ok_sh = os.path.join(env.root, "ok.sh")
        with open(ok_sh, "w") as f:
            f.write(f'#!/bin/sh\ncat > "{got}.$WIKIFS_PAGE"\n'
                    'printf "# %s\\n\\nwritten by ok.sh for %s\\n" "$WIKIFS_PAGE" "$WIKIFS_REPO"\n')
        os.chmod(ok_sh, 0o755)
        m = new_mount({"backend": "command", "command": ok_sh, "timeout": 20}, "c-cmd")
        home = m.path("acme", "alpha", "Home.md")
        data, err = read_errno(home)
        t.eq((err, data), (0, b"# Home\n\nwritten by ok.sh for acme/alpha\n"),
             "command: the page is the program's stdout")
        prompt = open(got + ".Home", errors="replace").read()
        t.ok("Page: Home\n" in prompt and "README.md" in prompt,
             "command: the prompt came on stdin, with the page title", prompt[:300])
        t.eq(xattr(home, "user.wikifs.backend"), "command", "command: user.wikifs.backend")
        finish(m, "command")

        fail = os.path.join(env.root, "fail.sh")
        with open(fail, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nseq 1 300 >&2\n"
                    "echo 'fatal: the model is on fire' >&2\nexit 9\n")
        os.chmod(fail, 0o755)
        m = new_mount({"backend": "command", "command": fail}, "c-cmd-fail",
                      opts={"retries": 2})
        home = m.path("acme", "alpha", "Home.md")
        _, err = read_errno(home)
        why = xattr(home, "user.wikifs.error")
        t.eq(err, errno.EIO, "command: a non-zero exit is EIO")
        t.ok("status 9" in why and "the model is on fire" in why and "300" in why and
             " 1 2 3 " not in why, "command: the error carries the tail of stderr", why)
        t.ok("model is on fire" in m.errors(), "command: and .wikifs/errors too")
        finish(m, "command failing")

        # empty stdout with exit 0: an error with the stderr tail
        empty = os.path.join(env.root, "empty.sh")
        with open(empty, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\necho 'no credits left, try later' >&2\n")
        os.chmod(empty, 0o755)
        m = new_mount({"backend": "command", "command": empty}, "c-cmd-empty",
                      opts={"retries": 1})
        home = m.path("acme", "alpha", "Home.md")
        _, err = read_errno(home)
        why = xattr(home, "user.wikifs.error")
        t.eq(err, errno.EIO, "command: empty output is EIO")
        t.ok("nothing" in why and "no credits left" in why,
             "command: empty output: the error says so, with the stderr tail", why)
        finish(m, "command empty")

        # a program that never reads its stdin, with a prompt larger than a pipe
        big = env.make_repo("big", dict(sample_files(), **{
            "src/big.c": "".join(f"int big_{i}(void) {{ return {i}; }}\n" for i in range(8000))}))
        env.cache = os.path.join(env.root, "c-cmd-noread")
        m = env.mount({"acme/big": big}, options=OPTS,
                      generator={"backend": "command", "command": "printf '# quick\\n'",
                                 "prompt_budget": "1M"})
        data, err = read_errno(m.path("acme", "big", "Module-src.md"))
        t.eq((err, data), (0, b"# quick\n"),
             "command: a program that ignores a large prompt still makes the page")
        t.ok(m.proc.poll() is None, "command: and the daemon survives the broken pipe")
        finish(m, "command ignoring stdin")

        # timeout: the whole process group dies, a background child too
        pids = os.path.join(env.root, "pids")
        hang = os.path.join(env.root, "hang.sh")
        with open(hang, "w") as f:
            f.write(f'#!/bin/sh\ncat >/dev/null\nsleep 300 &\necho "$$ $!" >> "{pids}"\n'
                    'echo "still thinking" >&2\nwait\n')
        os.chmod(hang, 0o755)
        m = new_mount({"backend": "command", "command": hang, "timeout": 2}, "c-cmd-hang",
                      opts={"retries": 1})
        home = m.path("acme", "alpha", "Home.md")
        _, err, dt = timed_read(home)
        why = xattr(home, "user.wikifs.error")
        t.eq(err, errno.EIO, "command timeout: EIO")
        t.ok(2 <= dt < 4, f"command timeout: after timeout = 2 ({dt:.2f}s)")
        t.ok("timed out" in why and "still thinking" in why,
             "command timeout: the error says so, with stderr", why)
        left = [p for p in open(pids).read().split() if alive(p)]
        t.eq(left, [], "command timeout: the script and its child sleep are gone")
        finish(m, "command timeout")

        # unmount while a command runs: it dies promptly, nothing is left. The
        # reader is interrupted first (a process inside open() keeps the mount busy);
        # the job goes on until the unmount.
        os.unlink(pids)
        m = new_mount({"backend": "command", "command": hang, "timeout": 120}, "c-cmd-unmount")
        reader = subprocess.Popen(["cat", m.path("acme", "alpha", "Home.md")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(pids) and len(open(pids).read().split()) == 2, 10,
                   what="command started")
        procs = open(pids).read().split()
        snapshot(m)  # the daemon's and the command's cmdlines, with a command running
        seen.extend((f"/proc/{p}/cmdline", open(f"/proc/{p}/cmdline", "rb").read().decode(
            errors="replace")) for p in procs if os.path.exists(f"/proc/{p}"))
        reader.send_signal(signal.SIGINT)
        reader.wait(10)
        t.ok(all(alive(p) for p in procs), "command: the interrupted open leaves the job running")
        t0 = time.monotonic()
        code = m.unmount()
        dt = time.monotonic() - t0
        t.eq(code, 0, "command: unmount with a command running exits 0")
        t.ok(dt < 3, f"command: and promptly ({dt:.2f}s)")
        t.diag(f"unmount latency with a running command: {dt:.3f}s")
        left = [p for p in procs if alive(p)]
        t.eq(left, [], "command: unmount leaves no process (script and child sleep)")

    # ------------------------------------------------------------------ budgets
    @section("budgets")
    def _():
        fake.reset()
        m = new_mount(llm_gen(fake, "openai"), "c-budget-calls", opts={"max_calls": 2})
        pages = content_pages(m)
        home = m.path("acme", "alpha", "Home.md")
        a = m.path("acme", "alpha", pages[0])
        b = m.path("acme", "alpha", pages[1])
        d1, e1 = read_errno(home)
        _, e2 = read_errno(a)
        t.eq((e1, e2), (0, 0), "max_calls = 2: two pages generate")
        _, err, dt = timed_read(b)
        t.eq(err, errno.EDQUOT, "max_calls = 2: the third page is EDQUOT")
        t.ok(dt < 1, f"max_calls: at once ({dt:.2f}s)")
        why = xattr(b, "user.wikifs.error")
        t.ok("max_calls" in why, "max_calls: user.wikifs.error names max_calls", why)
        t.ok("max_calls" in m.errors(), "max_calls: .wikifs/errors names max_calls", m.errors())
        t.eq(len(fake.requests()), 2, "max_calls: no request past the budget")
        t.eq(read_errno(home), (d1, 0), "max_calls: a generated page stays readable")
        _, err = read_errno(b)
        t.eq(err, errno.EDQUOT, "max_calls: a second open of a new page is EDQUOT again")
        t.eq(m.errors().count("max_calls"), 1, "max_calls: said once per page in errors")
        finish(m, "max_calls")

        fake.reset()
        budget = TOK_IN + TOK_OUT + 10  # room for one page
        m = new_mount(llm_gen(fake, "openai"), "c-budget-tokens", opts={"token_budget": budget})
        home = m.path("acme", "alpha", "Home.md")
        d1, e1 = read_errno(home)
        _, e2 = read_errno(m.path("acme", "alpha", content_pages(m)[0]))
        b = m.path("acme", "alpha", content_pages(m)[1])
        _, e3 = read_errno(b)
        t.eq((e1, e2, e3), (0, 0, errno.EDQUOT),
             f"token_budget = {budget}: the page that crosses it is made, the next is EDQUOT")
        why = xattr(b, "user.wikifs.error")
        t.ok("token_budget" in why, "token_budget: user.wikifs.error names token_budget", why)
        t.ok("token_budget" in m.errors(), "token_budget: .wikifs/errors names it")
        t.eq(read_errno(home), (d1, 0), "token_budget: a generated page stays readable")
        finish(m, "token_budget")

    # ----------------------------------------------------------------- planner
    @section("planner")
    def _():
        plan = {"pages": [
            {"title": "Core Engine", "slug": "Core-Engine", "description": "src/"},
            {"title": "Escape", "slug": "../../../etc/passwd"},
            {"title": "Nested", "slug": "a/b/c"},
            {"title": "Dots", "slug": ".."},
            {"title": "Ctl\u0007Bell", "slug": "ctl\u0001\u001bname"},
            {"title": "Core Engine again", "slug": "core-engine"},
            {"title": "Sidebar takeover", "slug": "_Sidebar"},
            {"title": "L" * 5000, "slug": "x" * 5000},
        ]}
        fake.reset([{"mode": "content", "text": "Here you go:\n```json\n" + json.dumps(plan)
                     + "\n```\n"}])
        m = new_mount(llm_gen(fake, "openai", planner="llm"), "c-plan")
        names = page_names(m)
        reqs = fake.requests()
        t.ok(len(reqs) >= 1 and "JSON" in reqs[0]["body"]["messages"][0]["content"],
             "planner: the plan was asked of the LLM as JSON")
        t.ok("Core-Engine.md" in names, "planner: the LLM's page is listed", names)
        t.ok(all("/" not in n and ".." not in n and n not in (".", "..") and
                 all(ord(c) >= 0x20 for c in n) and len(n) <= 255 for n in names),
             "planner: every name is sanitized (no '/', '..', control characters)", names)
        t.eq(len({n.lower() for n in names}), len(names), "planner: names are unique", names)
        t.eq(names.count("_Sidebar.md") + names.count("Home.md"), 2,
             "planner: Home and _Sidebar are ours", names)
        t.ok(not os.path.exists(os.path.join(env.root, "etc")) and
             not any(os.path.exists(m.path(p)) for p in ("etc", "a")),
             "planner: nothing escaped the repository directory")
        for n in names:
            if n not in ("Home.md", "_Sidebar.md", "Core-Engine.md"):
                t.diag(f"planner kept: {n!r}")
        fake.reset()
        data, err = read_errno(m.path("acme", "alpha", "Core-Engine.md"))
        t.ok(err == 0 and fake.requests()[0]["body"]["messages"][1]["content"]
             .startswith("Page: Core Engine\n"), "planner: an LLM page generates by its title")
        finish(m, "planner")

        fake.reset([{"mode": "content", "text": "I think you want {pages: [oops"}])
        m = new_mount(llm_gen(fake, "openai", planner="llm"), "c-plan-bad")
        names = page_names(m)
        t.ok("Home.md" in names and "Architecture.md" in names and "Core-Engine.md" not in names,
             "planner: a malformed plan falls back to the builtin plan", names)
        t.ok("llm planner failed" in m.errors() and "builtin" in m.errors(),
             ".wikifs/errors says the builtin plan was used", m.errors())
        t.ok("llm planner failed" in m.log(), "the log says so too", m.log()[-800:])
        finish(m, "planner fallback")

    # ---------------------------------------------------------- circuit breaker
    @section("circuit breaker")
    def _():
        fake.reset(["500"] * 20)
        m = new_mount(llm_gen(fake, "openai", timeout=5), "c-breaker",
                      opts={"retries": 2, "page_workers": 1, "open_timeout": 4})
        pages = ["Home.md"] + content_pages(m)
        results = []
        for p in pages[:3]:
            results.append(read_errno(m.path("acme", "alpha", p))[1])
        t.eq(results, [errno.EIO] * 3, "breaker: three pages fail")
        n = len(fake.requests())
        t.eq(n, 5, "breaker: 5 consecutive failures reach the server, then it stops")
        prov = m.progress().get("providers", [])
        t.ok(len(prov) == 1 and prov[0].get("circuit_open") is True,
             "breaker: progress.json providers[].circuit_open is true", prov)
        txt = open(m.path(".wikifs", "progress")).read()
        t.ok("PAUSED" in txt, "breaker: progress shows PAUSED", txt)
        t.ok("paused" in m.errors(), "breaker: the refused attempt says the provider is paused",
             m.errors()[-500:])
        _, err, dt = timed_read(m.path("acme", "alpha", pages[3]))
        t.ok(err in (errno.EIO, errno.ETIMEDOUT) and dt < 6,
             f"breaker: a new page while paused fails within bounded time ({dt:.2f}s)", err)
        t.eq(len(fake.requests()), n, "breaker: no request reaches a paused provider")
        finish(m, "breaker")

    # --------------------------------------------------------------- rate limit
    @section("rate limit")
    def _():
        fake.reset()
        m = new_mount(llm_gen(fake, "openai", rate_limit=60), "c-rate",
                      opts={"page_workers": 4, "repo_page_workers": 4})
        pages = page_names(m)[:5]
        ths = [threading.Thread(target=read_errno, args=(m.path("acme", "alpha", p),))
               for p in pages]
        for th in ths:
            th.start()
        for th in ths:
            th.join(60)
        ts = sorted(r["t"] for r in fake.requests())
        t.eq(len(ts), len(pages), f"rate_limit: {len(pages)} requests")
        d = [b - a for a, b in zip(ts, ts[1:])]
        t.diag("rate_limit gaps: " + ", ".join(f"{x:.3f}" for x in d))
        t.ok(ts[-1] - ts[0] >= len(pages) - 1 - 0.15,
             f"rate_limit = 60: {len(pages)} requests span >= {len(pages) - 1}s "
             f"({ts[-1] - ts[0]:.2f}s)")
        t.ok(all(x >= 0.85 for x in d), "rate_limit = 60: about 1s between requests", d)
        finish(m, "rate limit")

    # -------------------------------------------------------- unmount aborts
    def abort_case(label, gen, script, opts=None, open_page="Home.md", started=None):
        fake.reset(script)
        m = new_mount(gen, "c-abort-" + label.split()[0], opts=opts, foreground=True)
        reader = subprocess.Popen(["cat", m.path("acme", "alpha", open_page)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(started or (lambda: len(fake.requests()) >= len(script)), 20,
                   what=f"{label} started")
        reader.send_signal(signal.SIGINT)
        reader.wait(10)
        snapshot(m)
        t0 = time.monotonic()
        code = m.unmount(timeout=60)
        dt = time.monotonic() - t0
        t.eq(code, 0, f"unmount during {label}: exits 0")
        t.ok(dt < 2.5, f"unmount during {label}: promptly ({dt:.2f}s)")
        t.diag(f"unmount latency during {label}: {dt:.3f}s")
        return dt

    @section("unmount aborts")
    def _():
        abort_case("a hanging openai request", llm_gen(fake, "openai", timeout=120), ["hang"])
        abort_case("a hanging anthropic stream", llm_gen(fake, "anthropic", timeout=120),
                   [{"mode": "trickle", "interval_ms": 5000}])
        # the second page waits for the rate limiter (1 a minute)
        fake.reset()
        m = new_mount(llm_gen(fake, "openai", rate_limit=1, timeout=120), "c-abort-rate")
        read_errno(m.path("acme", "alpha", "Home.md"))
        reader = subprocess.Popen(["cat", m.path("acme", "alpha", "History.md")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: any(j["path"].endswith("History.md") and j["state"] == "generating"
                               for j in m.progress()["jobs"]), 10, what="waiting job")
        reader.send_signal(signal.SIGINT)
        reader.wait(10)
        t0 = time.monotonic()
        code = m.unmount(timeout=60)
        dt = time.monotonic() - t0
        t.ok(code == 0 and dt < 2.5, f"unmount during a rate-limit wait: promptly ({dt:.2f}s)")
        t.eq(len(fake.requests()), 1, "rate_limit = 1: the second request never went")
        # the LLM planner's request hangs while the repository is listed
        fake.reset(["hang"])
        m = new_mount(llm_gen(fake, "openai", planner="llm", timeout=120), "c-abort-plan")
        lister = subprocess.Popen(["ls", m.path("acme", "alpha")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_until(lambda: len(fake.requests()) >= 1, 20, what="plan request")
        lister.send_signal(signal.SIGINT)
        lister.wait(10)
        t0 = time.monotonic()
        try:
            code = m.unmount(timeout=60)
        except Exception as e:
            code = repr(e)
        dt = time.monotonic() - t0
        t.eq(code, 0, "unmount during a hanging planner request: exits 0")
        t.ok(dt < 2.5, f"unmount during a hanging planner request: promptly ({dt:.2f}s)")

    # ------------------------------------------------------------------ secrets
    @section("secrets")
    def _():
        leaks = [name for name, text in seen if KEY in text]
        for mnt in env.mounts:
            if KEY in mnt.log():
                leaks.append(mnt.stderr_path)
        for d, _, fs in os.walk(env.root):
            for f in fs:
                p = os.path.join(d, f)
                if (p.startswith(os.path.join(env.root, "repos")) or "/mnt-" in p or
                        not os.path.isfile(p)):
                    continue
                with open(p, "rb") as fh:
                    if KEY.encode() in fh.read():
                        leaks.append(p)
        t.ok(len(seen) > 20, f"secrets: {len(seen)} texts from the mounts scanned")
        t.eq(leaks, [], "secrets: the api key appears in no cache file, log, progress, "
             "errors, xattr or command line")

t.done()
