"""Connection limits are counted across every worker process (the kernel
spreads connections over the workers, so a per-worker count would let
workers x limit through), and are freed when sessions end."""
import os
import pwd
import socket
import time

from helpers import SMTPConn, check, wait_for_files, wait_until

ACCOUNTS = [("user@test.example", "user-password", [])]


def connect_from(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return s, buf


def test_per_ip_limit_across_workers(postern):
    port = postern.ports["mx"]
    held, refused = [], []
    for _ in range(10):
        s, banner = connect_from(port, "127.0.0.2")
        if banner.startswith(b"220 "):
            held.append(s)
        else:
            assert banner.startswith(b"421 4.7.0 "), banner
            refused.append(s)
    # Ten connections spread over two workers: exactly three are served.
    assert len(held) == 3, (len(held), len(refused))
    # Another address is still welcome.
    other, banner = connect_from(port, "127.0.0.3")
    assert banner.startswith(b"220 "), banner
    for s in held + refused + [other]:
        s.close()


def test_total_limit_and_release(postern):
    port = postern.ports["mx"]
    held = []
    for i in range(6):
        s, banner = connect_from(port, "127.0.1.%d" % (i + 1))
        assert banner.startswith(b"220 "), (i, banner)
        held.append(s)
    s, banner = connect_from(port, "127.0.2.1")
    assert banner.startswith(b"421 4.7.0 "), banner
    s.close()
    for s in held:
        s.sendall(b"QUIT\r\n")
        s.recv(4096)
        s.close()
    # Counts are released as sessions end: the server is usable again.
    deadline = time.monotonic() + 10
    while True:
        s, banner = connect_from(port, "127.0.2.1")
        s.close()
        if banner.startswith(b"220 ") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert banner.startswith(b"220 "), banner


def test_mail_flows_with_dropped_privileges(postern):
    """The children run as the configured user, and still deliver."""
    user = postern.drop_user
    if user:
        uid = pwd.getpwnam(user).pw_uid
        for comm in ("postern-smtp", "postern-qmgr"):
            # The listeners accept before the children have started.
            wait_until(lambda: postern.children(comm), 20, "a %s process" % comm)
            pids = [p for p, _ in postern.children(comm)]
            for p in pids:
                assert os.stat("/proc/%d" % p).st_uid == uid, (comm, p)
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<a@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
        c.data(b"Subject: dropped\r\n\r\nhello\r\n")
    wait_for_files(postern.maildir("user@test.example"), 1)
