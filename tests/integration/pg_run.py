#!/usr/bin/env python3
"""pg_run.py PROGRAM [ARGS...]: runs PROGRAM with a private PostgreSQL server
(pgharness.py) whose connection string is in WIKIFS_TEST_PG, then removes the
server. Without the PostgreSQL binaries, PROGRAM runs without WIKIFS_TEST_PG
(and skips what needs the server). For the unit tests of store/."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgharness import Postgres, pg_bindir  # noqa: E402

if not pg_bindir():
    sys.exit(subprocess.run(sys.argv[1:]).returncode)
pg = Postgres(pg_bindir())
try:
    code = subprocess.run(sys.argv[1:], env=dict(os.environ, WIKIFS_TEST_PG=pg.conninfo())
                          ).returncode
finally:
    pg.destroy()
sys.exit(code)
