"""Fixtures for postern's integration tests: free loopback ports, a
postern server started from a scenario's postern.conf template with
accounts created through the CLI, and a private Dovecot LMTP server.

Each scenario is a numbered folder holding its postern.conf and its test
file; the template's @NAME@ placeholders are filled in here:
  @TMP@ the test's private directory, @MX@ @SUB@ @SUBS@ @LMTP@ ports,
  @USER@ the user running the tests (children run as that user)."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

REPO = os.path.dirname(os.path.dirname(HERE))
POSTERN = os.environ.get("POSTERN_BIN", os.path.join(REPO, "build", "postern"))

# Accounts every scenario gets unless its module defines ACCOUNTS:
# (address, password, [extra sender addresses]).
DEFAULT_ACCOUNTS = [
    ("user@test.example", "user-password", []),
    ("alice@test.example", "alice-password", ["alias@test.example", "alice@other.example"]),
    ("bob@lmtp.example", "bob-password", []),
]


def postern_bin():
    if not os.access(POSTERN, os.X_OK):
        pytest.fail("postern binary %s not found (build it with ninja -C build, or set "
                    "POSTERN_BIN)" % POSTERN)
    return POSTERN


def free_ports(n):
    """n distinct free loopback ports; the sockets stay bound until all are
    chosen so that none is picked twice."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port, timeout=20.0, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("server exited with %s before port %d accepted connections\n%s"
                                 % (proc.returncode, port, log() if log else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("port %d did not accept connections within %.0fs\n%s"
                                     % (port, timeout, log() if log else ""))
            time.sleep(0.05)


def short_tmpdir(prefix):
    """Unix socket paths are limited to 108 bytes, so private directories
    live directly under /tmp rather than deep in pytest's tmp_path."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


def proc_children(pid):
    """[(pid, comm)] of the live children of pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        # The comm field is in parentheses and may contain spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        if int(fields[1]) == pid:
            out.append((int(d), comm))
    return sorted(out)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def drop_user():
    """The user that scenarios with @DROPUSER@ run their children as:
    postern, when the tests run as root and that user exists (as
    scripts/install-deps.sh makes sure), else "" (no privilege drop)."""
    if os.getuid() != 0:
        return ""
    try:
        pwd.getpwnam("postern")
        return "postern"
    except KeyError:
        return ""


class Postern:
    def __init__(self, tmp, template, ports):
        self.tmp = tmp
        self.ports = ports
        self.bin = postern_bin()
        self.conf = os.path.join(tmp, "postern.conf")
        self.logpath = os.path.join(tmp, "postern.log")
        self.mailroot = os.path.join(tmp, "mail")
        self.proc = None
        self.logfile = None
        self.drop_user = drop_user()
        if self.drop_user:
            # The unprivileged children must reach their state directory.
            os.chmod(tmp, 0o755)
        with open(template) as f:
            self.write_config(self.fill(f.read()))

    def fill(self, text):
        for k, v in (("@TMP@", self.tmp), ("@MX@", self.ports["mx"]),
                     ("@SUB@", self.ports["submission"]), ("@SUBS@", self.ports["submissions"]),
                     ("@LMTP@", self.ports["lmtp"]),
                     ("@USER@", pwd.getpwuid(os.getuid()).pw_name),
                     ("@DROPUSER@", self.drop_user)):
            text = text.replace(k, str(v))
        left = re.findall(r"@[A-Z]+@", text)
        assert not left, "unfilled placeholders %s in the configuration" % left
        return text

    def write_config(self, text):
        self.config_text = text
        with open(self.conf, "w") as f:
            f.write(text)

    # -- CLI ---------------------------------------------------------------
    def cli(self, *args, input=None, check=True, timeout=30):
        p = subprocess.run([self.bin, "-c", self.conf] + list(args), input=input,
                           capture_output=True, timeout=timeout, cwd=self.tmp)
        if check:
            assert p.returncode == 0, "postern %s: exit %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))
        return p

    def add_user(self, addr, password, senders=()):
        args = ["user", "add", addr]
        for s in senders:
            args += ["--sender", s]
        self.cli(*args, input=(password + "\n").encode())

    def queue_list(self):
        return self.cli("queue", "list").stdout.decode(errors="replace")

    def queue_ids(self):
        """Queue ids listed by `postern queue list` (first column; the
        header line starts with "ID")."""
        return [l.split()[0] for l in self.queue_list().splitlines()
                if l.strip() and l.split()[0] != "ID"]

    def queue_empty(self):
        return not self.queue_ids()

    def maildir(self, addr):
        local, domain = addr.split("@")
        return os.path.join(self.mailroot, domain.lower(), local.lower())

    # -- process -----------------------------------------------------------
    def start(self, wait=True):
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf, "serve"], cwd=self.tmp,
                                     stdin=subprocess.DEVNULL, stdout=self.logfile,
                                     stderr=self.logfile, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20.0):
        for name in ("mx", "submission", "submissions"):
            wait_port(self.ports[name], timeout, self.proc, self.log_tail)

    def children(self, comm=None):
        return [(p, c) for p, c in proc_children(self.proc.pid) if comm is None or c == comm]

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=150):
        lines = self.log().splitlines()
        return "---- postern log (last %d of %d lines) ----\n%s" % (
            min(n, len(lines)), len(lines), "\n".join(lines[-n:]))

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=30.0):
        """SIGTERM, then wait; returns the exit code (None if it had to be
        killed)."""
        if self.proc is None:
            return 0
        kids = [p for p, _ in proc_children(self.proc.pid)]
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                rc = None
        # The master's children must not outlive it.
        deadline = time.monotonic() + 10
        stray = []
        while time.monotonic() < deadline:
            stray = [p for p in kids if alive(p)]
            if not stray:
                break
            time.sleep(0.05)
        for p in stray:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.stray = stray
        self.proc = None
        self.logfile.close()
        return rc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture
def ports():
    mx, sub, subs, lmtp = free_ports(4)
    return {"mx": mx, "submission": sub, "submissions": subs, "lmtp": lmtp}


@pytest.fixture
def workdir(request):
    d = short_tmpdir("postern-it-")
    yield d
    if not _failed(request):
        shutil.rmtree(d, ignore_errors=True)
    else:
        print("test files kept in %s" % d)


@pytest.fixture
def postern_conf(request):
    """The scenario's configuration template (postern.conf next to the
    test file)."""
    path = os.path.join(os.path.dirname(str(request.module.__file__)), "postern.conf")
    assert os.path.exists(path), "scenario has no postern.conf: %s" % path
    return path


@pytest.fixture
def postern_stopped(request, workdir, ports, postern_conf):
    """A configured postern with its accounts, not yet started."""
    srv = Postern(workdir, postern_conf, ports)
    for addr, password, senders in getattr(request.module, "ACCOUNTS", DEFAULT_ACCOUNTS):
        srv.add_user(addr, password, senders)
    yield srv
    if srv.proc is not None:
        rc = srv.stop()
        if _failed(request):
            print(srv.log_tail())
        assert rc == 0, "postern did not exit 0 on SIGTERM (exit %s)\n%s" % (rc, srv.log_tail())
        assert not srv.stray, "children %s outlived the master\n%s" % (srv.stray, srv.log_tail())
    elif _failed(request):
        print(srv.log_tail())
    # With a sanitizer build (POSTERN_BIN=build-asan/postern) a report in
    # any process fails the test, even when the master restarted the child.
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "):
        assert marker not in srv.log(), "sanitizer report in the log:\n%s" % srv.log_tail(400)


@pytest.fixture
def postern(postern_stopped):
    """A running postern."""
    return postern_stopped.start()


# -- Dovecot LMTP ----------------------------------------------------------

DOVECOT_CONF = """\
# Private Dovecot for postern's integration tests: LMTP only, on loopback.
base_dir = {base}/run
state_dir = {base}/state
instance_name = postern-test-{port}
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
debug_log_path = {base}/dovecot.log
mail_location = maildir:{base}/dovecot-mail/%d/%n
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
postmaster_address = postmaster@lmtp.example
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/dovecot-home/%d/%n allow_all_users=yes
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, port):
        import grp
        import pwd
        self.port = port
        self.base = short_tmpdir("dovecot-it-")
        os.makedirs(os.path.join(self.base, "run"))
        os.makedirs(os.path.join(self.base, "state"))
        self.conf = os.path.join(self.base, "dovecot.conf")
        self.logpath = os.path.join(self.base, "dovecot.log")
        uid, gid = os.getuid(), os.getgid()
        user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
        if uid == 0:
            # Dovecot never delivers mail as root (userdb uid 0 is refused):
            # as root, mail is written as nobody in directories it owns.
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.chmod(self.base, 0o755)
            for sub in ("dovecot-mail", "dovecot-home"):
                os.makedirs(os.path.join(self.base, sub))
                os.chown(os.path.join(self.base, sub), uid, gid)
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(base=self.base, port=port, uid=uid, gid=gid,
                                        user=user, group=group))
        self.proc = None

    def maildir(self, addr):
        local, domain = addr.split("@")
        return os.path.join(self.base, "dovecot-mail", domain, local)

    def start(self):
        self.out = open(os.path.join(self.base, "dovecot.stderr"), "wb")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out, start_new_session=True)
        wait_port(self.port, 20, self.proc, self.log)
        return self

    def log(self):
        text = ""
        for name in ("dovecot.stderr", "dovecot.log"):
            try:
                with open(os.path.join(self.base, name), "rb") as f:
                    text += "---- %s ----\n%s\n" % (name, f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.out.close()
        self.proc = None


@pytest.fixture
def dovecot_stopped(request, ports):
    """A configured Dovecot, started by the test (d.start())."""
    if shutil.which("dovecot") is None:
        pytest.fail("dovecot is not installed (Debian packages dovecot-core, dovecot-lmtpd)")
    d = Dovecot(ports["lmtp"])
    yield d
    d.stop()
    if _failed(request):
        print(d.log())
        print("dovecot files kept in %s" % d.base)
    else:
        shutil.rmtree(d.base, ignore_errors=True)


@pytest.fixture
def dovecot(request, ports):
    if shutil.which("dovecot") is None:
        pytest.fail("dovecot is not installed (Debian packages dovecot-core, dovecot-lmtpd)")
    d = Dovecot(ports["lmtp"]).start()
    yield d
    d.stop()
    if _failed(request):
        print(d.log())
        print("dovecot files kept in %s" % d.base)
    else:
        shutil.rmtree(d.base, ignore_errors=True)


@pytest.fixture
def silent_dns():
    """helpers.SilentDNS for one test."""
    from helpers import SilentDNS
    s = SilentDNS()
    yield s
    s.close()
