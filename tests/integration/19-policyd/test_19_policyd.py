"""Scenario 19: `postern policyd` as the check_policy_service of a real
Postfix on loopback, with the DNS answers from a real nsd.  The clients
connect from 127.0.0.1 and take the address under test with XCLIENT:
a good sender is delivered; SPF fail, a generic rDNS name, HELO
localhost and a DNSBL listing are refused with postern's reply; a
scored sender is delivered with one Authentication-Results field per
message and one check for all its recipients, and its next messages are
answered from that check; a DNS server that never answers and a stopped
policy service both make Postfix tempfail, so nothing passes unchecked,
and a failed check is made again for the next message; bad input closes
only its own connection; a second service on the socket of a running one
fails and leaves it serving, and a configuration the checks refuse stops
the service before it detaches (exit 1, the reason on stderr)."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_ports, postern_bin, short_tmpdir, wait_port
from helpers import SMTPConn, check, make_message, maildir_files
from nsd import running_nsd

HERE = os.path.dirname(os.path.abspath(__file__))

NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
good-sender IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.good-sender IN A 192.0.2.10
mail.good-sender IN TXT "v=spf1 a -all"
soft-sender IN TXT "v=spf1 ~all"
spf-fail IN TXT "v=spf1 -all"
192-0-2-12.dyn.pool-isp IN A 192.0.2.12
mail.sender13 IN A 192.0.2.13
mail.listed IN A 192.0.2.14
14.2.0.192.bl.test-lists IN A 127.0.0.2
14.2.0.192.bl.test-lists IN TXT "listed for testing"
"""

REV_ZONE = """\
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
10 IN PTR mail.good-sender.net.
12 IN PTR 192-0-2-12.dyn.pool-isp.net.
13 IN PTR mail.sender13.net.
14 IN PTR mail.listed.net.
"""

MAIN_CF = """\
# Postfix for scenario 19: a private instance on loopback, virtual(8)
# delivery of every test.example address into one Maildir, the policy
# service after reject_unauth_destination.
compatibility_level = 3.6
config_directory = {d}/etc
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test.example
mydomain = test.example
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
local_recipient_maps =
alias_maps =
alias_database =
default_transport = error:no relaying in this test
relay_transport = error:no relaying in this test
virtual_mailbox_domains = test.example
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
# No DNS from Postfix itself: the clients' names come with XCLIENT.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination,
    check_policy_service unix:{sock}
smtpd_policy_service_timeout = 30s
maillog_file = {d}/maillog
maillog_file_prefixes = {d}/maillog
"""

@pytest.fixture(scope="module")
def nsd():
    with running_nsd([("net", NET_ZONE), ("2.0.192.in-addr.arpa", REV_ZONE)]) as port:
        yield "127.0.0.1:%d" % port


class Postfix:
    def __init__(self, d, port, sock):
        self.d = d
        self.port = port
        self.box = os.path.join(d, "vmail", "box")
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "queue", "data", "vmail"):
            os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, "data"), "postfix")
        os.chown(os.path.join(d, "vmail"), nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(d, "etc", "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=d, sock=sock, uid=nobody.pw_uid, gid=nobody.pw_gid))
        with open(os.path.join(HERE, "master.cf.in")) as f:
            master = f.read().replace("@LISTEN@", "127.0.0.1:%d" % port)
        with open(os.path.join(d, "etc", "master.cf"), "w") as f:
            f.write(master)

    def postfix(self, *args):
        return subprocess.run(["postfix", "-c", os.path.join(self.d, "etc")] + list(args),
                              capture_output=True, timeout=60)

    def start(self):
        p = self.postfix("start")
        assert p.returncode == 0, "postfix start: %s %s\n%s" % (
            p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), self.log())
        wait_port(self.port, 30, log=self.log)
        return self

    def stop(self):
        pidfile = os.path.join(self.d, "queue", "pid", "master.pid")
        try:
            pid = int(open(pidfile).read().strip())
        except (OSError, ValueError):
            pid = None
        self.postfix("stop")
        deadline = time.monotonic() + 20
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.1)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def log(self):
        try:
            with open(os.path.join(self.d, "maillog"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def queue_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop"):
            for _root, _dirs, files in os.walk(os.path.join(self.d, "queue", sub)):
                if files:
                    return False
        return True


class Policyd:
    """One `postern policyd --foreground` on the scenario's socket."""

    def __init__(self, d, sock, dns, port):
        self.d = d
        self.sock = sock
        self.conf = os.path.join(d, "postern-%s.conf" % dns.replace(":", "-"))
        self.logpath = os.path.join(d, "policyd.log")
        os.makedirs(os.path.join(d, "var"), exist_ok=True)
        text = open(os.path.join(HERE, "postern.conf")).read()
        for k, v in (("@TMP@", d), ("@DNS@", dns), ("@MX@", port)):
            text = text.replace(k, str(v))
        assert not re.findall(r"@[A-Z]+@", text)
        with open(self.conf, "w") as f:
            f.write(text)
        self.proc = None

    def start(self):
        self.logfile = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [postern_bin(), "-c", self.conf, "policyd", "--listen", "unix:" + self.sock,
             "--foreground"], stdin=subprocess.DEVNULL, stdout=self.logfile,
            stderr=self.logfile, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, "policyd exited %s\n%s" % (
                self.proc.returncode, self.log())
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.sock)
                    break
            except OSError:
                assert time.monotonic() < deadline, "policyd did not listen\n" + self.log()
                time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            rc = None
        self.proc = None
        self.logfile.close()
        return rc

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


@pytest.fixture(scope="module")
def scenario():
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix start)")
    d = short_tmpdir("postern-it19-")
    os.chmod(d, 0o755)  # Postfix's daemons (user postfix) reach the queue and the socket
    smtp_port, mx_port = free_ports(2)
    sock = os.path.join(d, "policyd.sock")
    pf = Postfix(d, smtp_port, sock).start()
    yield {"dir": d, "postfix": pf, "sock": sock, "mx": mx_port}
    pf.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def policyd_for(scenario, request):
    """A factory: policyd_for(dns) starts the service resolving through
    dns; it is stopped (and must exit 0) at the end of the test."""
    started = []

    def start(dns):
        p = Policyd(scenario["dir"], scenario["sock"], dns, scenario["mx"]).start()
        started.append(p)
        return p

    yield start
    for p in started:
        rc = p.stop()
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            print("---- policyd log ----\n" + p.log()[-6000:])
            print("---- Postfix log ----\n" + scenario["postfix"].log()[-6000:])
        assert rc == 0, "policyd did not exit 0 on SIGTERM (%s)\n%s" % (rc, p.log())
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "):
            assert marker not in p.log(), p.log()


@pytest.fixture
def policyd(policyd_for, nsd):
    return policyd_for(nsd)


def session(scenario, addr, name, helo):
    """An SMTP session with Postfix as the client at addr (XCLIENT)."""
    c = SMTPConn(scenario["postfix"].port)
    check(c.banner, 220)
    ext = c.extensions(c.ehlo("client.test.example"))
    assert "XCLIENT" in ext, ext
    check(c.cmd("XCLIENT ADDR=%s NAME=%s" % (addr, name)), 220)
    c.ehlo(helo)
    return c


def mail(c, sender):
    check(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")


def box_files(scenario):
    return maildir_files(scenario["postfix"].box)


def delivered_to(scenario, rcpt, before, count=1):
    """The messages for rcpt delivered since the files in before."""
    deadline = time.monotonic() + 30
    while True:
        found = []
        for path in box_files(scenario):
            if path in before:
                continue
            data = open(path, "rb").read()
            if re.search(rb"^Delivered-To: " + re.escape(rcpt.encode()) + rb"\r?$", data,
                         re.M | re.I):
                found.append(data)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, "no delivery to %s\n%s" % (
            rcpt, scenario["postfix"].log()[-4000:])
        time.sleep(0.1)


def header_section(data):
    return re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0].decode("utf-8", "replace")


def checks_logged(p, sender):
    return [l for l in p.log().splitlines()
            if "event=policyd_check" in l and " sender=%s " % sender in l]


def test_help_and_usage_errors():
    p = subprocess.run([postern_bin(), "policyd", "--help"], capture_output=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith(b"usage: postern"), p
    assert b"check_policy_service" in p.stdout
    for bad in (["--listen"], ["--listen", "192.0.2.1:10040"], ["--listen", "nowhere"],
                ["--frobnicate"]):
        p = subprocess.run([postern_bin(), "policyd"] + bad, capture_output=True, timeout=30)
        assert p.returncode == 2, (bad, p)
        assert b"usage:" in p.stderr, (bad, p)


def test_good_sender_delivered(scenario, policyd):
    before = set(box_files(scenario))
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    check(c.data(make_message(frm="alice@good-sender.net")), 250, "2.0.0")
    c.close()
    data = delivered_to(scenario, "user@test.example", before)[0]
    # Accepted without tags or score: DUNNO, no field of ours.
    assert "Authentication-Results" not in header_section(data)
    lines = checks_logged(policyd, "alice@good-sender.net")
    assert len(lines) == 1 and "action=dunno" in lines[0], lines
    assert "iprev=pass" in lines[0] and "spf_mailfrom=pass" in lines[0], lines


def test_scored_sender_gets_one_authentication_results(scenario, policyd):
    """SPF softfail scores 3: accepted, with the field prepended once per
    message although Postfix asks for each of the three recipients, and
    one check (no lookup repeated) for all of them."""
    before = set(box_files(scenario))
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "s@soft-sender.net")
    for rcpt in ("user@test.example", "second@test.example", "third@test.example"):
        check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
    check(c.data(make_message(frm="s@soft-sender.net")), 250, "2.0.0")
    c.close()
    for rcpt in ("user@test.example", "second@test.example", "third@test.example"):
        head = header_section(delivered_to(scenario, rcpt, before)[0])
        fields = re.findall(r"^Authentication-Results:.*$", head, re.M)
        assert len(fields) == 1, head
        f = fields[0]
        assert f.startswith("Authentication-Results: mx.test.example; "), f
        assert "iprev=pass policy.iprev=192.0.2.10" in f, f
        assert "spf=softfail smtp.mailfrom=s@soft-sender.net" in f, f
        assert "spf=pass smtp.helo=mail.good-sender.net" in f, f
        assert "x-postern=tag" in f and "policy.score=3" in f, f
    lines = checks_logged(policyd, "s@soft-sender.net")
    assert len(lines) == 1 and "action=prepend" in lines[0], lines


def reuses_logged(p, sender):
    return [l for l in p.log().splitlines()
            if "event=policyd_reuse" in l and " sender=%s " % sender in l]


def test_next_message_reuses_check(scenario, policyd):
    """The next messages of the same client, HELO name and sender are
    answered from the first one's check (policyd_cache_seconds, default
    60): each still gets its own Authentication-Results field, once, and
    its own log line."""
    before = set(box_files(scenario))
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    for i in range(3):
        mail(c, "again@soft-sender.net")
        for rcpt in ("user@test.example", "second@test.example"):
            check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
        check(c.data(make_message(frm="again@soft-sender.net", subject="reuse %d" % i)), 250,
              "2.0.0")
    c.close()
    for rcpt in ("user@test.example", "second@test.example"):
        for data in delivered_to(scenario, rcpt, before, count=3):
            fields = re.findall(r"^Authentication-Results:.*$", header_section(data), re.M)
            assert len(fields) == 1, header_section(data)
            assert "spf=softfail smtp.mailfrom=again@soft-sender.net" in fields[0], fields
            assert "policy.score=3" in fields[0], fields
    checks = checks_logged(policyd, "again@soft-sender.net")
    reuses = reuses_logged(policyd, "again@soft-sender.net")
    assert len(checks) == 1 and len(reuses) == 2, (checks, reuses)
    for line in reuses:
        assert "action=prepend" in line and "spf_mailfrom=softfail" in line, line


def test_spf_fail_refused_postmaster_reachable(scenario, policyd):
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "someone@spf-fail.net")
    r = check(c.cmd("RCPT TO:<user@test.example>"), 550, "5.7.23")
    assert "SPF" in r.text, r
    # RFC 5321 4.5.1: postmaster is still reached.
    check(c.cmd("RCPT TO:<postmaster@test.example>"), 250, "2.1.5")
    c.close()
    assert len(checks_logged(policyd, "someone@spf-fail.net")) == 1


def test_generic_rdns_refused(scenario, policyd):
    c = session(scenario, "192.0.2.12", "192-0-2-12.dyn.pool-isp.net",
                "192-0-2-12.dyn.pool-isp.net")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 550, "5.7.25", text="dynamic or generic")
    c.close()


def test_helo_localhost_refused(scenario, policyd):
    c = session(scenario, "192.0.2.13", "mail.sender13.net", "localhost")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 550, "5.7.1", text="HELO")
    c.close()


def test_dnsbl_listed_refused(scenario, policyd):
    c = session(scenario, "192.0.2.14", "mail.listed.net", "mail.listed.net")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 550, "5.7.1", text="score 10")
    c.close()
    assert re.search(r"event=policyd_check .* dnsbl=bl.test-lists.net ", policyd.log())


def test_dns_never_answers_tempfails(scenario, policyd_for, silent_dns):
    p = policyd_for(silent_dns.addr)
    before = set(box_files(scenario))
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "alice@good-sender.net")
    t0 = time.monotonic()
    r = c.cmd("RCPT TO:<user@test.example>")
    assert 400 <= r.code < 500 and r.ecode.startswith("4."), r
    # 300 ms, two tries: well within Postfix's policy timeout.
    assert time.monotonic() - t0 < 10
    check(c.cmd("DATA"), 554, "5.5.1")
    c.close()
    assert re.search(r"event=policyd_check .* action=tempfail code=451", p.log()), p.log()
    assert set(box_files(scenario)) == before


def test_dns_failure_not_reused(scenario, policyd_for, silent_dns):
    """A check whose lookups failed answers only its own message: the next
    message of the same client, HELO name and sender is checked again."""
    p = policyd_for(silent_dns.addr)
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    for _ in range(2):
        mail(c, "bob@good-sender.net")
        r = c.cmd("RCPT TO:<user@test.example>")
        assert 400 <= r.code < 500, r
        check(c.cmd("RSET"), 250)
    c.close()
    assert len(checks_logged(p, "bob@good-sender.net")) == 2, p.log()
    assert not reuses_logged(p, "bob@good-sender.net"), p.log()


def test_policyd_stopped_postfix_tempfails(scenario, policyd):
    assert policyd.stop() == 0, policyd.log()
    before = set(box_files(scenario))
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "alice@good-sender.net")
    # Postfix's smtpd_policy_service_default_action.
    check(c.cmd("RCPT TO:<user@test.example>"), 451, "4.3.5",
          text="Server configuration problem")
    check(c.cmd("DATA"), 554, "5.5.1")
    c.close()
    deadline = time.monotonic() + 10
    while not scenario["postfix"].queue_empty() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(box_files(scenario)) == before


def raw_exchange(sock_path, data, timeout=10):
    """Sends data to the policy service; returns what came back before it
    closed the connection (or within timeout), and whether it closed."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        got = b""
        try:
            s.sendall(data)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return got, True
                got += chunk
        except socket.timeout:
            return got, False
        except (ConnectionResetError, BrokenPipeError):
            # Closed with our bytes still unread: the same refusal.
            return got, True


def test_bad_input_closes_only_that_connection(scenario, policyd):
    sock = scenario["sock"]
    req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.10\n"
           b"helo_name=mail.good-sender.net\nsender=x@spf-fail.net\n"
           b"recipient=user@test.example\ninstance=raw.1\n\n")
    # A good request first: answered, the connection stays open.
    got, closed = raw_exchange(sock, req, timeout=1)
    assert got.startswith(b"action=550 5.7.23 ") and got.endswith(b"\n\n"), got
    assert not closed
    cases = [
        (b"request=smtpd_access_policy\nthis line has no equals sign\n\n", "garbled_line"),
        (b"protocol_state=RCPT\nsender=a@example.net\n\n", "missing_request"),
        (b"request=smtpd_access_policy\nsender=" + b"x" * 2100 + b"\n\n", "value_too_long"),
        (b"request=smtpd_access_policy\nsender=" + b"x" * 70000, "line_too_long"),
        (req + b"request=smtpd_access_policy\n" + b"a=b\n" * 150 + b"\n",
         "too_many_attributes"),
    ]
    for data, reason in cases:
        got, closed = raw_exchange(sock, data)
        assert closed, (reason, got)
        # Nothing for the bad request; a good one before it is answered.
        assert got == b"" or (got.startswith(b"action=550 5.7.23 ") and
                              got.count(b"\n\n") == 1), (reason, got)
        assert re.search(r"level=err event=policyd_error conn=\d+ peer=unix reason=%s" % reason,
                         policyd.log()), (reason, policyd.log()[-2000:])
    # Postfix is still served.
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    c.close()
    assert policyd.proc.poll() is None


def policyd_cmd(conf, sock, *more):
    return [postern_bin(), "-c", conf, "policyd", "--listen", "unix:" + sock] + list(more)


def test_second_policyd_on_same_socket_fails(scenario, policyd):
    """A second service on the socket of a running one stops at once
    (exit 1, "already running"), in the foreground or not, and leaves the
    socket to the first, which still answers."""
    sock = scenario["sock"]
    req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.10\n"
           b"helo_name=mail.good-sender.net\nsender=x@spf-fail.net\n"
           b"recipient=user@test.example\ninstance=second.1\n\n")
    for more in (["--foreground"], []):
        p = subprocess.run(policyd_cmd(policyd.conf, sock, *more), capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 1, (more, p)
        assert b"already running" in p.stderr, (more, p)
        assert os.path.exists(sock)
        got, closed = raw_exchange(sock, req, timeout=2)
        assert got.startswith(b"action=550 5.7.23 ") and got.endswith(b"\n\n"), (more, got)
        assert not closed
    assert policyd.proc.poll() is None
    # Postfix is still served by the first.
    c = session(scenario, "192.0.2.10", "mail.good-sender.net", "mail.good-sender.net")
    mail(c, "alice@good-sender.net")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    c.close()


def test_stale_socket_replaced(scenario, policyd_for, nsd):
    """A socket nobody listens on (left by a run that was killed) is
    replaced."""
    sock = scenario["sock"]
    if not os.path.exists(sock):
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(sock)
    assert os.path.exists(sock)
    p = policyd_for(nsd)
    got, closed = raw_exchange(sock, b"request=smtpd_access_policy\nprotocol_state=DATA\n\n",
                               timeout=2)
    assert got == b"action=DUNNO\n\n" and not closed, got
    assert p.proc.poll() is None


def test_configuration_error_before_detaching():
    """What the checks refuse in the configuration stops the service
    before it detaches: exit 1 and the reason on stderr, no socket left."""
    d = short_tmpdir("postern-it19c-")
    try:
        text = open(os.path.join(HERE, "postern.conf")).read()
        for k, v in (("@TMP@", d), ("@DNS@", "127.0.0.1:9"), ("@MX@", 9)):
            text = text.replace(k, str(v))
        text = text.replace('"127.0.0.2=10:spam source"', '"not-a-code"')
        conf = os.path.join(d, "bad.conf")
        with open(conf, "w") as f:
            f.write(text)
        sock = os.path.join(d, "policyd.sock")
        for more in ([], ["--foreground"]):
            p = subprocess.run(policyd_cmd(conf, sock, *more), capture_output=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            assert p.returncode == 1, (more, p)
            assert b"not-a-code" in p.stderr and b"policyd" in p.stderr, (more, p)
            assert not os.path.exists(sock)
    finally:
        shutil.rmtree(d, ignore_errors=True)
