#!/usr/bin/env python3
"""check-size.py SRCDIR -- no .c file of the source folders over 900 lines and
no function over 100 (issue 11): a file or a function that long usually hides
a second job. Kernel style makes the count simple: a function's body runs
from a "{" in column 0 to the next "}" in column 0. Prints every offender
and exits 1 if there is one."""
import os
import sys

FOLDERS = ("core", "analysis", "cache", "gen", "wiki", "fs", "cli", "store")
FILE_MAX, FUNC_MAX = 900, 100


def main():
    root = sys.argv[1]
    bad = []
    for folder in FOLDERS:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".c"):
                continue
            path = os.path.join(folder, name)
            with open(os.path.join(root, path), errors="replace") as f:
                lines = f.read().split("\n")
            if len(lines) - 1 > FILE_MAX:
                bad.append(f"{path}: {len(lines) - 1} lines (limit {FILE_MAX})")
            start = None
            for i, line in enumerate(lines):
                if line.startswith("{"):
                    start = i
                elif line.startswith("}") and start is not None:
                    if i - start - 1 > FUNC_MAX:
                        head = lines[start - 1] if start else "?"
                        bad.append(f"{path}:{start}: function of {i - start - 1} lines "
                                   f"(limit {FUNC_MAX}): {head.strip()}")
                    start = None
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
