"""Scenario 04: each limit of limits.* reached gives one precise reply
(max_message_size 10240, max_recipients 5, max_errors 5,
max_command_length 512, max_line_length 1000, command_timeout 3,
auth_max_failures 3), and nothing half-accepted is delivered."""

import socket
import time

import pytest

from helpers import SMTPConn, all_mail_files, assert_delivered_exactly, check, check_5xx, \
    dot_stuff, make_message, queue_id_of, read_files, wait_for_files

ACCOUNTS = [("r%d@test.example" % i, "pw%d" % i, []) for i in range(1, 8)] + [
    ("user@test.example", "user-password", [])]

LIMIT = 10240


def start_mail(postern, rcpts=("user@test.example",)):
    c = SMTPConn(postern.ports["mx"])
    c.ehlo()
    check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
    for r in rcpts:
        check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
    return c


def test_size_advertised(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        ext = c.extensions(c.ehlo())
        assert ext.get("SIZE") == "SIZE %d" % LIMIT, ext


@pytest.mark.parametrize("size,code,ecode", [
    (LIMIT + 1, 552, "5.3.4"),
    (10 ** 12, 552, "5.3.4"),
    (LIMIT, 250, "2.1.0"),
    (1, 250, "2.1.0"),
])
def test_size_at_mail(postern, size, code, ecode):
    """RFC 1870 6.1: a declared size above the limit is refused at MAIL."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example> SIZE=%d" % size), code, ecode)


def test_oversize_data_refused_and_session_continues(postern):
    big = make_message(subject="too big", body=("z" * 78 + "\r\n") * (LIMIT // 80 + 10))
    assert len(big) > LIMIT
    small = make_message(subject="small")
    with start_mail(postern) as c:
        check(c.cmd("DATA"), 354)
        c.send(dot_stuff(big) + b".\r\n")
        check(c.reply(), 552, "5.3.4")
        # The session goes on: a new transaction succeeds.
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(small))
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    assert len(files) == 1
    assert_delivered_exactly(read_files(files)[0], small, "sender@other.example",
                             "user@test.example")


def test_oversize_with_lying_size_param(postern):
    big = make_message(subject="lied", body=("q" * 98 + "\r\n") * (LIMIT // 100 + 5))
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example> SIZE=100"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(dot_stuff(big) + b".\r\n")
        check(c.reply(), 552, "5.3.4")
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_oversize_bdat(postern):
    chunk = b"x" * 6000
    with start_mail(postern) as c:
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        check(c.reply(), 250, "2.0.0")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        check(c.reply(), 552, "5.3.4")
        check(c.cmd("RSET"), 250, "2.0.0")
        check(c.cmd("NOOP"), 250, "2.0.0")
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_too_many_recipients(postern):
    """RFC 5321 4.5.3.1.8: 452 for recipients over the limit; the message
    goes to the ones accepted."""
    msg = make_message(subject="many rcpts")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        for i in range(1, 6):
            check(c.cmd("RCPT TO:<r%d@test.example>" % i), 250, "2.1.5")
        check(c.cmd("RCPT TO:<r6@test.example>"), 452, "4.5.3")
        check(c.cmd("RCPT TO:<r7@test.example>"), 452, "4.5.3")
        queue_id_of(c.data(msg))
    for i in range(1, 6):
        files = wait_for_files(postern.maildir("r%d@test.example" % i), 1)
        assert len(files) == 1
    assert not any("/r6/" in f or "/r7/" in f for f in all_mail_files(postern.mailroot))


def test_command_line_too_long(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("NOOP " + "x" * 600), 500, "5.5.2")
        # The rest of the long line is not taken as a command.
        check(c.cmd("NOOP"), 250, "2.0.0")
        check(c.cmd("MAIL FROM:<%s@other.example>" % ("a" * 600)), 500, "5.5.2")
        check(c.cmd("NOOP"), 250, "2.0.0")


def test_command_line_longer_than_buffer(postern):
    """A line far over the limit, without CRLF for a long time, is refused
    without the server waiting for its end or growing without bound."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.send(b"NOOP " + b"x" * 200000)
        check(c.reply(), 500, "5.5.2")


def test_data_line_too_long(postern):
    """RFC 5321 4.5.3.1.6: 1000 octets per line with CRLF; the limit is
    max_line_length, refused after the end of data."""
    ok_line = "a" * 998
    bad_line = "b" * 999
    with start_mail(postern) as c:
        check(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(body=ok_line + "\r\n" + bad_line + "\r\n")) + b".\r\n")
        check_5xx(c.reply())
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_too_many_errors(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        for i in range(5):
            check(c.cmd("BOGUS%d" % i), 500, "5.5.2")
        # The 421 comes right after the 5th error, or at the latest in
        # place of the reply to the next command.
        c.sock.settimeout(2)
        try:
            r = c.reply()
        except socket.timeout:
            c.sock.settimeout(10)
            r = c.cmd("NOOP")
        check(r, 421, "4.7.0")
        assert c.is_closed(), "connection still open after 421"


def test_errors_count_rcpt_refusals(postern):
    """Harvesting addresses counts as errors too (a dictionary attack)."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        for i in range(5):
            check(c.cmd("RCPT TO:<guess%d@test.example>" % i), 550, "5.1.1")
        c.sock.settimeout(2)
        try:
            r = c.reply()
        except socket.timeout:
            c.sock.settimeout(10)
            r = c.cmd("RCPT TO:<guess9@test.example>")
        check(r, 421, "4.7.0")
        assert c.is_closed()


def test_command_timeout(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        t0 = time.monotonic()
        c.sock.settimeout(15)
        r = c.reply()
        elapsed = time.monotonic() - t0
        check(r, 421, "4.4.2")
        assert 2.0 <= elapsed <= 10.0, elapsed
        assert c.is_closed()


def test_auth_failures_per_ip(postern):
    """limits.auth_max_failures = 3: after three failures from one address
    even the right password is refused, with a temporary error.  The count
    is per client address for the whole server, whichever worker process
    takes each connection, so several later connections are tried."""
    for i in range(3):
        with SMTPConn(postern.ports["submissions"], implicit_tls=True) as c:
            c.ehlo()
            check(c.auth_plain("user@test.example", "wrong%d" % i), 535, "5.7.8")
    for i in range(6):
        with SMTPConn(postern.ports["submissions"], implicit_tls=True) as c:
            c.ehlo()
            r = c.auth_plain("user@test.example", "user-password")
            check(r, 454, "4.7.0")
