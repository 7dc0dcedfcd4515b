#!/usr/bin/python3
"""Runs the ValiMail ARC test suites (RFC 8617) in
../shared/conformance/dkim/arc (see that folder's README.md and
valimail-schema-README.md): every validation scenario through
`postern arc verify --zone` comparing the chain validation status, and
every signing scenario through `postern arc seal` comparing the produced
ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results with the
expected ones (tag by tag; b= and bh= exactly, as RSA signatures are
deterministic)."""

import os
import re
import subprocess
import sys
import tempfile

from common import CONF, POSTERN, write_tmp, write_zone

import yaml

ARC_DIR = os.path.join(CONF, "dkim", "arc")

# Validation tests whose expected cv is an empty block scalar upstream (the
# upstream runner compares against ""); by RFC 8617 5.2 step 2/3 a chain with
# a seal saying cv=fail is "fail", which is what the data README records.
EMPTY_CV_MEANS_FAIL = {"cv_fail_i1_as_cv_fail", "cv_fail_i2_as2_fail", "cv_fail_i2_as1_fail"}

# Known-ambiguous tests, skipped with the reason (keep this list short).
SKIP = {
    # The AMS has no c= and was signed relaxed/relaxed, as dkimpy assumes.
    # RFC 8617 4.1.2 gives the AMS "the same syntax and semantics as the
    # DKIM-Signature field" except for three listed differences, c= not among
    # them, so the default stays RFC 6376 3.5's simple/simple and postern
    # reports fail.
    "ams_fields_c_na": "c= default: RFC 8617 4.1.2 keeps DKIM's simple/simple",
}

passed = failed = skipped = 0
TMP = tempfile.mkdtemp(prefix="postern-arc-")


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def zone_of(records):
    """The suite's YAML block scalars break long TXT data over lines; a TXT
    record has no line breaks, so they are joined."""
    return write_zone(TMP, {name: "".join(str(value).split("\n")).strip()
                            for name, value in (records or {}).items()})


def verify(message, zone):
    p = subprocess.run([POSTERN, "arc", "verify", write_tmp(TMP, message.encode("latin-1"), ".eml"),
                        "--zone", zone], capture_output=True, text=True, timeout=60)
    m = re.match(r"^arc=(\w+)", p.stdout)
    if m is None:
        return "error: " + p.stderr.strip(), p.stdout
    want_rc = 1 if m.group(1) == "fail" else 0
    if p.returncode != want_rc:
        return f"exit {p.returncode} for arc={m.group(1)}", p.stdout
    return m.group(1), p.stdout


def validation_suite():
    global skipped
    path = os.path.join(ARC_DIR, "valimail-arc-draft-validation-tests.yml")
    for scenario in yaml.safe_load_all(open(path)):
        zone = zone_of(scenario.get("txt-records"))
        for name, t in scenario["tests"].items():
            if name in SKIP:
                skipped += 1
                continue
            want = str(t.get("cv") or "").strip().lower()
            if want == "" and name in EMPTY_CV_MEANS_FAIL:
                want = "fail"
            got, out = verify(t.get("message") or "", zone)
            check(f"validation/{name} ({t.get('description')})", got == want,
                  f"got {got}, want {want}\n{out}")


def unfold(value):
    return re.sub(r"\s+", " ", value.replace("\r\n", "\n")).strip()


def tags(value):
    """tag=value pairs: whitespace around tags dropped, inside values
    collapsed, and removed from b= and bh= (base64 FWS, RFC 6376 3.5)."""
    out = {}
    for part in unfold(value).split(";"):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        k, v = k.strip(), v.strip()
        out[k] = re.sub(r"\s+", "", v) if k in ("b", "bh") else v
    return out


def aar_results(value):
    """An AAR value: the instance, the authserv-id and each result, with
    whitespace collapsed."""
    return [unfold(p) for p in unfold(value).split(";") if p.strip()]


def parse_fields(text):
    """{lower-case name: value} of the fields postern printed."""
    fields = {}
    current = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and current is not None:
            fields[current] += "\n" + line
        elif ":" in line:
            name, _, value = line.partition(":")
            current = name.strip().lower()
            fields[current] = value
    return fields


def sign_suite():
    global skipped
    path = os.path.join(ARC_DIR, "valimail-arc-draft-sign-tests.yml")
    for scenario in yaml.safe_load_all(open(path)):
        zone = zone_of(scenario.get("txt-records"))
        key = write_tmp(TMP, scenario["privatekey"].encode(), ".key")
        for name, t in scenario["tests"].items():
            if name in SKIP:
                skipped += 1
                continue
            msg = write_tmp(TMP, t["message"].encode("latin-1"), ".eml")
            # cv comes from postern's own validation of the chain (no --cv).
            p = subprocess.run([POSTERN, "arc", "seal", msg, "--key", key,
                                "--domain", scenario["domain"], "--selector", scenario["sel"],
                                "--authserv-id", t["srv-id"], "--headers", t["sig-headers"],
                                "--now", str(t["t"]), "--zone", zone],
                               capture_output=True, text=True, timeout=60)
            label = f"sign/{name} ({t.get('description')})"
            if p.returncode != 0:
                check(label, False, f"exit {p.returncode}: {p.stderr.strip()}")
                continue
            got = parse_fields(p.stdout)
            want_as, want_ams, want_aar = (str(t.get(k) or "").strip() for k in ("AS", "AMS", "AAR"))
            if not want_as and not want_ams and not want_aar:
                check(label + " adds no set", got == {}, p.stdout)
                continue
            order = [ln.split(":")[0] for ln in p.stdout.splitlines() if ln and ln[0] not in " \t"]
            check(label + " field order", order == ["ARC-Seal", "ARC-Message-Signature",
                                                    "ARC-Authentication-Results"], order)
            check(label + " AMS", tags(got.get("arc-message-signature", "")) == tags(want_ams),
                  f"\n got  {tags(got.get('arc-message-signature', ''))}\n want {tags(want_ams)}")
            check(label + " AAR", aar_results(got.get("arc-authentication-results", "")) ==
                  aar_results(want_aar),
                  f"\n got  {aar_results(got.get('arc-authentication-results', ''))}"
                  f"\n want {aar_results(want_aar)}")
            check(label + " AS", tags(got.get("arc-seal", "")) == tags(want_as),
                  f"\n got  {tags(got.get('arc-seal', ''))}\n want {tags(want_as)}")


def mail_auth_suite():
    """stalwartlabs/mail-auth's real chains: DNS lines, an empty line, the
    message (LF).  Upstream asserts pass; a changed body must then fail."""
    for name in ("mail-auth-001.txt", "mail-auth-002.txt"):
        text = open(os.path.join(ARC_DIR, name), encoding="latin-1").read()
        head, _, msg = text.partition("\n\n")
        zone = zone_of(dict(line.split(" ", 1) for line in head.splitlines()))
        got, out = verify(msg, zone)
        check(f"mail-auth/{name}", got == "pass", f"got {got}\n{out}")
        body = msg.index("\n\n") + 2
        got, out = verify(msg[:body] + "X" + msg[body:], zone)
        check(f"mail-auth/{name} with a changed body", got == "fail", f"got {got}\n{out}")


def interop_suite():
    """Chains made by dkimpy (python3-dkim) verify in postern and chains
    sealed by postern verify in dkimpy, over two hops each way."""
    try:
        import dkim
    except ImportError:
        check("interop", False, "python3-dkim is not installed (make test-deps)")
        return
    scenario = next(yaml.safe_load_all(open(os.path.join(ARC_DIR,
                                                         "valimail-arc-draft-sign-tests.yml"))))
    key_pem = scenario["privatekey"].encode()
    key = write_tmp(TMP, key_pem, ".key")
    record = "".join(scenario["txt-records"]["dummy._domainkey.example.org"].split("\n")).strip()
    zone = zone_of({"dummy._domainkey.example.org": record})

    def dnsfunc(name, timeout=5):
        return record.encode() if name == b"dummy._domainkey.example.org." else None

    base = ("From: Joe <joe@example.org>\r\nTo: list@example.net\r\nSubject: interop\r\n"
            "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n\r\nHello  there. \r\n\r\n").encode()
    # dkimpy seals twice; postern validates.
    msg = base
    for hop, cv in ((1, "none"), (2, "pass")):
        msg = (f"Authentication-Results: hop{hop}.example.org; arc={cv}; spf=pass "
               f"smtp.mailfrom=joe@example.org\r\n").encode() + msg
        sealed = dkim.arc_sign(msg, b"dummy", b"example.org", key_pem,
                               f"hop{hop}.example.org".encode(),
                               include_headers=[b"from", b"to", b"subject", b"date"])
        msg = b"".join(sealed) + msg
        got, out = verify(msg.decode("latin-1"), zone)
        check(f"interop: dkimpy-sealed hop {hop} validates in postern", got == "pass",
              f"got {got}\n{out}")
    # postern seals twice (choosing cv itself); dkimpy validates.
    msg = base
    for hop in (1, 2):
        p = subprocess.run([POSTERN, "arc", "seal", write_tmp(TMP, msg, ".eml"), "--key", key,
                            "--domain", "example.org", "--selector", "dummy",
                            "--authserv-id", f"hop{hop}.example.org",
                            "--authres", "spf=pass smtp.mailfrom=joe@example.org",
                            "--zone", zone, "--output-message"], capture_output=True, timeout=60)
        if p.returncode != 0:
            check(f"interop: postern seal hop {hop}", False, p.stderr)
            return
        msg = p.stdout
        cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
        check(f"interop: postern-sealed hop {hop} validates in dkimpy", cv == b"pass",
              f"{cv} {reason}")


def main():
    if not os.path.isdir(ARC_DIR):
        print("*" * 72)
        print(f"*** ARC CONFORMANCE DATA MISSING: {ARC_DIR}")
        print("*** set POSTERN_CONFORMANCE to the conformance folder; NOTHING WAS TESTED")
        print("*" * 72)
        print("arc: 0 passed, 1 failed, 0 skipped")
        return 1
    if not os.access(POSTERN, os.X_OK):
        print(f"postern binary not found: {POSTERN} (set POSTERN_BIN)")
        print("arc: 0 passed, 1 failed, 0 skipped")
        return 1
    validation_suite()
    sign_suite()
    mail_auth_suite()
    interop_suite()
    print(f"arc: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
