"""Scenario 07: delivery to a real Dovecot over LMTP (RFC 2033) for the
domain configured with delivery = "lmtp"."""

import smtplib

from helpers import SMTPConn, all_mail_files, check, make_message, queue_id_of, read_files, \
    split_delivered, wait_for_files, wait_until


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
    wait_until(postern.queue_empty, 20, "an empty queue")
    # Nothing lands in postern's own Maildirs for an LMTP domain.
    assert all_mail_files(postern.mailroot) == []


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


def test_lmtp_server_down_then_up(dovecot_stopped, postern):
    """With Dovecot not running the message stays queued (a temporary
    failure, retried after delivery.retry_min); `postern queue list` and
    `queue show` describe it; once Dovecot is up, `queue retry` delivers
    it, once."""
    msg = make_message(subject="lmtp later", to="bob@lmtp.example")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<bob@lmtp.example>"), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
    # The first attempt fails (connection refused) and is logged.
    wait_until(lambda: [l for l in postern.log().splitlines()
                        if "event=deferred" in l and qid in l], 20,
               "a deferred delivery of %s in the log" % qid)
    assert postern.queue_ids() == [qid], postern.queue_list()
    show = postern.cli("queue", "show", qid).stdout.decode(errors="replace")
    assert "sender@other.example" in show and "bob@lmtp.example" in show, show
    assert "Subject: lmtp later" in show, show
    dovecot_stopped.start()
    postern.cli("queue", "retry", qid)
    files = wait_for_files(dovecot_stopped.maildir("bob@lmtp.example"), 1, timeout=30)
    wait_until(postern.queue_empty, 20, "an empty queue")
    assert len(files) == 1
    assert read_files(files)[0].replace(b"\r\n", b"\n").endswith(msg.replace(b"\r\n", b"\n"))


def test_queue_delete(postern):
    """A message held for an LMTP server that is down can be deleted with
    `postern queue delete ID`; it is then never delivered."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<bob@lmtp.example>"), 250, "2.1.5")
        qid = queue_id_of(c.data(make_message(subject="to delete")))
    assert qid in postern.queue_ids()
    postern.cli("queue", "delete", qid)
    assert postern.queue_empty(), postern.queue_list()
    p = postern.cli("queue", "show", qid, check=False)
    assert p.returncode != 0
