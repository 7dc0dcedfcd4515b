"""Scenario 16: message authentication in the session, with the keys and
DMARC records served by a real nsd on loopback: a message signed by
python3-dkim passes DKIM and DMARC; a forged From under p=reject is refused
at the end of DATA (but still reaches postmaster); p=quarantine is marked;
several From addresses are refused; a broken signature is reported as such;
ARC chains sealed by python3-dkim are validated, and a broken one reported;
a DMARC failure after a trusted ARC sealer saw dmarc=pass is delivered and
reported as trusted_forwarder, while the same seal by another forwarder
does not help;
the verdicts are counted for the aggregate reports of the domains that ask
for them; mail submitted by an authenticated user arrives signed twice (rsa-sha256
and ed25519-sha256) and verifies with python3-dkim; a From domain that is
not the sender's own is not signed."""
import os
import re
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import dkim
import pytest

from conftest import postern_bin, short_tmpdir
from helpers import SMTPConn, check, wait_for_files, wait_until
from nsd import running_nsd

HERE = os.path.dirname(os.path.abspath(__file__))

ACCOUNTS = [("user@test.example", "user-password", [])]

NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
mail.good-sender IN A 127.0.0.10
mail.good-sender IN TXT "v=spf1 a -all"
good-sender IN TXT "v=spf1 ip4:127.0.0.10 -all"
_dmarc.good-sender IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good-sender.net"
sel._domainkey.good-sender IN TXT {good_key}
_dmarc.bank IN TXT "v=DMARC1; p=reject; rua=mailto:reports@bank.net"
bank IN TXT "v=spf1 -all"
_dmarc.quar IN TXT "v=DMARC1; p=quarantine"
sel._domainkey.lists IN TXT {lists_key}
sel._domainkey.other-list IN TXT {other_key}
"""

REV_ZONE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
10 IN PTR mail.good-sender.net.
"""

EXAMPLE_ZONE = """\
$ORIGIN test.example.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
s1._domainkey IN TXT {s1}
s2._domainkey IN TXT {s2}
"""


def zone_txt(record):
    """A TXT value as zone-file character-strings of at most 255 octets."""
    return " ".join('"%s"' % record[i:i + 255] for i in range(0, len(record), 255))


def keygen(keys, domain, selector, *extra):
    subprocess.run([postern_bin(), "dkim", "keygen", domain, selector, "--dir", keys] +
                   list(extra), check=True, capture_output=True)
    with open(os.path.join(keys, "%s.%s.txt" % (selector, domain))) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def keys():
    d = short_tmpdir("postern-keys-")
    records = {
        "good": keygen(d, "good-sender.net", "sel"),
        "s1": keygen(d, "test.example", "s1"),
        "s2": keygen(d, "test.example", "s2", "--ed25519"),
        "lists": keygen(d, "lists.net", "sel"),
        "other": keygen(d, "other-list.net", "sel"),
    }
    yield d, records
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def nsd(keys):
    _, rec = keys
    zones = [("net", NET_ZONE.format(good_key=zone_txt(rec["good"]),
                                     lists_key=zone_txt(rec["lists"]),
                                     other_key=zone_txt(rec["other"]))),
             ("0.0.127.in-addr.arpa", REV_ZONE),
             ("test.example", EXAMPLE_ZONE.format(s1=zone_txt(rec["s1"]),
                                                  s2=zone_txt(rec["s2"])))]
    with running_nsd(zones) as port:
        yield "127.0.0.1:%d" % port


@pytest.fixture
def postern_conf(nsd, keys, workdir):
    text = open(os.path.join(HERE, "postern.conf")).read()
    text = text.replace("@DNS@", nsd).replace("@KEYS@", keys[0])
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def mx_conn(postern, src="127.0.0.10"):
    c = SMTPConn.__new__(SMTPConn)
    c.sock = socket.create_connection(("127.0.0.1", postern.ports["mx"]), timeout=30,
                                      source_address=(src, 0))
    c.buf = b""
    c.banner = c.reply()
    check(c.banner, 220)
    c.ehlo("mail.good-sender.net")
    return c


def send_mx(postern, mailfrom, message, rcpt="user@test.example"):
    c = mx_conn(postern)
    check(c.cmd("MAIL FROM:<%s>" % mailfrom), 250, "2.1.0")
    check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
    r = c.data(message)
    c.close()
    return r


def message(frm, subject="test", body=b"Hello,\r\nthis is a test.\r\n"):
    return (b"From: " + frm.encode() + b"\r\nTo: user@test.example\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <" + subject.encode() + b"@good-sender.net>\r\n\r\n" + body)


def dkimpy_sign(msg, keys, domain, selector, canon=(b"relaxed", b"simple")):
    with open(os.path.join(keys, "%s.%s.key" % (selector, domain)), "rb") as f:
        key = f.read()
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key, canonicalize=canon,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + msg


def delivered(postern, addr, count=1):
    files = wait_for_files(postern.maildir(addr), count)
    return [open(f, "rb").read() for f in sorted(files)]


def head_of(data):
    return data.split(b"\r\n\r\n", 1)[0].decode()


def test_signed_message_passes_dkim_and_dmarc(postern, keys):
    msg = dkimpy_sign(message("News <news@good-sender.net>", "signed"), keys[0],
                      "good-sender.net", "sel")
    # The envelope sender's domain has no SPF record: DMARC passes through
    # the aligned DKIM signature alone.
    check(send_mx(postern, "bounces@nospf.net", msg), 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert re.search(r"dkim=pass header\.d=good-sender\.net header\.i=@good-sender\.net "
                     r"header\.s=sel header\.a=rsa-sha256 header\.b=\S+", head), head
    assert "dmarc=pass (p=reject sp=reject dis=none) header.from=good-sender.net" in head
    assert "event=msgauth" in postern.log() and "dmarc=pass/none" in postern.log()


def test_forged_from_under_p_reject_is_refused(postern):
    # SPF passes for the envelope domain, but nothing aligns with bank.net.
    r = send_mx(postern, "alice@good-sender.net", message("CEO <ceo@bank.net>", "forged"))
    check(r, 550, "5.7.1", text="DMARC policy.*bank.net")
    assert "dmarc=fail/reject" in postern.log()
    # Nothing was queued: once the queue is empty, the mailbox is too.
    wait_until(postern.queue_empty, what="an empty queue")
    new = os.path.join(postern.maildir("user@test.example"), "new")
    assert not os.path.exists(new) or not os.listdir(new)


def test_forged_from_still_reaches_postmaster(postern):
    r = send_mx(postern, "alice@good-sender.net", message("CEO <ceo@bank.net>", "to-pm"),
                rcpt="postmaster@test.example")
    check(r, 250, "2.0.0")
    head = head_of(delivered(postern, "admin@test.example")[0])
    assert "dmarc=fail (p=reject sp=reject dis=reject) header.from=bank.net" in head
    assert "event=msgauth_exempt" in postern.log()


def test_quarantine_policy_is_marked(postern):
    r = send_mx(postern, "alice@good-sender.net", message("x@quar.net", "quarantine"))
    check(r, 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert "X-Postern-Quarantine: dmarc=fail policy.dmarc=quarantine header.from=quar.net" \
        in head
    assert "dmarc=fail (p=quarantine sp=quarantine dis=quarantine)" in head
    assert "x-postern=tag" in head


def test_several_from_addresses_are_refused(postern):
    msg = message("a@good-sender.net, b@good-sender.net", "two-from")
    r = send_mx(postern, "alice@good-sender.net", msg)
    check(r, 550, "5.7.1", text="exactly one From")


def test_broken_signature_is_reported(postern, keys):
    msg = dkimpy_sign(message("news@good-sender.net", "broken"), keys[0], "good-sender.net",
                      "sel")
    msg = msg.replace(b"this is a test", b"this is a forgery")
    # SPF passes and aligns, so DMARC still passes.
    check(send_mx(postern, "alice@good-sender.net", msg), 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert "dkim=fail (body hash did not verify) header.d=good-sender.net" in head, head
    assert "spf=pass smtp.mailfrom=alice@good-sender.net" in head
    assert "dmarc=pass" in head


def submit(postern, mailfrom, msg):
    c = SMTPConn(postern.ports["submission"])
    check(c.banner, 220)
    c.ehlo("laptop.test.example")
    c.starttls()
    c.ehlo("laptop.test.example")
    check(c.auth_plain("user@test.example", "user-password"), 235, "2.7.0")
    check(c.cmd("MAIL FROM:<%s>" % mailfrom), 250, "2.1.0")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    r = c.data(msg)
    c.close()
    return r


def test_submission_is_signed_twice_and_verifies(postern, keys):
    _, rec = keys
    check(submit(postern, "user@test.example", message("User <user@test.example>", "sub")),
          250, "2.0.0")
    data = delivered(postern, "user@test.example")[0]
    head = head_of(data)
    sigs = re.findall(r"^DKIM-Signature:.*?(?=^\S)", head + "\r\nX:", re.M | re.S)
    assert len(sigs) == 2, head
    assert "a=rsa-sha256" in sigs[0] and "s=s1" in sigs[0], sigs[0]
    assert "a=ed25519-sha256" in sigs[1] and "s=s2" in sigs[1], sigs[1]
    for s in sigs:
        assert "c=relaxed/relaxed" in s and "d=test.example" in s
        # From, To, Subject and Date are oversigned (RFC 6376 8.15).
        h = re.search(r"h=([^;]*);", s, re.S).group(1).replace("\r\n\t", "")
        assert h.split(":").count("from") == 2, h

    txt = {b"s1._domainkey.test.example.": rec["s1"].encode(),
           b"s2._domainkey.test.example.": rec["s2"].encode()}

    def dnsfunc(name, timeout=5):
        return txt.get(name if name.endswith(b".") else name + b".")

    d = dkim.DKIM(data)
    assert d.verify(idx=0, dnsfunc=dnsfunc), "rsa-sha256 signature does not verify"
    assert d.verify(idx=1, dnsfunc=dnsfunc), "ed25519-sha256 signature does not verify"
    assert "event=dkim_sign" in postern.log() and "signatures=2" in postern.log()


def test_foreign_from_domain_is_not_signed(postern):
    check(submit(postern, "user@test.example", message("someone@elsewhere.example", "foreign")),
          250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert "DKIM-Signature" not in head
    assert "skipped=from_not_sender_domain" in postern.log()


def test_aggregate_report_counts_the_session_verdicts(postern, keys):
    """The workers keep what DMARC decided; `postern dmarc report` then
    writes it out for each domain that asked with rua=."""
    r = send_mx(postern, "alice@good-sender.net", message("CEO <ceo@bank.net>", "forged1"))
    check(r, 550, "5.7.1")
    r = send_mx(postern, "alice@good-sender.net", message("CEO <ceo@bank.net>", "forged2"),
                rcpt="postmaster@test.example")
    check(r, 250, "2.0.0")
    msg = dkimpy_sign(message("news@good-sender.net", "good"), keys[0], "good-sender.net", "sel")
    check(send_mx(postern, "bounces@nospf.net", msg), 250, "2.0.0")
    # Observations are written every 30 s and when a worker exits.
    assert postern.stop() == 0
    out = os.path.join(postern.tmp, "reports")
    os.mkdir(out)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    postern.cli("dmarc", "report", "--day", day, "--out", out)
    files = sorted(os.listdir(out))
    assert [f.split("!")[1] for f in files] == ["bank.net", "good-sender.net"], files
    ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}

    def rows(name):
        root = ET.parse(os.path.join(out, name)).getroot()
        found = []
        for rec in root.iter("{%s}record" % ns["d"]):
            found.append({
                "ip": rec.findtext("d:row/d:source_ip", namespaces=ns),
                "count": int(rec.findtext("d:row/d:count", namespaces=ns)),
                "disposition": rec.findtext("d:row/d:policy_evaluated/d:disposition",
                                            namespaces=ns),
                "dkim": rec.findtext("d:row/d:policy_evaluated/d:dkim", namespaces=ns),
                "spf": rec.findtext("d:row/d:policy_evaluated/d:spf", namespaces=ns),
                "reason": rec.findtext("d:row/d:policy_evaluated/d:reason/d:type",
                                       namespaces=ns),
                "from": rec.findtext("d:identifiers/d:header_from", namespaces=ns),
            })
        return sorted(found, key=lambda x: x["disposition"])

    bank = rows(files[0])
    assert [(r["disposition"], r["count"], r["reason"]) for r in bank] == \
        [("quarantine", 1, "local_policy"), ("reject", 1, None)], bank
    assert all(r["ip"] == "127.0.0.10" and r["from"] == "bank.net" and r["dkim"] == "fail" and
               r["spf"] == "fail" for r in bank), bank
    good = rows(files[1])
    assert [(r["disposition"], r["count"], r["dkim"], r["spf"]) for r in good] == \
        [("none", 1, "pass", "fail")], good


def arc_seal(msg, keys):
    msg = (b"Authentication-Results: lists.good-sender.net; arc=none;\r\n"
           b" spf=pass smtp.mailfrom=news@good-sender.net\r\n" + msg)
    with open(os.path.join(keys, "sel.good-sender.net.key"), "rb") as f:
        key = f.read()
    fields = dkim.arc_sign(msg, b"sel", b"good-sender.net", key, b"lists.good-sender.net")
    return b"".join(f.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for f in fields) + msg


def test_arc_chain_sealed_by_dkimpy_is_recorded(postern, keys):
    msg = arc_seal(message("news@good-sender.net", "arc"), keys[0])
    check(send_mx(postern, "alice@good-sender.net", msg), 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert "arc=pass (i=1 d=good-sender.net s=sel) header.oldest-pass=0" in head, head
    assert "arc=pass/1" in postern.log()


def test_broken_arc_chain_is_reported(postern, keys):
    msg = arc_seal(message("news@good-sender.net", "arc-broken"), keys[0])
    msg = msg.replace(b"this is a test", b"this was changed")
    check(send_mx(postern, "alice@good-sender.net", msg), 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert re.search(r"arc=fail \([^)]*\)", head), head
    assert "arc=fail/1" in postern.log()


def test_trusted_network_mail_is_signed(postern):
    """An application on a trusted address (here the harness on 127.0.0.1)
    sending for a signing domain gets its mail signed too."""
    c = mx_conn(postern, src="127.0.0.1")
    check(c.cmd("MAIL FROM:<user@test.example>"), 250, "2.1.0")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    check(c.data(message("App <user@test.example>", "app")), 250, "2.0.0")
    c.close()
    head = head_of(delivered(postern, "user@test.example")[0])
    assert head.count("DKIM-Signature:") == 2, head
    assert "Authentication-Results" not in head  # trusted: not checked


def list_sealed(msg, keys, sealer):
    """What a mailing list does: check the message (it saw DMARC pass),
    change it (a subject tag: the author's signature, if any, breaks) and
    seal its results (RFC 8617 5.1)."""
    msg = msg.replace(b"Subject: ", b"Subject: [list] ")
    msg = (b"Authentication-Results: " + sealer.encode() + b"; spf=pass "
           b"smtp.mailfrom=ceo@bank.net;\r\n dmarc=pass (p=reject) header.from=bank.net\r\n" +
           msg)
    with open(os.path.join(keys, "sel.%s.key" % sealer), "rb") as f:
        key = f.read()
    fields = dkim.arc_sign(msg, b"sel", sealer.encode(), key, sealer.encode())
    return b"".join(f.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for f in fields) + msg


def test_trusted_arc_sealer_overrides_dmarc(postern, keys):
    """bank.net publishes p=reject and the list's own envelope does not
    align, so DMARC fails here; lists.net is trusted and sealed dmarc=pass,
    so the message is delivered, marked dis=none, and the aggregate report
    says trusted_forwarder (RFC 7489 7.2.1.1)."""
    msg = list_sealed(message("CEO <ceo@bank.net>", "via-list"), keys[0], "lists.net")
    check(send_mx(postern, "bounces@good-sender.net", msg), 250, "2.0.0")
    head = head_of(delivered(postern, "user@test.example")[0])
    assert "arc=pass (i=1 d=lists.net s=sel)" in head, head
    assert "dmarc=fail (p=reject sp=reject dis=none) header.from=bank.net" in head, head
    log = postern.log()
    assert "dmarc=fail/none/trusted_forwarder" in log and "arc_trusted=lists.net/1" in log
    assert postern.stop() == 0
    out = os.path.join(postern.tmp, "reports")
    os.mkdir(out)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    postern.cli("dmarc", "report", "--day", day, "--out", out)
    bank = [f for f in os.listdir(out) if f.split("!")[1] == "bank.net"]
    assert len(bank) == 1, os.listdir(out)
    root = ET.parse(os.path.join(out, bank[0])).getroot()
    ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
    pe = root.find("d:record/d:row/d:policy_evaluated", ns)
    assert pe.findtext("d:disposition", namespaces=ns) == "none"
    assert pe.findtext("d:reason/d:type", namespaces=ns) == "trusted_forwarder"
    assert pe.findtext("d:reason/d:comment", namespaces=ns) == "arc as.d=lists.net i=1"


def test_untrusted_arc_sealer_does_not_override(postern, keys):
    """The same seal from a forwarder that is not in arc_trusted_sealers:
    the chain validates, but p=reject applies."""
    msg = list_sealed(message("CEO <ceo@bank.net>", "via-other"), keys[0], "other-list.net")
    check(send_mx(postern, "bounces@good-sender.net", msg), 550, "5.7.1")
    log = postern.log()
    assert "arc=pass/1" in log and "dmarc=fail/reject" in log
    assert "arc_trusted=-" in log
