"""Scenario 01: a message for a local account over the MX listener, sent
with Python's smtplib and with swaks, stored byte for byte in the Maildir
behind Return-Path, Delivered-To and postern's Received header; the
mailboxes every domain must have (RFC 5321 4.5.1, RFC 2142); replies to
commands outside a transaction."""

import os
import shutil
import smtplib
import subprocess

import pytest

from helpers import SMTPConn, all_mail_files, assert_delivered_exactly, check, dialog, \
    make_message, queue_id_of, read_files, received_fields, split_delivered, wait_for_files, \
    wait_until


def deliver_raw(port, sender, rcpts, msg, helo="client.test.example"):
    with SMTPConn(port) as c:
        check(c.banner, 220)
        assert c.banner.lines[0].startswith("mx.test.example"), c.banner
        c.ehlo(helo)
        check(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")
        for r in rcpts:
            check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
        check(c.cmd("QUIT"), 221, "2.0.0")
        return qid


def test_smtplib_delivery_byte_exact(postern):
    msg = make_message(subject="smtplib")
    with smtplib.SMTP("127.0.0.1", postern.ports["mx"], local_hostname="client.test.example",
                      timeout=15) as s:
        code, _ = s.ehlo()
        assert code == 250
        assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("size")
        assert s.has_extn("enhancedstatuscodes") and s.has_extn("chunking")
        assert not s.has_extn("auth"), "AUTH must not be offered on the MX listener"
        assert s.sendmail("sender@other.example", ["user@test.example"], msg) == {}
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    assert len(files) == 1
    received = assert_delivered_exactly(read_files(files)[0], msg, "sender@other.example",
                                        "user@test.example")
    f = received_fields(received)
    assert f["helo"] == "client.test.example"
    assert f["ip"] == "127.0.0.1"
    assert f["host"] == "mx.test.example"
    assert f["proto"] == "ESMTP"


def test_raw_delivery_queue_id_in_received(postern):
    # Dots at line starts, an empty line, 8-bit text and a long (998) line
    # must all come back unchanged.
    body = ("line one\r\n.\r\n..\r\n. dot space\r\n\r\n"
            "caf\u00e9 8bit\r\n" + "x" * 998 + "\r\nlast line without much\r\n")
    msg = make_message(subject="raw", body=body)
    qid = deliver_raw(postern.ports["mx"], "sender@other.example", ["user@test.example"], msg)
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    received = assert_delivered_exactly(read_files(files)[0], msg, "sender@other.example",
                                        "user@test.example")
    f = received_fields(received)
    assert f["id"] == qid, (f, qid)
    assert "for <user@test.example>" in f["flat"], received


def test_swaks_delivery(postern, workdir):
    swaks = shutil.which("swaks") or "/usr/bin/swaks"
    assert os.access(swaks, os.X_OK), "swaks not installed"
    msg = make_message(subject="swaks", frm="swaks@other.example")
    path = os.path.join(workdir, "swaks.eml")
    # swaks ends the data with CRLF "." CRLF after the file's last byte, so
    # the file leaves out the final CRLF to make the message exactly msg.
    with open(path, "wb") as f:
        f.write(msg[:-2])
    p = subprocess.run([swaks, "--server", "127.0.0.1", "--port", str(postern.ports["mx"]),
                        "--helo", "swaks.test.example", "--from", "swaks@other.example",
                        "--to", "user@test.example", "--data", "@" + path,
                        "--timeout", "15"],
                       capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert "<-  250 2.0.0 Ok: queued as " in out, out
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    received = assert_delivered_exactly(read_files(files)[0], msg, "swaks@other.example",
                                        "user@test.example")
    assert received_fields(received)["helo"] == "swaks.test.example"


def test_swaks_pipelining_two_recipients(postern):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(postern.ports["mx"]),
                        "--from", "swaks@other.example",
                        "--to", "user@test.example,alice@test.example", "--pipeline",
                        "--header", "Subject: swaks pipelined", "--body", "pipelined body",
                        "--timeout", "15"],
                       capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    for rcpt in ("user@test.example", "alice@test.example"):
        files = wait_for_files(postern.maildir(rcpt), 1)
        assert len(files) == 1
        data = read_files(files)[0]
        assert b"pipelined body" in data
        # Each copy names its own recipient.
        assert b"Delivered-To: " + rcpt.encode() in data.split(b"\n", 2)[1], data[:200]


def test_multiple_recipients_and_transactions(postern):
    m1 = make_message(subject="first", to="user@test.example")
    m2 = make_message(subject="second", to="alice@test.example")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<alice@test.example>"), 250, "2.1.5")
        q1 = queue_id_of(c.data(m1))
        # A second transaction on the same connection, with RSET between.
        check(c.cmd("RSET"), 250, "2.0.0")
        check(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<alice@test.example>"), 250, "2.1.5")
        q2 = queue_id_of(c.data(m2))
        check(c.cmd("QUIT"), 221, "2.0.0")
    assert q1 != q2
    user = read_files(wait_for_files(postern.maildir("user@test.example"), 1))
    alice = read_files(wait_for_files(postern.maildir("alice@test.example"), 2))
    assert len(user) == 1 and len(alice) == 2
    assert_delivered_exactly(user[0], m1, "sender@other.example", "user@test.example")
    by_subject = {b"first": None, b"second": None}
    for data in alice:
        for k in by_subject:
            if b"Subject: " + k + b"\r\n" in data or b"Subject: " + k + b"\n" in data:
                by_subject[k] = data
    assert_delivered_exactly(by_subject[b"first"], m1, "sender@other.example",
                             "alice@test.example")
    # The null reverse-path (RFC 5321 4.5.5) is kept as <>.
    assert_delivered_exactly(by_subject[b"second"], m2, "", "alice@test.example")


@pytest.mark.parametrize("rcpt,mailbox", [
    ("postmaster", "admin@test.example"),
    ("Postmaster", "admin@test.example"),
    ("postmaster@test.example", "admin@test.example"),
    ("POSTMASTER@lmtp.example", "admin@test.example"),
    ("abuse@test.example", "admin@test.example"),
    ("abuse@lmtp.example", "admin@test.example"),
])
def test_postmaster_and_abuse_without_account(postern, rcpt, mailbox):
    """RFC 5321 4.5.1 (postmaster, also without a domain) and RFC 2142
    (abuse) are accepted on the MX listener with no account."""
    msg = make_message(subject="to " + rcpt, to=rcpt)
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<complainer@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
        queue_id_of(c.data(msg))
    files = wait_for_files(postern.maildir(mailbox), 1)
    assert len(files) == 1
    _eol, rp, _dt, _rcv, rest = split_delivered(read_files(files)[0])
    assert rp == "<complainer@other.example>"
    assert rest.replace(b"\r\n", b"\n") == msg.replace(b"\r\n", b"\n")


def test_unknown_user_refused_at_rcpt(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        dialog(c, [
            ("MAIL FROM:<sender@other.example>", 250, "2.1.0"),
            ("RCPT TO:<nosuchuser@test.example>", 550, "5.1.1"),
            ("RCPT TO:<NoSuchUser@TEST.EXAMPLE>", 550, "5.1.1"),
            # Case does not matter for an existing account's domain.
            ("RCPT TO:<user@TEST.example>", 250, "2.1.5"),
            ("RSET", 250, "2.0.0"),
        ])
    assert all_mail_files(postern.mailroot) == []


def test_commands_outside_transaction(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        dialog(c, [
            ("MAIL FROM:<sender@other.example>", 503, "5.5.1"),  # before EHLO
            ("HELO client.test.example", 250),
            ("RCPT TO:<user@test.example>", 503, "5.5.1"),       # before MAIL
            ("DATA", 503, "5.5.1"),
            ("NOOP", 250, "2.0.0"),
            ("VRFY user@test.example", 252),
            ("EXPN staff", 502),
            ("FOOBAR", 500, "5.5.2"),
            ("HELP", 214),
            ("EHLO", 501, "5.5.4"),
            ("QUIT", 221, "2.0.0"),
        ])
        assert c.is_closed()


def test_helo_protocol_is_smtp(postern):
    """RFC 3848: a session opened with HELO is 'SMTP', not 'ESMTP'."""
    msg = make_message(subject="helo")
    with SMTPConn(postern.ports["mx"]) as c:
        check(c.cmd("HELO old.test.example"), 250, "")
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    f = received_fields(assert_delivered_exactly(read_files(files)[0], msg,
                                                 "sender@other.example", "user@test.example"))
    assert f["proto"] == "SMTP" and f["id"] == qid and f["helo"] == "old.test.example", f


def test_queue_drains_and_cli_lists_nothing(postern):
    deliver_raw(postern.ports["mx"], "sender@other.example", ["user@test.example"],
                make_message())
    wait_for_files(postern.maildir("user@test.example"), 1)
    wait_until(postern.queue_empty, 20, "an empty queue after delivery")
