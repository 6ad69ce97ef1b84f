#!/usr/bin/env python3
"""Makes the installed SYSCONFDIR/wikifs/mount.conf from the sample at the
repository root: the same keys and comments, without its live [repo]
sections (the sample's "url = ." means the source tree, which an installed
copy does not have); a commented example takes their place.

usage: etc-mount-conf.py mount.conf OUTPUT
"""
import re
import sys

src, out = sys.argv[1], sys.argv[2]
lines = open(src).read().splitlines()
kept, i, dropped = [], 0, 0
while i < len(lines):
    if re.match(r"\s*\[repo\s", lines[i]):
        # drop the comment paragraph just above the section, then the section
        while kept and kept[-1].startswith("#"):
            kept.pop()
        i += 1
        while i < len(lines) and not re.match(r"\s*\[", lines[i]):
            i += 1
        dropped += 1
        continue
    kept.append(lines[i])
    i += 1
if dropped == 0:
    sys.exit(f"{src}: no [repo] section found; update {sys.argv[0]}")
while kept and not kept[-1].strip():
    kept.pop()
kept += ["",
         "# A repository on this machine (a path, or file://):",
         "#",
         "# [repo myproject]",
         "# url = /home/me/src/myproject",
         ""]
with open(out, "w") as f:
    f.write("\n".join(kept))
