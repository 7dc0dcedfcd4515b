"""Scenario 14: each kind of sender gets exactly the configured verdict and
headers, with the DNS answers coming from a real nsd on loopback: a good
sender (iprev, SPF and HELO pass), no PTR, a generic rDNS name, an invalid
HELO, SPF fail, CSA unauthorized, a DNSBL-listed address; postmaster is
reachable whatever the verdict; a DNS server that does not answer gives a
tempfail within the configured budget."""
import os
import re
import socket
import time

import pytest

from nsd import running_nsd
from helpers import SMTPConn, check, wait_for_files

HERE = os.path.dirname(os.path.abspath(__file__))

ACCOUNTS = [("user@test.example", "user-password", [])]

# One zone for all of net. (so every name the checks ask for is ours) and
# the reverse zone of 127.0.0.0/24.  good-sender.net's SPF lists every
# client of the scenario: a second rejecting result (SPF fail) would race
# the one under test for which reply is given.
NET_ZONE = """\
$ORIGIN net.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
ns.postern-test IN A 127.0.0.1
good-sender IN TXT "v=spf1 ip4:127.0.0.10 ip4:127.0.0.11 ip4:127.0.0.12 ip4:127.0.0.13 ip4:127.0.0.14 ip4:127.0.0.15 ip4:127.0.0.16 -all"
mail.good-sender IN A 127.0.0.10
mail.good-sender IN TXT "v=spf1 a -all"
127-0-0-12.dyn.pool-isp IN A 127.0.0.12
mail.sender13 IN A 127.0.0.13
mail.listed IN A 127.0.0.14
mail.csa-deny IN A 127.0.0.15
host16.static-isp IN A 127.0.0.16
_client._smtp.mail.csa-deny IN SRV 1 1 0 mail.csa-deny.net.
spf-fail IN TXT "v=spf1 -all"
14.0.0.127.bl.test-lists IN A 127.0.0.2
14.0.0.127.bl.test-lists IN TXT "listed for testing"
"""

REV_ZONE = """\
$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@ IN SOA ns.postern-test.net. hostmaster.postern-test.net. 1 3600 600 86400 5
@ IN NS ns.postern-test.net.
10 IN PTR mail.good-sender.net.
12 IN PTR 127-0-0-12.dyn.pool-isp.net.
13 IN PTR mail.sender13.net.
14 IN PTR mail.listed.net.
15 IN PTR mail.csa-deny.net.
16 IN PTR host16.static-isp.net.
"""

@pytest.fixture(scope="module")
def nsd():
    with running_nsd([("net", NET_ZONE), ("0.0.127.in-addr.arpa", REV_ZONE)]) as port:
        yield "127.0.0.1:%d" % port


@pytest.fixture
def dns_server(nsd):
    return nsd


@pytest.fixture
def postern_conf(dns_server, workdir):
    """The scenario's template with the DNS server filled in."""
    text = open(os.path.join(HERE, "postern.conf")).read().replace("@DNS@", dns_server)
    path = os.path.join(workdir, "template.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def conn_from(port, src):
    c = SMTPConn.__new__(SMTPConn)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=30,
                                      source_address=(src, 0))
    c.buf = b""
    c.banner = c.reply()
    return c


def transaction(postern, src, helo, mailfrom, rcpt="user@test.example"):
    c = conn_from(postern.ports["mx"], src)
    check(c.banner, 220)
    c.ehlo(helo)
    check(c.cmd("MAIL FROM:<%s>" % mailfrom), 250, "2.1.0")
    return c, c.cmd("RCPT TO:<%s>" % rcpt)


def test_good_sender_passes_with_headers(postern):
    c, r = transaction(postern, "127.0.0.10", "mail.good-sender.net", "alice@good-sender.net")
    check(r, 250, "2.1.5")
    check(c.data(b"From: alice@good-sender.net\r\nSubject: hello\r\n\r\nhi\r\n"), 250, "2.0.0")
    c.close()
    files = wait_for_files(postern.maildir("user@test.example"), 1)
    data = open(files[0], "rb").read()
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert "Received: from mail.good-sender.net (mail.good-sender.net [127.0.0.10])" in head
    assert "Authentication-Results: mx.test.example;" in head
    assert "iprev=pass policy.iprev=127.0.0.10 (mail.good-sender.net)" in head
    assert "spf=pass smtp.mailfrom=alice@good-sender.net" in head
    assert "spf=pass smtp.helo=mail.good-sender.net" in head
    assert "dkim=none" in head and "dmarc=none header.from=good-sender.net" in head
    assert "x-postern=accept policy.rdns=normal" in head
    assert "policy.dnsbl=none policy.score=0" in head
    log = postern.log()
    assert "event=checks" in log and "iprev=pass" in log
    # The log says what the header says of the blocklists.
    assert re.search(r"event=checks .* dnsbl=none ", log), log


def test_no_ptr_rejected_but_postmaster_reachable(postern):
    # Each client greets with a name whose own checks pass or only score,
    # so that the verdict under test is the one that decides.
    c, r = transaction(postern, "127.0.0.11", "host11.nowhere-isp.net", "alice@good-sender.net")
    check(r, 550, "5.7.25")
    # RFC 5321 4.5.1: postmaster is reached even from a refused client.
    check(c.cmd("RCPT TO:<postmaster@test.example>"), 250, "2.1.5")
    check(c.data(b"Subject: to the postmaster\r\n\r\nhi\r\n"), 250, "2.0.0")
    c.close()
    files = wait_for_files(postern.maildir("admin@test.example"), 1)
    assert b"iprev=permerror" in open(files[0], "rb").read()


def test_generic_rdns_rejected(postern):
    c, r = transaction(postern, "127.0.0.12", "127-0-0-12.dyn.pool-isp.net",
                       "alice@good-sender.net")
    check(r, 550, "5.7.25", text="dynamic or generic")
    c.close()


def test_operator_pattern_marks_generic(postern):
    """host16.static-isp.net looks like a chosen name; the operator's
    pattern says otherwise."""
    c, r = transaction(postern, "127.0.0.16", "host16.static-isp.net", "alice@good-sender.net")
    check(r, 550, "5.7.25", text="dynamic or generic")
    c.close()


def test_invalid_helo_rejected(postern):
    c, r = transaction(postern, "127.0.0.13", "localhost", "alice@good-sender.net")
    check(r, 550, "5.7.1", text="HELO")
    c.close()


def test_spf_fail_rejected(postern):
    c, r = transaction(postern, "127.0.0.10", "mail.good-sender.net", "someone@spf-fail.net")
    check(r, 550, "5.7.23")
    # The verdict belongs to that transaction: the next one is judged anew.
    check(c.cmd("RSET"), 250, "2.0.0")
    check(c.cmd("MAIL FROM:<alice@good-sender.net>"), 250, "2.1.0")
    check(c.cmd("RCPT TO:<user@test.example>"), 250, "2.1.5")
    c.close()


def test_csa_unauthorized_rejected(postern):
    c, r = transaction(postern, "127.0.0.15", "mail.csa-deny.net", "alice@good-sender.net")
    check(r, 550, "5.7.1", text="CSA")
    c.close()


def test_dnsbl_listed_rejected(postern):
    c, r = transaction(postern, "127.0.0.14", "mail.listed.net", "alice@good-sender.net")
    check(r, 550, "5.7.1", text="score 10")
    c.close()
    assert "score 10: dnsbl_listed" in postern.log()


@pytest.mark.parametrize("dns_server", ["127.0.0.1:9"], indirect=False)
def test_dns_down_tempfails_within_budget(postern_stopped, silent_dns):
    p = postern_stopped
    text = open(p.conf).read()
    text = text.replace('servers = "127.0.0.1:9"', 'servers = "%s"' % silent_dns.addr)
    assert silent_dns.addr in text, "the silent name server is not in the configuration"
    with open(p.conf, "w") as f:
        f.write(text)
    p.start()
    t0 = time.monotonic()
    c, r = transaction(p, "127.0.0.10", "mail.good-sender.net", "alice@good-sender.net")
    elapsed = time.monotonic() - t0
    check(r, 451, "4.7.25")
    # timeout 300 ms, 2 tries (c-ares doubles the second): well under 5 s.
    assert elapsed < 5.0, elapsed
    c.close()
