#!/usr/bin/env python3
"""Issue 18: the mount behaves like a native file system in the details tools
look at. Times are the commit's (stable across remounts), extended attributes
are listed (getfattr -d) on pages and repository directories, recursive tools
(grep -r, find) never trip over the control directory, and .wikifs/metrics
is Prometheus text that moves with what the mount does."""
from harness import *

CT = "2023-05-06T07:08:09Z"  # committer dates that no other test repository has
CT_NEXT = "2023-08-09T10:11:12Z"


def commit_dated(work, files, date, message):
    """Commits @files in the work tree @work with committer date @date (the
    author date stays the harness's): the mount must show the committer's."""
    for path, data in files.items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(data)
    git(["add", "-A"], work)
    git(["commit", "-q", "-m", message], work, env=dict(GIT_ENV, GIT_COMMITTER_DATE=date))


def head_time(bare):
    return int(git(["log", "-1", "--format=%ct"], bare).stdout)


def times(path):
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_ctime_ns)


def fattr_dump(path):
    """getfattr -d: {name: value} of what listxattr names, and the exit status."""
    r = run(["getfattr", "-d", "--absolute-names", path], check=False)
    found = dict(re.findall(r'^(user\.wikifs\.[a-z]+)="(.*)"$', r.stdout, re.M))
    return found, r


def test_times(t, env, bare, work):
    ct = head_time(bare)
    sec = ct * 10**9
    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    repo_dir, home = m.path("acme", "alpha"), m.path("acme", "alpha", "Home.md")
    os.stat(repo_dir)  # the lookup before the clone: its times must not stick
    t.ok("Home.md" in os.listdir(repo_dir), "the repository lists its pages")
    t.eq(times(repo_dir), (sec, sec), "a repository directory's mtime and ctime are its "
         "commit's committer time (git log -1 --format=%ct)")
    t.eq(times(home), (sec, sec), "a page not generated yet has its commit's times")
    with open(home, "rb") as f:
        f.read()
    t.eq(times(home), (sec, sec), "a generated page keeps its commit's times")
    before = {p: times(m.path("acme", "alpha", p)) for p in os.listdir(repo_dir)}
    t.eq(m.unmount(), 0, "unmount")

    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    os.listdir(m.path("acme", "alpha"))
    after = {p: times(m.path("acme", "alpha", p)) for p in before}
    t.eq(after, before, f"after a remount every page has the same mtime and ctime "
         f"({len(before)} pages)")
    t.eq(times(m.path("acme", "alpha")), (sec, sec), "and so has the repository directory")

    # a refresh to a commit of another date moves the directory's time with it
    commit_dated(work, {"NEWS.md": "# News\n"}, CT_NEXT, "news")
    git(["push", "-q", bare, "HEAD"], work)
    new = git(["rev-parse", "HEAD"], work).stdout.strip()
    m.control("refresh acme/alpha")
    if not t.until(lambda: xattr(m.path("acme", "alpha"), "commit") == new, 30,
                   "the refresh reached the new commit"):
        t.diag(m.errors() + m.log())
    nsec = head_time(bare) * 10**9
    t.ok(nsec != sec, "the new commit has another committer time")
    t.eq(times(m.path("acme", "alpha")), (nsec, nsec),
         "after a refresh the repository directory shows the new commit's time")
    t.eq(times(m.path("acme", "alpha", "Home.md")), (nsec, nsec),
         "and so do its pages")
    t.eq(m.unmount(), 0, "unmount")


def test_xattrs(t, env, bare, work):
    branch = git(["symbolic-ref", "--short", "HEAD"], bare).stdout.strip()
    m = env.mount({"acme/alpha": bare, "acme/dev": (bare, "dev"),
                   "acme/broken": os.path.join(env.root, "no-such-repo.git")},
                  options={"refresh_interval": 0})
    home = m.path("acme", "alpha", "Home.md")
    commit = git(["rev-parse", "HEAD"], bare).stdout.strip()
    os.listdir(m.path("acme", "alpha"))

    got, r = fattr_dump(home)
    t.eq(got, {"user.wikifs.state": "absent", "user.wikifs.commit": commit,
               "user.wikifs.backend": "builtin"},
         "getfattr -d lists a page's attributes before it is generated", r.stderr)
    t.ok(r.returncode == 0 and not r.stderr.strip(), "getfattr -d succeeds", r.stderr)
    with open(home, "rb") as f:
        f.read()
    got, r = fattr_dump(home)
    t.eq(got.get("user.wikifs.state"), "ready", "and shows it ready once read", r.stdout)
    names = os.listxattr(home)
    # state, commit, backend; and citations and sources, which the generation
    # recorded (issues 15 and 14: what the page was made from)
    t.eq(sorted(names), ["user.wikifs.backend", "user.wikifs.citations", "user.wikifs.commit",
                         "user.wikifs.sources", "user.wikifs.state"],
         "listxattr names only the user.wikifs.* attributes that answer", names)

    got, r = fattr_dump(m.path("acme", "alpha"))
    t.eq(got, {"user.wikifs.state": "ready", "user.wikifs.commit": commit,
               "user.wikifs.ref": branch},
         "a repository directory lists state, commit and ref (the remote HEAD's branch)",
         r.stdout + r.stderr)
    os.listdir(m.path("acme", "dev"))
    t.eq(xattr(m.path("acme", "dev"), "ref"), "dev", "user.wikifs.ref is the configured ref")

    err = listdir_errno(m.path("acme", "broken"))[1]
    t.ok(err != 0, "a repository that cannot be cloned fails to list", err)
    got, r = fattr_dump(m.path("acme", "broken"))
    t.eq(got.get("user.wikifs.state"), "failed", "a failed clone's directory says failed",
         r.stdout)
    t.ok("no-such-repo" in got.get("user.wikifs.error", ""),
         "and lists user.wikifs.error naming the cause", got)
    t.eq(xattr(m.path("acme", "broken"), "error"), got.get("user.wikifs.error"),
         "user.wikifs.error reads by name too")
    t.ok("user.wikifs.commit" not in got, "no commit attribute before any clone", got)

    r = run(["getfattr", "-n", "system.posix_acl_access", home], check=False)
    t.ok(r.returncode != 0 and "No such attribute" in r.stderr,
         "the kernel's ACL probe is answered ENODATA", r.stderr)
    got, r = fattr_dump(m.path(".wikifs", "progress"))
    t.ok(r.returncode == 0 and got == {}, "a control file lists no attributes", r.stderr)
    t.eq(m.unmount(), 0, "unmount")


def test_recursive(t, env, bare):
    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0})
    with open(m.path("acme", "alpha", "Home.md")) as f:
        text = f.read()
    word = max(re.findall(r"[A-Za-z]{6,}", text), key=len)
    t.ok(".wikifs" not in os.listdir(m.dir), "the control directory is not listed")
    t.ok(".wikifs" not in run(["ls", "-a", m.dir]).stdout, "not even by ls -a")
    t.ok(os.path.isfile(m.path(".wikifs", "progress")) and
         "control" in os.listdir(m.path(".wikifs")),
         "but it is reachable by its name, and lists its files")
    r = run(["grep", "-r", "-l", word, m.dir], check=False)
    t.eq(r.returncode, 0, f"grep -r of a word of Home.md ({word}) exits 0", r.stderr)
    t.ok(m.path("acme", "alpha", "Home.md") in r.stdout.split("\n"),
         "and names Home.md", r.stdout)
    r = run(["grep", "-r", "no-such-word-in-any-page-qq", m.dir], check=False)
    t.eq(r.returncode, 1, "grep -r of a word in no page exits 1, not 2", r.stderr)
    r = run(["find", m.dir], check=False)
    t.ok(r.returncode == 0 and ".wikifs" not in r.stdout, "find walks the mount cleanly",
         r.stderr)
    t.eq(m.unmount(), 0, "unmount")


# ---- a strict reader of the Prometheus text exposition format (0.0.4)

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
VALUE = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|Inf|NaN)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? ({VALUE})(?: -?\d+)?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_metrics(text):
    """{(name, ((label, value), ...)): float}, or raises ValueError naming the
    first line that breaks the format: HELP and TYPE once per family and
    before its samples, a family's samples together, no sample twice,
    counters and histograms whole (cumulative buckets ending at +Inf = count)."""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    types, helps, samples, done, current = {}, set(), {}, set(), None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line!r}"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                raise ValueError(f"{where}: malformed")
            fam = parts[2]
            if fam in done or (current and fam != current and fam in types):
                raise ValueError(f"{where}: family {fam} is split")
            if parts[1] == "TYPE":
                if fam in types or parts[3] not in TYPES:
                    raise ValueError(f"{where}: TYPE twice or unknown")
                if any(k[0].startswith(fam) for k in samples if family_of(k[0], types) == fam):
                    raise ValueError(f"{where}: TYPE after samples")
                types[fam] = parts[3]
            elif fam in helps:
                raise ValueError(f"{where}: HELP twice")
            else:
                helps.add(fam)
            if current and current != fam:
                done.add(current)
            current = fam
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"{where}: not a sample")
        name = m.group(1)
        fam = family_of(name, types)
        if fam not in types:
            raise ValueError(f"{where}: sample before its TYPE")
        if fam != current:
            raise ValueError(f"{where}: sample outside its family")
        labels = tuple(re.findall(LABEL, m.group(2) or ""))
        if len({k for k, _ in labels}) != len(labels):
            raise ValueError(f"{where}: a label twice")
        key = (name, labels)
        if key in samples:
            raise ValueError(f"{where}: sample twice")
        v = m.group(m.lastindex)
        samples[key] = float(v.replace("Inf", "inf"))
    check_families(types, samples)
    return samples


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check_families(types, samples):
    for fam, kind in types.items():
        if kind == "counter":
            if not fam.endswith("_total"):
                raise ValueError(f"counter {fam} is not named _total")
            if any(v < 0 for (n, _), v in samples.items() if n == fam):
                raise ValueError(f"counter {fam} is negative")
        if kind == "histogram":
            buckets = sorted((float(dict(l)["le"].replace("Inf", "inf")), v)
                             for (n, l), v in samples.items() if n == fam + "_bucket")
            counts = [v for _, v in buckets]
            if not buckets or buckets[-1][0] != float("inf") or counts != sorted(counts):
                raise ValueError(f"histogram {fam}: buckets not cumulative up to +Inf")
            if samples.get((fam + "_count", ())) != counts[-1] or (fam + "_sum", ()) not in samples:
                raise ValueError(f"histogram {fam}: _count is not the +Inf bucket, or no _sum")


def metric(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def read_metrics(m):
    with open(m.path(".wikifs", "metrics")) as f:
        return parse_metrics(f.read())


def test_metrics(t, env, bare):
    # the parser itself refuses what breaks the format
    bad = ["x 1\n", "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",
           "# TYPE x_total counter\nx_total -1\n", "# TYPE x gauge\nx 1\nx 2\n",
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
           "h_count 1\nh_sum 0\n", "# TYPE x gauge\nx 1"]
    refused = 0
    for text in bad:
        try:
            parse_metrics(text)
        except ValueError:
            refused += 1
    t.eq(refused, len(bad), "the test's exposition-format reader refuses malformed text")

    fail = write_script(env, "fail-arch.sh",
                        "cat >/dev/null\ncase \"$WIKIFS_PAGE\" in *Architecture*) "
                        "echo 'model exploded' >&2; exit 3;; esac\necho '# page'\n")
    env.cache = os.path.join(env.root, "cache-metrics")  # a clone over the network to time
    m = env.mount({"acme/alpha": bare}, options={"refresh_interval": 0, "retries": 2},
                  generator={"backend": "command", "command": fail})
    try:
        first = read_metrics(m)
        t.ok(True, "metrics parse as Prometheus text before anything is read")
    except (OSError, ValueError) as e:
        t.ok(False, "metrics parse as Prometheus text before anything is read", e)
        return
    pages = os.listdir(m.path("acme", "alpha"))
    with open(m.path("acme", "alpha", "Home.md")) as f:
        f.read()
    after = read_metrics(m)
    t.eq(metric(after, "wikifs_generations_total") - metric(first, "wikifs_generations_total"),
         1, "wikifs_generations_total counts the page read")
    t.eq(metric(after, "wikifs_pages", state="ready"), 1, "wikifs_pages{state=ready} is 1")
    t.eq(sum(v for (n, _), v in after.items() if n == "wikifs_pages"), len(pages),
         "wikifs_pages sums to the pages listed")
    t.ok(metric(after, "wikifs_page_cache_bytes") > metric(first, "wikifs_page_cache_bytes"),
         "wikifs_page_cache_bytes grew")
    t.ok(metric(after, "wikifs_clone_duration_seconds_count") >= 1 and
         metric(after, "wikifs_clones_total", result="done") >= 1,
         "the clone is in wikifs_clone_duration_seconds and wikifs_clones_total")
    t.eq(metric(after, "wikifs_reuses_total"), 0, "wikifs_reuses_total is there")
    with open(m.path("acme", "alpha", "Home.md")) as f:
        f.read()
    again = read_metrics(m)
    t.eq(metric(again, "wikifs_cache_hits_total") - metric(after, "wikifs_cache_hits_total"), 1,
         "opening the ready page again is a cache hit")
    err = read_errno(m.path("acme", "alpha", "Architecture.md"))[1]
    t.ok(err != 0, "a page whose generation fails fails to read", err)
    last = read_metrics(m)
    errors = sum(v for (n, _), v in last.items() if n == "wikifs_provider_errors_total")
    t.eq(errors, 2, "wikifs_provider_errors_total counts both failed attempts (retries = 2)")
    t.eq(metric(last, "wikifs_generation_failures_total"), 1,
         "wikifs_generation_failures_total counts the page")
    t.eq(metric(last, "wikifs_pages", state="failed"), 1, "wikifs_pages{state=failed} is 1")
    r = run(["stat", "-c", "%s", m.path(".wikifs", "metrics")])
    t.eq(r.stdout.strip(), "0", "the metrics file is direct_io like progress (size 0)")
    t.eq(m.unmount(), 0, "unmount")


def main():
    t = Tap()
    if not fuse_available():
        t.skip_all("FUSE not available")
    with Env() as env:
        work = env.make_repo("alpha", sample_files(), bare=False)
        commit_dated(work, {"CHANGES.md": "# Changes\n"}, CT, "changes")
        git(["branch", "dev"], work)  # a configured ref (the clone is made once, now)
        bare = os.path.join(env.repos, "alpha.git")
        git(["clone", "-q", "--bare", work, bare], env.root)
        test_times(t, env, bare, work)
        test_xattrs(t, env, bare, work)
        test_recursive(t, env, bare)
        test_metrics(t, env, bare)
    t.done()


main()
