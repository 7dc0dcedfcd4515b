"""Shared parts of scenario 21 (outbound delivery): the zone nsd serves,
postern instances on their own loopback addresses, submission as an
authenticated user, scripted receivers, DSN parsing and BATV tags.

Every MX of the scenario (postern instances, Postfix, the scripted
receivers) listens on one port, picked free per test module, at its own
address in 127.0.21.0/24; postern's delivery.smtp_port is that port, and
the MX records in nsd name the addresses.  Nothing leaves the machine:
dns.servers of every instance is the test's nsd."""

import email
import email.policy
import hashlib
import hmac
import os
import re
import shutil
import socket
import time

import pytest

from conftest import Postern, _failed, free_ports, short_tmpdir
from helpers import SMTPConn, check, queue_id_of, wait_until
from nsd import running_nsd
from smtpsink import Receiver

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "postern.conf")

# Who listens where (all on the module's port).
ADDR = {
    "a": "127.0.21.1",         # postern A, mx.a.test, domain a.test
    "b": "127.0.21.2",         # postern B, mx.b.test, domain b.test
    "postfix": "127.0.21.3",   # a private Postfix, postfix.test
    "sink": "127.0.21.4",      # scripted receivers ...
    "healthy": "127.0.21.5",
    "silent": "127.0.21.6",
    "blackhole": "127.0.21.7",
    "slow": "127.0.21.8",
    "lmtp": "127.0.21.9",
}

ZONE = """\
$ORIGIN test.
$TTL 60
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 5
@ IN NS ns.test.
ns IN A 127.0.0.1
a IN MX 10 mx.a.test.
mx.a IN A {a}
b IN MX 10 mx.b.test.
mx.b IN A {b}
postfix IN MX 10 mx.postfix.test.
mx.postfix IN A {postfix}
sink IN MX 10 mx.sink.test.
mx.sink IN A {sink}
healthy IN MX 10 mx.healthy.test.
mx.healthy IN A {healthy}
silent IN MX 10 mx.silent.test.
mx.silent IN A {silent}
blackhole IN MX 10 mx.blackhole.test.
mx.blackhole IN A {blackhole}
slow IN MX 10 mx.slow.test.
mx.slow IN A {slow}
; Two MX hosts: the better one drops SYNs, the other works.
fallback IN MX 10 mx.blackhole.test.
fallback IN MX 20 mx.healthy.test.
; RFC 7505: a domain that accepts no mail.
nullmx IN MX 0 .
; B's second domain, delivered by B over LMTP to a scripted receiver.
lmtp.b IN MX 10 mx.b.test.
; Every MTA here connects from 127.0.0.1: SPF passes for a.test and b.test
; (for a B that checks its clients), and 127.0.0.1's name resolves back.
a IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
b IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
loopback IN A 127.0.0.1
; nosuch.test does not exist (NXDOMAIN).
""".format(**ADDR)

REVERSE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 5
@ IN NS ns.test.
1 IN PTR loopback.test.
"""


@pytest.fixture(scope="module")
def nsd():
    """The scenario's authoritative server: "127.0.0.1:PORT"."""
    with running_nsd([("test", ZONE), ("0.0.127.in-addr.arpa", REVERSE)]) as port:
        yield "127.0.0.1:%d" % port


def _bindable(port, hosts):
    socks = []
    try:
        for h in hosts:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((h, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def mx_port():
    """One port free on every address of ADDR: where every MX listens."""
    for _ in range(50):
        p = free_ports(1)[0]
        if _bindable(p, ADDR.values()):
            return p
    pytest.fail("no port free on all of %s" % sorted(ADDR.values()))


def wait_addr(host, port, timeout=20.0, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("server exited with %s before %s:%d accepted connections\n%s"
                                 % (proc.returncode, host, port, log() if log else ""))
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("%s:%d did not accept connections within %.0fs\n%s"
                                     % (host, port, timeout, log() if log else ""))
            time.sleep(0.05)


class Instance(Postern):
    """A postern whose MX listener is at its own loopback address."""

    def __init__(self, tmp, ports, name, addr, domain, dns, delivery="", domains="", top=""):
        self.name = name
        self.addr = addr
        self.domain = domain
        self.hostname = "mx." + domain
        with open(TEMPLATE) as f:
            text = f.read()
        for k, v in (("@ADDR@", addr), ("@HOSTNAME@", self.hostname), ("@DOMAIN@", domain),
                     ("@DNS@", dns), ("@DELIVERY@", delivery), ("@DOMAINS@", domains),
                     ("@TOP@", top)):
            text = text.replace(k, v)
        path = os.path.join(tmp, "template.conf")
        with open(path, "w") as f:
            f.write(text)
        super().__init__(tmp, path, ports)

    def wait_ready(self, timeout=20.0):
        wait_addr(self.addr, self.ports["mx"], timeout, self.proc, self.log_tail)
        for name in ("submission", "submissions"):
            wait_addr("127.0.0.1", self.ports[name], timeout, self.proc, self.log_tail)

    def batv_key(self):
        with open(os.path.join(self.tmp, "var", "batv.key"), "rb") as f:
            return f.read()

    def log_lines(self, pattern):
        return [l for l in self.log().splitlines() if re.search(pattern, l)]

    def wait_log(self, pattern, count=1, timeout=30.0):
        """Waits for count log lines matching pattern; returns them."""
        def enough():
            lines = self.log_lines(pattern)
            return lines if len(lines) >= count else None
        try:
            return wait_until(enough, timeout, "%d log line(s) matching %r" % (count, pattern))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.log_tail(60)))

    def show(self, qid):
        return self.cli("queue", "show", qid).stdout.decode(errors="replace")

    def qmgr_pids(self):
        return {p for p, _ in self.children("postern-qmgr")}


@pytest.fixture
def servers(request, mx_port, nsd):
    """A factory: servers.postern("a", accounts=[(addr, pw)], delivery=...)
    starts an instance (its MX at ADDR[name], domain NAME.test);
    servers.receiver("sink", ...) a scripted receiver at ADDR["sink"].
    Everything is stopped at the end of the test; every postern must exit
    0 on SIGTERM and leave no child behind."""
    made = []

    class Factory:
        port = mx_port
        dns = nsd

        def postern(self, name, accounts=(), delivery="", domains="", top="", start=True):
            tmp = short_tmpdir("postern-it21-%s-" % name)
            sub, subs = free_ports(2)
            ports = {"mx": mx_port, "submission": sub, "submissions": subs, "lmtp": mx_port}
            inst = Instance(tmp, ports, name, ADDR[name], "%s.test" % name, nsd,
                            delivery=delivery, domains=domains, top=top)
            made.append(("postern", inst))
            for acct in accounts:
                inst.add_user(acct[0], acct[1], acct[2] if len(acct) > 2 else ())
            if start:
                inst.start()
            return inst

        def receiver(self, name, **kw):
            r = Receiver(ADDR[name], mx_port, name="mx.%s.test" % name, **kw)
            made.append(("receiver", r))
            return r

    yield Factory()

    failed = _failed(request)
    problems = []
    for kind, obj in reversed(made):
        if kind == "receiver":
            obj.stop()
            continue
        if obj.proc is not None:
            rc = obj.stop()
            if rc != 0:
                problems.append("postern %s did not exit 0 on SIGTERM (exit %s)\n%s"
                                % (obj.name, rc, obj.log_tail()))
            if obj.stray:
                problems.append("postern %s: children %s outlived the master"
                                % (obj.name, obj.stray))
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "):
            if marker in obj.log():
                problems.append("sanitizer report in the log of %s:\n%s"
                                % (obj.name, obj.log_tail(400)))
        if failed or problems:
            print("==== postern %s (files kept in %s)" % (obj.name, obj.tmp))
            print(obj.log_tail())
        else:
            shutil.rmtree(obj.tmp, ignore_errors=True)
    assert not problems, "\n".join(problems)


# -- sending -----------------------------------------------------------------

def submission(inst, user, password):
    """An authenticated session on inst's submission port (STARTTLS)."""
    c = SMTPConn(inst.ports["submission"])
    c.ehlo("laptop.%s" % inst.domain)
    c.starttls()
    c.ehlo("laptop.%s" % inst.domain)
    check(c.auth_plain(user, password), 235, "2.7.0")
    return c


def transaction(c, sender, rcpts, msg, mail_params="", rcpt_params=""):
    """MAIL, RCPTs (each must get 250 2.1.5), DATA; returns the queue id."""
    check(c.cmd(("MAIL FROM:<%s> %s" % (sender, mail_params)).strip()), 250, "2.1.0")
    for r in rcpts:
        check(c.cmd(("RCPT TO:<%s> %s" % (r, rcpt_params)).strip()), 250, "2.1.5")
    return queue_id_of(c.data(msg))


def submit(inst, user, password, rcpts, msg, mail_params="", rcpt_params=""):
    with submission(inst, user, password) as c:
        return transaction(c, user, rcpts, msg, mail_params, rcpt_params)


# Lines that start with a dot must be dot-stuffed on the way out.
BODY = "Hello from scenario 21.\r\n.a line with a leading dot\r\n..and two\r\n.\r\nend\r\n"


def message(frm, to, subject, body=BODY, msgid=None):
    msgid = msgid or "<%s.%s@%s>" % (subject.replace(" ", "-"), os.urandom(6).hex(),
                                     frm.split("@")[-1])
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n%s"
            % (frm, to, subject, msgid, body)).encode()


def msgid_of(msg):
    m = re.search(rb"(?im)^Message-ID: (<[^>]+>)", msg)
    return m.group(1).decode()


# -- what arrives ------------------------------------------------------------

def header_block(data):
    """The header section of a stored message as a list of unfolded
    (name, value) pairs, in order."""
    head = re.split(rb"\r?\n\r?\n", data, 1)[0].decode("utf-8", "replace")
    out = []
    for line in re.split(r"\r?\n", head):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            out.append((k, v.strip()))
    return out


def headers_named(data, name):
    return [v for k, v in header_block(data) if k.lower() == name.lower()]


def parse_dsn(data):
    """A stored DSN as an email.message; asserts RFC 3464's shape and
    returns (message, per-message fields, [per-recipient fields])."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert (msg.get_param("report-type") or "").lower() == "delivery-status", msg["Content-Type"]
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2, parts
    assert parts[0].get_content_type() == "text/plain", parts[0].get_content_type()
    ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert len(ds) == 1, [p.get_content_type() for p in parts]
    blocks = ds[0].get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    return msg, blocks[0], blocks[1:]


# -- BATV --------------------------------------------------------------------

def batv_tag(key, addr, day=None):
    """The prvs= form of addr as postern makes it (src/queue/batv.h):
    prvs=0DDDSSSSSS=addr, DDD the day (days since the epoch mod 1000),
    SSSSSS the first 3 bytes of HMAC-SHA256(key, "0DDD" + addr with the
    domain in lower case)."""
    if day is None:
        day = int(time.time() // 86400)
    ddd = "%03d" % (day % 1000)
    local, domain = addr.rsplit("@", 1)
    mac = hmac.new(key, ("0" + ddd + local + "@" + domain.lower()).encode(),
                   hashlib.sha256).digest()[:3]
    return "prvs=0%s%s=%s" % (ddd, mac.hex(), addr)


PRVS_RE = re.compile(r"^prvs=0(\d{3})([0-9a-f]{6})=(.+)$")


def batv_valid(key, tagged, plain):
    """True when tagged is prvs=...=plain with a tag made under key today
    or yesterday (a test may straddle midnight)."""
    today = int(time.time() // 86400)
    return tagged in (batv_tag(key, plain, today), batv_tag(key, plain, today - 1))
