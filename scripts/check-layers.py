#!/usr/bin/env python3
"""Fails when a source file includes a library that belongs to another layer.

core/ may use libc and pthreads only; cache/ adds libgit2; gen/ adds libcurl
and cJSON; fs/ adds libfuse3. Usage: check-layers.py SRCDIR STAMP
"""
import pathlib
import re
import sys

FOREIGN = {
    "git2": "cache",
    "curl/": "gen",
    "cJSON": "gen",
    "cjson/": "gen",
    "fuse": "fs",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def main():
    src = pathlib.Path(sys.argv[1])
    bad = []
    for layer in ("core", "cache", "gen", "fs"):
        for f in sorted((src / layer).glob("*.[ch]")):
            for m in INCLUDE.finditer(f.read_text(errors="replace")):
                inc = m.group(1)
                for prefix, owner in FOREIGN.items():
                    if inc.startswith(prefix) and owner != layer:
                        line = f.read_text(errors="replace")[: m.start()].count("\n") + 1
                        bad.append(f"{f.relative_to(src)}:{line}: <{inc}> belongs to {owner}/, "
                                   f"not {layer}/")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    pathlib.Path(sys.argv[2]).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
