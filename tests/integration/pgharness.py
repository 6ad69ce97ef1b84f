"""A private PostgreSQL server for the shared-store tests and bench (issue 17).

initdb into a temporary directory, pg_ctl on a private unix socket directory
and a loopback port, password authentication (scram-sha-256) for the user
"wikifs" with a random password, so a test can check that the password never
shows. PostgreSQL refuses to run as root: as root, the server runs as a
non-root user (WIKIFS_PG_USER, default "nobody"; created with useradd if
missing). Python standard library only.

    pg = Postgres.start_or_skip(tap)   # skips the test when the binaries are missing
    os.environ["WIKIFS_STORE"] = pg.conninfo()
    pg.sql("SELECT count(*) FROM wikifs_pages")
    pg.stop(); pg.start()
    pg.destroy()
"""
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile


def pg_bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb and pg_ctl, or None."""
    env = os.environ.get("WIKIFS_PG_BIN")
    cands = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                     key=lambda p: int(p.split("/")[-2]), reverse=True)
    for d in cands:
        if d and os.access(os.path.join(d, "initdb"), os.X_OK) and \
                os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, bindir):
        self.bindir = bindir
        self.password = "pw-" + secrets.token_hex(12)
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="wikifs-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.logfile = os.path.join(self.dir, "server.log")
        os.makedirs(self.sock)
        self.user = None
        if os.geteuid() == 0:
            self.user = os.environ.get("WIKIFS_PG_USER", "nobody")
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", self.user],
                               check=True, capture_output=True)
            pw = pwd.getpwnam(self.user)
            for p in (self.dir, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.user:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        self._run(["initdb", "-D", self.data, "-U", "wikifs", f"--pwfile={pwfile}",
                   "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
        os.unlink(pwfile)
        self.start()

    @classmethod
    def start_or_skip(cls, tap):
        bindir = pg_bindir()
        if not bindir:
            tap.skip_all("PostgreSQL server binaries (initdb, pg_ctl) are missing: "
                         "run scripts/deps (installs postgresql)")
        return cls(bindir)

    def _run(self, args, check=True, **kw):
        cmd = [os.path.join(self.bindir, args[0])] + args[1:]
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        r = subprocess.run(cmd, cwd=self.dir, user=self.user, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def start(self):
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                # no fsync (the machine does not crash), but every commit is in the
                # WAL before it returns: an immediate stop loses nothing committed
                "-c fsync=off -c full_page_writes=off "
                "-c max_connections=200")
        self._run(["pg_ctl", "-D", self.data, "-l", self.logfile, "-o", opts, "-w",
                   "-t", "60", "start"])

    def stop(self, mode="immediate"):
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def conninfo(self, password=None):
        pw = self.password if password is None else password
        return f"postgresql://wikifs:{pw}@127.0.0.1:{self.port}/postgres"

    def sql(self, query):
        """Runs @query with psql; returns its unaligned output, stripped."""
        env = dict(os.environ, PGPASSWORD=self.password)
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-h",
                            "127.0.0.1", "-p", str(self.port), "-U", "wikifs", "-d",
                            "postgres", "-v", "ON_ERROR_STOP=1", "-c", query],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"psql {query!r}: {r.stderr}")
        return r.stdout.strip()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.destroy()
