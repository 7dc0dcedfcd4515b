"""Parses the DSNs test_dsn wrote into a folder back with Python's email
package and checks them as a receiving MUA or bounce processor would:
a multipart/report of three parts, the delivery-status blocks with the
RFC 3464 fields and value syntax, dates that parse, the returned message or
header section, CRLF lines of at most 998 octets.  The field sets are
compared with real generic RFC 3464 bounces from the conformance set
(../shared/conformance/dsn/sisimai, or $POSTERN_CONFORMANCE).

Only the standard library: run by the unit test with /usr/bin/python3.
Usage: check_dsn.py FOLDER; exit status 0 when every file passes."""

import email
import email.policy
import email.utils
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CONF = os.environ.get("POSTERN_CONFORMANCE", os.path.join(ROOT, "..", "shared", "conformance"))

# RFC 3464 2.2 and 2.3 (extension fields start with X-).
PER_MESSAGE = {"original-envelope-id", "reporting-mta", "dsn-gateway", "received-from-mta",
               "arrival-date"}
PER_RECIPIENT = {"original-recipient", "final-recipient", "action", "status", "remote-mta",
                 "diagnostic-code", "last-attempt-date", "final-log-id", "will-retry-until"}
ACTIONS = {"failed", "delayed", "delivered", "relayed", "expanded"}
STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
TYPED = re.compile(r"^[A-Za-z0-9-]+;\s*\S")
RETURNED = {"message/rfc822", "text/rfc822-headers", "message/global",
            "message/global-headers"}


def fail(name, why):
    raise AssertionError("%s: %s" % (name, why))


def check_lines(name, raw):
    for i, line in enumerate(raw.split(b"\r\n")):
        if b"\n" in line or b"\r" in line:
            fail(name, "bare CR or LF in line %d" % (i + 1))
        if len(line) > 998:
            fail(name, "line %d is %d octets long" % (i + 1, len(line)))


def blocks(text):
    """The blank-line separated field blocks of a delivery-status body."""
    out = []
    for chunk in re.split(r"\r?\n\r?\n", text.strip("\r\n")):
        out.append(email.message_from_string(chunk + "\r\n\r\n", policy=email.policy.compat32))
    return out


def names(block):
    return {k.lower() for k in block.keys()}


def check_date(name, block, field):
    if block[field] is not None:
        try:
            email.utils.parsedate_to_datetime(block[field])
        except (TypeError, ValueError):
            fail(name, "%s does not parse: %r" % (field, block[field]))


def check_report(name, raw):
    check_lines(name, raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        if msg[h] is None:
            fail(name, "no %s field" % h)
    if msg["Auto-Submitted"] != "auto-replied":
        fail(name, "Auto-Submitted is %r" % msg["Auto-Submitted"])
    email.utils.parsedate_to_datetime(msg["Date"])
    if msg.get_content_type() != "multipart/report" or \
            msg.get_param("report-type") != "delivery-status":
        fail(name, "not a delivery-status multipart/report: %s" % msg["Content-Type"])
    if msg.defects:
        fail(name, "defects: %r" % msg.defects)
    parts = msg.get_payload()
    if len(parts) != 3:
        fail(name, "%d parts" % len(parts))
    human, status, returned = parts
    if human.get_content_type() != "text/plain" or not human.get_content().strip():
        fail(name, "first part is not text")

    ctype = status.get_content_type()
    if ctype == "message/delivery-status":
        # The email package splits this type into its blocks itself.
        bl = status.get_payload()
        if not isinstance(bl, list) or len(bl) < 2:
            fail(name, "delivery-status not parsed into blocks")
    elif ctype == "message/global-delivery-status":
        # Not known to the email package: read as a message whose header
        # is the first block and whose body holds the others.
        first = status.get_payload()[0]
        bl = [first] + blocks(first.get_payload())
    else:
        fail(name, "second part is %s" % ctype)
    per_message, per_rcpt = bl[0], bl[1:]
    if not per_rcpt:
        fail(name, "no recipient block")
    if per_message["Reporting-MTA"] is None or not TYPED.match(per_message["Reporting-MTA"]):
        fail(name, "Reporting-MTA %r" % per_message["Reporting-MTA"])
    unknown = {n for n in names(per_message) if not n.startswith("x-")} - PER_MESSAGE
    if unknown:
        fail(name, "unknown per-message fields %s" % sorted(unknown))
    check_date(name, per_message, "Arrival-Date")
    subject_failed = any(b["Action"] == "failed" for b in per_rcpt)
    for b in per_rcpt:
        unknown = {n for n in names(b) if not n.startswith("x-")} - PER_RECIPIENT
        if unknown:
            fail(name, "unknown per-recipient fields %s" % sorted(unknown))
        for field in ("Final-Recipient", "Action", "Status"):
            if b[field] is None:
                fail(name, "a recipient block has no %s" % field)
        if b["Action"] not in ACTIONS:
            fail(name, "Action %r" % b["Action"])
        if not STATUS.match(b["Status"]):
            fail(name, "Status %r" % b["Status"])
        for field in ("Final-Recipient", "Original-Recipient", "Remote-MTA", "Diagnostic-Code"):
            if b[field] is not None and not TYPED.match(b[field]):
                fail(name, "%s %r is not type; value" % (field, b[field]))
        check_date(name, b, "Last-Attempt-Date")
        check_date(name, b, "Will-Retry-Until")
        if b["Will-Retry-Until"] is not None and b["Action"] != "delayed":
            fail(name, "Will-Retry-Until on a %s recipient" % b["Action"])
    want = "Undelivered Mail Returned to Sender" if subject_failed else None
    if want and msg["Subject"] != want:
        fail(name, "Subject %r" % msg["Subject"])

    rtype = returned.get_content_type()
    if rtype not in RETURNED:
        fail(name, "third part is %s" % rtype)
    if rtype in ("message/rfc822", "message/global"):
        inner = returned.get_payload()[0]
        if inner["Subject"] is None or not inner.get_payload():
            fail(name, "returned message has no Subject or body")
    else:
        text = returned.get_payload(decode=True).decode("utf-8")
        if "Subject:" not in text or "\r\n\r\n" in text.rstrip("\r\n"):
            fail(name, "returned header section is not one")
    return names(per_message), set().union(*(names(b) for b in per_rcpt))


def sample_fields():
    """Field names of the per-message and per-recipient blocks of the
    conformance set's generic RFC 3464 bounces."""
    files = sorted(glob.glob(os.path.join(CONF, "dsn", "sisimai", "rfc3464-*.eml")))
    msg_fields, rcpt_fields = set(), set()
    for path in files:
        with open(path, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.compat32)
        for part in m.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            bl = part.get_payload()
            if isinstance(bl, list) and bl:
                msg_fields |= names(bl[0])
                for b in bl[1:]:
                    rcpt_fields |= names(b)
    return len(files), msg_fields, rcpt_fields


def main():
    folder = sys.argv[1]
    ours_msg, ours_rcpt = set(), set()
    files = sorted(glob.glob(os.path.join(folder, "*.eml")))
    if not files:
        print("check_dsn: no reports in %s" % folder)
        return 1
    for path in files:
        with open(path, "rb") as f:
            m, r = check_report(os.path.basename(path), f.read())
        ours_msg |= m
        ours_rcpt |= r
    n, sample_msg, sample_rcpt = sample_fields()
    if n == 0:
        print("check_dsn: no conformance DSNs under %s (set POSTERN_CONFORMANCE); the field "
              "sets were NOT compared" % CONF)
        return 0
    # Every standard field the real reports use, ours has too (but for
    # Received-From-MTA: the queue does not keep the client's name), and
    # ours uses none outside RFC 3464.
    standard = lambda s: {x for x in s if not x.startswith("x-")}
    missing = (standard(sample_msg) - {"received-from-mta"}) - ours_msg
    missing |= standard(sample_rcpt) - ours_rcpt
    if missing:
        print("check_dsn: fields of the conformance DSNs we never write: %s" % sorted(missing))
        return 1
    print("check_dsn: %d reports parsed; fields %s and %s cover those of %d conformance DSNs" % (
        len(files), sorted(ours_msg), sorted(ours_rcpt), n))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("check_dsn: %s" % e)
        sys.exit(1)
