"""Scenario 17: hostile clients.  Regression tests for defects in the SMTP
server: input buffered without bound while a session waits for its checks,
output buffered without bound for a client that never reads, an idle timer
that every byte restarts, temporary refusals counted as errors, no free-space
floor for the queue, RCPT that waits for ever, RFC 3030 / RFC 4954 sequence
and parameter errors, and log lines that a client can forge.

One SMTP worker (workers = 1) so that its memory (VmRSS of the postern-smtp
child) can be measured and so that the normal client of "afterwards" is
served by the very process that met the hostile one.  127.0.0.1 is trusted;
clients that must be checked connect from 127.0.0.2 and ask a loopback name
server that never answers (dns.timeout_ms 20000, one try), so that their
RCPT waits for the checks for as long as a test needs."""

import os
import re
import select
import socket
import subprocess
import time

import pytest

from helpers import SMTPConn, check, check_5xx, make_message, queue_id_of, wait_until
from nsd import running_nsd

HERE = os.path.dirname(os.path.abspath(__file__))

ACCOUNTS = [("user@test.example", "user-password", [])]

MiB = 1024 * 1024
RSS_GROWTH_MAX = 8 * MiB
COMMAND_TIMEOUT = 3
DATA_TIMEOUT = 3
CHECKED_SRC = "127.0.0.2"  # not in policy.trusted_networks


# -- fixtures --------------------------------------------------------------

@pytest.fixture
def postern_conf(silent_dns, workdir):
    """The scenario's template with the (silent) DNS server filled in."""
    with open(os.path.join(HERE, "postern.conf")) as f:
        text = f.read().replace("@DNS@", silent_dns.addr)
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


# -- helpers ---------------------------------------------------------------

def smtp_worker(postern):
    """The pid of the one postern-smtp child of the master."""
    kids = wait_until(lambda: postern.children("postern-smtp"), 20, "the postern-smtp worker")
    assert len(kids) == 1, "expected one postern-smtp worker (workers = 1), found %r" % kids
    return kids[0][0]


def rss(pid):
    """VmRSS of pid in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def conn_from(port, src, timeout=15):
    """An SMTPConn whose TCP connection comes from the loopback address src."""
    c = SMTPConn.__new__(SMTPConn)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                      source_address=(src, 0))
    c.buf = b""
    c.banner = c.reply()
    return c


def abort(c):
    """Closes with a reset, so that the server need not flush anything."""
    try:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    c.close()


def warm_up(postern):
    """One complete transaction, so that what the first session allocates
    for good is not counted as growth."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<warm@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(make_message(subject="warm up")))
        check(c.cmd("QUIT"), 221, "2.0.0")


def normal_client_is_served(postern, what):
    """After the hostile session: a normal client gets a whole transaction
    through, promptly."""
    try:
        with SMTPConn(postern.ports["mx"], timeout=20) as c:
            check(c.banner, 220)
            c.ehlo()
            check(c.cmd("MAIL FROM:<after@other.example>"), 250, "2.1.0")
            check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
            queue_id_of(c.data(make_message(subject="after " + what)))
            check(c.cmd("QUIT"), 221, "2.0.0")
    except (OSError, socket.timeout) as e:
        raise AssertionError("a normal client was not served after %s: %r" % (what, e))


def stream(sock, pattern, total, max_seconds, stall_seconds, on_tick):
    """Sends pattern repeated (continuously, so that lines stay whole even
    across partial sends) until total bytes, max_seconds, or stall_seconds
    without progress (the server stopped reading), or until the server
    closes.  on_tick() is called about every 0.1 s.  Returns (bytes sent,
    why it stopped)."""
    plen = len(pattern)
    double = memoryview(pattern * 2)
    sock.setblocking(False)
    sent = 0
    t0 = last = tick = time.monotonic()
    why = "total"
    try:
        while sent < total:
            now = time.monotonic()
            if now - t0 > max_seconds:
                why = "time"
                break
            if now - last > stall_seconds:
                why = "stalled"
                break
            if now - tick > 0.1:
                on_tick()
                tick = now
            _, w, _ = select.select([], [sock], [], 0.1)
            if not w:
                continue
            off = sent % plen
            try:
                n = sock.send(double[off:off + min(plen, total - sent)])
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                why = "closed by the server"
                break
            if n:
                sent += n
                last = time.monotonic()
    finally:
        on_tick()
        sock.setblocking(True)
    return sent, why


class Peak:
    """Samples the RSS of a process and keeps the highest value."""

    def __init__(self, pid):
        self.pid = pid
        self.base = rss(pid)
        self.peak = self.base

    def __call__(self):
        # A worker that died is a failure, not a low reading.
        self.peak = max(self.peak, rss(self.pid))

    @property
    def growth(self):
        return self.peak - self.base


def nothing_received(c, seconds):
    """True when the server sends nothing on c for seconds."""
    if c.buf:
        return False
    r, _, _ = select.select([c.sock], [], [], seconds)
    return not r


# -- 2. unbounded input while a session waits --------------------------------

def test_input_not_buffered_while_rcpt_waits_for_checks(postern):
    """A checked client's RCPT waits for its checks (the name server never
    answers); meanwhile the client sends as fast as the socket takes it.
    The worker must stop reading while the session waits: its memory may
    not follow what the client sends."""
    warm_up(postern)
    pid = smtp_worker(postern)
    c = conn_from(postern.ports["mx"], CHECKED_SRC)
    try:
        check(c.banner, 220)
        c.ehlo("client.test.example")
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        c.send("RCPT TO:<user@test.example>\r\n")
        # The premise: the RCPT waits for the checks (the DNS never answers).
        assert nothing_received(c, 1.0), \
            "test premise: the RCPT of a checked client should wait for its checks, got %r" % c.buf
        peak = Peak(pid)
        sent, why = stream(c.sock, b"NOOP\r\n" * 10000, 200 * MiB, 10.0, 2.0, peak)
        peak()
        print("slow-DNS stream: sent %.1f MB, worker RSS %.1f -> peak %.1f MiB (+%.2f MiB)"
              % (sent / 1e6, peak.base / MiB, peak.peak / MiB, peak.growth / MiB))
        # The load reached the same worker, which held back instead of hanging up.
        assert why != "closed by the server", "the server closed instead of holding back"
        assert smtp_worker(postern) == pid, "the worker was replaced during the test"
        assert "event=child_died" not in postern.log()
        assert peak.growth < RSS_GROWTH_MAX, (
            "the worker's RSS grew by %.1f MiB (from %.1f to %.1f MiB) while the session waited "
            "for its checks and the client sent %.1f MB (stopped: %s): input is buffered without "
            "bound instead of reading being paused while the session waits"
            % (peak.growth / MiB, peak.base / MiB, peak.peak / MiB, sent / 1e6, why))
    finally:
        abort(c)
    normal_client_is_served(postern, "a client streamed input while its RCPT waited")


# -- 3. unbounded output --------------------------------------------------

def test_output_bounded_for_client_that_never_reads(postern):
    """A client pipelines millions of NOOPs and never reads a reply.  The
    server must stop reading once its unsent output passes a bound, so that
    the replies do not pile up in memory."""
    warm_up(postern)
    pid = smtp_worker(postern)
    c = SMTPConn(postern.ports["mx"])
    try:
        c.ehlo()
        peak = Peak(pid)
        sent, why = stream(c.sock, b"NOOP\r\n" * 10000, 6000000 * 6, 10.0, 2.0, peak)
        peak()
        print("unread NOOPs: sent %d, worker RSS %.1f -> peak %.1f MiB (+%.2f MiB)"
              % (sent // 6, peak.base / MiB, peak.peak / MiB, peak.growth / MiB))
        assert why != "closed by the server", "the server closed instead of holding back"
        assert smtp_worker(postern) == pid, "the worker was replaced during the test"
        assert "event=child_died" not in postern.log()
        assert peak.growth < RSS_GROWTH_MAX, (
            "the worker's RSS grew by %.1f MiB (from %.1f to %.1f MiB) for a client that sent "
            "%d NOOPs and read no reply (stopped: %s): unsent replies are buffered without bound"
            % (peak.growth / MiB, peak.base / MiB, peak.peak / MiB, sent // 6, why))
    finally:
        abort(c)
    normal_client_is_served(postern, "a client pipelined NOOPs without reading")


# -- 4. the idle timer is not restarted by every byte ------------------------

def trickle(c, payload, limit):
    """Sends payload one byte a second until the server speaks or closes,
    for at most limit seconds.  Returns (seconds from the start until the
    server spoke or closed, or None; the reply or None)."""
    t0 = time.monotonic()
    for i in range(len(payload)):
        if time.monotonic() - t0 > limit:
            break
        try:
            c.sock.send(payload[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0, None
        r, _, _ = select.select([c.sock], [], [], 1.0)
        if r:
            elapsed = time.monotonic() - t0
            c.sock.settimeout(5)
            try:
                return elapsed, c.reply()
            except Exception:  # closed without a reply
                return elapsed, None
    return None, None


def test_command_trickled_byte_by_byte_times_out(postern):
    """limits.command_timeout = 3: a command sent one byte a second, never
    ended, is cut with 421 4.4.2 within about command_timeout, not kept
    until session_timeout (3600 s)."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        elapsed, r = trickle(c, b"NOOP " + b"x" * 20, 12)
        assert elapsed is not None, (
            "still connected after 12 s of one byte a second of an unfinished command "
            "(command_timeout %d): every byte restarts the idle timer" % COMMAND_TIMEOUT)
        assert r is not None, "closed after %.1f s without a 421 4.4.2" % elapsed
        check(r, 421, "4.4.2")
        assert elapsed < COMMAND_TIMEOUT + 3, \
            "421 came %.1f s after the last whole command (command_timeout %d)" % (
                elapsed, COMMAND_TIMEOUT)
        assert c.is_closed(), "connection still open after 421 4.4.2"


def test_data_line_trickled_byte_by_byte_times_out(postern):
    """limits.data_timeout = 3: a DATA line sent one byte a second is cut
    with 421 4.4.2 within about data_timeout; nothing is queued."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        elapsed, r = trickle(c, b"Subject: " + b"t" * 20, 12)
        assert elapsed is not None, (
            "still connected after 12 s of one byte a second of a DATA line "
            "(data_timeout %d): every byte restarts the idle timer" % DATA_TIMEOUT)
        assert r is not None, "closed after %.1f s without a 421 4.4.2" % elapsed
        check(r, 421, "4.4.2")
        assert elapsed < DATA_TIMEOUT + 3, \
            "421 came %.1f s after the 354 (data_timeout %d)" % (elapsed, DATA_TIMEOUT)
        assert c.is_closed(), "connection still open after 421 4.4.2"
    assert postern.queue_empty(), "a message cut by the timeout was queued"


# -- 5. temporary refusals are not errors ------------------------------------

def test_too_many_recipients_are_not_errors(postern):
    """max_recipients 100, max_errors 10 (the default): 150 pipelined RCPTs
    get 100 x 250 and 50 x 452 4.5.3, and the message is still taken.  A
    4xx is not a protocol error."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        c.send("".join("RCPT TO:<postmaster@test.example>\r\n" for _ in range(150)))
        for i in range(150):
            try:
                r = c.reply()
            except Exception as e:
                raise AssertionError("reply %d of 150 to the pipelined RCPTs: connection ended "
                                     "(%r)" % (i + 1, e))
            if i < 100:
                assert (r.code, r.ecode) == (250, "2.1.5"), \
                    "RCPT %d of 150: expected 250 2.1.5, got %r" % (i + 1, r.raw)
            else:
                assert (r.code, r.ecode) == (452, "4.5.3"), (
                    "RCPT %d of 150 (over max_recipients 100): expected 452 4.5.3, got %r; "
                    "temporary refusals must not count towards max_errors" % (i + 1, r.raw))
        r = c.cmd("DATA")
        assert r.code == 354, "DATA after 100 accepted and 50 refused recipients: %r" % r.raw
        c.send(b"Subject: many recipients\r\n\r\nhi\r\n.\r\n")
        queue_id_of(c.reply())
        check(c.cmd("NOOP"), 250, "2.0.0")
        check(c.cmd("QUIT"), 221, "2.0.0")


def test_ten_bad_commands_still_close(postern):
    """max_errors 10: ten unknown commands close the session with 421 4.7.0."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        for i in range(9):
            check(c.cmd("FOO%d" % i), 500, "5.5.2")
        r = c.cmd("FOO9")
        if r.code == 500:
            c.sock.settimeout(2)
            try:
                r = c.reply()
            except socket.timeout:
                c.sock.settimeout(10)
                r = c.cmd("NOOP")
        check(r, 421, "4.7.0")
        assert c.is_closed(), "connection still open after 421 4.7.0"


# -- 6. free-space floor -------------------------------------------------------

def test_default_config_accepts_mail(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(make_message(subject="enough space")))


def test_min_free_space_refuses_mail(postern_stopped):
    """limits.min_free_space (bytes, like Postfix's queue_minfree): below it
    MAIL gets 452 4.3.1 (RFC 3463: mail system full)."""
    p = postern_stopped
    with open(p.conf) as f:
        text = f.read()
    assert "limits = {" in text
    p.write_config(text.replace("limits = {", "limits = {\n\tmin_free_space = 1000000000000000L;", 1))
    r = p.cli("check-config", check=False)
    assert r.returncode == 0, (
        "limits.min_free_space is not accepted by the configuration (exit %d): %s"
        % (r.returncode, (r.stdout + r.stderr).decode(errors="replace")))
    p.start()
    with SMTPConn(p.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 452, "4.3.1")
        # The session goes on.
        check(c.cmd("NOOP"), 250, "2.0.0")
    assert p.queue_empty()


# -- 7. reverse lookups do not hold up other sessions ----------------------

def ptr_questions(sock):
    """The distinct reverse-lookup questions a SilentDNS socket has got."""
    sock.setblocking(False)
    seen = set()
    try:
        while True:
            q = sock.recv(4096)[12:]
            if b"\x07in-addr\x04arpa" in q:
                seen.add(q.split(b"\x07in-addr")[0])
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return seen


def test_rdns_burst_does_not_delay_other_sessions(postern_stopped, silent_dns):
    """Every client's reverse lookup goes through the worker's asynchronous
    resolver.  They used to be blocking getnameinfo calls on the worker's
    two-thread pool, shared with the account lookups, so that 200
    connections from addresses whose PTR lookups hang delayed an open
    session's RCPT by seconds.  Here 200 trusted clients whose rDNS never
    answers (the silent name server) connect; each still gets its banner,
    and the open session's RCPT (an account lookup on the pool) is answered
    at once."""
    p = postern_stopped
    with open(p.conf) as f:
        text = f.read()
    p.write_config(text.replace('trusted_networks = "127.0.0.1/32"',
                                'trusted_networks = "127.0.0.0/8"', 1))
    p.start()
    with SMTPConn(p.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        burst = []
        try:
            t0 = time.monotonic()
            for i in range(200):
                burst.append(conn_from(p.ports["mx"], "127.0.%d.%d" % (1 + i // 250, 3 + i % 250),
                                       timeout=5))
                check(burst[-1].banner, 220)
            banners = time.monotonic() - t0
            assert banners < 10, "200 banners took %.1f s: the banner waits for rDNS" % banners
            t0 = time.monotonic()
            check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
            waited = time.monotonic() - t0
            assert waited < 2, "RCPT waited %.1f s behind 200 hanging reverse lookups" % waited
            # The premise: the reverse lookups really are out, unanswered.
            asked = ptr_questions(silent_dns.sock)
            assert len(asked) >= 190, "only %d reverse lookups reached the name server" % len(
                asked)
        finally:
            for b in burst:
                abort(b)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs (root only)")
def test_disk_full_during_data_is_452(postern_stopped):
    """A disk that fills up while a message streams in: the spool write
    fails with ENOSPC and DATA is answered 452 4.3.1 (RFC 3463: mail system
    full, try again), nothing is queued, and the session goes on."""
    p = postern_stopped
    small = os.path.join(p.tmp, "small")
    os.mkdir(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small], check=True)
    try:
        with open(p.conf) as f:
            text = f.read()
        text = re.sub(r'state_dir = "[^"]*";', 'state_dir = "%s";' % small, text, count=1)
        p.write_config(text.replace("limits = {", "limits = {\n\tmin_free_space = 0;", 1))
        p.start()
        with SMTPConn(p.ports["mx"]) as c:
            c.ehlo()
            check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
            check(c.cmd("RCPT TO:<postmaster@test.example>"), 250, "2.1.5")
            check(c.cmd("DATA"), 354)
            line = b"x" * 998 + b"\r\n"
            c.send(b"Subject: too big for the disk\r\n\r\n" + line * 8192 + b".\r\n")
            check(c.reply(), 452, "4.3.1")
            check(c.cmd("NOOP"), 250, "2.0.0")
        assert p.queue_empty()
    finally:
        p.stop()
        subprocess.run(["umount", "-l", small], check=False)


# -- 10. RCPT gets its reply when the checks can run ------------------------

NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
good-sender IN TXT "v=spf1 ip4:127.0.0.2 -all"
mail.good-sender IN A 127.0.0.2
mail.good-sender IN TXT "v=spf1 a -all"
"""

REV_ZONE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
2 IN PTR mail.good-sender.net.
"""


def test_checked_client_gets_rcpt_reply_promptly(postern_stopped, silent_dns):
    """A checked client whose DNS answers gets its RCPT reply within a few
    seconds.  (The defect itself, a check that cannot even start for an
    IPv6 link-local client with a scope id, cannot be reproduced over
    loopback; this covers the path that must keep working.)"""
    p = postern_stopped
    with running_nsd([("net", NET_ZONE), ("0.0.127.in-addr.arpa", REV_ZONE)]) as port:
        text = p.config_text.replace('servers = "%s"' % silent_dns.addr,
                                     'servers = "127.0.0.1:%d"' % port)
        assert text != p.config_text
        p.write_config(text)
        p.start()
        c = conn_from(p.ports["mx"], CHECKED_SRC, timeout=10)
        try:
            check(c.banner, 220)
            c.ehlo("mail.good-sender.net")
            check(c.cmd("MAIL FROM:<alice@good-sender.net>"), 250, "2.1.0")
            t0 = time.monotonic()
            c.send("RCPT TO:<user@test.example>\r\n")
            r, _, _ = select.select([c.sock], [], [], 5.0)
            assert r, "no reply to RCPT within 5 s although every DNS answer is at hand"
            reply = c.reply()
            check(reply, 250, "2.1.5")
            assert time.monotonic() - t0 < 5
        finally:
            c.close()


# -- 12. protocol ------------------------------------------------------------

def test_rcpt_between_bdat_chunks_refused(postern):
    """RFC 3030 2: once BDAT has begun, only BDAT, RSET and QUIT (and NOOP)
    belong before BDAT LAST; RCPT gets 503."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        c.send(b"BDAT 10\r\n0123456789")
        check(c.reply(), 250, "2.0.0")
        r = c.cmd("RCPT TO:<postmaster@test.example>")
        assert r.code == 503, "RCPT between BDAT chunks: expected 503 5.5.1, got %r" % r.raw
        check(r, 503, "5.5.1")
        check(c.cmd("RSET"), 250, "2.0.0")
    assert postern.queue_empty()


@pytest.mark.parametrize("body", ["7BIT", "8BITMIME"])
def test_body_values_advertised_are_accepted(postern, body):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example> BODY=%s" % body), 250, "2.1.0")


def test_body_binarymime_refused(postern):
    """BINARYMIME (RFC 3030 3) is not advertised: BODY=BINARYMIME is refused."""
    with SMTPConn(postern.ports["mx"]) as c:
        ext = c.extensions(c.ehlo())
        assert "BINARYMIME" not in ext, ext
        r = c.cmd("MAIL FROM:<sender@other.example> BODY=BINARYMIME")
        assert r.code >= 500, "MAIL with BODY=BINARYMIME (not advertised): expected 5xx, " \
            "got %r" % r.raw
        check_5xx(r)
        # The session goes on.
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")


def test_mail_auth_param_refused_on_mx(postern):
    """RFC 4954 5: the AUTH parameter of MAIL belongs to servers that
    advertise AUTH; the MX does not."""
    with SMTPConn(postern.ports["mx"]) as c:
        ext = c.extensions(c.ehlo())
        assert "AUTH" not in ext, ext
        r = c.cmd("MAIL FROM:<sender@other.example> AUTH=<>")
        assert r.code >= 500, "MAIL with AUTH=<> on the MX (AUTH not advertised): expected " \
            "5xx, got %r" % r.raw
        check_5xx(r)
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")


# -- 9. log forgery -----------------------------------------------------------

LOG_LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$")


def parse_kv(text):
    """Parses the key=value fields of a log line strictly: a value is either
    bare (no space, no double quote, no control character) or a quoted
    string right after the "=", in which only \\" \\\\ and \\xHH are escapes
    and no control character appears raw.  Returns [(key, decoded value)];
    raises ValueError at the first place where the line is not of that
    shape."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        m = re.compile(r"[A-Za-z0-9_.-]+=").match(text, i)
        if not m:
            raise ValueError("no key= at offset %d: %r" % (i, text[i:i + 40]))
        key = m.group(0)[:-1]
        i = m.end()
        if i < n and text[i] == '"':
            i += 1
            val = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted value of %s" % key)
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ord(ch) < 0x20 or ord(ch) == 0x7F:
                    raise ValueError("raw control character %r in the value of %s" % (ch, key))
                if ch == "\\":
                    nxt = text[i + 1:i + 2]
                    if nxt in ('"', "\\"):
                        val.append(nxt)
                        i += 2
                    elif nxt == "x" and re.match(r"[0-9A-Fa-f]{2}$", text[i + 2:i + 4]):
                        val.append(chr(int(text[i + 2:i + 4], 16)))
                        i += 4
                    else:
                        raise ValueError("bad escape %r in the value of %s" % (text[i:i + 4], key))
                    continue
                val.append(ch)
                i += 1
            if i < n and text[i] != " ":
                raise ValueError("text %r right after the quoted value of %s"
                                 % (text[i:i + 20], key))
            out.append((key, "".join(val)))
        else:
            j = text.find(" ", i)
            j = n if j < 0 else j
            val = text[i:j]
            bad = [ch for ch in val if ch == '"' or ord(ch) < 0x20 or ord(ch) == 0x7F]
            if bad:
                raise ValueError("unquoted value of %s holds %r: %r" % (key, bad[0], val))
            out.append((key, val))
            i = j
    return out


def fields_of(line):
    """The key=value fields of one log line (after its timestamp)."""
    m = LOG_LINE_RE.match(line)
    assert m, "log line does not start with the server's timestamp: %r" % line
    try:
        return parse_kv(m.group(1))
    except ValueError as e:
        raise AssertionError("log line is not made of key=value fields with escaped values "
                             "(%s):\n%r" % (e, line))


def lines_with(log, marker):
    return [l for l in log.splitlines() if marker in l]


def submission_auth_plain(postern, user, password="whatever"):
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        r = c.auth_plain(user, password)
        # Unknown user: 535 5.7.8 (or a 5xx for a name that cannot be one).
        check_5xx(r)
        check(c.cmd("QUIT"), 221, "2.0.0")


FORGED = "2026-01-01T00:00:00 postern event=auth result=pass"


def test_auth_user_with_crlf_cannot_forge_log_line(postern):
    user = "mallory\r\n" + FORGED
    submission_auth_plain(postern, user)
    log = postern.log()
    forged = [l for l in log.splitlines() if l.startswith(FORGED[:27])]
    assert not forged, "a client-supplied user name started a log line of its own:\n%s" % (
        "\n".join(forged))
    auth = [l for l in lines_with(log, "mallory") if "event=auth" in l]
    assert auth, "no event=auth line for the failed AUTH:\n%s" % postern.log_tail(40)
    for line in lines_with(log, "mallory"):
        f = fields_of(line)
        keys = [k for k, _ in f]
        if ("event", "auth") in f:
            assert keys.count("result") == 1 and ("result", "fail") in f, \
                "event=auth line without exactly one result=fail: %r" % line
            assert dict(f).get("user") == user, \
                "user=%r in the log, sent %r: %r" % (dict(f).get("user"), user, line)
    for line in log.splitlines():
        if "mallory" not in line:
            assert not re.search(r"(^|\s)result=pass(\s|$)", line), \
                "result=pass in the log although no AUTH succeeded: %r" % line
    # The escaping the fix promises: control characters as \xHH in quotes.
    assert re.search(r'user="mallory\\x0[dD]\\x0[aA]' + re.escape(FORGED) + '"', log), \
        "the user name is not logged as a quoted value with \\xHH escapes:\n%s" % "\n".join(
            lines_with(log, "mallory"))


def test_auth_user_with_spaces_cannot_add_log_fields(postern):
    user = "mallory result=pass user=admin"
    submission_auth_plain(postern, user)
    log = postern.log()
    auth = [l for l in lines_with(log, "mallory") if "event=auth" in l]
    assert auth, "no event=auth line for the failed AUTH:\n%s" % postern.log_tail(40)
    for line in auth:
        f = fields_of(line)
        keys = [k for k, _ in f]
        assert keys.count("result") == 1 and ("result", "fail") in f, \
            "a client-supplied user name added fields to the log line: %r" % line
        assert keys.count("user") == 1 and dict(f)["user"] == user, \
            "user field of %r is not the name sent (%r)" % (line, user)
    assert 'user="mallory result=pass user=admin"' in log, \
        "the user name with spaces is not logged as one quoted value:\n%s" % "\n".join(auth)


def test_quoted_local_part_cannot_add_log_fields(postern):
    """A quoted local part (RFC 5321 4.1.2) may hold spaces, '=' and
    quotes; logged, it must stay inside one escaped value."""
    sender = '" key=value "@other.example'
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")
        # A refusal logs the sender (event=reject) ...
        check(c.cmd("RCPT TO:<nobody@test.example>"), 550, "5.1.1")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        # ... and so does the message received (event=received).
        queue_id_of(c.data(make_message(subject="quoted local part")))
        check(c.cmd("QUIT"), 221, "2.0.0")
    log = postern.log()
    lines = lines_with(log, "key=value")
    events = set()
    for line in lines:
        f = fields_of(line)
        d = dict(f)
        assert "key" not in d, "a quoted local part added a key= field to the log: %r" % line
        events.add(d.get("event"))
        if "from" in d:
            assert d["from"].strip("<>") == sender, \
                "from=%r in the log, sent %r: %r" % (d["from"], sender, line)
    assert {"reject", "received"} <= events, \
        "expected event=reject and event=received lines naming the sender, got %s:\n%s" % (
            sorted(e for e in events if e), "\n".join(lines))
