#!/usr/bin/env python3
"""Issue 5, hostile repositories through a real mount with the builtin
generator: huge and binary files, a 1,000-deep tree, symlinks pointing
outside, names with newlines, control characters and invalid UTF-8, and
100,000 files. Every page opens within its time bound, the daemon stays
within its memory bound, and every page is valid UTF-8 Markdown (decoded
with 'strict', no control characters), no bigger than the page limit,
and leaks nothing the symlinks point at."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from harness import *  # noqa
from relharness import *  # noqa

t = Tap()
if not fuse_available():
    t.skip_all("no usable /dev/fuse or fusermount3")

PAGE_MAX = 4 << 20           # gen/backend.h PAGE_MAX_BYTES
PAGE_TIME_S = 60             # each page, first open to last byte
SANITIZED = bool(os.environ.get("ASAN_OPTIONS") or os.environ.get("TSAN_OPTIONS"))
MEM_MB = 1536 if SANITIZED else 512


def hostile_files():
    files = {
        "README.md": "# Hostile\n\nA repository built to hurt the generator.\n",
        "meson.build": "project('hostile', 'c')\n",
        # huge files: incompressible binary, a huge source file, one endless line
        "huge/random.bin": os.urandom(24 << 20),
        "huge/huge.c": "".join(f"int fn_{i}(int x)\n{{\n\treturn x + {i};\n}}\n"
                               for i in range(300000)),
        "huge/oneline.js": "var a = [" + "1," * (3 << 20) + "];",
        # binary bytes under source names
        "bin/blob.c": os.urandom(1 << 20),
        "bin/nul.h": b"int a;\x00\x00\x00\xff\xfe#include <x.h>\n" * 1000,
        "bin/utf16.py": "def f():\n    return 1\n".encode("utf-16"),
        # a 1,000-deep tree
        "deep/" + "d/" * 1000 + "leaf.c": "int leaf(void) { return 1; }\n",
        # names: newline, control characters, invalid UTF-8, Markdown and shell syntax
        "names/new\nline.c": "int nl(void);\n",
        "names/ctl\x01\x07\x1b[31m.c": "int ctl(void);\n",
        b"names/bad\xff\xfe.c": b"int bad(void);\n",
        b"names/overlong\xc0\xaf.c": b"int ov(void);\n",
        "names/](javascript:alert(1)).c": "int md(void);\n",
        "names/<script>alert(1)</script>.py": "def x():\n    pass\n",
        "names/$(reboot)`id`.sh": "echo hi\n",
        "evil\nmodule/x.c": "int evil_nl(void) { return 0; }\n",
        b"\xc3\x28bad-dir/y.c": b"int y(void) { return 0; }\n",
        "tab\tdir\x7f/z.go": "package z\nfunc Z() {}\n",
        # a symbol with a control character and invalid UTF-8 in its name
        "src/sym.c": b"int \x1b[2Jclear\xff(void) { return 0; }\n#include \"\x01\n\xfe\"\n",
    }
    files.update({f"src/f{i}.c": f"#include \"f{i + 1}.h\"\nint f{i}(void);\n"
                  for i in range(50)})
    return files


SYMLINKS = {
    "links/passwd": "/etc/passwd",
    "links/up": "../../../../../../../../etc",
    "links/self": "self",
    "links/shadow.c": "/etc/shadow",
    "docs/README.md": "/etc/passwd",
}


def many_files():
    files = {"README.md": "# Many\n\n100,000 files.\n"}
    for i in range(100000):
        files[f"m{i % 20:02d}/d{i // 1000:03d}/f{i}.c"] = f"int f{i}(void) {{ return {i}; }}\n"
    return files


def check_repo(t, m, name, label):
    rp = name.split("/")
    t0 = time.monotonic()
    pages, err = listdir_errno(m.path(*rp))
    t.ok(err == 0 and pages, f"{label}: the repository lists ({time.monotonic() - t0:.1f}s, "
         f"{len(pages or [])} pages)", err)
    names_bad = [p for p in pages or [] if markdown_problems(p.encode("utf-8", "surrogateescape"))]
    t.eq(names_bad, [], f"{label}: every page name is printable UTF-8")
    slow, bad, big, leaks, failed = [], [], [], [], []
    times = []
    for p in pages or []:
        t0 = time.monotonic()
        data, err = read_errno(m.path(*rp, p))
        dt = time.monotonic() - t0
        times.append(dt)
        if err:
            failed.append((p, err, xattr(m.path(*rp, p), "error")))
            continue
        if dt > PAGE_TIME_S:
            slow.append((p, round(dt, 1)))
        probs = markdown_problems(data)
        if probs:
            bad.append((p, probs))
        if len(data) > PAGE_MAX or not data.startswith(b"# "):
            big.append((p, len(data)))
        if b"root:x:0:0" in data or b"root:*:" in data:
            leaks.append(p)
    t.eq(failed, [], f"{label}: every page generates")
    t.eq(slow, [], f"{label}: every page within {PAGE_TIME_S}s "
                   f"(max {max(times or [0]):.1f}s, total {sum(times):.1f}s)")
    t.eq(bad, [], f"{label}: every page is valid UTF-8 Markdown without control characters")
    t.eq(big, [], f"{label}: every page is a titled Markdown page within {PAGE_MAX} bytes")
    t.eq(leaks, [], f"{label}: no page shows what a symlink outside points at")
    return pages or []


with Env() as env:
    t0 = time.monotonic()
    hostile = fast_import_repo(os.path.join(env.repos, "hostile.git"), hostile_files(), SYMLINKS)
    many = fast_import_repo(os.path.join(env.repos, "many.git"), many_files())
    t.diag(f"repositories built in {time.monotonic() - t0:.1f}s")
    daemon = env.git_daemon()
    m = env.mount({"evil/hostile": daemon.url("hostile.git"), "evil/many": daemon.url("many.git")},
                  options={"refresh_interval": 0, "open_timeout": 300, "clone_timeout": 300})
    pages = check_repo(t, m, "evil/hostile", "hostile")
    t.ok(any("deep" in p for p in pages), "the 1,000-deep tree has its module page", pages)
    deep = [p for p in pages if "deep" in p]
    if deep:
        data = read_errno(m.path("evil", "hostile", deep[0]))[0] or b""
        t.ok(b"leaf.c" in data, "the deep module page reaches the leaf 1,000 levels down")
    check_repo(t, m, "evil/many", "100,000 files")
    hwm = vm_hwm_kb(m.proc.pid) // 1024
    t.ok(hwm < MEM_MB, f"the daemon's peak memory is {hwm} MB (bound {MEM_MB} MB)")
    prog = m.progress()
    t.eq(prog["pages"]["failed"], 0, "progress shows no failed page")
    with open(m.path(".wikifs", "progress.json"), "rb") as f:
        t.eq(markdown_problems(f.read()), [], "progress.json is valid UTF-8")
    t.eq(m.unmount(), 0, "unmount")

t.done()
