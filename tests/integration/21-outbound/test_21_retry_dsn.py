"""Scenario 21, retries and DSNs: postern A (mx.a.test) sends to scripted
receivers found by MX.  A 451 defers the recipient (`postern queue show`
gives its attempts, remote and reply) and it is delivered on the next
attempt, whether `postern queue retry` or the backoff brings it; a 550
for one recipient of three fails only that one, and the authenticated
sender gets an RFC 3464 report; an unverified sender gets none (the log
says why); null MX (RFC 7505) and NXDOMAIN recipient domains fail at
once with 5.1.10 and 5.1.2 and are reported, unless NOTIFY=NEVER."""

import re

from helpers import SMTPConn, check, maildir_files, read_files, wait_for_files, wait_until, \
    all_mail_files, queue_id_of
from outbound import ADDR, message, msgid_of, mx_port, nsd, parse_dsn, servers, submit  # noqa: F401

A_USER, A_PASS = "user@a.test", "a-password"


def first_refused(code_text):
    """A scripted reply: code_text for the first transaction, 250 after."""
    def reply(rcv, txn, *addr):
        return code_text if rcv.attempts()[0] is txn else None
    return reply


def show_rcpts(inst, qid):
    """{address: fields} from `postern queue show`."""
    out = inst.show(qid)
    rcpts = {}
    for line in out.splitlines():
        m = re.match(r"^rcpt \d+: <([^>]*)> (.*)$", line)
        if m:
            fields = dict(re.findall(r"(\w+)=(\"(?:[^\"\\]|\\.)*\"|\S+)", m.group(2)))
            rcpts[m.group(1)] = {k: v.strip('"') for k, v in fields.items()}
    return rcpts


def test_deferred_then_retried_by_command(servers):
    # retry_min of an hour: only `postern queue retry` brings the next attempt.
    a = servers.postern("a", [(A_USER, A_PASS)],
                        delivery="\tretry_min = 3600;\n\tretry_max = 7200;\n")
    sink = servers.receiver("sink", rcpt_reply=first_refused("451 4.3.0 sink: try again later"))
    rcpt = "rcpt@sink.test"
    msg = message(A_USER, rcpt, "retry by command")
    qid = submit(a, A_USER, A_PASS, [rcpt], msg)

    def deferred():
        r = show_rcpts(a, qid).get(rcpt)
        return r if r and r.get("state") == "deferred" else None
    r = wait_until(deferred, 30, "the recipient to be deferred in `queue show`")
    assert r["attempts"] == "1", r
    assert r["remote"] == "mx.sink.test[%s]:%d" % (ADDR["sink"], servers.port), r
    assert r["last_reply"] == "451 4.3.0 sink: try again later", r
    assert "next_attempt" in r and "last_attempt" in r, r
    assert [t.rcpt_replies for t in sink.attempts()] == [["451 4.3.0 sink: try again later"]]
    assert not sink.delivered()
    assert qid in a.queue_ids()
    a.wait_log(r"event=deferred queue_id=%s rcpt=<%s> method=smtp relay=mx\.sink\.test\[%s\]:%d "
               r".*attempts=1 .*reply=\"451 4\.3\.0 sink: try again later\""
               % (qid, re.escape(rcpt), ADDR["sink"], servers.port))

    out = a.cli("queue", "retry", qid).stdout.decode()
    assert out.startswith("1 recipient due now"), out
    wait_until(sink.delivered, 30, "the retried delivery")
    a.wait_log(r"event=delivered queue_id=%s rcpt=<%s> " % (qid, re.escape(rcpt)))
    wait_until(a.queue_empty, 30, "an empty queue")
    # Delivered on the second attempt, once.
    attempts = sink.attempts()
    assert len(attempts) == 2, attempts
    assert [t.message_id for t in sink.delivered()] == [msgid_of(msg)]
    assert sink.delivered()[0].data.endswith(msg.split(b"\r\n\r\n", 1)[1])
    assert len(a.log_lines(r"event=delivered queue_id=%s " % qid)) == 1
    # A temporary failure is no DSN.
    assert not a.log_lines(r"event=dsn_queued queue_id=%s " % qid)
    assert not maildir_files(a.maildir(A_USER))


def test_deferred_then_retried_by_backoff(servers):
    # 451 to the end of the data this time; the next attempt comes by itself
    # after retry_min (2 s).
    a = servers.postern("a", [(A_USER, A_PASS)],
                        delivery="\tretry_min = 2;\n\tretry_max = 4;\n")
    sink = servers.receiver("sink", data_reply=first_refused("451 4.7.1 sink: greylisted"))
    rcpt = "rcpt@sink.test"
    msg = message(A_USER, rcpt, "retry by backoff")
    qid = submit(a, A_USER, A_PASS, [rcpt], msg)
    a.wait_log(r"event=deferred queue_id=%s rcpt=<%s> .*attempts=1 .*reply=\"451 4\.7\.1 "
               r"sink: greylisted\"" % (qid, re.escape(rcpt)))
    a.wait_log(r"event=delivered queue_id=%s rcpt=<%s> method=smtp relay=mx\.sink\.test"
               % (qid, re.escape(rcpt)))
    wait_until(a.queue_empty, 30, "an empty queue")
    attempts = sink.attempts()
    assert len(attempts) == 2, attempts
    assert [t.complete for t in attempts] == [True, True]
    assert [t.delivered for t in attempts] == [False, True]
    assert sink.delivered_ids() == [msgid_of(msg)]


def test_one_recipient_of_three_refused_dsn_to_authenticated_sender(servers):
    a = servers.postern("a", [(A_USER, A_PASS)])
    bad = "r3@sink.test"

    def rcpt_reply(rcv, txn, addr):
        return "550 5.1.1 <%s>: no such user here" % addr if addr == bad else None
    sink = servers.receiver("sink", rcpt_reply=rcpt_reply, probe_pipelining=True)
    rcpts = ["r1@sink.test", "r2@sink.test", bad]
    msg = message(A_USER, "r1@sink.test", "one of three")
    qid = submit(a, A_USER, A_PASS, rcpts, msg)

    a.wait_log(r"event=failed queue_id=%s rcpt=<%s> method=smtp relay=mx\.sink\.test\[%s\]:%d "
               r".*reason=permanent .*dsn=sent reply=\"550 5\.1\.1 <%s>: no such user here\""
               % (qid, re.escape(bad), ADDR["sink"], servers.port, re.escape(bad)))
    wait_until(a.queue_empty, 30, "an empty queue")
    # The other two in one transaction, delivered once; the sink offered
    # PIPELINING and SIZE, and postern used both.
    assert [sorted(t.accepted) for t in sink.delivered()] == [["r1@sink.test", "r2@sink.test"]]
    txn = sink.delivered()[0]
    assert txn.rcpts == rcpts, txn
    assert txn.pipelined, "RCPT TO did not follow MAIL FROM before its reply: no PIPELINING"
    size = re.search(r"(?i)\bSIZE=(\d+)\b", txn.mail_params)
    assert size and int(size.group(1)) >= len(txn.data), (txn.mail_params, len(txn.data))
    for r in rcpts[:2]:
        assert len(a.log_lines(r"event=delivered queue_id=%s rcpt=<%s> " % (qid, re.escape(r)))) \
            == 1
    assert len(a.log_lines(r"event=dsn_queued queue_id=%s .*rcpts=1" % qid)) == 1

    # The report, in the sender's own Maildir.
    files = wait_for_files(a.maildir(A_USER), 1)
    assert len(files) == 1, files
    data = read_files(files)[0]
    assert data.startswith(b"Return-Path: <>"), data[:200]
    dsn, per_msg, per_rcpt = parse_dsn(data)
    assert re.search(r"MAILER-DAEMON@mx\.a\.test", dsn["From"]), dsn["From"]
    assert per_msg["Reporting-MTA"].lower().replace(" ", "") == "dns;mx.a.test", per_msg.items()
    assert len(per_rcpt) == 1, [b.items() for b in per_rcpt]
    r = per_rcpt[0]
    assert r["Final-Recipient"].replace(" ", "").lower() == "rfc822;" + bad, r.items()
    assert r["Action"].strip().lower() == "failed", r.items()
    assert r["Status"].strip() == "5.1.1", r.items()
    assert re.match(r"^smtp; *550 5\.1\.1 <%s>: no such user here$" % re.escape(bad),
                    r["Diagnostic-Code"] or ""), r.items()
    # The returned header section names the message.
    assert msgid_of(msg).encode() in data
    # RFC 3464 2.3.5 (and dsn.h's remote_mta): "dns;" and the server's host
    # name, nothing else.
    assert (r["Remote-MTA"] or "").replace(" ", "") == "dns;mx.sink.test", \
        "Remote-MTA is not a host name: %r" % r["Remote-MTA"]


def test_unverified_sender_gets_no_dsn(servers):
    """The same refusal for mail from an outside sender, which nothing
    vouches for (an MX session from a trusted address with a foreign MAIL
    FROM domain), through an LMTP domain: no report is made."""
    lmtp_domain = ',\n\t{ name = "lmtp.test"; delivery = "lmtp"; lmtp = "%s:@MX@"; }' \
        % ADDR["lmtp"]
    rcpts = ["l1@lmtp.test", "l2@lmtp.test", "l3@lmtp.test"]
    a = servers.postern("a", [(A_USER, A_PASS)] + [(r, "pw") for r in rcpts],
                        domains=lmtp_domain)

    def data_reply(rcv, txn):
        return ["550 5.2.1 <%s>: mailbox disabled" % r if r == rcpts[2] else
                "250 2.0.0 <%s> Ok" % r for r in txn.accepted]
    lmtp = servers.receiver("lmtp", lmtp=True, data_reply=data_reply)
    sender = "someone@elsewhere.test"
    msg = message(sender, rcpts[0], "unverified")
    with SMTPConn(a.ports["mx"], host=a.addr) as c:
        c.ehlo("mail.elsewhere.test")
        check(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")
        for r in rcpts:
            check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
    a.wait_log(r"event=received .*queue_id=%s .*sender_verified=0" % qid)
    a.wait_log(r"event=failed queue_id=%s rcpt=<%s> method=lmtp .*reason=permanent "
               r".*dsn=suppressed reply=\"550 5\.2\.1 <%s>: mailbox disabled\""
               % (qid, re.escape(rcpts[2]), re.escape(rcpts[2])))
    a.wait_log(r"event=dsn queue_id=%s dsn=suppressed reason=unverified-sender rcpts=1" % qid)
    wait_until(a.queue_empty, 30, "an empty queue")
    assert [sorted(t.accepted) for t in lmtp.delivered()] == [sorted(rcpts)]
    for r in rcpts[:2]:
        assert len(a.log_lines(r"event=delivered queue_id=%s rcpt=<%s> method=lmtp"
                               % (qid, re.escape(r)))) == 1
    assert not a.log_lines(r"event=dsn_queued queue_id=%s " % qid)
    # No report anywhere: no local Maildir, no second message through the queue.
    assert all_mail_files(a.mailroot) == []
    assert len(a.log_lines(r"event=received ")) == 1


def test_null_mx_and_nxdomain_dsn(servers):
    a = servers.postern("a", [(A_USER, A_PASS)])
    nullmx, nxdomain = "x@nullmx.test", "y@nosuch.test"
    msg = message(A_USER, nullmx, "undeliverable")
    qid = submit(a, A_USER, A_PASS, [nullmx, nxdomain], msg)
    a.wait_log(r"event=failed queue_id=%s rcpt=<%s> .*reason=permanent .*dsn=sent "
               r"reply=\"556 5\.1\.10 " % (qid, re.escape(nullmx)))
    a.wait_log(r"event=failed queue_id=%s rcpt=<%s> .*reason=permanent .*dsn=sent "
               r"reply=\"550 5\.1\.2 " % (qid, re.escape(nxdomain)))
    # Permanent at once: one attempt each.
    assert len(a.log_lines(r"event=(failed|deferred) queue_id=%s .*attempts=1 " % qid)) == 2

    # The same failure with NOTIFY=NEVER: no report.
    never = message(A_USER, nullmx, "never tell")
    qid2 = submit(a, A_USER, A_PASS, ["z@nullmx.test"], never, rcpt_params="NOTIFY=NEVER")
    a.wait_log(r"event=failed queue_id=%s rcpt=<z@nullmx\.test> .*reason=permanent "
               r"reply=\"556 5\.1\.10 " % qid2)
    wait_until(a.queue_empty, 30, "an empty queue")
    assert len(a.log_lines(r"event=dsn_queued queue_id=%s .*rcpts=2" % qid)) == 1
    assert not a.log_lines(r"event=dsn_queued queue_id=%s " % qid2)
    assert not a.log_lines(r"queue_id=%s .*dsn=(sent|queued)" % qid2)

    files = maildir_files(a.maildir(A_USER))
    assert len(files) == 1, "expected exactly one DSN, found %d" % len(files)
    data = read_files(files)[0]
    dsn, per_msg, per_rcpt = parse_dsn(data)
    got = {}
    for r in per_rcpt:
        got[r["Final-Recipient"].split(";", 1)[1].strip()] = (
            r["Action"].strip().lower(), r["Status"].strip())
    assert got == {nullmx: ("failed", "5.1.10"), nxdomain: ("failed", "5.1.2")}, got
    assert msgid_of(msg).encode() in data
    assert msgid_of(never).encode() not in data
    # No server was reached, so no server said anything: RFC 3464 2.3.6's
    # "smtp" diagnostic type is for a server's reply, and dsn.c gives our
    # own findings a type of our own.
    for r in per_rcpt:
        assert r["Remote-MTA"] is None, r.items()
        diag = r["Diagnostic-Code"] or ""
        assert diag and not diag.lower().startswith("smtp;"), \
            "a DNS finding reported as a server's reply: Diagnostic-Code: %s" % diag
