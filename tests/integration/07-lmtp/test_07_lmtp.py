"""Scenario 07: delivery to a real Dovecot over LMTP (RFC 2033) for the
domain configured with delivery = "lmtp"."""

import smtplib

from helpers import SMTPConn, check, make_message, queue_id_of, read_files, split_delivered, \
    wait_for_files


def test_dovecot_fixture_accepts_lmtp(dovecot):
    """The fixture itself: Dovecot takes a message over LMTP and files it in
    its Maildir (so that a failure below is postern's, not the fixture's)."""
    msg = make_message(subject="direct lmtp", to="carol@lmtp.example")
    with smtplib.LMTP("127.0.0.1", dovecot.port, timeout=15) as lmtp:
        refused = lmtp.sendmail("someone@other.example", ["carol@lmtp.example"], msg)
        assert refused == {}
    files = wait_for_files(dovecot.maildir("carol@lmtp.example"), 1)
    data = read_files(files)[0]
    assert data.replace(b"\r\n", b"\n").endswith(msg.replace(b"\r\n", b"\n")), data


def test_lmtp_delivery_through_postern(dovecot, postern):
    msg = make_message(subject="via postern lmtp", to="bob@lmtp.example")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<bob@lmtp.example>"), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
        check(c.cmd("QUIT"), 221, "2.0.0")
    files = wait_for_files(dovecot.maildir("bob@lmtp.example"), 1)
    assert len(files) == 1, files
    data = read_files(files)[0].replace(b"\r\n", b"\n")
    # Dovecot adds its own Return-Path / Delivered-To / Received; postern's
    # Received (with the queue id) and then the message must follow.
    assert b"by mx.test.example (postern) with ESMTP id " + qid.encode() in data, data
    assert data.endswith(msg.replace(b"\r\n", b"\n")), data
    assert b"Return-Path: <sender@other.example>" in data, data
    # Nothing lands in postern's own Maildirs for an LMTP domain.
    assert postern.queue_empty() or wait_queue_empty(postern)


def wait_queue_empty(postern):
    from helpers import wait_until
    return wait_until(postern.queue_empty, 20, "an empty queue")


def test_lmtp_postmaster_without_account(dovecot, postern):
    """POSTMASTER@lmtp.example goes to the configured postmaster mailbox
    (admin@test.example, a Maildir), not to Dovecot."""
    msg = make_message(subject="pm", to="POSTMASTER@lmtp.example")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<POSTMASTER@lmtp.example>"), 250, "2.1.5")
        queue_id_of(c.data(msg))
    files = wait_for_files(postern.maildir("admin@test.example"), 1)
    _eol, _rp, _dt, _rcv, rest = split_delivered(read_files(files)[0])
    assert rest.replace(b"\r\n", b"\n") == msg.replace(b"\r\n", b"\n")


def test_lmtp_unknown_user_at_rcpt(dovecot, postern):
    """An LMTP domain's recipients are accounts too: no account, 550 5.1.1."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<nobody@lmtp.example>"), 550, "5.1.1")
