"""What the conformance runners share: where the data and the binary are,
temporary files, and zone files for the `--zone` DNS backend."""
import os
import re
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF = os.environ.get("POSTERN_CONFORMANCE", os.path.join(ROOT, "..", "shared", "conformance"))
POSTERN = os.environ.get("POSTERN_BIN", os.path.join(ROOT, "build", "postern"))

VALID_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def quote_txt(value):
    """Zone-file TXT data: character-strings of at most 255 octets (RFC 1035 3.3)."""
    if value == "":
        return '""'
    parts = []
    raw = value.encode("latin-1", "replace")
    for i in range(0, len(raw), 200):
        out = ""
        for b in raw[i:i + 200]:
            if b in (0x22, 0x5C):
                out += "\\" + chr(b)
            elif b < 0x20 or b > 0x7E:
                out += "\\%03d" % b
            else:
                out += chr(b)
        parts.append('"' + out + '"')
    return " ".join(parts)


def write_tmp(tmpdir, data, suffix=".eml"):
    fd, path = tempfile.mkstemp(suffix=suffix, dir=tmpdir)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def write_zone(tmpdir, records):
    """records: owner name -> TXT data, or "NXDOMAIN" (left out: an unknown
    name is NXDOMAIN in the zone backend) or "TIMEOUT"."""
    lines = []
    for name, value in (records or {}).items():
        name = name.rstrip(".")
        if not VALID_NAME.match(name) or value == "NXDOMAIN":
            continue
        if value == "TIMEOUT":
            lines.append(f"{name} TIMEOUT\n")
        else:
            lines.append(f"{name} TXT {quote_txt(value)}\n")
    return write_tmp(tmpdir, "".join(lines).encode(), ".zone")
