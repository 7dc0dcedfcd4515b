"""Scenario 08: a crashing child loses no acknowledged message.  SMTP
workers are killed with SIGKILL in the middle of DATA, the queue manager
in the middle of deliveries; the master restarts them, every message that
got a 250 is delivered exactly once, and nothing half-sent is."""

import os
import re
import signal
import threading
import time

from helpers import SMTPConn, ConnectionClosed, all_mail_files, maildir_files, check, dot_stuff, \
    make_message, queue_id_of, read_files, wait_for_files, wait_until

USER = "user@test.example"


def send_one(port, msg, rcpt=USER):
    with SMTPConn(port) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
        return queue_id_of(c.data(msg))


def message_ids(datas):
    out = []
    for d in datas:
        m = re.search(rb"\nMessage-ID: (<[^>]+>)", d)
        assert m, d[:400]
        out.append(m.group(1).decode())
    return out


def kill_children(postern, comm, expect):
    kids = postern.children(comm)
    assert len(kids) == expect, "expected %d %s processes, found %r (all children %r)" % (
        expect, comm, kids, postern.children())
    for pid, _ in kids:
        os.kill(pid, signal.SIGKILL)
    return {pid for pid, _ in kids}


def wait_restarted(postern, comm, old, expect):
    def fresh():
        kids = postern.children(comm)
        pids = {p for p, _ in kids}
        return len(pids) == expect and not (pids & old) and pids
    return wait_until(fresh, 20, "the master to restart %d %s process(es)" % (expect, comm))


def wait_all_children(postern):
    """The listeners accept as soon as the first worker runs; wait for the
    whole family (workers = 2 in this scenario's postern.conf)."""
    def complete():
        names = sorted(c for _, c in postern.children())
        return names == ["postern-qmgr", "postern-smtp", "postern-smtp"]
    try:
        wait_until(complete, 20, "2 postern-smtp and 1 postern-qmgr children")
    except AssertionError as e:
        raise AssertionError("%s; children now: %r" % (e, postern.children()))


def test_process_names(postern):
    wait_all_children(postern)
    kids = postern.children()
    names = sorted(c for _, c in kids)
    assert names == ["postern-qmgr", "postern-smtp", "postern-smtp"], kids
    with open("/proc/%d/comm" % postern.proc.pid) as f:
        assert f.read().strip() == "postern"


def test_kill_smtp_workers_mid_data(postern):
    wait_all_children(postern)
    port = postern.ports["mx"]
    acked = {}
    for i in range(10):
        msg = make_message(subject="acked %d" % i)
        acked[message_ids([msg])[0]] = send_one(port, msg)

    # Sessions stopped in the middle of a message, in DATA and in BDAT.
    half = []
    for i in range(4):
        c = SMTPConn(port)
        c.ehlo()
        check(c.cmd("MAIL FROM:<half@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % USER), 250, "2.1.5")
        msg = make_message(subject="half %d" % i, body="half-sent body\r\n" * 200)
        if i % 2 == 0:
            check(c.cmd("DATA"), 354)
            c.send(dot_stuff(msg)[: len(msg) // 2])
        else:
            c.send(b"BDAT %d LAST\r\n" % len(msg) + msg[: len(msg) // 2])
        half.append(c)
    # A finished message whose reply the client never read: it may or may
    # not have been acknowledged, so it may be delivered, but at most once.
    racer = SMTPConn(port)
    racer.ehlo()
    check(racer.cmd("MAIL FROM:<racer@other.example>"), 250, "2.1.0")
    check(racer.cmd("RCPT TO:<%s>" % USER), 250, "2.1.5")
    check(racer.cmd("DATA"), 354)
    racer_msg = make_message(subject="racer")
    time.sleep(0.2)  # let the workers read what was sent so far

    racer.send(dot_stuff(racer_msg) + b".\r\n")
    old = kill_children(postern, "postern-smtp", 2)
    for c in half:
        assert c.is_closed(10), "half-sent session still open after its worker was killed"
        c.close()
    racer_acked = False
    try:
        r = racer.reply()
        racer_acked = r.code == 250
    except (ConnectionClosed, OSError):
        pass
    racer.close()

    wait_restarted(postern, "postern-smtp", old, 2)
    # The master stays, the queue manager is untouched.
    assert postern.proc.poll() is None
    assert len(postern.children("postern-qmgr")) == 1

    # New connections are served.
    after = make_message(subject="after restart")
    acked[message_ids([after])[0]] = send_one(port, after)

    files = wait_for_files(postern.maildir(USER), len(acked) + (1 if racer_acked else 0))
    wait_until(postern.queue_empty, 30, "an empty queue")
    files = all_mail_files(postern.mailroot)
    datas = read_files(files)
    ids = message_ids(datas)
    for mid in acked:
        assert ids.count(mid) == 1, "acknowledged %s delivered %d times" % (mid, ids.count(mid))
    racer_id = message_ids([racer_msg])[0]
    assert ids.count(racer_id) <= 1
    if racer_acked:
        assert ids.count(racer_id) == 1
    for d in datas:
        assert b"half-sent body" not in d, "a half-sent message was delivered"
        assert b"Return-Path: <half@other.example>" not in d
    assert len(ids) == len(acked) + ids.count(racer_id), sorted(ids)


def test_kill_qmgr_during_delivery(postern):
    wait_all_children(postern)
    port = postern.ports["mx"]
    acked = []
    lock = threading.Lock()
    errors = []

    def sender(k):
        try:
            with SMTPConn(port) as c:
                c.ehlo()
                for i in range(25):
                    msg = make_message(subject="burst %d-%d" % (k, i))
                    check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
                    check(c.cmd("RCPT TO:<%s>" % USER), 250, "2.1.5")
                    check(c.cmd("RCPT TO:<alice@test.example>"), 250, "2.1.5")
                    queue_id_of(c.data(msg))
                    with lock:
                        acked.append(message_ids([msg])[0])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    # Kill the queue manager as soon as it has started delivering.
    wait_for_files(postern.maildir(USER), 1, timeout=30)
    old = kill_children(postern, "postern-qmgr", 1)
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(acked) == 100
    wait_restarted(postern, "postern-qmgr", old, 1)
    # Once more, while the restarted one catches up.
    time.sleep(0.1)
    old = kill_children(postern, "postern-qmgr", 1)
    wait_restarted(postern, "postern-qmgr", old, 1)

    for rcpt in (USER, "alice@test.example"):
        wait_for_files(postern.maildir(rcpt), 100, timeout=60)
    wait_until(postern.queue_empty, 60, "an empty queue")
    # A delivery killed half-way may leave a file in tmp/: the Maildir
    # convention makes that garbage, never a message, so new/ and cur/
    # are what count.
    for rcpt in (USER, "alice@test.example"):
        ids = message_ids(read_files(maildir_files(postern.maildir(rcpt))))
        dup = sorted({m for m in ids if ids.count(m) > 1})
        assert not dup, "%s: delivered more than once: %s" % (rcpt, dup)
        assert sorted(ids) == sorted(acked), "%s: %d delivered, %d acknowledged" % (
            rcpt, len(ids), len(acked))
    assert postern.proc.poll() is None


def test_acked_mail_survives_server_restart(postern):
    """Messages acknowledged just before a SIGTERM are delivered after the
    next start, each exactly once."""
    port = postern.ports["mx"]
    ids = []
    for i in range(20):
        msg = make_message(subject="before restart %d" % i)
        send_one(port, msg)
        ids.append(message_ids([msg])[0])
    assert postern.stop() == 0
    assert not postern.stray
    postern.start()
    wait_for_files(postern.maildir(USER), 20, timeout=30)
    wait_until(postern.queue_empty, 30, "an empty queue")
    got = message_ids(read_files(all_mail_files(postern.mailroot)))
    assert sorted(got) == sorted(ids), (got, ids)
