"""Scenario 15: `postern dmarc report` (RFC 7489 7.2).  Observations go
into the state database through `postern dmarc record` (the server does not
record them yet); the reports are validated with xmllint against the
aggregate-report schema of ../shared/conformance, and the --mail messages
are parsed with Python's email package."""

import calendar
import email
import email.policy
import gzip
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

ACCOUNTS = []

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONF = os.environ.get("POSTERN_CONFORMANCE", os.path.join(ROOT, "..", "shared", "conformance"))
XSD = os.path.join(CONF, "dmarc", "aggregate-reports", "rua-schema.xsd")
NS = "urn:ietf:params:xml:ns:dmarc-2.0"
Q = "{%s}" % NS

DAY = "2026-11-27"
D1 = calendar.timegm((2026, 11, 27, 0, 0, 0))
END = D1 + 86399
RECEIVER = "mx.test.example"
COMMENT = "a <b> & 'c' \"d\" \u00e9t\u00e9"


def line(**kv):
    return "\t".join("%s=%s" % (k, v) for k, v in kv.items())


PASS = dict(domain="example.com",
            rua="mailto:dmarc@example.com,mailto:small@example.com!10,"
                "mailto:ext@reports.thirdparty.example,https://r.example/dmarc,"
                "mailto:dmarc@example.com!1m,"  # listed twice: one recipient
                "mailto:agg@authorized.example",
            p="reject", sp="quarantine", adkim="r", aspf="s", ip="192.0.2.1",
            header_from="example.com", envelope_from="example.com",
            dkim="example.com:sel1:pass", dkim_pass="pass", spf_domain="example.com",
            spf_scope="mfrom", spf_result="pass", spf_pass="pass", disposition="none")

BATCH1 = [
    line(when=D1 + 10, **PASS),
    line(when=D1 + 20, **PASS),
    line(when=D1 + 30, domain="example.com", rua=PASS["rua"], p="reject", ip="2001:db8::5",
         header_from="example.com", reason="sampled_out", comment=COMMENT,
         spf_domain="helo.example", spf_scope="helo", spf_result="softfail"),
    # Another UTC day: not in D1's report.
    line(when=D1 + 86400, **PASS),
    line(when=D1 + 40, domain="norua.example", ip="192.0.2.9", header_from="norua.example"),
    line(when=D1 + 41, domain="https.example", rua="https://r.example/x", ip="192.0.2.9",
         header_from="https.example"),
    line(when=D1 + 42, domain="sub.example.org", rua="mailto:agg@example.org", ip="192.0.2.10",
         header_from="sub.example.org", disposition="quarantine", p="quarantine",
         dkim="sub.example.org:a:fail", spf_domain="sub.example.org", spf_result="fail"),
]
BATCH2 = [
    line(when=D1 + 50, **PASS),
    line(when=D1 + 60, domain="example.com", rua=PASS["rua"], p="reject",
         ip="::ffff:198.51.100.7", header_from="example.com", disposition="quarantine",
         dkim="example.com:sel1:fail", envelope_from="bounce.example",
         spf_domain="bounce.example", spf_result="neutral", reason="local_policy"),
    # Invalid (no such address): skipped with a warning, the batch kept.
    line(when=D1 + 70, domain="example.com", ip="192.0.2.300", header_from="example.com"),
]


@pytest.fixture
def xmllint():
    path = shutil.which("xmllint")
    if path is None:
        pytest.fail("xmllint not found: install libxml2-utils (scripts/install-deps.sh --test)")
    return path


@pytest.fixture
def schema(workdir):
    """The conformance schema, made loadable.  As stored it does not compile
    (libxml2: "References from this schema to components in no namespace
    are not allowed"): it sets a targetNamespace but never binds the default
    namespace its unprefixed type references need.  We add exactly that
    binding and elementFormDefault="qualified", as in the schema of the
    RFC 7489 successor (RFC 9990), so that every element of a report lives in
    the namespace; nothing else changes."""
    if not os.path.exists(XSD):
        pytest.skip("no aggregate-report schema at %s (set POSTERN_CONFORMANCE)" % XSD)
    with open(XSD) as f:
        text = f.read()
    old = 'targetNamespace="%s">' % NS
    assert text.count(old) == 1, "the schema's root element changed; revisit this fixture"
    text = text.replace(old, 'targetNamespace="%s" xmlns="%s" elementFormDefault="qualified">'
                        % (NS, NS))
    path = os.path.join(workdir, "rua-schema.xsd")
    with open(path, "w") as f:
        f.write(text)
    return path


def validate(xmllint, schema, path):
    p = subprocess.run([xmllint, "--noout", "--schema", schema, path], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, "xmllint rejects %s:\n%s\n%s" % (path, p.stderr,
                                                               open(path).read())


def record(srv, lines):
    p = srv.cli("dmarc", "record", input=("\n".join(lines) + "\n").encode())
    assert p.stdout.decode().strip() == "read %d observations" % len(lines)
    return p


def report(srv, *args, check=True):
    return srv.cli("dmarc", "report", *args, check=check)


@pytest.fixture
def filled(postern_stopped):
    srv = postern_stopped
    record(srv, BATCH1)
    p = record(srv, BATCH2)
    assert "event=dmarc_store_skip" in p.stderr.decode() and "bad source ip" in p.stderr.decode()
    return srv


def name(domain, ext):
    return "%s!%s!%d!%d.%s" % (RECEIVER, domain, D1, END, ext)


def test_reports_validate(filled, xmllint, schema):
    out = os.path.join(filled.tmp, "out")
    os.mkdir(out)
    p = report(filled, "--day", DAY, "--out", out)
    written = p.stdout.decode().split()
    want = [os.path.join(out, name(d, "xml")) for d in ("example.com", "sub.example.org")]
    assert written == want
    # Nothing else: no report for a domain without a mailto: rua.
    assert sorted(os.listdir(out)) == sorted(os.path.basename(w) for w in want)
    for path in written:
        validate(xmllint, schema, path)

    root = ET.parse(want[0]).getroot()
    assert root.tag == Q + "feedback"
    md = root.find(Q + "report_metadata")
    assert md.findtext(Q + "org_name") == "Test & <Org>"
    assert md.findtext(Q + "email") == "dmarc-reports@test.example"
    assert md.findtext(Q + "report_id") == "%s.example.com@%s" % (DAY, RECEIVER)
    assert md.findtext(Q + "date_range/" + Q + "begin") == str(D1)
    assert md.findtext(Q + "date_range/" + Q + "end") == str(END)
    pp = root.find(Q + "policy_published")
    assert [(c.tag[len(Q):], c.text) for c in pp] == [
        ("domain", "example.com"), ("adkim", "r"), ("aspf", "r"), ("p", "reject"),
        ("sp", "reject"), ("fo", "0")]  # the latest observation's record (D1 + 60)

    recs = {}
    for r in root.findall(Q + "record"):
        ip = r.findtext(Q + "row/" + Q + "source_ip")
        recs[ip] = r
    assert sorted(recs) == ["192.0.2.1", "198.51.100.7", "2001:db8:0:0:0:0:0:5"]
    counts = {ip: int(r.findtext(Q + "row/" + Q + "count")) for ip, r in recs.items()}
    # Three identical messages in two batches: one record counted 3.
    assert counts == {"192.0.2.1": 3, "198.51.100.7": 1, "2001:db8:0:0:0:0:0:5": 1}

    v6 = recs["2001:db8:0:0:0:0:0:5"]
    reason = v6.find(Q + "row/" + Q + "policy_evaluated/" + Q + "reason")
    assert reason.findtext(Q + "type") == "policy_test_mode"
    assert reason.findtext(Q + "comment") == COMMENT
    assert v6.findtext(Q + "identifiers/" + Q + "envelope_from") == ""
    spf = v6.find(Q + "auth_results/" + Q + "spf")
    assert (spf.findtext(Q + "domain"), spf.findtext(Q + "scope"),
            spf.findtext(Q + "result")) == ("helo.example", "helo", "softfail")
    assert v6.find(Q + "auth_results/" + Q + "dkim") is None

    ok = recs["192.0.2.1"]
    pe = ok.find(Q + "row/" + Q + "policy_evaluated")
    assert [c.text for c in pe] == ["none", "pass", "pass"]
    dk = ok.find(Q + "auth_results/" + Q + "dkim")
    assert [c.text for c in dk] == ["example.com", "sel1", "pass"]

    q = recs["198.51.100.7"]
    assert q.findtext(Q + "row/" + Q + "policy_evaluated/" + Q + "disposition") == "quarantine"
    assert q.findtext(Q + "identifiers/" + Q + "envelope_from") == "bounce.example"

    # The same day again gives the same bytes (a stable report_id).
    first = [open(w, "rb").read() for w in want]
    report(filled, "--day", DAY, "--out", out)
    assert [open(w, "rb").read() for w in want] == first


def test_mail(filled, xmllint, schema):
    out = os.path.join(filled.tmp, "out")
    os.mkdir(out)
    # RFC 7489 7.1: authorized.example accepts example.com's reports;
    # reports.thirdparty.example has no record (NXDOMAIN).
    zone = os.path.join(filled.tmp, "report.zone")
    with open(zone, "w") as f:
        f.write('example.com._report._dmarc.authorized.example TXT "v=DMARC1"\n'
                'other.example._report._dmarc.reports.thirdparty.example TXT "v=DMARC1"\n')
    p = report(filled, "--day", DAY, "--out", out, "--mail", "--zone", zone)
    written = p.stdout.decode().split()
    assert written == [os.path.join(out, name(d, e)) for d in ("example.com", "sub.example.org")
                       for e in ("xml", "eml")]
    err = p.stderr.decode()
    # "!10": ten bytes cannot hold any gzip'd report; the third party did
    # not authorize example.com (only other.example).
    assert re.search(r"exceeds the limit of small@example\.com \(10 bytes\)", err), err
    assert ("ext@reports.thirdparty.example is an external destination not authorized by "
            "example.com._report._dmarc.reports.thirdparty.example (RFC 7489 7.1: NXDOMAIN)"
            ) in err, err
    assert "authorized.example is" not in err

    for domain, to in (("example.com", "dmarc@example.com, agg@authorized.example"),
                       ("sub.example.org", "agg@example.org")):
        raw = open(os.path.join(out, name(domain, "eml")), "rb").read()
        assert b"\n" not in raw.replace(b"\r\n", b"")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        rid = "%s.%s@%s" % (DAY, domain, RECEIVER)
        assert msg["From"] == "dmarc-reports@test.example"
        assert msg["To"] == to
        assert msg["Subject"] == "Report Domain: %s Submitter: %s Report-ID: <%s>" % (
            domain, RECEIVER, rid)
        assert msg["Message-ID"] == "<%s>" % rid
        assert msg["Date"] is not None and msg["Date"].datetime is not None
        assert msg.get_content_type() == "multipart/mixed"
        parts = list(msg.iter_parts())
        assert [x.get_content_type() for x in parts] == ["text/plain", "application/gzip"]
        assert domain in parts[0].get_content()
        att = parts[1]
        assert att.get_filename() == name(domain, "xml.gz")
        xml = gzip.decompress(att.get_content())
        assert xml == open(os.path.join(out, name(domain, "xml")), "rb").read()
        validate(xmllint, schema, os.path.join(out, name(domain, "xml")))


def test_default_day_is_yesterday(postern_stopped, xmllint, schema):
    srv = postern_stopped
    today = int(time.time()) // 86400 * 86400
    record(srv, [line(when=today - 3600, domain="y.example", rua="mailto:r@y.example",
                      ip="203.0.113.4", header_from="y.example"),
                 line(when=today + 1, domain="t.example", rua="mailto:r@t.example",
                      ip="203.0.113.4", header_from="t.example")])
    p = report(srv, "--out", srv.tmp)
    yesterday = today - 86400
    path = os.path.join(srv.tmp, "%s!y.example!%d!%d.xml" % (RECEIVER, yesterday, today - 1))
    assert p.stdout.decode().split() == [path]
    validate(xmllint, schema, path)


def test_nothing_to_report(postern_stopped):
    p = report(postern_stopped, "--day", DAY, "--out", postern_stopped.tmp)
    assert p.stdout == b"" and p.stderr == b""


@pytest.mark.parametrize("args", [
    ["dmarc"], ["dmarc", "report", "--day"], ["dmarc", "report", "--day", "2026-02-30"],
    ["dmarc", "report", "--day", "2026-1-01"], ["dmarc", "report", "--bogus"],
    ["dmarc", "record", "extra"], ["dmarc", "frobnicate"]])
def test_usage(postern_stopped, args):
    p = postern_stopped.cli(*args, check=False)
    assert p.returncode == 2, p.stderr
    assert b"usage: postern dmarc" in p.stderr or b"is not a day" in p.stderr


def test_errors(filled):
    srv = filled
    missing = os.path.join(srv.tmp, "no-such-dir")
    p = report(srv, "--day", DAY, "--out", missing, check=False)
    assert p.returncode == 1
    assert ("cannot create %s/.%s.tmp" % (missing, name("example.com", "xml"))).encode() in p.stderr

    p = srv.cli("dmarc", "record", input=b"when=1\tdomain=example.com\n", check=False)
    assert p.returncode == 1 and b"stdin:1: bad observation" in p.stderr
    p = srv.cli("dmarc", "record", input=b"when=1\tcolour=blue\n", check=False)
    assert p.returncode == 1 and b"stdin:1:" in p.stderr
    p = srv.cli("dmarc", "record", input=b"x" * 9000 + b"\n", check=False)
    assert p.returncode == 1 and b"stdin:1: line longer than" in p.stderr
