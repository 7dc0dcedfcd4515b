"""Scenario 21, peers: postern sends mail to real MTAs found by MX and
takes mail from them.  Two postern instances (A: mx.a.test at 127.0.21.1,
B: mx.b.test at 127.0.21.2, MX records in nsd) mail each other's users;
a private Postfix receives from postern (postfix.test's MX) and relays
to postern.  Authenticated users' envelope senders carry their server's
BATV tag, and the tag checks out against that server's key.

test_batv_bounce_check and test_bounce_from_b_reaches_a_through_batv
test the receiving side of BATV (batv.check), which is being added to the
server at the time of writing: when a bounce without a tag gets 250 (the
first), or A refuses B's DSN to the tagged address as an unknown user
(the second), the check is missing, not the test wrong."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import short_tmpdir
from helpers import SMTPConn, check, maildir_files, read_files, received_fields, \
    split_delivered, wait_for_files, wait_until
from outbound import ADDR, batv_tag, batv_valid, headers_named, message, msgid_of, \
    mx_port, nsd, parse_dsn, servers, submit  # noqa: F401 (fixtures)

A_USER, A_PASS = "user@a.test", "a-password"
B_USER, B_PASS = "user@b.test", "b-password"


def only_file(path):
    """The one message of a Maildir, once it is there."""
    files = wait_for_files(path, 1)
    assert len(files) == 1, files
    return read_files(files)[0]


def test_postern_to_postern_and_back(servers):
    a = servers.postern("a", [(A_USER, A_PASS)])
    b = servers.postern("b", [(B_USER, B_PASS)])

    # A to B: found by B's MX record, delivered over SMTP on the scenario port.
    msg = message(A_USER, B_USER, "a to b")
    qid = submit(a, A_USER, A_PASS, [B_USER], msg)
    data = only_file(b.maildir(B_USER))
    eol, rp, dt, received, rest = split_delivered(data)
    # Return-Path: A's BATV tag on the user's address, valid under A's key.
    m = re.match(r"^<(prvs=0\d{3}[0-9a-f]{6}=(.+))>$", rp)
    assert m and m.group(2) == A_USER, "Return-Path %r is not A's tagged sender" % rp
    assert batv_valid(a.batv_key(), m.group(1), A_USER), \
        "tag %r does not check out under A's key" % m.group(1)
    assert dt == B_USER
    # B's trace: from A's hostname (its EHLO); STARTTLS was offered and used.
    f = received_fields(received)
    assert f["helo"] == a.hostname and f["host"] == b.hostname, f
    assert f["proto"] == "ESMTPS", f
    # Then A's own trace field from the submission, and the message as sent.
    a_received = [r for r in headers_named(rest, "Received")]
    assert a_received and re.search(r"by %s \(postern\) with ESMTPSA id %s\b"
                                    % (re.escape(a.hostname), qid), a_received[0]), a_received
    expected = msg if eol == b"\r\n" else msg.replace(b"\r\n", b"\n")
    assert rest.endswith(expected), "the message did not arrive as sent:\n%r" % rest
    a.wait_log(r"event=delivered queue_id=%s rcpt=<%s> method=smtp relay=mx\.b\.test\[%s\]:%d"
               r" .*tls=opportunistic" % (qid, re.escape(B_USER), ADDR["b"], servers.port))

    # And back: B's user answers, tagged with B's key.
    reply = message(B_USER, A_USER, "b to a")
    qid2 = submit(b, B_USER, B_PASS, [A_USER], reply)
    data = only_file(a.maildir(A_USER))
    eol, rp, dt, received, rest = split_delivered(data)
    m = re.match(r"^<(prvs=0\d{3}[0-9a-f]{6}=(.+))>$", rp)
    assert m and m.group(2) == B_USER, rp
    assert batv_valid(b.batv_key(), m.group(1), B_USER)
    assert not batv_valid(a.batv_key(), m.group(1), B_USER), "the two keys are the same"
    assert dt == A_USER
    f = received_fields(received)
    assert f["helo"] == b.hostname and f["host"] == a.hostname, f
    assert re.search(r"by %s \(postern\) with ESMTPSA id %s\b" % (re.escape(b.hostname), qid2),
                     headers_named(rest, "Received")[0])
    for srv in (a, b):
        wait_until(srv.queue_empty, 30, "an empty queue at %s" % srv.name)
    # Nothing else went anywhere.
    assert len(maildir_files(b.maildir(B_USER))) == 1
    assert len(maildir_files(a.maildir(A_USER))) == 1


# -- Postfix -------------------------------------------------------------------

MAIN_CF = """\
# Postfix for scenario 21: a private instance that receives for
# postfix.test (virtual(8) into one Maildir) on {listen} and relays
# what its clients on loopback send for b.test to postern B at
# [{b}]:{port}; no DNS of its own.
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
myhostname = postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
local_recipient_maps =
alias_maps =
alias_database =
virtual_mailbox_domains = postfix.test
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
transport_maps = inline:{{ b.test=smtp:[{b}]:{port} }}
default_transport = error:only b.test is relayed in this test
relay_transport = error:only b.test is relayed in this test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = may
maillog_file = {d}/maillog
maillog_file_prefixes = {d}/maillog
"""

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{listen}   inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(self, d, port):
        self.d = d
        self.listen = "%s:%d" % (ADDR["postfix"], port)
        self.box = os.path.join(d, "vmail", "box")
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "queue", "data", "vmail"):
            os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, "data"), "postfix")
        os.chown(os.path.join(d, "vmail"), nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(d, "etc", "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=d, listen=self.listen, b=ADDR["b"], port=port,
                                   uid=nobody.pw_uid, gid=nobody.pw_gid))
        with open(os.path.join(d, "etc", "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=self.listen))

    def postfix(self, *args):
        return subprocess.run(["postfix", "-c", os.path.join(self.d, "etc")] + list(args),
                              capture_output=True, timeout=60)

    def start(self):
        from outbound import wait_addr
        p = self.postfix("start")
        assert p.returncode == 0, "postfix start: %s %s\n%s" % (
            p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), self.log())
        host, port = self.listen.split(":")
        wait_addr(host, int(port), 30, log=self.log)
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


@pytest.fixture
def postfix(request, mx_port):
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix start)")
    if shutil.which("postfix") is None:
        pytest.fail("postfix is not installed")
    d = short_tmpdir("postern-it21-postfix-")
    os.chmod(d, 0o755)
    pf = Postfix(d, mx_port).start()
    yield pf
    pf.stop()
    rep = getattr(request.node, "rep_call", None)
    if rep is None or rep.failed:
        print("==== postfix maillog (files kept in %s)\n%s" % (d, pf.log()))
    else:
        shutil.rmtree(d, ignore_errors=True)


def test_postern_to_postfix(servers, postfix):
    a = servers.postern("a", [(A_USER, A_PASS)])
    rcpt = "someone@postfix.test"
    msg = message(A_USER, rcpt, "a to postfix")
    qid = submit(a, A_USER, A_PASS, [rcpt], msg)
    a.wait_log(r"event=delivered queue_id=%s rcpt=<%s> method=smtp relay=mx\.postfix\.test"
               r"\[%s\]:%d .*reply=\"?250 2\.0\.0 Ok: \d+ bytes queued as [0-9A-F]+"
               % (qid, re.escape(rcpt), ADDR["postfix"], servers.port))
    data = only_file(postfix.box)
    hdrs = headers_named(data, "Return-Path")
    assert len(hdrs) == 1, hdrs
    m = re.match(r"^<(prvs=0\d{3}[0-9a-f]{6}=(.+))>$", hdrs[0])
    assert m and m.group(2) == A_USER and batv_valid(a.batv_key(), m.group(1), A_USER), hdrs
    assert headers_named(data, "Delivered-To") == [rcpt]
    received = headers_named(data, "Received")
    # Postfix's own field names postern's EHLO; postern's from the
    # submission comes next.
    assert re.match(r"from %s \(.*\[127\.0\.0\.1\]\)\s+by postfix\.test \(Postfix\) with ESMTP"
                    % re.escape(a.hostname), received[0]), received
    assert re.search(r"by %s \(postern\) with ESMTPSA id %s\b" % (re.escape(a.hostname), qid),
                     received[1]), received
    assert headers_named(data, "Message-ID") == [msgid_of(msg)]
    assert data.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n").endswith(
        msg.split(b"\r\n\r\n", 1)[1])
    wait_until(a.queue_empty, 30, "an empty queue at A")


def test_postfix_to_postern(servers, postfix):
    b = servers.postern("b", [(B_USER, B_PASS)])
    msg = message("sender@postfix.test", B_USER, "postfix to b")
    host, port = postfix.listen.split(":")
    with SMTPConn(int(port), host=host) as c:
        check(c.banner, 220)
        c.ehlo("client.postfix.test")
        for line, code in (("MAIL FROM:<sender@postfix.test>", 250),
                           ("RCPT TO:<%s>" % B_USER, 250)):
            r = c.cmd(line)
            assert r.code == code, r
        r = c.data(msg)
        assert r.code == 250, r
    data = only_file(b.maildir(B_USER))
    eol, rp, dt, received, rest = split_delivered(data)
    # Postfix relays the envelope as it got it: no tag, nothing rewritten.
    assert rp == "<sender@postfix.test>", rp
    assert dt == B_USER
    f = received_fields(received)
    assert f["helo"] == "postfix.test" and f["host"] == b.hostname, f
    # postern's MX offers STARTTLS and Postfix (smtp_tls_security_level =
    # may) takes it.
    assert f["proto"] == "ESMTPS", "Postfix did not use postern's STARTTLS: %r" % f
    pf_received = headers_named(rest, "Received")
    assert pf_received and re.search(r"by postfix\.test \(Postfix\) with ESMTP",
                                     pf_received[0]), pf_received
    assert headers_named(rest, "Message-ID") == [msgid_of(msg)]
    wait_until(postfix.queue_empty, 30, "an empty Postfix queue")
    assert re.search(r"to=<%s>, relay=\[?%s\]?\[%s\]:%d, .*status=sent" % (
        re.escape(B_USER), re.escape(ADDR["b"]), re.escape(ADDR["b"]), servers.port),
        postfix.log()), postfix.log()


# -- BATV ----------------------------------------------------------------------

def null_sender_rcpt(inst, rcpt):
    """MAIL FROM:<> and RCPT TO:<rcpt> on inst's MX; returns the RCPT reply
    (the session is left open for DATA when it was accepted)."""
    c = SMTPConn(inst.ports["mx"], host=inst.addr)
    check(c.banner, 220)
    c.ehlo("mailer.elsewhere.test")
    check(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
    return c, c.cmd("RCPT TO:<%s>" % rcpt)


def test_batv_bounce_check(servers):
    """batv.check (default 1) at A: a bounce (null sender) to a local user
    needs a valid tag of A's; the tag is taken off before delivery.

    NOTE: the server-side check is being added at the time of writing;
    when the first assertion fails (a bounce without a tag gets 250), the
    check is missing from the server."""
    a = servers.postern("a", [(A_USER, A_PASS)])
    sink = servers.receiver("sink")

    # A tag made by A: on the envelope sender of its user's outgoing mail.
    submit(a, A_USER, A_PASS, ["x@sink.test"], message(A_USER, "x@sink.test", "get a tag"))
    wait_until(sink.delivered, 30, "the sink to get the message")
    tagged = sink.delivered()[0].mail_from
    assert re.match(r"^prvs=0\d{3}[0-9a-f]{6}=%s$" % re.escape(A_USER), tagged), tagged
    assert batv_valid(a.batv_key(), tagged, A_USER)

    # A bounce without a tag: refused at RCPT.
    c, r = null_sender_rcpt(a, A_USER)
    with c:
        assert r.code == 550 and r.ecode and r.ecode.startswith("5."), \
            "bounce to an untagged local address not refused (batv.check missing?): %r" % r.raw
    # A forged tag (wrong hash) and one made with another key: refused.
    # prvs=0DDDSSSSSS=: the hash is [9:15].
    forged = tagged[:9] + ("000000" if tagged[9:15] != "000000" else "111111") + tagged[15:]
    other_key = batv_tag(b"k" * 32, A_USER)
    # A tag of A's made 30 days ago: expired (batv.max_age_days 7).
    old = batv_tag(a.batv_key(), A_USER, int(time.time() // 86400) - 30)
    for bad in (forged, other_key, old):
        c, r = null_sender_rcpt(a, bad)
        with c:
            assert r.code == 550 and r.ecode and r.ecode.startswith("5."), (bad, r.raw)
    # postmaster stays reachable without a tag (RFC 5321 4.5.1).
    c, r = null_sender_rcpt(a, "postmaster@a.test")
    with c:
        check(r, 250, "2.1.5")
    # A mail with a sender: no tag needed.
    with SMTPConn(a.ports["mx"], host=a.addr) as c:
        c.ehlo("mailer.elsewhere.test")
        check(c.cmd("MAIL FROM:<someone@elsewhere.test>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % A_USER), 250, "2.1.5")
        check(c.cmd("RSET"), 250, "2.0.0")

    # The valid tag: accepted and delivered to the plain user.
    bounce = message("MAILER-DAEMON@elsewhere.test", tagged, "a bounce")
    c, r = null_sender_rcpt(a, tagged)
    with c:
        check(r, 250, "2.1.5")
        r = c.data(bounce)
        check(r, 250, "2.0.0")
    data = only_file(a.maildir(A_USER))
    eol, rp, dt, received, rest = split_delivered(data)
    assert rp == "<>", rp
    assert dt == A_USER, "Delivered-To %r: the tag was not taken off" % dt
    assert headers_named(rest, "Message-ID") == [msgid_of(bounce)]
    wait_until(a.queue_empty, 30, "an empty queue at A")
    # Nothing went to a tagged mailbox.
    assert not os.path.exists(os.path.join(a.mailroot, "a.test", tagged.split("@")[0].lower()))


def test_bounce_from_b_reaches_a_through_batv(servers):
    """End to end: B accepts A's user's message (tagged sender), fails it
    later (its LMTP server refuses the recipient after the data) and sends
    the DSN to the tagged address; A takes it with batv.check on and the
    user gets it.  B checks its clients here (trusted_networks without
    127.0.0.1), so A's SPF pass is what makes the sender worth a DSN.

    NOTE: depends on batv.check at A (being added at the time of writing):
    without it A refuses the tagged recipient as an unknown user."""
    a = servers.postern("a", [(A_USER, A_PASS)])
    lrcpt = "list@lmtp.b.test"
    b = servers.postern(
        "b", [(B_USER, B_PASS), (lrcpt, "pw")],
        domains=',\n\t{ name = "lmtp.b.test"; delivery = "lmtp"; lmtp = "%s:@MX@"; }'
        % ADDR["lmtp"],
        # .test is a special-use TLD, which a checked HELO may not use.
        top='policy = { trusted_networks = "::1/128"; helo_invalid = "accept"; };\n')
    lmtp = servers.receiver("lmtp", lmtp=True,
                            data_reply=lambda rcv, txn: ["550 5.2.1 <%s>: mailbox disabled" % r
                                                         for r in txn.accepted])
    msg = message(A_USER, lrcpt, "bounce me")
    qid = submit(a, A_USER, A_PASS, [lrcpt], msg)
    # At B: received with a verified sender (SPF pass), failed, reported.
    line = b.wait_log(r"event=received .*from=\"?prvs=0\d{3}[0-9a-f]{6}=%s\"? "
                      % re.escape(A_USER))[0]
    assert re.search(r"sender_verified=1", line), line
    bqid = re.search(r"queue_id=(\S+)", line).group(1)
    b.wait_log(r"event=failed queue_id=%s rcpt=<%s> method=lmtp .*dsn=sent" % (bqid, lrcpt))
    dsn_id = re.search(r"dsn_id=(\S+)", b.wait_log(r"event=dsn_queued queue_id=%s " % bqid)[0]
                       ).group(1)
    # The DSN goes to A's MX, to the tagged address.
    out = b.wait_log(r"event=(delivered|failed|deferred) queue_id=%s " % dsn_id)[0]
    assert re.search(r"event=delivered queue_id=%s rcpt=\"?<prvs=0\d{3}[0-9a-f]{6}=%s>\"? "
                     r"method=smtp relay=mx\.a\.test" % (dsn_id, re.escape(A_USER)), out), \
        "B's DSN to A's tagged address was not taken: %s" % out
    data = only_file(a.maildir(A_USER))
    eol, rp, dt, received, rest = split_delivered(data)
    assert rp == "<>" and dt == A_USER, (rp, dt)
    dsn, per_msg, per_rcpt = parse_dsn(data)
    assert per_msg["Reporting-MTA"].replace(" ", "").lower() == "dns;mx.b.test"
    assert [(r["Final-Recipient"].split(";", 1)[1].strip(), r["Action"].strip(),
             r["Status"].strip()) for r in per_rcpt] == [(lrcpt, "failed", "5.2.1")]
    assert msgid_of(msg).encode() in data
    for srv in (a, b):
        wait_until(srv.queue_empty, 30, "an empty queue at %s" % srv.name)
    assert lmtp.attempts() and not lmtp.delivered()
    assert qid
