"""Scenario 03: PIPELINING (RFC 2920) with every command of a transaction
in one write, and CHUNKING (RFC 3030) with BDAT in one or several chunks,
stored byte for byte (BDAT has no dot-stuffing)."""

import pytest

from helpers import ConnectionClosed, SMTPConn, all_mail_files, assert_delivered_exactly, check, dot_stuff, \
    make_message, queue_id_of, read_files, received_fields, wait_for_files

USER, ALICE = "user@test.example", "alice@test.example"


def test_pipelined_transaction(postern):
    msg = make_message(subject="pipelined")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.send("MAIL FROM:<sender@other.example>\r\n"
               "RCPT TO:<user@test.example>\r\n"
               "RCPT TO:<nosuch@test.example>\r\n"
               "RCPT TO:<alice@test.example>\r\n"
               "RCPT TO:<friend@other.example>\r\n"
               "DATA\r\n")
        mail, r1, r2, r3, r4, data = c.replies(6)
        check(mail, 250, "2.1.0")
        check(r1, 250, "2.1.5")
        check(r2, 550, "5.1.1")
        check(r3, 250, "2.1.5")
        check(r4, 554, "5.7.1")
        check(data, 354)
        c.send(dot_stuff(msg) + b".\r\nQUIT\r\n")
        queue_id_of(c.reply())
        check(c.reply(), 221, "2.0.0")
        assert c.is_closed()
    for rcpt in (USER, ALICE):
        files = wait_for_files(postern.maildir(rcpt), 1)
        assert len(files) == 1
        assert_delivered_exactly(read_files(files)[0], msg, "sender@other.example", rcpt)
    assert not [f for f in all_mail_files(postern.mailroot)
                if "/nosuch/" in f or "other.example" in f]


def test_pipelined_two_transactions_with_rset(postern):
    m1 = make_message(subject="one")
    m2 = make_message(subject="two")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.send("MAIL FROM:<a@other.example>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n")
        check(c.reply(), 250, "2.1.0")
        check(c.reply(), 250, "2.1.5")
        check(c.reply(), 354)
        c.send(dot_stuff(m1) + b".\r\nRSET\r\nMAIL FROM:<b@other.example>\r\n"
               b"RCPT TO:<user@test.example>\r\nDATA\r\n")
        q1 = queue_id_of(c.reply())
        check(c.reply(), 250, "2.0.0")
        check(c.reply(), 250, "2.1.0")
        check(c.reply(), 250, "2.1.5")
        check(c.reply(), 354)
        c.send(dot_stuff(m2) + b".\r\n")
        q2 = queue_id_of(c.reply())
        assert q1 != q2
    files = read_files(wait_for_files(postern.maildir(USER), 2))
    assert len(files) == 2
    senders = sorted(f.split(b"\n", 1)[0].strip() for f in files)
    assert senders == [b"Return-Path: <a@other.example>", b"Return-Path: <b@other.example>"]


def bdat_send(c, chunks, pipelined=False):
    """Sends chunks as BDAT commands, the last one with LAST; returns the
    replies."""
    wire = []
    for i, chunk in enumerate(chunks):
        last = " LAST" if i == len(chunks) - 1 else ""
        wire.append(b"BDAT %d%s\r\n" % (len(chunk), last.encode()) + chunk)
    if pipelined:
        c.send(b"".join(wire))
        return c.replies(len(chunks))
    out = []
    for w in wire:
        c.send(w)
        out.append(c.reply())
    return out


# The body has what DATA would treat specially: a lone dot line, a
# "CRLF.CRLF" in the middle and leading dots; BDAT stores them as they are.
BDAT_BODY = ("first line\r\n.\r\n..double\r\n.single\r\n\r\n.\r\nafter the dot\r\n"
             + "y" * 900 + "\r\nend\r\n")


@pytest.mark.parametrize("split", ["one", "three", "bytes", "crlf-split", "empty-last"])
@pytest.mark.parametrize("pipelined", [False, True], ids=["lockstep", "pipelined"])
def test_bdat_byte_exact(postern, split, pipelined):
    msg = make_message(subject="bdat " + split, body=BDAT_BODY)
    if split == "one":
        chunks = [msg]
    elif split == "three":
        n = len(msg) // 3
        chunks = [msg[:n], msg[n:2 * n], msg[2 * n:]]
    elif split == "bytes":
        chunks = [msg[:1], msg[1:2], msg[2:-1], msg[-1:]]
    elif split == "crlf-split":
        i = msg.index(b"\r\n.\r\n") + 1  # between CR and LF
        chunks = [msg[:i], msg[i:]]
    else:
        chunks = [msg, b""]
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        replies = bdat_send(c, chunks, pipelined)
        for r, chunk in zip(replies[:-1], chunks):
            check(r, 250, "2.0.0")
        qid = queue_id_of(replies[-1])
        check(c.cmd("QUIT"), 221, "2.0.0")
    files = wait_for_files(postern.maildir(USER), 1)
    assert len(files) == 1
    received = assert_delivered_exactly(read_files(files)[0], msg, "sender@other.example", USER)
    assert received_fields(received)["id"] == qid


def test_bdat_whole_transaction_pipelined(postern):
    msg = make_message(subject="bdat all in one write", body=BDAT_BODY)
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<sender@other.example>\r\nRCPT TO:<user@test.example>\r\n"
               b"BDAT %d LAST\r\n" % len(msg) + msg + b"QUIT\r\n")
        check(c.reply(), 250, "2.1.0")
        check(c.reply(), 250, "2.1.5")
        queue_id_of(c.reply())
        check(c.reply(), 221, "2.0.0")
    files = wait_for_files(postern.maildir(USER), 1)
    assert_delivered_exactly(read_files(files)[0], msg, "sender@other.example", USER)


def test_bdat_then_data_refused(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        c.send(b"BDAT 5\r\nHello")
        check(c.reply(), 250, "2.0.0")
        check(c.cmd("DATA"), 503, "5.5.1")
        check(c.cmd("RSET"), 250, "2.0.0")
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_bdat_without_rcpt_consumes_chunk(postern):
    """A BDAT refused for its place in the dialog: the bytes of its chunk
    must never be taken as commands.  The server may skip the chunk and go
    on, or close the connection (RFC 3030 2 leaves the state after a 503
    to BDAT indeterminate)."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        chunk = b"RCPT TO:<user@test.example>\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert r.code in (503, 554), r
        try:
            c.send("NOOP\r\n")
            r = c.reply()
        except (ConnectionClosed, OSError):
            r = None  # closed: nothing of the chunk was executed
        if r is not None:
            check(r, 250, "2.0.0")
    assert all_mail_files(postern.mailroot) == []
