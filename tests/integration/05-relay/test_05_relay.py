"""Scenario 05: the MX listener relays for nobody.  Classic open-relay
probes (the patterns of the old relay testers: %-hack, bang paths, source
routes, quoted local parts, address literals, look-alike domains) are
refused at RCPT with a 5xx, and nothing is queued or delivered."""

import pytest

from helpers import SMTPConn, all_mail_files, check, check_5xx, make_message, queue_id_of, \
    read_files, wait_for_files, wait_until

RELAY_PROBES = [
    "<user@other.example>",
    "<user@OTHER.EXAMPLE>",
    "<user%other.example@test.example>",
    "<user%other.example>",
    "<\"user@other.example\"@test.example>",
    "<\"user%other.example\"@test.example>",
    "<\"user@other.example\">",
    "<\"user\\@other.example\"@test.example>",
    "<other.example!user@test.example>",
    "<other.example!user>",
    "<@test.example:user@other.example>",
    "<@other.example:user@test.example>",
    "<@test.example,@mx.test.example:user@other.example>",
    "<user@other.example@test.example>",
    "<user@test.example@other.example>",
    "<user@[127.0.0.1]>",
    "<user@[192.0.2.1]>",
    "<user@[IPv6:::1]>",
    "<user@127.0.0.1>",
    "<user@test.example.other.example>",
    "<user@other.example.>",
    "<user@mx.test.example>",
    "<user@localhost>",
    "<postmaster@other.example>",
    "<abuse@other.example>",
    "<postmaster%other.example@test.example>",
    "user@other.example",
    "<user@other.example> NOTIFY=NEVER",
    "<user@other.example@>",
    "<user@sub.test.example>",
]


def probe_session(postern, sender="sender@other.example"):
    c = SMTPConn(postern.ports["mx"])
    c.ehlo()
    check(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")
    return c


@pytest.mark.parametrize("rcpt", RELAY_PROBES)
def test_relay_probe_refused(postern, rcpt):
    with probe_session(postern) as c:
        check_5xx(c.cmd("RCPT TO:" + rcpt))
        # With no recipient accepted there is no transaction to finish.
        r = c.cmd("DATA")
        assert r.code in (503, 554), r
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_relay_refused_with_local_sender(postern):
    """A forged local sender does not open the relay either."""
    with probe_session(postern, "user@test.example") as c:
        check(c.cmd("RCPT TO:<friend@other.example>"), 554, "5.7.1")
    with probe_session(postern, "postmaster@test.example") as c:
        check(c.cmd("RCPT TO:<friend@other.example>"), 554, "5.7.1")
    with probe_session(postern, "") as c:
        check(c.cmd("RCPT TO:<friend@other.example>"), 554, "5.7.1")


def test_relay_refused_on_submission_without_auth(postern):
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        check(c.cmd("MAIL FROM:<user@test.example>"), 530, "5.7.0")
        check_5xx(c.cmd("RCPT TO:<friend@other.example>"))


def test_relay_probes_mixed_with_a_local_recipient(postern):
    """All the probes in one transaction with one good recipient (under the
    error limit, in two sessions): only the local mailbox receives the
    message, nothing stays queued for a remote host."""
    msg = make_message(subject="mixed")
    probes = [p for p in RELAY_PROBES if not p.startswith("user@")]
    sent = 0
    for i in range(0, len(probes), 7):
        with probe_session(postern) as c:
            for rcpt in probes[i:i + 7]:
                check_5xx(c.cmd("RCPT TO:" + rcpt))
            check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
            queue_id_of(c.data(msg))
            sent += 1
    files = wait_for_files(postern.maildir("user@test.example"), sent)
    wait_until(postern.queue_empty, 20, "an empty queue")
    assert sorted(all_mail_files(postern.mailroot)) == sorted(files), \
        all_mail_files(postern.mailroot)
    for data in read_files(files):
        assert b"\nDelivered-To: user@test.example" in data.replace(b"\r\n", b"\n")
