"""Scenario 06: SMTP smuggling (end-of-data look-alikes with bare LF or bare
CR, CVE-2023-51764 and relatives) and STARTTLS command injection
(CVE-2011-0411).  End of DATA is CRLF.CRLF only; a message containing a
bare CR or LF is refused after the end of data; commands pipelined behind
STARTTLS are discarded."""

import base64

import pytest

from helpers import SMTPConn, all_mail_files, check, check_5xx, client_tls_context, \
    make_message, queue_id_of, read_files, wait_for_files, wait_until

SMUGGLED = (b"MAIL FROM:<admin@test.example>\r\n"
            b"RCPT TO:<user@test.example>\r\n"
            b"DATA\r\n"
            b"From: <admin@test.example>\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"smuggled message\r\n")

FAKE_ENDS = {
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "lf-dot-cr": b"\n.\r",
    "cr-dot-lf": b"\r.\n",
    "crlf-dot-crcrlf": b"\r\n.\r\r\n",
}


def after_data(postern):
    c = SMTPConn(postern.ports["mx"])
    c.ehlo()
    check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    check(c.cmd("DATA"), 354)
    return c


def assert_nothing_accepted(postern, c):
    """Exactly one reply was owed (already read); the next reply belongs to
    our NOOP, so no smuggled command was answered."""
    check(c.cmd("NOOP"), 250, "2.0.0")
    check(c.cmd("QUIT"), 221, "2.0.0")
    assert postern.queue_empty(), postern.queue_list()
    assert all_mail_files(postern.mailroot) == []


@pytest.mark.parametrize("fake", sorted(FAKE_ENDS))
def test_smuggling_refused(postern, fake):
    msg = make_message(subject="carrier " + fake, body="first part\r\n")
    with after_data(postern) as c:
        # One write: the carrier, a fake end, a smuggled transaction, and
        # the real end.
        c.send(msg + FAKE_ENDS[fake] + SMUGGLED + b".\r\n")
        check_5xx(c.reply())
        assert_nothing_accepted(postern, c)


@pytest.mark.parametrize("fake", sorted(FAKE_ENDS))
def test_smuggling_refused_split_writes(postern, fake):
    """The same with the fake end alone in its own packet."""
    msg = make_message(subject="carrier split " + fake, body="first part\r\n")
    with after_data(postern) as c:
        c.send(msg)
        c.send(FAKE_ENDS[fake])
        c.send(SMUGGLED)
        c.send(b".\r\n")
        check_5xx(c.reply())
        assert_nothing_accepted(postern, c)


@pytest.mark.parametrize("body", [
    b"bare lf\nin the body\r\n",
    b"bare cr\rin the body\r\n",
    b"ends with bare lf\n",
    b"crcrlf\r\r\nline\r\n",
    b"lfcr\n\rline\r\n",
])
def test_bare_cr_lf_in_body_refused(postern, body):
    msg = make_message(subject="bare").split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    with after_data(postern) as c:
        c.send(msg + (b"" if msg.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        check_5xx(c.reply())
        assert_nothing_accepted(postern, c)


def test_bare_lf_in_headers_refused(postern):
    with after_data(postern) as c:
        c.send(b"From: <a@other.example>\nSubject: x\r\n\r\nbody\r\n.\r\n")
        check_5xx(c.reply())
        assert_nothing_accepted(postern, c)


def test_bare_lf_in_bdat_refused(postern):
    body = b"Subject: bdat bare lf\r\n\r\nline\n.\nMAIL FROM:<a@b>\r\n"
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        check_5xx(c.reply())
        assert_nothing_accepted(postern, c)


def test_clean_message_after_refused_one(postern):
    """A refused message does not poison the session."""
    good = make_message(subject="good after bad")
    with after_data(postern) as c:
        c.send(b"Subject: bad\r\n\r\nx\n.\n" + SMUGGLED + b".\r\n")
        check_5xx(c.reply())
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(good))
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    wait_until(postern.queue_empty, 20, "an empty queue")
    assert all_mail_files(postern.mailroot) == files
    assert b"smuggled" not in read_files(files)[0]


# -- STARTTLS injection -----------------------------------------------------

@pytest.mark.parametrize("listener", ["mx", "submission"])
def test_starttls_injection_noop_discarded(postern, listener):
    with SMTPConn(postern.ports[listener]) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nNOOP\r\nQUIT\r\n")
        r = c.reply()
        check(r, 220)
        # The injected NOOP and QUIT must get no plaintext reply...
        assert not c.buf, "plaintext after the 220: %r" % c.buf
        c.sock.settimeout(1)
        try:
            early = c.sock.recv(1, 0x02)  # MSG_PEEK: bytes before the handshake?
        except (BlockingIOError, OSError):
            early = b""
        c.sock.settimeout(15)
        assert early in (b"", b"\x16"), "plaintext after 220: %r" % early
        c.sock = client_tls_context().wrap_socket(c.sock, server_hostname=None)
        # ...and must not run after the handshake: the first reply is our
        # EHLO's, the connection is not closed by the injected QUIT.
        r = c.cmd("EHLO client.test.example")
        check(r, 250, "")
        assert r.lines[0].startswith("mx.test.example"), r
        check(c.cmd("NOOP"), 250, "2.0.0")


def test_starttls_injection_auth_discarded(postern):
    """Credentials injected before the handshake (by a man in the middle or
    a careless client) must not authenticate the TLS session."""
    token = base64.b64encode(b"\0user@test.example\0user-password")
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil.example\r\nAUTH PLAIN " + token + b"\r\n")
        check(c.reply(), 220)
        assert not c.buf, "plaintext after the 220: %r" % c.buf
        c.sock = client_tls_context().wrap_socket(c.sock, server_hostname=None)
        c.ehlo()
        check(c.cmd("MAIL FROM:<user@test.example>"), 530, "5.7.0")


def test_starttls_injection_transaction_discarded(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@other.example>\r\n"
               b"RCPT TO:<user@test.example>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
        check(c.reply(), 220)
        c.sock = client_tls_context().wrap_socket(c.sock, server_hostname=None)
        c.ehlo()
        check(c.cmd("RCPT TO:<user@test.example>"), 503, "5.5.1")
        check(c.cmd("QUIT"), 221, "2.0.0")
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_garbage_instead_of_handshake(postern):
    """A client that says STARTTLS and then talks plaintext gets nothing
    executed, and the server keeps serving others."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("STARTTLS"), 220)
        c.send(b"MAIL FROM:<evil@other.example>\r\nRCPT TO:<user@test.example>\r\n")
        assert c.is_closed(10), "server answered plaintext after STARTTLS: %r" % c.buf
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("NOOP"), 250, "2.0.0")
    assert postern.queue_empty()
