"""Messages of 10 MiB and more go through DATA and BDAT byte for byte;
SMTPUTF8 addresses work end to end; serve --daemon detaches and serves."""
import os
import random
import signal
import subprocess
import time

from helpers import SMTPConn, assert_delivered_exactly, check, wait_for_files, wait_until

ACCOUNTS = [("user@test.example", "user-password", []),
            ("jöran@test.example", "jöran-password", [])]


def big_message(size, seed):
    rnd = random.Random(seed)
    head = b"From: a@other.example\r\nTo: user@test.example\r\nSubject: big %d\r\n\r\n" % seed
    lines = []
    total = len(head)
    while total < size:
        # Lines of every length up to 998, some starting with a dot.
        n = rnd.randint(0, 990)
        line = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 .") for _ in range(n))
        lines.append(line + b"\r\n")
        total += n + 2
    return head + b"".join(lines)


def test_12mib_via_data(postern):
    msg = big_message(12 * 1024 * 1024, 1)
    with SMTPConn(postern.ports["mx"], timeout=120) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<a@other.example> SIZE=%d" % len(msg)), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        check(c.data(msg), 250, "2.0.0")
    files = wait_for_files(postern.maildir("user@test.example"), 1, timeout=60)
    assert_delivered_exactly(open(files[0], "rb").read(), msg, "a@other.example",
                             "user@test.example")


def test_12mib_via_bdat_chunks(postern):
    msg = big_message(12 * 1024 * 1024 + 12345, 2)
    with SMTPConn(postern.ports["mx"], timeout=120) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<a@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        chunk = 1024 * 1024
        for off in range(0, len(msg), chunk):
            part = msg[off:off + chunk]
            last = off + chunk >= len(msg)
            c.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b"") + part)
            r = c.reply()
            check(r, 250, "2.0.0")
    files = wait_for_files(postern.maildir("user@test.example"), 1, timeout=60)
    assert_delivered_exactly(open(files[-1], "rb").read(), msg, "a@other.example",
                             "user@test.example")


def test_smtputf8_end_to_end(postern):
    msg = "From: jörg@other.example\r\nTo: jöran@test.example\r\nSubject: grüße\r\n\r\nhallo\r\n"
    msg = msg.encode("utf-8")
    with SMTPConn(postern.ports["mx"]) as c:
        r = c.ehlo()
        assert "SMTPUTF8" in c.extensions(r)
        # Without the SMTPUTF8 parameter a UTF-8 address is refused.
        check(c.cmd("MAIL FROM:<jörg@other.example>"), 553, "5.6.7")
        check(c.cmd("MAIL FROM:<jörg@other.example> SMTPUTF8"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<jöran@test.example>"), 250, "2.1.5")
        check(c.data(msg), 250, "2.0.0")
    files = wait_for_files(postern.maildir("jöran@test.example"), 1)
    data = open(files[0], "rb").read()
    assert b"Return-Path: <j\xc3\xb6rg@other.example>" in data
    assert b"with UTF8SMTP id" in data
    assert data.endswith(msg)


def test_daemon_mode(postern_stopped):
    p = postern_stopped
    out = subprocess.run([p.bin, "-c", p.conf, "serve", "--daemon"], cwd=p.tmp,
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out
    # The command returns at once; the server keeps running on its own.
    master = None
    deadline = time.monotonic() + 20
    while master is None and time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                comm = open("/proc/%s/comm" % pid).read().strip()
            except OSError:
                continue
            if comm == "postern" and p.conf.encode() in cmd:
                master = int(pid)
        time.sleep(0.1)
    assert master, "no daemon master found"
    try:
        from conftest import wait_port
        wait_port(p.ports["mx"])
        with SMTPConn(p.ports["mx"]) as c:
            c.ehlo()
            check(c.cmd("MAIL FROM:<a@other.example>"), 250, "2.1.0")
            check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
            check(c.data(b"Subject: daemon\r\n\r\nhi\r\n"), 250, "2.0.0")
        wait_for_files(p.maildir("user@test.example"), 1)
    finally:
        os.kill(master, signal.SIGTERM)
        wait_until(lambda: not os.path.exists("/proc/%d" % master), 30, "the daemon to exit")
