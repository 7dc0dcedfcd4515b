"""Scenario 21, many messages to one destination: the queue manager killed
with SIGKILL while it is delivering 200 messages to a slow receiver is
restarted by the master and every recipient still arrives (at least
once: a message whose 250 the killed process never read is sent again,
never lost); connections to a destination are reused for the next
message while delivery.connection_cache_time lasts, and not kept when it
is 0."""

import os
import signal
import threading
from collections import Counter

import pytest

from helpers import wait_until
from outbound import message, msgid_of, mx_port, nsd, servers, submission, submit, \
    transaction  # noqa: F401

A_USER, A_PASS = "user@a.test", "a-password"


def test_qmgr_killed_mid_delivery(servers):
    a = servers.postern("a", [(A_USER, A_PASS)],
                        delivery="\tretry_min = 1;\n\tretry_max = 2;\n")
    # 0.3 s before each 250: 200 messages over at most 20 connections take
    # a few seconds, so the kill below lands in the middle.
    slow = servers.receiver("slow", data_delay=0.3)
    rcpts = ["r1@slow.test", "r2@slow.test"]
    sent = {}
    lock = threading.Lock()
    errors = []

    def sender(k):
        try:
            with submission(a, A_USER, A_PASS) as c:
                for i in range(50):
                    msg = message(A_USER, rcpts[0], "load %d-%d" % (k, i))
                    transaction(c, A_USER, rcpts, msg)
                    with lock:
                        sent[msgid_of(msg)] = msg
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    # Kill the queue manager once deliveries are well under way (the
    # submissions may still be going on: the SMTP workers are not touched).
    wait_until(lambda: len(slow.completed()) >= 30, 60, "30 messages at the slow receiver")
    old = a.qmgr_pids()
    assert len(old) == 1, a.children()
    os.kill(next(iter(old)), signal.SIGKILL)
    at_kill = len(set(slow.delivered_ids()))
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(sent) == 200
    assert at_kill < 200, "every message was delivered before the kill: no test"
    wait_until(lambda: a.qmgr_pids() and not (a.qmgr_pids() & old), 30,
               "the master to restart postern-qmgr")
    assert a.proc.poll() is None

    wait_until(lambda: set(slow.delivered_ids()) >= set(sent), 120,
               "every message at the receiver")
    wait_until(a.queue_empty, 60, "an empty queue")
    # Every recipient of every message, at least once; nothing unknown.
    got = {}
    for t in slow.delivered():
        got.setdefault(t.message_id, set()).update(t.accepted)
    assert set(got) == set(sent), (set(sent) - set(got), set(got) - set(sent))
    missing = {m: sorted(set(rcpts) - r) for m, r in got.items() if r != set(rcpts)}
    assert not missing, missing
    # Bodies as sent.
    for t in slow.delivered():
        assert t.data.endswith(sent[t.message_id].split(b"\r\n\r\n", 1)[1])
    dups = sum(n - 1 for n in Counter(slow.delivered_ids()).values())
    print("at the kill: %d of 200 delivered; duplicates afterwards: %d" % (at_kill, dups))
    assert len(a.log_lines(r"event=qmgr_start")) == 2


@pytest.mark.parametrize("cache_time", [5, 0])
def test_connection_reuse(servers, cache_time):
    a = servers.postern("a", [(A_USER, A_PASS)],
                        delivery="\tconnection_cache_time = %d;\n" % cache_time)
    sink = servers.receiver("sink")
    sent = []
    # One message after another: each is submitted once the previous one
    # is recorded as delivered, so a connection is either kept idle for
    # it or already closed.
    for i in range(20):
        msg = message(A_USER, "r@sink.test", "reuse %d" % i)
        qid = submit(a, A_USER, A_PASS, ["r@sink.test"], msg)
        a.wait_log(r"event=delivered queue_id=%s " % qid)
        sent.append(msgid_of(msg))
    assert sink.delivered_ids() == sent
    per_conn = Counter(t.conn_no for t in sink.delivered())
    conns = sink.snapshot()["connections"]
    if cache_time:
        assert conns < 20, "20 messages over %d connections: no reuse" % conns
        assert max(per_conn.values()) >= 2, per_conn
    else:
        assert conns == 20, "connection_cache_time = 0, yet %d connections for 20 messages" \
            % conns
        assert set(per_conn.values()) == {1}, per_conn
