"""Scenario 20, `postern queue` as the operator of an outbound server sees
it: a message submitted for remote domains that cannot take it stays
deferred; `queue list` shows it, marked HELD while held; `queue show`
gives each recipient's state, attempts, next try and last attempt (time,
remote server, TLS outcome, reply) and the message's DSN fields; `queue
hold`, `release` and `retry --domain` change what the queue manager picks
next; an unknown id exits 1 with "queue: no message ID", a usage error 2.

The remote side is a fake SMTP server on loopback that answers every RCPT
with 451, reached as delivery.smarthost when the binary knows that
parameter.  A queue manager without remote delivery defers the same
recipients with "no route"; the fields of a real attempt (remote, tls) are
checked only when the fake server saw one.

The configuration is written by this module (fixture postern_conf below),
so the scenario needs no postern.conf of its own."""

import datetime
import os
import re
import socket
import subprocess
import threading

import pytest

from conftest import postern_bin
from helpers import SMTPConn, check, make_message, queue_id_of, wait_until

USER, PASS = "user@test.example", "user-password"
# .invalid never resolves (RFC 2606 2); the smarthost is what is tried.
RCPT_A = "nobody@unroutable.invalid"
RCPT_B = "other@Elsewhere.invalid"
FAKE_REPLY = "451 4.3.0 fake-mx: try again later"

CONF = """\
# Scenario 20-delivery, test_queue_cli.
hostname = "mx.test.example";
state_dir = "@TMP@/var";
user = "";   # run as the user running the tests
workers = 1;

listeners = (
	{ name = "mx"; role = "mx"; address = "127.0.0.1:@MX@"; },
	{ name = "submission"; role = "submission"; address = "127.0.0.1:@SUB@"; },
	{ name = "submissions"; role = "submissions"; address = "127.0.0.1:@SUBS@"; }
);

domains = (
	{ name = "test.example"; delivery = "maildir"; }
);

postmaster = "admin@test.example";
abuse = "admin@test.example";

delivery = {
	maildir = "@TMP@/mail/%d/%u";
	# A deferred recipient comes back only when the test makes it due.
	retry_min = 3600;
	retry_max = 7200;
@SMARTHOST@};

limits = {
	auth_failure_delay_ms = 0;
};

tls = { cert = ""; key = ""; };
"""


class FakeMX:
    """An SMTP server without extensions that defers every recipient:
    each attempt ends at RCPT with FAKE_REPLY."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.rcpts = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(30)
        buf = b""
        try:
            conn.sendall(b"220 fake-mx.test ESMTP\r\n")
            while True:
                while b"\r\n" not in buf:
                    data = conn.recv(4096)
                    if not data:
                        return
                    buf += data
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 fake-mx.test\r\n")
                elif verb == b"MAIL":
                    conn.sendall(b"250 2.1.0 ok\r\n")
                elif verb == b"RCPT":
                    self.rcpts.append(line.decode(errors="replace"))
                    conn.sendall(FAKE_REPLY.encode() + b"\r\n")
                elif verb in (b"RSET", b"NOOP"):
                    conn.sendall(b"250 2.0.0 ok\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"503 5.5.1 no valid recipients\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def knows_smarthost():
    ref = subprocess.run([postern_bin(), "check-config", "--reference"], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return re.search(r"^delivery\.smarthost ", ref, re.M) is not None


@pytest.fixture
def fake_mx():
    f = FakeMX()
    yield f
    f.close()


@pytest.fixture
def postern_conf(workdir, fake_mx):
    smarthost = ""
    if knows_smarthost():
        smarthost = '\tsmarthost = "[127.0.0.1]:%d";\n' % fake_mx.port
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(CONF.replace("@SMARTHOST@", smarthost))
    return path


def queue(srv, *args):
    """Runs `postern queue ARGS`; returns (exit code, stdout, stderr)."""
    p = srv.cli("queue", *args, check=False)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def queue_ok(srv, *args):
    rc, out, err = queue(srv, *args)
    assert rc == 0 and err == "", "queue %s: exit %d\n%s%s" % (" ".join(args), rc, out, err)
    return out


def rcpt_lines(show):
    """{address as stored: the rest of its line} from `queue show`."""
    out = {}
    for line in show.splitlines():
        m = re.match(r"^rcpt \d+: <([^>]*)> (.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def field(line, name):
    m = re.search(r"(?:^| )%s=(\S+)" % name, line)
    return m.group(1) if m else None


def attempts(srv, qid):
    return {a: int(field(l, "attempts")) for a, l in rcpt_lines(queue_ok(srv, "show", qid)).items()}


def seconds_from_now(stamp):
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    return (t - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def list_line(srv, qid):
    lines = [l for l in queue_ok(srv, "list").splitlines() if l.split()[:1] == [qid]]
    assert len(lines) == 1, lines
    return lines[0]


def submit(srv):
    with SMTPConn(srv.ports["submissions"], implicit_tls=True) as c:
        c.ehlo()
        check(c.auth_plain(USER, PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<%s>" % USER), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % RCPT_A), 250, "2.1.5")
        check(c.cmd("RCPT TO:<%s>" % RCPT_B), 250, "2.1.5")
        qid = queue_id_of(c.data(make_message(subject="outbound", frm=USER, to=RCPT_A)))
        check(c.cmd("QUIT"), 221, "2.0.0")
    return qid


def wait_attempts(srv, qid, want, what):
    """Polls `queue show` until each address in want has that many
    attempts recorded (and is deferred again)."""
    def done():
        lines = rcpt_lines(queue_ok(srv, "show", qid))
        return all(int(field(lines[a], "attempts")) == n and field(lines[a], "state") == "deferred"
                   for a, n in want.items())
    wait_until(done, 30, what)


def test_queue_cli_outbound(postern, fake_mx):
    qid = submit(postern)
    wait_attempts(postern, qid, {RCPT_A: 1, RCPT_B: 1}, "the first attempt of both recipients")

    # list: one line, not held.
    head = queue_ok(postern, "list").splitlines()[0]
    assert head.split() == ["ID", "ARRIVAL", "SIZE", "RCPTS", "HOLD", "STATES", "SENDER"], head
    line = list_line(postern, qid)
    assert line.split()[3:6] == ["2", "-", "deferred"], line
    assert line.endswith("<%s>" % USER), line

    # show: the message, then each recipient with its last attempt.
    show = queue_ok(postern, "show", qid)
    assert "\nsender: <%s>\n" % USER in show, show
    assert "\nauth_user: %s\n" % USER in show, show
    assert "\nheld: no\n" in show, show
    assert "\nsender_verified: " in show, show
    assert "\nenvid: " not in show and "\nret: " not in show, show  # no DSN asked for
    assert "Subject: outbound" in show, show
    rcpts = rcpt_lines(show)
    assert sorted(rcpts) == sorted([RCPT_A, RCPT_B]), show
    for addr, l in rcpts.items():
        assert field(l, "state") == "deferred" and field(l, "attempts") == "1", l
        # retry_min is an hour: the next try is about that far away.
        assert 1800 < seconds_from_now(field(l, "next_attempt")) <= 3600 + 60, l
        if fake_mx.connections:
            assert abs(seconds_from_now(field(l, "last_attempt"))) < 120, l
            assert field(l, "remote").endswith("[127.0.0.1]:%d" % fake_mx.port), l
            assert field(l, "tls") == "none", l  # the fake server offers no STARTTLS
            assert 'last_reply="%s' % FAKE_REPLY in l, l
        else:
            assert 'last_reply="451 4.4.0 no route"' in l, l

    # hold: marked in list and show; retry leaves it alone and says so.
    assert queue_ok(postern, "hold", qid) == "held %s\n" % qid
    assert list_line(postern, qid).split()[4] == "HELD"
    assert "\nheld: yes\n" in queue_ok(postern, "show", qid)
    assert queue_ok(postern, "retry", "--domain", "unroutable.invalid") == \
        "0 recipients due now (1 of held messages not retried)\n"
    assert queue_ok(postern, "retry", qid) == \
        "0 recipients due now (2 of held messages not retried)\n"
    assert attempts(postern, qid) == {RCPT_A: 1, RCPT_B: 1}

    # release: both recipients due now, and the queue manager tries them.
    assert queue_ok(postern, "release", qid) == "released %s, 2 recipients due now\n" % qid
    assert list_line(postern, qid).split()[4] == "-"
    wait_attempts(postern, qid, {RCPT_A: 2, RCPT_B: 2}, "the second attempt after release")

    # retry --domain: only the recipient at that domain, matched without
    # regard to case, and neither a subdomain nor a suffix.
    for other in ("invalid", "x.unroutable.invalid", "routable.invalid"):
        assert queue_ok(postern, "retry", "--domain", other) == "0 recipients due now\n", other
    assert queue_ok(postern, "retry", "--domain", "UNROUTABLE.Invalid") == \
        "1 recipient due now\n"
    wait_attempts(postern, qid, {RCPT_A: 3}, "the retry of %s" % RCPT_A)
    assert attempts(postern, qid)[RCPT_B] == 2
    b = rcpt_lines(queue_ok(postern, "show", qid))[RCPT_B]
    assert seconds_from_now(field(b, "next_attempt")) > 1800, b
    if fake_mx.connections:
        assert len(fake_mx.rcpts) == 5, fake_mx.rcpts


@pytest.mark.parametrize("verb", ["show", "delete", "retry", "hold", "release"])
def test_queue_unknown_id(postern_stopped, verb):
    rc, out, err = queue(postern_stopped, verb, "NOSUCHID")
    assert (rc, out, err) == (1, "", "queue: no message NOSUCHID\n")


@pytest.mark.parametrize("args", [
    ["hold"],
    ["release"],
    ["hold", "A", "B"],
    ["retry", "--domain"],
    ["retry", "--domain", "user@example.org"],
    ["retry", "--domain", ""],
    ["retry", "A", "--domain", "example.org"],
    ["retry", "--bogus"],
    ["show", "--bogus"],
], ids=lambda a: " ".join(a) or "nothing")
def test_queue_usage_errors(postern_stopped, args):
    rc, out, err = queue(postern_stopped, *args)
    assert rc == 2 and out == "", (rc, out, err)
    assert err.startswith("usage: postern queue list\n"), err
    assert "postern queue retry [ID | --domain DOMAIN]\n" in err, err


def test_queue_help_names_every_verb(postern_stopped):
    for args in (["--help"], ["hold", "--help"], ["retry", "--domain", "-h"]):
        rc, out, err = queue(postern_stopped, *args)
        assert rc == 0 and err == "", (args, rc, err)
        for verb in ("list", "show ID", "delete ID", "retry [ID | --domain DOMAIN]", "hold ID",
                     "release ID"):
            assert "postern queue %s\n" % verb in out, (args, out)
