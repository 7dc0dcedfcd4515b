"""Scenario 22: forwarding.  Aliases of a local domain expand at RCPT into
local mailboxes (each delivered, an address met twice once) and remote
addresses (stored with recipients.forwarded = 1, sent with an SRS0
envelope sender and an ARC set of the alias's domain that python3-dkim
validates, continuing a chain that came in); a loop is 550 5.4.6, an
address without mailbox 550 5.1.1, too many addresses 452 4.5.3; the
catch-all takes local parts that are neither an alias nor a mailbox.
Bounces: without a BATV tag of ours refused (550 5.7.1), with a valid one
delivered to the plain address, postmaster always reachable; to a valid
SRS0 address sent on to the original sender (even from an unchecked MX
client), an expired or forged one refused.  A message that passed here
three times is refused (554 5.4.6), as is one with over 100 Received
fields.  policy.relay_networks lets its clients relay, nobody else.
Every configuration mistake of the aliases gets its file:line."""
import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

import dkim
import pytest

from conftest import postern_bin, short_tmpdir
from helpers import SMTPConn, check, queue_id_of, read_files, wait_for_files, wait_until
from nsd import running_nsd

HERE = os.path.dirname(os.path.abspath(__file__))
# The scripted receiver of scenario 21 stands for remote.test.
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "21-outbound"))
from smtpsink import Receiver  # noqa: E402

ACCOUNTS = [(a, "pw-" + a, []) for a in
            ("alice@a.test", "bob@a.test", "carol@b.test", "catchall@b.test", "admin@a.test")]

CHECKED_SRC = "127.0.0.10"  # mail.good-sender.net, not trusted

NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
mail.good-sender IN A 127.0.0.10
mail.good-sender IN TXT "v=spf1 a -all"
good-sender IN TXT "v=spf1 ip4:127.0.0.10 -all"
_dmarc.good-sender IN TXT "v=DMARC1; p=none"
sel._domainkey.lists IN TXT {lists_key}
"""

REV_ZONE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
10 IN PTR mail.good-sender.net.
"""

TEST_ZONE = """\
$ORIGIN test.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
arc._domainkey.a IN TXT {arc_key}
"""


def zone_txt(record):
    return " ".join('"%s"' % record[i:i + 255] for i in range(0, len(record), 255))


def keygen(d, domain, selector):
    subprocess.run([postern_bin(), "dkim", "keygen", domain, selector, "--dir", d],
                   check=True, capture_output=True)
    with open(os.path.join(d, "%s.%s.txt" % (selector, domain))) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def keys():
    d = short_tmpdir("postern-keys22-")
    records = {"arc": keygen(d, "a.test", "arc"), "lists": keygen(d, "lists.net", "sel")}
    yield d, records
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def nsd(keys):
    _, rec = keys
    zones = [("net", NET_ZONE.format(lists_key=zone_txt(rec["lists"]))),
             ("0.0.127.in-addr.arpa", REV_ZONE),
             ("test", TEST_ZONE.format(arc_key=zone_txt(rec["arc"])))]
    with running_nsd(zones) as port:
        yield "127.0.0.1:%d" % port


@pytest.fixture
def sink():
    """remote.test's MX: answers 250 unless the test scripts another
    reply through sink.refuse (a callable taking the recipient)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = Receiver("127.0.0.1", port, name="mx.remote.test",
                 rcpt_reply=lambda rcv, txn, addr: rcv.refuse(addr) if rcv.refuse else None)
    r.refuse = None
    yield r
    r.stop()


@pytest.fixture
def postern_conf(nsd, keys, sink, workdir):
    text = open(os.path.join(HERE, "postern.conf")).read()
    text = (text.replace("@DNS@", nsd).replace("@KEYS@", keys[0])
            .replace("@SINK@", str(sink.port)).replace("@POLICY@", ""))
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


# -- helpers -------------------------------------------------------------------

def mx(postern, src=None, helo="client.elsewhere.test"):
    """A session on the MX listener, from src (a loopback address) or from
    127.0.0.1 (trusted)."""
    c = SMTPConn.__new__(SMTPConn)
    c.sock = socket.create_connection(("127.0.0.1", postern.ports["mx"]), timeout=30,
                                      source_address=(src or "127.0.0.1", 0))
    c.buf = b""
    c.banner = c.reply()
    check(c.banner, 220)
    c.ehlo(helo)
    return c


def checked(postern):
    return mx(postern, CHECKED_SRC, "mail.good-sender.net")


def message(frm, to, subject, extra=b""):
    return (extra + b"From: " + frm.encode() + b"\r\nTo: " + to.encode() + b"\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Wed, 03 Dec 2025 10:00:00 +0000\r\n"
            b"Message-ID: <" + subject.encode() + b"@good-sender.net>\r\n\r\n"
            b"Hello,\r\nthis is " + subject.encode() + b".\r\n")


def send(c, mailfrom, rcpts, msg):
    """One transaction on c; every RCPT must get 250.  The queue id."""
    check(c.cmd("MAIL FROM:<%s>" % mailfrom), 250, "2.1.0")
    for r in rcpts:
        check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
    return queue_id_of(c.data(msg))


def mail_of(postern, addr, n=1):
    return read_files(wait_for_files(postern.maildir(addr), n))


def head_of(data):
    return data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")


def wait_queue_empty(postern):
    wait_until(postern.queue_empty, 30, "an empty queue")


def queue_rows(postern, where="1"):
    db = sqlite3.connect(os.path.join(postern.tmp, "var", "queue", "queue.db"), timeout=10)
    try:
        return db.execute("SELECT addr, orcpt, forwarded, state FROM recipients WHERE %s "
                          "ORDER BY addr" % where).fetchall()
    finally:
        db.close()


def key_of(postern, name):
    """A key the workers make at their start (which the listening sockets,
    opened by the master, do not wait for); it appears whole."""
    path = os.path.join(postern.tmp, "var", name)
    wait_until(lambda: os.path.exists(path), 20, path)
    with open(path, "rb") as f:
        return f.read()


def batv_tag(key, addr, day=None):
    """prvs=0DDDSSSSSS=addr as src/queue/batv.h makes it."""
    day = int(time.time() // 86400) if day is None else day
    ddd = "%03d" % (day % 1000)
    local, domain = addr.rsplit("@", 1)
    mac = hmac.new(key, ("0" + ddd + local + "@" + domain.lower()).encode(),
                   hashlib.sha256).digest()[:3]
    return "prvs=0%s%s=%s" % (ddd, mac.hex(), addr)


B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(key, addr, forwarder, day=None):
    """SRS0=HHHH=TT=domain=local@forwarder as src/queue/srs.h (libsrs2)
    makes it: TT the day mod 1024 in base32, HHHH the base64 of the first
    three bytes of HMAC-SHA1 over TT, domain and local, lower-cased."""
    day = int(time.time() // 86400) if day is None else day
    tt = B32[(day % 1024) >> 5] + B32[day % 32]
    local, domain = addr.rsplit("@", 1)
    mac = hmac.new(key, (tt + domain + local).lower().encode(), hashlib.sha1).digest()[:3]
    return "SRS0=%s=%s=%s=%s@%s" % (base64.b64encode(mac).decode(), tt, domain, local,
                                   forwarder)


def dns_of(keys):
    """python3-dkim's DNS: the two keys of the scenario."""
    records = {b"arc._domainkey.a.test.": keys[1]["arc"].encode(),
               b"sel._domainkey.lists.net.": keys[1]["lists"].encode()}

    def dnsfunc(name, timeout=5):
        return records.get(name if name.endswith(b".") else name + b".")
    return dnsfunc


def arc_sets(head):
    """The ARC-Seal fields of a header section, unfolded."""
    return [re.sub(r"\s+", " ", s) for s in
            re.findall(r"^ARC-Seal:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M)]


# -- aliases -------------------------------------------------------------------

def test_alias_to_local_mailboxes(postern):
    msg = message("sender@other.example", "info@a.test", "to-info")
    with mx(postern) as c:
        send(c, "sender@other.example", ["info@a.test"], msg)
    for addr in ("alice@a.test", "bob@a.test"):
        data = mail_of(postern, addr)[0]
        # The mailbox is the alias's address, not the alias.
        assert data.startswith(b"Return-Path: <sender@other.example>\r\nDelivered-To: %s\r\n"
                               % addr.encode()), data[:200]
        assert data.endswith(msg)
    assert re.search(r"event=alias sid=\S+ rcpt=info@a.test addresses=2 forwarded=0",
                     postern.log()), postern.log_tail()


def test_recursive_alias_each_mailbox_once(postern):
    """team -> info (-> alice, bob), carol@b.test, alice again."""
    with mx(postern) as c:
        send(c, "sender@other.example", ["team@a.test"],
             message("sender@other.example", "team@a.test", "to-team"))
    wait_queue_empty(postern)
    for addr in ("alice@a.test", "bob@a.test", "carol@b.test"):
        assert len(mail_of(postern, addr)) == 1, addr


def test_alias_loop_and_unknown_addresses(postern):
    with mx(postern) as c:
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<loop1@a.test>"), 550, "5.4.6", "alias loop")
        # An alias whose address has no mailbox: as if it were given.
        check(c.cmd("RCPT TO:<broken@a.test>"), 550, "5.1.1")
        # a.test has no catch-all.
        check(c.cmd("RCPT TO:<nobody@a.test>"), 550, "5.1.1")
        check(c.cmd("RSET"), 250, "2.0.0")
    log = postern.log()
    assert re.search(r"event=alias_loop sid=\S+ rcpt=loop1@a.test address=loop1@a.test", log)
    assert re.search(r"event=alias_unknown_address sid=\S+ rcpt=broken@a.test "
                     r"address=nobody@a.test", log)
    # The addresses of the tables stay out of the replies.
    assert not re.search(r"event=reject .*text=\"[^\"]*nobody@a.test[^\"]*loop", log)


def test_catchall(postern):
    with mx(postern) as c:
        send(c, "sender@other.example", ["whoever@b.test", "carol@b.test"],
             message("sender@other.example", "whoever@b.test", "catch"))
    data = mail_of(postern, "catchall@b.test")[0]
    assert b"Delivered-To: catchall@b.test\r\n" in data
    assert len(mail_of(postern, "carol@b.test")) == 1


def test_alias_addresses_count_as_recipients(postern):
    """limits.max_recipients 6: team (3) and info (2, both already there
    but counted) fit, mixed (2) would make 7."""
    with mx(postern) as c:
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<team@a.test>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<info@a.test>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<mixed@a.test>"), 452, "4.5.3")
        check(c.cmd("RCPT TO:<carol@b.test>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<bob@a.test>"), 452, "4.5.3")
        check(c.data(message("sender@other.example", "team@a.test", "many")), 250, "2.0.0")


def test_forwarded_alias_srs_and_arc(postern, sink, keys):
    """mixed -> alice (local) and erin@remote.test, fwd -> dave@remote.test:
    the remote ones are stored forwarded, with the alias as their original
    recipient; they leave with an SRS0 sender of a.test and an ARC set
    (i=1, cv=none) that validates."""
    attempts = []

    def refuse_first(addr):
        attempts.append(addr)
        return "451 4.3.0 Try again later" if len(attempts) <= 2 else None
    sink.refuse = refuse_first
    msg = message("sender@other.example", "mixed@a.test", "forwarded")
    with mx(postern) as c:
        send(c, "sender@other.example", ["mixed@a.test", "fwd@a.test"], msg)
    assert len(mail_of(postern, "alice@a.test")) == 1
    wait_until(lambda: len(attempts) >= 2, 30, "a first attempt at remote.test")
    rows = queue_rows(postern, "forwarded = 1")
    assert [r[:3] for r in rows] == [("dave@remote.test", "fwd@a.test", 1),
                                     ("erin@remote.test", "mixed@a.test", 1)], rows
    # The local one, until the message is done: not forwarded.
    assert [r[:3] for r in queue_rows(postern, "addr = 'alice@a.test'")] in (
        [], [("alice@a.test", "mixed@a.test", 0)])

    wait_until(lambda: sink.delivered(), 30, "the forwarded message at remote.test")
    wait_queue_empty(postern)
    txns = sink.delivered()
    assert sorted(a for t in txns for a in t.accepted) == ["dave@remote.test",
                                                           "erin@remote.test"]
    key = key_of(postern, "srs.key")
    today = int(time.time() // 86400)
    for t in txns:
        assert t.mail_from in (srs0(key, "sender@other.example", "a.test", d)
                               for d in (today, today - 1)), t.mail_from
        assert t.data.endswith(msg)
        head = head_of(t.data)
        seals = arc_sets(head)
        assert len(seals) == 1 and " cv=none;" in seals[0] and " d=a.test;" in seals[0] and \
            " i=1;" in seals[0] and " s=arc" in seals[0], seals
        assert re.search(r"^ARC-Authentication-Results: i=1; mx\.a\.test;", head, re.M), head
        cv, results, why = dkim.arc_verify(t.data, dnsfunc=dns_of(keys))
        assert cv == b"pass", (cv, results, why)
    assert re.search(r"event=arc_seal sid=\S+ queue_id=\S+ domain=a.test selector=arc "
                     r"result=sealed cv=none", postern.log()), postern.log_tail()


def list_sealed(msg, keys):
    """msg as a mailing list at lists.net passes it on: its own
    Authentication-Results and an ARC set (i=1) by python3-dkim."""
    msg = (b"Authentication-Results: lists.net; arc=none;\r\n"
           b" spf=pass smtp.mailfrom=news@good-sender.net\r\n" + msg)
    with open(os.path.join(keys[0], "sel.lists.net.key"), "rb") as f:
        key = f.read()
    fields = dkim.arc_sign(msg, b"sel", b"lists.net", key, b"lists.net")
    return b"".join(f.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for f in fields) + msg


def test_forwarding_continues_a_valid_chain(postern, sink, keys):
    """A checked client's message with a valid chain: our set is i=2 with
    cv=pass, carries our results, and the whole chain validates."""
    msg = list_sealed(message("news@good-sender.net", "fwd@a.test", "listmail"), keys)
    with checked(postern) as c:
        send(c, "news@good-sender.net", ["fwd@a.test"], msg)
    wait_until(lambda: sink.delivered(), 30, "the forwarded message at remote.test")
    data = sink.delivered()[0].data
    head = head_of(data)
    seals = arc_sets(head)
    assert len(seals) == 2, seals
    ours = [s for s in seals if " d=a.test;" in s]
    assert len(ours) == 1 and " i=2;" in ours[0] and " cv=pass;" in ours[0], seals
    aar = re.search(r"^ARC-Authentication-Results: i=2; mx\.a\.test;"
                    r"([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M)
    assert aar, head
    assert "spf=pass smtp.mailfrom=news@good-sender.net" in re.sub(r"\s+", " ", aar.group(1))
    assert "arc=pass" in aar.group(1)
    cv, results, why = dkim.arc_verify(data, dnsfunc=dns_of(keys))
    assert cv == b"pass", (cv, results, why)


# -- BATV and SRS ----------------------------------------------------------------

def test_bounces_need_our_batv_tag(postern):
    key = key_of(postern, "batv.key")
    tagged = batv_tag(key, "alice@a.test")
    old = batv_tag(key, "alice@a.test", int(time.time() // 86400) - 30)
    other = batv_tag(b"k" * 32, "alice@a.test")
    with checked(postern) as c:
        check(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
        r = c.cmd("RCPT TO:<alice@a.test>")
        check(r, 550, "5.7.1", "not used as a sender by us")
        assert "BATV" in r.text
        for bad in (old, other):
            check(c.cmd("RCPT TO:<%s>" % bad), 550, "5.7.1")
        # RFC 5321 4.5.1: postmaster is reachable, abuse too.
        check(c.cmd("RCPT TO:<postmaster@a.test>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<abuse@b.test>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<%s>" % tagged), 250, "2.1.5")
        bounce = message("MAILER-DAEMON@good-sender.net", tagged, "bounce")
        check(c.data(bounce), 250, "2.0.0")
    data = mail_of(postern, "alice@a.test")[0]
    assert data.startswith(b"Return-Path: <>\r\nDelivered-To: alice@a.test\r\n"), data[:100]
    wait_queue_empty(postern)
    # postmaster and abuse are one mailbox here, reached once for each.
    assert len(mail_of(postern, "admin@a.test", 2)) == 2
    # log_value quotes what holds '='.
    assert re.search(r'event=rcpt_untagged sid=\S+ rcpt="%s" to=alice@a.test srs=none '
                     r'batv=valid' % re.escape(tagged), postern.log())
    assert "(BATV: tag expired)" in postern.log() and "(BATV: tag not valid)" in postern.log()
    # Mail with a sender needs no tag, and a tagged address reaches its box.
    with checked(postern) as c:
        send(c, "news@good-sender.net", ["alice@a.test", old],
             message("news@good-sender.net", "alice@a.test", "reply"))
    wait_queue_empty(postern)
    assert len(mail_of(postern, "alice@a.test", 3)) == 3


def test_srs_bounces_go_back(postern, sink):
    key = key_of(postern, "srs.key")
    good = srs0(key, "bob@remote.test", "a.test")
    expired = srs0(key, "bob@remote.test", "a.test", int(time.time() // 86400) - 30)
    forged = srs0(b"x" * 32, "bob@remote.test", "a.test")
    # The original sender was one of ours (forwarded through b.test).
    local = srs0(key, "alice@a.test", "b.test")
    with checked(postern) as c:
        check(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % expired), 550, "5.7.1", "SRS address expired")
        check(c.cmd("RCPT TO:<%s>" % forged), 550, "5.7.1", "not a valid SRS address")
        check(c.cmd("RCPT TO:<%s>" % good), 250, "2.1.5")
        check(c.cmd("RCPT TO:<%s>" % local), 250, "2.1.5")
        bounce = message("MAILER-DAEMON@good-sender.net", good, "srs-bounce")
        check(c.data(bounce), 250, "2.0.0")
    wait_until(lambda: sink.delivered(), 30, "the bounce at remote.test")
    t = sink.delivered()[0]
    # A bounce stays a bounce (RFC 5321 4.5.5).
    assert t.mail_from == "" and t.accepted == ["bob@remote.test"], t
    assert t.data.endswith(bounce)
    data = mail_of(postern, "alice@a.test")[0]
    assert data.startswith(b"Return-Path: <>\r\nDelivered-To: alice@a.test\r\n"), data[:100]
    assert re.search(r'event=rcpt_untagged sid=\S+ rcpt="SRS0=\S+" to=bob@remote.test '
                     r'srs=valid', postern.log())


# -- mail loops --------------------------------------------------------------------

def received(by, n):
    return b"".join(b"Received: from hop%d.example (hop%d.example [192.0.2.%d])\r\n"
                    b"\tby %s (postern) with ESMTP id X%d; Wed, 03 Dec 2025 10:00:00 +0000\r\n"
                    % (i, i, i % 250 + 1, by.encode(), i) for i in range(n))


def test_mail_loop_is_refused(postern):
    with mx(postern) as c:
        for extra in (received("mx.a.test", 3),
                      received("mx.a.test", 1) + received("MX.A.TEST.", 2),
                      received("relay.example", 101)):
            check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
            check(c.cmd("RCPT TO:<alice@a.test>"), 250, "2.1.5")
            check(c.data(message("sender@other.example", "alice@a.test", "loop", extra)),
                  554, "5.4.6", "mail loop detected")
        # Twice through us, or 100 hops: still on its way.
        for extra in (received("mx.a.test", 2), received("relay.example", 100)):
            send(c, "sender@other.example", ["alice@a.test"],
                 message("sender@other.example", "alice@a.test", "hops", extra))
    wait_queue_empty(postern)
    assert len(mail_of(postern, "alice@a.test", 2)) == 2
    assert len(re.findall(r"event=reject .*code=554 ecode=5\.4\.6", postern.log())) == 3


# -- relay_networks ------------------------------------------------------------------

def test_relay_networks(postern_stopped, sink):
    p = postern_stopped
    p.start()
    with mx(p) as c:
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<dave@remote.test>"), 554, "5.7.1", "Relay access denied")
    assert p.stop() == 0
    p.write_config(p.config_text.replace(
        'trusted_networks = "127.0.0.1/32";',
        'trusted_networks = "127.0.0.1/32";\n\trelay_networks = "127.0.0.1/32";'))
    p.start()
    msg = message("sender@other.example", "dave@remote.test", "relayed")
    with mx(p) as c:
        send(c, "sender@other.example", ["dave@remote.test"], msg)
    with checked(p) as c:
        check(c.cmd("MAIL FROM:<news@good-sender.net>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<dave@remote.test>"), 554, "5.7.1", "Relay access denied")
    wait_until(lambda: sink.delivered(), 30, "the relayed message at remote.test")
    t = sink.delivered()[0]
    # Relayed, not forwarded: the sender is left as it is, no ARC set.
    assert t.mail_from == "sender@other.example" and t.accepted == ["dave@remote.test"]
    assert not arc_sets(head_of(t.data))


# -- configuration -----------------------------------------------------------------

# (aliases, the line of the mistake, the message)
BAD_CONFIGS = [
    ('{ local = "info"; to = [ "alice" ]; }', 4,
     "domain a.test: alias 'info': 'alice' is not an address (local@domain)"),
    ('{ local = "info"; to = [ "a@a.test" ]; },\n{ local = "Info"; to = [ "b@a.test" ]; }', 5,
     "domain a.test: alias 'Info' is listed twice"),
    ('{ local = "*"; to = [ ]; }', 4,
     "domain a.test: alias '*': 'to' must be a list of addresses"),
    ('{ local = "x@y"; to = [ "a@a.test" ]; }', 4,
     "domain a.test: alias: 'local' must be a local part (without @)"),
    ('{ local = "abuse"; to = [ "a@a.test" ]; }', 4,
     "domain a.test: alias 'abuse': abuse@ of every local domain goes to the 'abuse' setting"),
]


def test_bad_alias_configs(workdir):
    base = ('listeners = ( { role = "mx"; address = "127.0.0.1:2525"; } );\n'
            'state_dir = "%s";\n' % workdir)
    cases = [(base + 'domains = ( { name = "a.test"; aliases = (\n%s\n); } );\n' % a, n, e)
             for a, n, e in BAD_CONFIGS]
    cases.append((base + 'domains = ( { name = "a.test"; } );\n'
                   'policy = { relay_networks = "10.1.2.3/8"; };\n', 4,
                   "policy.relay_networks: "))
    for i, (text, line, expected) in enumerate(cases):
        path = os.path.join(workdir, "bad%d.conf" % i)
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([postern_bin(), "-c", path, "check-config"], capture_output=True)
        out = (r.stdout + r.stderr).decode(errors="replace")
        assert r.returncode != 0, (text, out)
        assert "%s:%d: %s" % (path, line, expected) in out, (text, out)
