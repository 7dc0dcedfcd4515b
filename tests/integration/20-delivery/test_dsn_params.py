"""Scenario 20: the acceptance side of DSNs (RFC 3461).  Every listener
advertises DSN; RET, ENVID, NOTIFY and ORCPT are accepted and stored with
the message in queue.db (read right after the 250; mail for lmtp.example
stays deferred, its LMTP server being down); malformed, duplicated and
unknown parameters get 501 / 555 5.5.4.  Each message records whether its
sender is known to be genuine (sender_verified, also on the event=received
log line): an authenticated submission, an SPF pass for the MAIL FROM
domain, a DKIM pass aligned with it, or local mail (a trusted client
sending from one of our domains) say yes; an unchecked or failed sender,
an unaligned signature and the null sender say no.

The configuration is written by this module (CONF, fixture postern_conf),
as the folder's other scenario does."""
import os
import re
import shutil
import socket
import sqlite3
import subprocess

import dkim
import pytest

from conftest import postern_bin, short_tmpdir
from helpers import SMTPConn, check, queue_id_of
from nsd import running_nsd

USER, PASS = "user@test.example", "user-password"
ACCOUNTS = [(USER, PASS, []), ("bob@lmtp.example", "bob-password", [])]
RCPT = "bob@lmtp.example"  # never delivered: its LMTP server is down

CONF = """\
# Scenario 20, DSN parameters: what MAIL and RCPT asked for stored with
# the message, and whether its sender is known to be genuine.  127.0.0.1 (the harness)
# is trusted; MX clients from 127.0.0.10 are checked against nsd's zones.
# lmtp.example points at a port nobody listens on, so that its messages
# stay in the queue, deferred, for the test to read.
hostname = "mx.test.example";
state_dir = "@TMP@/var";
user = "";
workers = 2;

listeners = (
	{ name = "mx"; role = "mx"; address = "127.0.0.1:@MX@"; },
	{ name = "submission"; role = "submission"; address = "127.0.0.1:@SUB@"; },
	{ name = "submissions"; role = "submissions"; address = "127.0.0.1:@SUBS@"; }
);

domains = (
	{ name = "test.example"; delivery = "maildir"; },
	{ name = "lmtp.example"; delivery = "lmtp"; lmtp = "127.0.0.1:@LMTP@"; }
);

postmaster = "admin@test.example";
abuse = "admin@test.example";

delivery = { maildir = "@TMP@/mail/%d/%u"; retry_min = 3600; retry_max = 7200; };

dns = { servers = "@DNS@"; timeout_ms = 300; tries = 2; };
# The null-sender case below sends to an ordinary user, untagged.
batv = { check = 0; };

policy = { trusted_networks = "127.0.0.1/32"; };

# Every malformed parameter of the test gets its 5xx in one session.
limits = { auth_failure_delay_ms = 0; max_errors = 100; };

tls = { cert = ""; key = ""; };
"""

NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
mail.good-sender IN A 127.0.0.10
good-sender IN TXT "v=spf1 ip4:127.0.0.10 -all"
sel._domainkey.dkim-sender IN TXT {dkim_key}
sel._domainkey.other-signer IN TXT {other_key}
"""

REV_ZONE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
10 IN PTR mail.good-sender.net.
"""


def zone_txt(record):
    return " ".join('"%s"' % record[i:i + 255] for i in range(0, len(record), 255))


def keygen(keys, domain):
    subprocess.run([postern_bin(), "dkim", "keygen", domain, "sel", "--dir", keys], check=True,
                   capture_output=True)
    with open(os.path.join(keys, "sel.%s.txt" % domain)) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def keys():
    d = short_tmpdir("postern-keys-")
    records = {"dkim": keygen(d, "dkim-sender.net"), "other": keygen(d, "other-signer.net")}
    yield d, records
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def nsd(keys):
    _, rec = keys
    zones = [("net", NET_ZONE.format(dkim_key=zone_txt(rec["dkim"]),
                                     other_key=zone_txt(rec["other"]))),
             ("0.0.127.in-addr.arpa", REV_ZONE)]
    with running_nsd(zones) as port:
        yield "127.0.0.1:%d" % port


@pytest.fixture
def postern_conf(nsd, workdir):
    text = CONF.replace("@DNS@", nsd)
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def mx_conn(postern, src="127.0.0.1", helo="mail.good-sender.net"):
    """An MX session from src: 127.0.0.1 is trusted, 127.0.0.10 checked."""
    c = SMTPConn.__new__(SMTPConn)
    c.sock = socket.create_connection(("127.0.0.1", postern.ports["mx"]), timeout=30,
                                      source_address=(src, 0))
    c.buf = b""
    c.banner = c.reply()
    check(c.banner, 220)
    c.ehlo(helo)
    return c


def submission(postern):
    c = SMTPConn(postern.ports["submission"])
    c.ehlo()
    c.starttls()
    c.ehlo()
    check(c.auth_plain(USER, PASS), 235, "2.7.0")
    return c


def message(frm, subject="dsn", body=b"Hello.\r\n"):
    return (b"From: " + frm.encode() + b"\r\nTo: " + RCPT.encode() + b"\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n"
            b"Message-ID: <" + subject.encode() + b"@example.net>\r\n\r\n" + body)


def signed(msg, keys, domain):
    with open(os.path.join(keys, "sel.%s.key" % domain), "rb") as f:
        key = f.read()
    sig = dkim.sign(msg, b"sel", domain.encode(), key, canonicalize=(b"relaxed", b"simple"),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + msg


def send(c, mail, rcpts, msg):
    """MAIL, the RCPTs, DATA; returns the queue id."""
    check(c.cmd(mail), 250, "2.1.0")
    for r in rcpts:
        check(c.cmd(r), 250, "2.1.5")
    return queue_id_of(c.data(msg))


def rows(postern, sql, *args):
    db = sqlite3.connect(os.path.join(postern.tmp, "var", "queue", "queue.db"), timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def message_row(postern, qid):
    r = rows(postern, "SELECT envid, ret, sender_verified, eightbit, smtputf8, held, is_dsn "
                      "FROM messages WHERE id = ?", qid)
    assert len(r) == 1, "message %s not in the queue: %r" % (qid, r)
    return r[0]


def rcpt_rows(postern, qid):
    return rows(postern, "SELECT addr, notify, dsn_orcpt, delay_warned FROM recipients "
                         "WHERE msg_id = ? ORDER BY rcpt_index", qid)


def logged_verified(postern, qid):
    m = re.search(r"event=received .*queue_id=%s .*sender_verified=(\d)" % qid, postern.log())
    assert m, "no event=received line for %s" % qid
    return int(m.group(1))


def test_every_listener_advertises_dsn(postern):
    with mx_conn(postern) as c:
        assert "DSN" in c.extensions(c.ehlo())
    with SMTPConn(postern.ports["submission"]) as c:
        assert "DSN" in c.extensions(c.ehlo())
        c.starttls()
        assert "DSN" in c.extensions(c.ehlo())
    with SMTPConn(postern.ports["submissions"], implicit_tls=True) as c:
        assert "DSN" in c.extensions(c.ehlo())


def test_dsn_parameters_stored(postern):
    with mx_conn(postern) as c:
        qid = send(c, "MAIL FROM:<alice@test.example> RET=HDRS ENVID=QQ+2B314159 BODY=8BITMIME",
                   ["RCPT TO:<%s> NOTIFY=success,DELAY ORCPT=rfc822;Bob+40LMTP.example" % RCPT,
                    "RCPT TO:<postmaster@lmtp.example> NOTIFY=NEVER"],
                   message("alice@test.example", "stored", "caf\u00e9\r\n".encode()))
        # RFC 6533: a UTF-8 ORCPT under SMTPUTF8, as is or escaped.
        qid_utf8 = send(c, "MAIL FROM:<j\u00f6rg@test.example> SMTPUTF8 RET=FULL",
                        ["RCPT TO:<%s> ORCPT=utf-8;j\u00f6rg@lmtp.example" % RCPT,
                         "RCPT TO:<%s> ORCPT=utf-8;J\\x{F6}RG@lmtp.example NOTIFY=FAILURE" % RCPT],
                        message("j\u00f6rg@test.example", "utf8"))
        qid_plain = send(c, "MAIL FROM:<alice@test.example>", ["RCPT TO:<%s>" % RCPT],
                         message("alice@test.example", "plain"))
    assert message_row(postern, qid) == ("QQ+314159", "HDRS", 1, 1, 0, 0, 0)
    assert rcpt_rows(postern, qid) == [
        (RCPT, "SUCCESS,DELAY", "rfc822;Bob@LMTP.example", 0),
        ("admin@test.example", "NEVER", None, 0)]
    assert message_row(postern, qid_utf8) == (None, "FULL", 1, 0, 1, 0, 0)
    assert rcpt_rows(postern, qid_utf8) == [
        (RCPT, None, "utf-8;j\u00f6rg@lmtp.example", 0),
        (RCPT, "FAILURE", "utf-8;J\u00f6RG@lmtp.example", 0)]
    assert message_row(postern, qid_plain) == (None, None, 1, 0, 0, 0, 0)
    assert rcpt_rows(postern, qid_plain) == [(RCPT, None, None, 0)]


MAIL_ERRORS = [
    ("RET=PART", 501), ("RET", 501), ("RET=FULL RET=HDRS", 555), ("ENVID=a+0Ab", 501),
    ("ENVID=a+2b", 501), ("ENVID=" + "e" * 101, 501), ("ENVID=a ENVID=b", 555),
    ("ENVID=", 501), ("X-DSN=1", 555),
]
RCPT_ERRORS = [
    ("NOTIFY=NEVER,SUCCESS", 501), ("NOTIFY=SOMETIMES", 501), ("NOTIFY=SUCCESS,", 501),
    ("NOTIFY=DELAY NOTIFY=FAILURE", 555), ("ORCPT=x400;abc", 501), ("ORCPT=rfc822", 501),
    ("ORCPT=rfc822;a+00b@x", 501), ("ORCPT=rfc822;" + "o" * 494, 501),
    ("ORCPT=utf-8;a\\x{D800}@x", 501), ("ORCPT=utf-8;j\u00f6rg@x", 501),
    ("ORCPT=rfc822;a@x ORCPT=rfc822;a@x", 555), ("RET=FULL", 555),
]


def test_malformed_dsn_parameters(postern):
    with mx_conn(postern) as c:
        for param, code in MAIL_ERRORS:
            check(c.cmd("MAIL FROM:<alice@test.example> " + param), code, "5.5.4")
        check(c.cmd("MAIL FROM:<alice@test.example> ENVID=" + "e" * 100), 250, "2.1.0")
        for param, code in RCPT_ERRORS:
            check(c.cmd("RCPT TO:<%s> %s" % (RCPT, param)), code, "5.5.4")
        check(c.cmd("RCPT TO:<%s> ORCPT=rfc822;%s" % (RCPT, "o" * 493)), 250, "2.1.5")
        check(c.cmd("RSET"), 250, "2.0.0")


def test_authenticated_submission_is_verified(postern):
    with submission(postern) as c:
        qid = send(c, "MAIL FROM:<%s> RET=FULL" % USER, ["RCPT TO:<%s>" % RCPT],
                   message(USER, "submitted"))
    assert message_row(postern, qid)[:3] == (None, "FULL", 1)
    assert logged_verified(postern, qid) == 1


# (client address, MAIL FROM, header From, DKIM signing domain, verified)
CASES = {
    # No SPF record for nospf.net, nothing else vouches.
    "mx-no-spf": ("127.0.0.10", "bounces@nospf.net", "news@nospf.net", None, 0),
    # SPF pass for the MAIL FROM domain (RFC 7208 2.4).
    "mx-spf-pass": ("127.0.0.10", "alice@good-sender.net", "alice@good-sender.net", None, 1),
    # A DKIM pass of the same organizational domain as the MAIL FROM one.
    "mx-dkim-aligned": ("127.0.0.10", "bounces@mail.dkim-sender.net", "news@dkim-sender.net",
                        "dkim-sender.net", 1),
    # A DKIM pass by somebody else says nothing about the sender.
    "mx-dkim-unaligned": ("127.0.0.10", "bounces@nospf.net", "news@nospf.net",
                          "other-signer.net", 0),
    # Local mail: a trusted client, one of our domains.
    "trusted-local": ("127.0.0.1", "cron@test.example", "cron@test.example", None, 1),
    # A trusted client with somebody else's domain.
    "trusted-remote": ("127.0.0.1", "someone@nospf.net", "someone@nospf.net", None, 0),
    "null-sender": ("127.0.0.10", "", "mailer-daemon@good-sender.net", None, 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sender_verified(postern, keys, case):
    src, mail_from, header_from, signer, want = CASES[case]
    msg = message(header_from, case)
    if signer:
        msg = signed(msg, keys[0], signer)
    with mx_conn(postern, src) as c:
        qid = send(c, "MAIL FROM:<%s>" % mail_from, ["RCPT TO:<%s>" % RCPT], msg)
    assert message_row(postern, qid)[2] == want
    assert logged_verified(postern, qid) == want
    if signer:
        assert re.search(r"event=msgauth .*queue_id=%s .*dkim=pass:%s" % (qid, signer),
                         postern.log()), postern.log_tail()
