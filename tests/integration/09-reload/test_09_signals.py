"""Scenario 09: signals.  SIGHUP reloads the configuration (new sessions
see the new limits, sessions in progress go on; a broken file, or a bad
value only the workers would have tripped over, keeps the old
configuration and workers); SIGTERM lets a transaction in progress finish, tells
idle clients 421 and exits 0."""

import re
import signal
import time

import pytest

from helpers import SMTPConn, all_mail_files, check, dot_stuff, make_message, queue_id_of, \
    read_files, wait_for_files, wait_until

ACCOUNTS = [("r%d@test.example" % i, "pw%d" % i, []) for i in range(1, 6)]


def rcpt_limit_reached(postern, n):
    """True when a new session gets 452 4.5.3 for recipient n+1."""
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        for i in range(1, n + 1):
            check(c.cmd("RCPT TO:<r%d@test.example>" % i), 250, "2.1.5")
        r = c.cmd("RCPT TO:<r%d@test.example>" % (n + 1))
        if r.code == 452:
            check(r, 452, "4.5.3")
            return True
        check(r, 250, "2.1.5")
        return False


def set_limit(postern, name, value):
    text, n = re.subn(r"(\b%s\s*=\s*)\d+" % name, r"\g<1>%d" % value, postern.config_text)
    assert n == 1, "%s not found in the scenario's config" % name
    postern.write_config(text)


def hup(postern):
    """SIGHUP, sent as soon as the listeners accept (as a service manager's
    reload may be): the master must be ready for it by then."""
    postern.signal(signal.SIGHUP)
    time.sleep(0.05)
    rc = postern.proc.poll()
    assert rc is None, "postern exited (%s) on SIGHUP\n%s" % (rc, postern.log_tail())


def test_sighup_reload_new_sessions_see_new_limit(postern):
    assert not rcpt_limit_reached(postern, 2)
    # A session in progress across the reload.
    msg = make_message(subject="across reload")
    old = SMTPConn(postern.ports["mx"])
    old.ehlo()
    check(old.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
    check(old.cmd("RCPT TO:<r1@test.example>"), 250, "2.1.5")
    check(old.cmd("RCPT TO:<r2@test.example>"), 250, "2.1.5")

    set_limit(postern, "max_recipients", 2)
    hup(postern)
    wait_until(lambda: rcpt_limit_reached(postern, 2), 20,
               "new sessions to see max_recipients = 2")

    # The old session was not dropped and its transaction completes.
    check(old.cmd("NOOP"), 250, "2.0.0")
    check(old.cmd("DATA"), 354)
    old.send(dot_stuff(msg) + b".\r\n")
    queue_id_of(old.reply())
    check(old.cmd("QUIT"), 221, "2.0.0")
    old.close()
    for r in ("r1@test.example", "r2@test.example"):
        assert len(wait_for_files(postern.maildir(r), 1)) == 1
    assert postern.proc.poll() is None


def test_sighup_bad_config_keeps_running(postern):
    good = postern.config_text
    postern.write_config(good + "\nno_such_setting = 1;\n")
    hup(postern)
    # The error is logged with file:line, and the server keeps going.
    wait_until(lambda: "no_such_setting" in postern.log() or postern.proc.poll() is not None,
               20, "the reload error in the log")
    assert postern.proc.poll() is None, postern.log_tail()
    assert postern.proc.poll() is None
    assert not rcpt_limit_reached(postern, 3)
    msg = make_message(subject="after bad reload")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<r1@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(msg))
    wait_for_files(postern.maildir("r1@test.example"), 1)
    # A later good reload still works.
    postern.write_config(good)
    set_limit(postern, "max_recipients", 3)
    hup(postern)
    wait_until(lambda: rcpt_limit_reached(postern, 3), 20, "max_recipients = 3")


@pytest.mark.parametrize("section,setting,error", [
    ("policy", 'trusted_networks = "127.0.0.0/8, 192.0.2.0/33";',
     "policy.trusted_networks: '192.0.2.0/33': the prefix is not 0..32"),
    ("dns", 'servers = "127.0.0.1:53, resolver.example:53";',
     "dns.servers: 'resolver.example:53' is not IPv4[:port], [IPv6]:port or IPv6"),
])
def test_sighup_bad_network_setting_keeps_workers(postern, section, setting, error):
    """A value only the workers used to parse (and die of) is refused by the
    reload itself: the running configuration and workers stay, and the log
    says why with file:line."""
    # A child is named once it runs; until then it shows the master's name.
    wait_until(lambda: len(postern.children("postern-smtp")) == 2, 20, "two named workers")
    workers = postern.children("postern-smtp")
    good = postern.config_text
    bad = good.rstrip("\n") + "\n%s = {\n\t%s\n};\n" % (section, setting)
    line = bad.count("\n") - 1
    postern.write_config(bad)
    hup(postern)
    wait_until(lambda: "event=reload_failed" in postern.log(), 20, "event=reload_failed")
    failed = [l for l in postern.log().splitlines() if "event=reload_failed" in l]
    assert len(failed) == 1, failed
    assert 'error="%s:%d: %s"' % (postern.conf, line, error) in failed[0], failed[0]
    assert "event=reloaded" not in postern.log()
    # The same workers still serve, with the old configuration.
    msg = make_message(subject="after refused reload")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<r1@test.example>"), 250, "2.1.5")
        queue_id_of(c.data(msg))
    wait_for_files(postern.maildir("r1@test.example"), 1)
    assert postern.children("postern-smtp") == workers
    assert "event=child_died" not in postern.log(), postern.log_tail()
    assert postern.proc.poll() is None


def test_sighup_keeps_listening(postern):
    """Several reloads in a row: never a moment without a listener."""
    for _ in range(5):
        hup(postern)
        for name in ("mx", "submission"):
            with SMTPConn(postern.ports[name]) as c:
                check(c.banner, 220)
                c.ehlo()
        time.sleep(0.1)
    assert postern.proc.poll() is None


def test_sigterm_drains_transaction(postern_stopped):
    srv = postern_stopped.start()
    msg = make_message(subject="in flight at SIGTERM")
    idle = SMTPConn(srv.ports["mx"])
    idle.ehlo()
    busy = SMTPConn(srv.ports["mx"])
    busy.ehlo()
    check(busy.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
    check(busy.cmd("RCPT TO:<r1@test.example>"), 250, "2.1.5")
    check(busy.cmd("DATA"), 354)
    wire = dot_stuff(msg) + b".\r\n"
    busy.send(wire[:40])

    srv.signal(signal.SIGTERM)
    # The idle client is told at once.
    check(idle.reply(), 421, "4.3.2")
    assert idle.is_closed()
    # The one in the middle of a message may finish it.
    time.sleep(0.3)
    busy.send(wire[40:])
    queue_id_of(busy.reply())
    r = busy.reply() if not busy.is_closed(5) else None
    if r is not None:
        check(r, 421, "4.3.2")
    busy.close()
    idle.close()
    rc = srv.proc.wait(30)
    assert rc == 0, srv.log_tail()
    srv.proc = None
    srv.logfile.close()
    # Delivered now or after the next start, exactly once.
    srv.start()
    wait_for_files(srv.maildir("r1@test.example"), 1)
    wait_until(srv.queue_empty, 20, "an empty queue")
    datas = read_files(all_mail_files(srv.mailroot))
    assert len(datas) == 1 and b"in flight at SIGTERM" in datas[0]
