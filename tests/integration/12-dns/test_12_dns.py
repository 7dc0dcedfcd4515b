"""Scenario 12: `postern dns query` through the c-ares backend against a
real authoritative server (nsd) on loopback serving zones written here:
addresses, PTR in a reverse zone, TXT split into character-strings, MX,
SRV, a CNAME chain, NXDOMAIN, NODATA, an answer too large for UDP; and a
server that never answers, or is not there, gives TEMPFAIL in time."""

import os
import socket
import subprocess
import time

import pytest

from conftest import free_ports, postern_bin
from nsd import running_nsd

HERE = os.path.dirname(os.path.abspath(__file__))

LONG = "x" * 255 + "y" * 45  # a 300-octet TXT: two character-strings
BIG = ["%03d" % i + "z" * 250 for i in range(6)]  # 1.5 kB: truncated on UDP, TCP retry

ZONE = """\
$ORIGIN example.test.
$TTL 300
@        3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 5
@        IN NS    ns
ns       IN A     127.0.0.1
www      IN A     192.0.2.10
www      IN A     192.0.2.11
www      IN AAAA  2001:db8::10
@        IN MX    10 mx1
@        IN MX    20 mx2.example.test.
mx1      IN A     192.0.2.25
_submission._tcp IN SRV 0 5 587 mx1.example.test.
spf      IN TXT   "v=spf1 " "ip4:192.0.2.0/24 " "-all"
spf      IN TXT   "second record"
long     IN TXT   "{long1}" "{long2}"
nul      IN TXT   "a\\000b"
big      IN TXT   {big}
alias    60 IN CNAME alias2
alias2   120 IN CNAME www
Alias3   IN CNAME  nowhere
""".format(long1=LONG[:255], long2=LONG[255:], big=" ".join('"%s"' % s for s in BIG))

REVERSE = """\
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@   IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 5
@   IN NS  ns.example.test.
10  IN PTR www.example.test.
"""

REVERSE6 = """\
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 300
@   IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 5
@   IN NS  ns.example.test.
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR www.example.test.
"""

@pytest.fixture(scope="module")
def nsd():
    with running_nsd([("example.test", ZONE), ("2.0.192.in-addr.arpa", REVERSE),
                      ("8.b.d.0.1.0.0.2.ip6.arpa", REVERSE6)]) as port:
        yield port


def write_conf(tmp, server, timeout_ms=1000, tries=2):
    with open(os.path.join(HERE, "postern.conf")) as f:
        text = f.read()
    for k, v in (("@TMP@", tmp), ("@MX@", free_ports(1)[0]), ("@DNS@", server),
                 ("@TIMEOUT@", timeout_ms), ("@TRIES@", tries)):
        text = text.replace(k, str(v))
    path = os.path.join(tmp, "postern.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def query(conf, name, qtype, *extra):
    p = subprocess.run([postern_bin(), "-c", conf, "dns", "query", name, qtype] + list(extra),
                       capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "):
        assert marker not in err, err
    return p.returncode, out, err


def parse(out):
    """{'status':..., 'canonical':..., 'rrs': [(type, ttl, data)]}"""
    res = {"rrs": []}
    for line in out.splitlines():
        if line.startswith(("status: ", "name: ", "canonical: ")):
            k, v = line.split(": ", 1)
            res[k] = v
        else:
            t, ttl, data = line.split(" ", 2)
            res["rrs"].append((t, int(ttl), data))
    return res


@pytest.fixture
def conf(nsd, tmp_path):
    return write_conf(str(tmp_path), "127.0.0.1:%d" % nsd)


def ask(conf, name, qtype):
    rc, out, err = query(conf, name, qtype)
    res = parse(out)
    assert rc == (0 if res["status"] == "OK" else 1), (rc, out, err)
    return res


def test_a_and_aaaa(conf):
    r = ask(conf, "www.example.test", "A")
    assert r["status"] == "OK" and r["canonical"] == "www.example.test"
    assert sorted(r["rrs"]) == [("A", 300, "192.0.2.10"), ("A", 300, "192.0.2.11")]
    r = ask(conf, "WWW.Example.Test.", "AAAA")
    assert r["name"] == "WWW.Example.Test"
    assert r["rrs"] == [("AAAA", 300, "2001:db8::10")]


def test_ptr_v4_and_v6(conf):
    r = ask(conf, "192.0.2.10", "PTR")
    assert r["name"] == "10.2.0.192.in-addr.arpa"
    assert r["rrs"] == [("PTR", 300, "www.example.test")]
    r = ask(conf, "2001:db8::10", "PTR")
    assert r["name"].endswith(".8.b.d.0.1.0.0.2.ip6.arpa")
    assert r["rrs"] == [("PTR", 300, "www.example.test")]
    assert ask(conf, "192.0.2.99", "PTR")["status"] == "NXDOMAIN"


def test_mx_and_srv(conf):
    r = ask(conf, "example.test", "MX")
    assert sorted(r["rrs"]) == [("MX", 300, "10 mx1.example.test"),
                                ("MX", 300, "20 mx2.example.test")]
    r = ask(conf, "_submission._tcp.example.test", "SRV")
    assert r["rrs"] == [("SRV", 300, "0 5 587 mx1.example.test")]


def test_txt_strings_joined_per_record(conf):
    r = ask(conf, "spf.example.test", "TXT")
    assert sorted(r["rrs"]) == [("TXT", 300, '"second record"'),
                                ("TXT", 300, '"v=spf1 ip4:192.0.2.0/24 -all"')]
    r = ask(conf, "long.example.test", "TXT")
    assert r["rrs"] == [("TXT", 300, '"%s"' % LONG)]
    # A NUL inside the data is kept, with the length.
    assert ask(conf, "nul.example.test", "TXT")["rrs"] == [("TXT", 300, '"a\\000b"')]


def test_answer_larger_than_udp_comes_over_tcp(conf):
    r = ask(conf, "big.example.test", "TXT")
    assert r["rrs"] == [("TXT", 300, '"%s"' % "".join(BIG))]


def test_cname_chain(conf):
    r = ask(conf, "alias.example.test", "A")
    assert r["canonical"] == "www.example.test"
    assert sorted(d for _, _, d in r["rrs"]) == ["192.0.2.10", "192.0.2.11"]
    assert all(t == "A" for t, _, _ in r["rrs"])
    # Asked for the CNAME itself, it is not followed.
    r = ask(conf, "alias.example.test", "CNAME")
    assert r["canonical"] == "alias.example.test"
    assert r["rrs"] == [("CNAME", 60, "alias2.example.test")]
    # A chain into a name that does not exist.
    r = ask(conf, "alias3.example.test", "A")
    assert r["status"] == "NXDOMAIN" and r["canonical"] == "nowhere.example.test"


def test_nxdomain_nodata_badname(conf):
    r = ask(conf, "missing.example.test", "A")
    assert r["status"] == "NXDOMAIN" and r["rrs"] == []
    r = ask(conf, "www.example.test", "MX")
    assert r["status"] == "NODATA" and r["rrs"] == []
    r = ask(conf, "a..example.test", "A")
    assert r["status"] == "BADNAME"
    r = ask(conf, "x" * 64 + ".example.test", "A")
    assert r["status"] == "BADNAME"


def test_server_option_overrides_config(nsd, tmp_path):
    # The configured server does not exist; --server points at nsd.
    conf = write_conf(str(tmp_path), "127.0.0.1:%d" % free_ports(1)[0])
    rc, out, err = query(conf, "www.example.test", "AAAA", "--server", "127.0.0.1:%d" % nsd)
    assert rc == 0 and "AAAA 300 2001:db8::10" in out, (out, err)


def test_usage_errors(conf):
    for args in (["query", "www.example.test"], ["query", "x", "NAPTR"], ["lookup", "x", "A"]):
        p = subprocess.run([postern_bin(), "-c", conf, "dns"] + args, capture_output=True,
                           timeout=30)
        assert p.returncode == 2 and b"usage: postern dns" in p.stderr


def test_silent_server_tempfails_in_time(tmp_path):
    """A server that takes queries and never answers."""
    timeout_ms, tries = 300, 2
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        conf = write_conf(str(tmp_path), "127.0.0.1:%d" % s.getsockname()[1], timeout_ms, tries)
        start = time.monotonic()
        rc, out, err = query(conf, "www.example.test", "A")
        elapsed = time.monotonic() - start
    assert rc == 1 and parse(out)["status"] == "TEMPFAIL", (out, err)
    assert elapsed >= timeout_ms / 1000.0
    # c-ares doubles the timeout of each round of tries after the first
    # (300 + 600 ms here); 1.5 s covers that and the process start.
    assert elapsed < timeout_ms * (2 ** tries - 1) / 1000.0 + 1.5, elapsed


def test_closed_port_tempfails(tmp_path):
    conf = write_conf(str(tmp_path), "127.0.0.1:%d" % free_ports(1)[0], 300, 2)
    start = time.monotonic()
    rc, out, err = query(conf, "www.example.test", "A")
    assert rc == 1 and parse(out)["status"] == "TEMPFAIL", (out, err)
    assert time.monotonic() - start < 3
