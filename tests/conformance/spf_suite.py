#!/usr/bin/python3
"""Runs the openspf SPF test suites (RFC 7208 and RFC 4408) against
`postern spf check --zone`, one zone file per scenario, with the semantics
of pyspf's reference driver (see ../shared/conformance/spf/README.md)."""

import gzip
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEBIAN_DIR = "/usr/share/doc/python3-spf"

# RFC 4408 tests whose preferred answer RFC 7208 changed, with the RFC 7208
# section that decides; they are counted as "skipped (superseded)".  (The
# RFC 4408 suite also accepts the RFC 7208 answer for most of them, but a
# pass there would be a pass against the older RFC's second choice.)
SUPERSEDED_4408 = {
    "spfonly": "3.1, 4.4: only TXT records are looked up; type SPF is ignored (none)",
    "spfoverride": "3.1, 4.5: type SPF no longer overrides TXT (fail)",
    "multitxt1": "3.1, 4.5: two v=spf1 TXT records are a permerror; type SPF is ignored",
    "multispf2": "3.1, 4.5: type SPF records are ignored, the single TXT record decides (pass)",
    "txttimeout": "4.4: a TXT lookup that times out is a temperror",
    "exists-dnserr": "5: a DNS error while evaluating a mechanism is a temperror",
    "mx-limit": "4.6.4: an mx mechanism with more than 10 MX names is a permerror",
}


def loud(msg):
    bar = "!" * 72
    print(f"{bar}\n!!! {msg}\n{bar}", file=sys.stderr)


def suite_paths():
    """[(name, opener, path)] for the suites found, Debian's copies first."""
    found = []
    conf = os.environ.get("POSTERN_CONFORMANCE", os.path.join(ROOT, "..", "shared", "conformance"))
    for name in ("rfc7208", "rfc4408"):
        deb = os.path.join(DEBIAN_DIR, f"{name}-tests.yml.gz")
        local = os.path.join(conf, "spf", f"{name}-tests.yml")
        if os.path.exists(deb):
            found.append((name, deb))
        elif os.path.exists(local):
            found.append((name, local))
        else:
            loud(f"SPF suite {name} NOT FOUND (looked at {deb} and {local}); "
                 "install python3-spf or set POSTERN_CONFORMANCE")
    return found


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def wire(s):
    """A YAML string as the octets it stands for ("\\xEF" escapes are bytes)."""
    s = str(s)
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8")


def esc(octets, extra=b""):
    """Zone-file escaping (RFC 1035 5.1): \\DDD for anything unsafe."""
    out = []
    for b in octets:
        if b < 0x21 or b > 0x7E or b in b'\\"#' or b in extra:
            out.append("\\%03d" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def name_word(name):
    name = str(name)
    return "." if name in ("", ".") else esc(wire(name))


def txt_data(value):
    parts = value if isinstance(value, list) else [value]
    if not parts:
        parts = [""]  # a TXT with no strings: the empty string is the same to SPF
    return " ".join('"%s"' % esc(wire(p)) for p in parts)


def zone_text(zonedata):
    lines = []
    for owner, items in (zonedata or {}).items():
        owner_w = name_word(owner)
        items = items or []
        # README 1: SPF records are served as TXT too unless TXT is listed.
        has_txt = any(isinstance(i, dict) and "TXT" in i for i in items)
        for item in items:
            if item == "TIMEOUT" or (isinstance(item, dict) and "TIMEOUT" in item):
                lines.append(f"{owner_w} TIMEOUT")
                continue
            (rtype, value), = item.items()
            if rtype in ("TXT", "SPF"):
                if value == "NONE":
                    continue
                lines.append(f"{owner_w} {rtype} {txt_data(value)}")
                if rtype == "SPF" and not has_txt:
                    lines.append(f"{owner_w} TXT {txt_data(value)}")
            elif rtype == "MX":
                lines.append(f"{owner_w} MX {int(value[0])} {name_word(value[1])}")
            elif rtype in ("PTR", "CNAME"):
                lines.append(f"{owner_w} {rtype} {name_word(value)}")
            elif rtype in ("A", "AAAA"):
                lines.append(f"{owner_w} {rtype} {value}")
            else:
                raise ValueError(f"unknown record type {rtype} at {owner}")
    return "\n".join(lines) + "\n"


def run_check(binary, zone, test):
    cmd = [binary, "spf", "check", "--zone", zone, "--default-explanation", "DEFAULT",
           str(test["host"]), str(test.get("mailfrom", "")), str(test.get("helo", ""))]
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    result = explanation = None
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("result: "):
            result = line[len("result: "):]
        elif line.startswith("explanation: "):
            explanation = line[len("explanation: "):]
    return p.returncode, result, explanation, p.stdout.decode("utf-8", "replace")


def run_suite(name, path, binary, verbose):
    passed = failed = skipped = 0
    superseded = SUPERSEDED_4408 if name == "rfc4408" else {}
    with tempfile.TemporaryDirectory(prefix="postern-spf-") as tmp:
        for n, scenario in enumerate(load(path)):
            zone = os.path.join(tmp, f"scenario{n}.zone")
            with open(zone, "w", encoding="ascii") as f:
                f.write(zone_text(scenario.get("zonedata")))
            for tid, test in (scenario.get("tests") or {}).items():
                if tid in superseded:
                    skipped += 1
                    continue
                want = test["result"]
                want = want if isinstance(want, list) else [want]
                rc, got, exp, out = run_check(binary, zone, test)
                ok = rc == 0 and got in want
                if ok and "explanation" in test and exp != str(test["explanation"]):
                    ok = False
                if ok:
                    passed += 1
                    continue
                failed += 1
                print(f"FAIL {name} {tid}: want {want} exp={test.get('explanation')!r}, "
                      f"got {got} exp={exp!r} (rc {rc})")
                if verbose:
                    print(out)
    print(f"{name}: {passed} passed, {failed} failed, {skipped} skipped"
          + (" (superseded by RFC 7208)" if skipped else ""))
    return passed, failed, skipped


def main():
    binary = os.environ.get("POSTERN_BIN", os.path.join(ROOT, "build", "postern"))
    verbose = "-v" in sys.argv[1:]
    if not os.access(binary, os.X_OK):
        loud(f"postern binary not found at {binary} (set POSTERN_BIN)")
        return 1
    suites = suite_paths()
    if len(suites) < 2:
        loud("SPF conformance suites missing: this run proves NOTHING")
        return 1
    totals = [0, 0, 0]
    for name, path in suites:
        print(f"{name}: {path}")
        for i, v in enumerate(run_suite(name, path, binary, verbose)):
            totals[i] += v
    if SUPERSEDED_4408:
        print("superseded RFC 4408 cases (RFC 7208 section):")
        for tid, why in SUPERSEDED_4408.items():
            print(f"  {tid}: {why}")
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
