#!/usr/bin/env python3
"""Fails when a source file reaches outside what its layer may use.

Layers, lowest first: core/ (libc and pthreads only), analysis/ (plain
bytes, and cJSON to read Universal Ctags' answers), cache/ (adds libgit2), store/ (beside
cache/: core/ and libpq only), gen/ (adds libcurl and cJSON), wiki/ (the engine:
cJSON for its reports, nothing new; drives store/), fs/ (adds libfuse3,
never store/). Beside them cli/ (the commands that need no mount: core/,
store/ and cJSON, never fs/ or libfuse3), and on top src/ (main(), which only
dispatches: it sees every layer and no foreign library). Two rules:

- a file includes a foreign library only in a layer allowed to use it;
- a file includes a project header only from its own layer or one it
  depends on (analysis/ sees core/; cache/ sees analysis/ and core/; ...;
  wiki/ sees gen/ and below, never fs/; gen/ never sees wiki/).

Usage: check-layers.py SRCDIR STAMP
"""
import pathlib
import re
import sys

# Each foreign library and the layers that may include it.
FOREIGN = {
    "git2": ("cache",),
    "curl/": ("gen",),
    "cJSON": ("analysis", "gen", "wiki", "cli"),
    "cjson/": ("analysis", "gen", "wiki", "cli"),
    "fuse": ("fs",),
    "libpq": ("store",),
    "postgres": ("store",),
}
# Each layer and the layers whose headers it may include (besides its own).
SEES = {
    "core": (),
    "analysis": ("core",),
    "cache": ("analysis", "core"),
    "store": ("core",),
    "gen": ("cache", "analysis", "core"),
    "wiki": ("gen", "store", "cache", "analysis", "core"),
    "fs": ("wiki", "gen", "cache", "analysis", "core"),
    "cli": ("store", "core"),
    "src": ("fs", "cli", "wiki", "gen", "store", "cache", "analysis", "core"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def owner_of(src, header):
    """The layer holding project header @header, or None."""
    for layer in SEES:
        if (src / layer / header).is_file():
            return layer
    return None


def check_file(src, layer, f):
    bad = []
    text = f.read_text(errors="replace")
    for m in INCLUDE.finditer(text):
        kind, inc = m.group(1), m.group(2)
        line = text[: m.start()].count("\n") + 1
        where = f"{f.relative_to(src)}:{line}"
        for prefix, users in FOREIGN.items():
            if inc.startswith(prefix) and layer not in users:
                owners = " and ".join(f"{u}/" for u in users)
                bad.append(f"{where}: <{inc}> belongs to {owners}, not {layer}/")
        if kind == '"' and not (f.parent / inc).is_file():
            owner = owner_of(src, inc)
            if owner and owner not in SEES[layer]:
                bad.append(f'{where}: "{inc}" is in {owner}/, which {layer}/ may not use')
    return bad


def main():
    src = pathlib.Path(sys.argv[1])
    bad = []
    for layer in SEES:
        for f in sorted((src / layer).glob("*.[ch]")):
            bad += check_file(src, layer, f)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    pathlib.Path(sys.argv[2]).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
