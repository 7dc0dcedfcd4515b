"""Scenario 10: Postfix's smtp-source as a real peer: 1,000 messages over
5 parallel sessions, each delivered exactly once."""

import os
import re
import subprocess

from helpers import all_mail_files, read_files, split_delivered, wait_for_files, wait_until, \
    received_fields

SMTP_SOURCE = "/usr/sbin/smtp-source"
N = 1000


def test_smtp_source_1000_messages(postern):
    assert os.access(SMTP_SOURCE, os.X_OK), "smtp-source not installed (package postfix)"
    p = subprocess.run([SMTP_SOURCE, "-c", "-s", "5", "-m", str(N), "-f", "a@other.example",
                        "-t", "user@test.example", "127.0.0.1:%d" % postern.ports["mx"]],
                       capture_output=True, timeout=300)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, "smtp-source exit %d: %s %s" % (
        p.returncode, p.stdout.decode(errors="replace")[-2000:], err[-2000:])
    assert "fatal" not in err and "warning" not in err, err[-2000:]

    maildir = postern.maildir("user@test.example")
    wait_for_files(maildir, N, timeout=120)
    wait_until(postern.queue_empty, 60, "an empty queue")
    files = all_mail_files(postern.mailroot)
    assert len(files) == N, "%d files for %d messages" % (len(files), N)

    # Each acknowledged queue id (from the log) is in exactly one file.
    logged = re.findall(r"event=received .*?queue_id=(\S+)", postern.log())
    assert len(logged) == N and len(set(logged)) == N, (len(logged), len(set(logged)))
    stored = []
    for data in read_files(files):
        _eol, rp, dt, received, _rest = split_delivered(data)
        assert rp == "<a@other.example>" and dt == "user@test.example", (rp, dt)
        stored.append(received_fields(received)["id"])
    assert sorted(stored) == sorted(logged)
