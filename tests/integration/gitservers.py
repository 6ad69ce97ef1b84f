"""Real git servers on loopback for the transport and credential tests,
started by the tests themselves. Python standard library only, plus the
real programs: git http-backend (run as CGI), openssl (a test CA), sshd.

  GitHttpServer  git http-backend over http or https (a certificate signed by
                 a test CA made with openssl), Basic auth for all or some
                 repositories, redirects, and a response cut off midway
  DropProxy      a TCP proxy that closes both sides after N bytes came back
  SshServer      sshd on a private port with a host key and one authorized
                 user key, all made at test time
  make_ca()      a test CA and a server certificate for 127.0.0.1
"""
import base64
import os
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
import getpass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import TcpProxy, free_port, run, wait_until


def http_backend():
    """Path of git http-backend, or None."""
    path = run(["git", "--exec-path"]).stdout.strip() + "/git-http-backend"
    return path if os.access(path, os.X_OK) else None


def make_ca(d):
    """A test CA and a server certificate for 127.0.0.1 (and localhost),
    made with openssl in @d. Returns (ca_pem, cert_pem, key_pem)."""
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key, csr = (os.path.join(d, n) for n in ("srv.pem", "srv.key", "srv.csr"))
    ext = os.path.join(d, "srv.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:127.0.0.1,DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=wikifs test CA"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
    return ca, cert, key


class GitHttpServer:
    """git http-backend serving every repository below @root.

    user, password: Basic auth credentials; @private says which repository
    names need them (None: all of them). With @tls = (cert, key) it speaks
    https. redirects maps a path prefix to another (answered 301).
    drop_after maps a repository name to a byte count: its pack responses
    are cut off after that many bytes, the connection closed. While hold is
    set, every request waits for release, so a clone can be looked at while
    it runs."""

    def __init__(self, root, user, password, private=None, tls=None):
        self.root = root
        self.user = user
        self.password = password
        self.private = private
        self.redirects = {}
        self.drop_after = {}
        self.hold = threading.Event()
        self.release = threading.Event()
        self.waiting = 0
        self.seen = []  # (method, path, authorized) of every request
        self.backend = http_backend()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.handle(self)

            def do_POST(self):
                outer.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name, user=None, password=None):
        cred = ""
        if user is not None:
            cred = urllib.parse.quote(user, safe="")
            if password is not None:
                cred += ":" + urllib.parse.quote(password, safe="")
            cred += "@"
        return f"{self.scheme}://{cred}127.0.0.1:{self.port}/{name}"

    def _authorized(self, h):
        auth = h.headers.get("Authorization", "")
        want = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return auth == "Basic " + want

    def _needs_auth(self, path):
        if self.private is None:
            return True
        repo = path.lstrip("/").split("/", 1)[0]
        return repo in self.private

    def _body(self, h):
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(h.rfile.readline().split(b";")[0], 16)
                chunk = h.rfile.read(n + 2)[:n]
                if n == 0:
                    return out
                out += chunk
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))

    def _reply(self, h, status, headers=(), payload=b""):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def handle(self, h):
        body = self._body(h)
        ok = self._authorized(h)
        self.seen.append((h.command, h.path, ok))
        if self.hold.is_set():
            self.waiting += 1
            self.release.wait(120)
        path, _, query = h.path.partition("?")
        for old, new in self.redirects.items():
            if path.startswith(old):
                where = f"{self.scheme}://127.0.0.1:{self.port}{new}{path[len(old):]}"
                where += "?" + query if query else ""
                return self._reply(h, 301, [("Location", where)])
        if self._needs_auth(path) and not ok:
            return self._reply(h, 401, [("WWW-Authenticate", 'Basic realm="wikifs-test"')])
        env = dict(os.environ, GIT_PROJECT_ROOT=self.root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=urllib.parse.unquote(path), QUERY_STRING=query,
                   REQUEST_METHOD=h.command, REMOTE_USER=self.user, REMOTE_ADDR="127.0.0.1",
                   CONTENT_TYPE=h.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), GATEWAY_INTERFACE="CGI/1.1")
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        out = subprocess.run([self.backend], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode("latin-1").partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        repo = path.lstrip("/").split("/", 1)[0]
        cut = self.drop_after.get(repo)
        if cut is not None and h.command == "POST" and len(payload) > cut:
            # the whole length announced, part of it sent, the connection closed
            h.send_response(status)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload[:cut])
            h.wfile.flush()
            h.close_connection = True
            return
        self._reply(h, status, headers, payload)

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class DropProxy(TcpProxy):
    """TCP proxy to 127.0.0.1:@port that closes both sides once @limit bytes
    have come back from the server (a server dropping the connection in the
    middle of a transfer)."""

    def __init__(self, port, limit):
        self.limit = limit
        self.dropped = 0
        super().__init__(port)

    def _pipe(self, a, b, down):
        sent = 0
        try:
            while True:
                data = a.recv(8192)
                if not data:
                    break
                if down and sent + len(data) >= self.limit:
                    b.sendall(data[: self.limit - sent])
                    self.dropped += 1
                    break
                b.sendall(data)
                sent += len(data)
        except OSError:
            pass
        self._shutdown(a, b)
        a.close()
        b.close()


class SshServer:
    """sshd -D on 127.0.0.1:port with a host key and one authorized user key,
    made in @d at test time; it logs in the user running the test. start()
    returns None on success, else why sshd cannot run here."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.user = getpass.getuser()
        self.host_key = os.path.join(d, "host_key")
        self.user_key = os.path.join(d, "user_key")
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(d, "sshd.log")

    def start(self):
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not os.access(sshd, os.X_OK) or not shutil.which("ssh-keygen"):
            return "sshd (openssh-server) is not installed"
        for k in (self.host_key, self.user_key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wikifs-test", "-f", k])
        auth = os.path.join(self.d, "authorized_keys")
        shutil.copy(self.user_key + ".pub", auth)
        conf = os.path.join(self.d, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"HostKey {self.host_key}\nAuthorizedKeysFile {auth}\nStrictModes no\n"
                    "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nPidFile none\nListenAddress 127.0.0.1\n"
                    "LogLevel VERBOSE\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation
        self.proc = subprocess.Popen([sshd, "-D", "-e", "-f", conf, "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
                                     start_new_session=True)
        try:
            wait_until(lambda: self._banner() or self.proc.poll() is not None, 10,
                       what="sshd")
        except TimeoutError:
            pass
        if self.proc.poll() is not None or not self._banner():
            return "sshd did not start: " + open(self.log, errors="replace").read()[-300:]
        return None

    def _banner(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def known_hosts_line(self, port=None):
        with open(self.host_key + ".pub") as f:
            kind, key = f.read().split()[:2]
        return f"[127.0.0.1]:{port or self.port} {kind} {key}\n"

    def url(self, path, port=None):
        return f"ssh://{self.user}@127.0.0.1:{port or self.port}{path}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
