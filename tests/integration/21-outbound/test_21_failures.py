"""Scenario 21, destinations that do not work: a server that accepts the
connection and never greets, and an address that drops SYNs (a listening
socket whose accept queue is full: Linux then drops further SYNs, so a
connect hangs as to a host that is down, with no firewall rule).  Their
messages are deferred with a timeout reply, the destination is marked
down (event=destination_down) and its later messages are deferred
without a new connection; a healthy destination is delivered to
meanwhile: while the dead one's connection is still hanging, counted by
what the servers see, not by the clock."""

import re
import socket
import threading
import time

from helpers import wait_until
from outbound import ADDR, message, msgid_of, mx_port, nsd, servers, submit  # noqa: F401

A_USER, A_PASS = "user@a.test", "a-password"


def show_field(inst, qid, rcpt, name):
    for line in inst.show(qid).splitlines():
        if line.startswith("rcpt ") and "<%s>" % rcpt in line:
            m = re.search(r"\b%s=(\"(?:[^\"\\]|\\.)*\"|\S+)" % name, line)
            return m.group(1).strip('"') if m else None
    return None


def test_silent_server_greeting_timeout(servers):
    # retry_min of an hour: nothing is tried twice during the test.
    a = servers.postern("a", [(A_USER, A_PASS)],
                        delivery="\tgreeting_timeout = 5;\n\tretry_min = 3600;\n"
                                 "\tretry_max = 7200;\n")
    silent = servers.receiver("silent", silent=True)
    seen = []  # what the silent server looked like as each healthy message arrived

    def on_healthy(rcv, txn):
        seen.append(silent.snapshot())
    healthy = servers.receiver("healthy", on_message=on_healthy)

    stuck = [submit(a, A_USER, A_PASS, ["x%d@silent.test" % i],
                    message(A_USER, "x%d@silent.test" % i, "silent %d" % i)) for i in range(3)]
    # The first attempt is hanging: connected, no greeting.
    wait_until(lambda: silent.snapshot()["connections"] == 1, 30,
               "postern to connect to the silent server")
    good = [message(A_USER, "y%d@healthy.test" % i, "healthy %d" % i) for i in range(3)]
    for i, msg in enumerate(good):
        submit(a, A_USER, A_PASS, ["y%d@healthy.test" % i], msg)
    wait_until(lambda: len(healthy.delivered()) == 3, 30, "the healthy destination's mail")
    # Each arrived while the silent server still held its one connection.
    assert len(seen) == 3
    for snap in seen:
        assert snap["connections"] == 1 and snap["open"] == 1, seen
    assert sorted(healthy.delivered_ids()) == sorted(msgid_of(m) for m in good)

    # Then the greeting timeout: the first message deferred with it, the
    # destination down and the two that waited deferred with the same
    # reply, without another connection.
    timeout_re = (r"421 4\.4\.2 mx\.silent\.test\[%s\]:%d: timed out after 5s while waiting "
                  r"for the greeting" % (re.escape(ADDR["silent"]), servers.port))
    a.wait_log(r"event=destination_down destination=silent\.test ")
    for qid in stuck:
        a.wait_log(r"event=deferred queue_id=%s rcpt=<x\d@silent\.test> .*attempts=1 .*"
                   r"reply=\"%s" % (qid, timeout_re))
    assert len(a.log_lines(r"event=destination_down destination=silent\.test ")) == 1
    wait_until(lambda: silent.snapshot()["open"] == 0, 30,
               "postern to close the silent connection")
    assert silent.snapshot()["connections"] == 1
    assert silent.closed_by_peer == 1
    for i, qid in enumerate(stuck):
        assert show_field(a, qid, "x%d@silent.test" % i, "state") == "deferred"
        assert re.match(timeout_re, show_field(a, qid, "x%d@silent.test" % i, "last_reply"))
    assert sorted(a.queue_ids()) == sorted(stuck)


# -- a destination that drops SYNs ---------------------------------------------

def syn_sent_ports(host, port):
    """Local ports of the sockets in SYN-SENT towards host:port (from
    /proc/net/tcp: every process of this network namespace)."""
    a, b, c, d = (int(x) for x in host.split("."))
    want = "%02X%02X%02X%02X:%04X" % (d, c, b, a, port)
    out = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[2] == want and fields[3] == "02":
                out.add(int(fields[1].split(":")[1], 16))
    return out


class Blackhole:
    """A listening socket with backlog 0 that never accepts, its accept
    queue filled by connections of ours: further SYNs are dropped."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(0)
        self.fillers = []
        self.hangs = False
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(1.0)
            try:
                s.connect((host, port))
            except socket.timeout:
                s.close()
                self.hangs = True
                break
            self.fillers.append(s)

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


class SynWatch:
    """Records every local port seen in SYN-SENT towards host:port."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.ports = set()
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_ev.is_set():
            self.ports |= syn_sent_ports(self.host, self.port)
            time.sleep(0.02)

    def now(self):
        return syn_sent_ports(self.host, self.port)

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)


def test_blackholed_destination(servers):
    hole = Blackhole(ADDR["blackhole"], servers.port)
    watch = None
    try:
        # The premise: a plain connect there does not complete within 1 s.
        assert hole.hangs, "the accept queue never filled: connects still complete (%d made)" \
            % len(hole.fillers)
        assert not syn_sent_ports(ADDR["blackhole"], servers.port)
        a = servers.postern("a", [(A_USER, A_PASS)],
                            delivery="\tconnect_timeout = 5;\n\tretry_min = 3600;\n"
                                     "\tretry_max = 7200;\n")
        watch = SynWatch(ADDR["blackhole"], servers.port)
        hanging = []  # SYN-SENT sockets towards the hole as each healthy message arrived

        def on_healthy(rcv, txn):
            hanging.append(watch.now())
        healthy = servers.receiver("healthy", on_message=on_healthy)

        first = submit(a, A_USER, A_PASS, ["x@blackhole.test"],
                       message(A_USER, "x@blackhole.test", "into the hole"))
        wait_until(lambda: watch.ports, 30, "postern to try to connect to the hole")
        good = [message(A_USER, "y%d@healthy.test" % i, "healthy %d" % i) for i in range(3)]
        for i, msg in enumerate(good):
            submit(a, A_USER, A_PASS, ["y%d@healthy.test" % i], msg)
        wait_until(lambda: len(healthy.delivered()) == 3, 30, "the healthy destination's mail")
        # Delivered while postern's connect to the hole was still hanging.
        assert len(hanging) == 3 and all(h == watch.ports for h in hanging), (hanging,
                                                                              watch.ports)

        timeout_re = (r"421 4\.4\.2 mx\.blackhole\.test\[%s\]:%d: timed out after 5s while "
                      r"connecting" % (re.escape(ADDR["blackhole"]), servers.port))
        a.wait_log(r"event=deferred queue_id=%s rcpt=<x@blackhole\.test> .*attempts=1 .*"
                   r"reply=\"%s" % (first, timeout_re))
        a.wait_log(r"event=destination_down destination=blackhole\.test ")
        assert len(watch.ports) == 1, watch.ports

        # Down: the next messages are deferred at once with the same reply,
        # without a connection attempt; the healthy one still gets its mail.
        later = [submit(a, A_USER, A_PASS, ["z%d@blackhole.test" % i],
                        message(A_USER, "z%d@blackhole.test" % i, "later %d" % i))
                 for i in range(2)]
        more = message(A_USER, "w@healthy.test", "healthy after")
        submit(a, A_USER, A_PASS, ["w@healthy.test"], more)
        for i, qid in enumerate(later):
            a.wait_log(r"event=deferred queue_id=%s rcpt=<z%d@blackhole\.test> .*attempts=1 .*"
                       r"reply=\"%s" % (qid, i, timeout_re))
        wait_until(lambda: len(healthy.delivered()) == 4, 30, "the healthy destination's mail")
        assert len(watch.ports) == 1, "new connection attempts to a down destination: %r" \
            % watch.ports
        assert not watch.now()
        assert len(a.log_lines(r"event=destination_down destination=blackhole\.test ")) == 1
        # The dead destination's messages are all still queued, deferred;
        # the healthy ones are not.
        assert sorted(a.queue_ids()) == sorted([first] + later)
        for qid, rcpt in [(first, "x@blackhole.test")] + [
                (q, "z%d@blackhole.test" % i) for i, q in enumerate(later)]:
            assert show_field(a, qid, rcpt, "state") == "deferred"
            assert show_field(a, qid, rcpt, "attempts") == "1"
            assert re.match(timeout_re, show_field(a, qid, rcpt, "last_reply"))
        assert sorted(healthy.delivered_ids()) == sorted(msgid_of(m) for m in good + [more])
    finally:
        if watch is not None:
            watch.stop()
        hole.close()


def test_dead_first_mx_falls_back_to_the_next(servers):
    """fallback.test: MX 10 at the address that drops SYNs, MX 20 healthy.
    After connect_timeout on the first, the second gets the message; the
    destination was reached, so it is not down."""
    hole = Blackhole(ADDR["blackhole"], servers.port)
    watch = None
    try:
        assert hole.hangs, "the accept queue never filled: connects still complete"
        a = servers.postern("a", [(A_USER, A_PASS)],
                            delivery="\tconnect_timeout = 3;\n\tretry_min = 3600;\n"
                                     "\tretry_max = 7200;\n")
        watch = SynWatch(ADDR["blackhole"], servers.port)
        healthy = servers.receiver("healthy")
        msg = message(A_USER, "x@fallback.test", "fallback")
        qid = submit(a, A_USER, A_PASS, ["x@fallback.test"], msg)
        a.wait_log(r"event=delivered queue_id=%s rcpt=<x@fallback\.test> method=smtp "
                   r"relay=mx\.healthy\.test\[%s\]:%d " % (qid, re.escape(ADDR["healthy"]),
                                                       servers.port))
        assert healthy.delivered_ids() == [msgid_of(msg)]
        assert len(watch.ports) == 1, watch.ports  # the better MX was tried first
        assert not a.log_lines(r"event=destination_down")
        assert not a.log_lines(r"event=deferred")
        wait_until(a.queue_empty, 30, "an empty queue")
    finally:
        if watch is not None:
            watch.stop()
        hole.close()
