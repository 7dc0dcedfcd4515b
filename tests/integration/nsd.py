"""A real authoritative DNS server (nsd) on a loopback port, serving the
zones a scenario writes, for the tests of the DNS layer and the checks."""
import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_ports, short_tmpdir

NSD_CONF = """\
server:
	ip-address: 127.0.0.1@{port}
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "{d}"
	database: ""
	pidfile: "{d}/nsd.pid"
	xfrdfile: "{d}/xfrd.state"
	zonelistfile: "{d}/zone.list"
	xfrdir: "{d}"
	logfile: "{d}/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
"""


def soa_query(zone):
    """A minimal query (id 1, RD off) for the SOA of zone."""
    q = b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in zone.strip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x06\x00\x01"


def wait_ready(port, zone, proc, timeout=20.0):
    q = soa_query(zone)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("nsd exited with %s" % proc.returncode)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(q, ("127.0.0.1", port))
                if s.recv(4096)[:2] == b"\x00\x01":
                    return
            except OSError:
                pass
    raise AssertionError("nsd did not answer on port %d" % port)


@contextlib.contextmanager
def running_nsd(zones):
    """zones: [(zone name, zone file text)].  Yields the port."""
    if shutil.which("nsd") is None:
        pytest.fail("nsd is not installed (scripts/install-deps.sh --test)")
    d = short_tmpdir("postern-nsd-")
    port = free_ports(1)[0]
    conf = NSD_CONF.format(port=port, d=d)
    for i, (zone, text) in enumerate(zones):
        fname = "zone%d.zone" % i
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
        conf += "zone:\n\tname: %s\n\tzonefile: %s\n" % (zone, fname)
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(conf)
    log = open(os.path.join(d, "nsd.stderr"), "wb")
    proc = subprocess.Popen(["nsd", "-d", "-c", os.path.join(d, "nsd.conf")],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_ready(port, zones[0][0], proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(d, ignore_errors=True)
