"""Scenario 02: STARTTLS (RFC 3207) and implicit TLS (RFC 8314), SMTP AUTH
PLAIN and LOGIN (RFC 4954, RFC 4616) only under TLS and only on the
submission listeners, and sender-address ownership for authenticated
users."""

import smtplib

import pytest

from helpers import SMTPConn, all_mail_files, assert_delivered_exactly, check, check_5xx, \
    client_tls_context, dialog, make_message, queue_id_of, read_files, received_fields, \
    wait_for_files

USER, PASS = "user@test.example", "user-password"
ALICE, ALICE_PASS = "alice@test.example", "alice-password"


def submission_tls(postern, implicit=False):
    """A session on the submission port after STARTTLS and EHLO, or on the
    submissions port after the TLS handshake and EHLO."""
    if implicit:
        c = SMTPConn(postern.ports["submissions"], implicit_tls=True)
        check(c.banner, 220)
    else:
        c = SMTPConn(postern.ports["submission"])
        c.ehlo()
        c.starttls()
    return c


def test_submission_before_tls_offers_starttls_not_auth(postern):
    with SMTPConn(postern.ports["submission"]) as c:
        ext = c.extensions(c.ehlo())
        assert "STARTTLS" in ext, ext
        assert "AUTH" not in ext, "AUTH advertised before TLS: %r" % ext


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_auth_refused_before_tls(postern, mech):
    """RFC 4954 4 / RFC 8314: no credentials over plaintext.  530 5.7.0 or
    538 5.7.11 are both correct; any 5xx with a 5.x.x code is accepted."""
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        if mech == "PLAIN":
            r = c.auth_plain(USER, PASS)
        else:
            r = c.cmd("AUTH LOGIN")
        check_5xx(r)
        assert r.code in (530, 538), r
        # And the session is not authenticated afterwards.
        check(c.cmd("MAIL FROM:<%s>" % USER), 530, "5.7.0")


def test_mail_before_auth_on_submission(postern):
    with submission_tls(postern) as c:
        ext = c.extensions(c.ehlo())
        assert "STARTTLS" not in ext
        assert ext.get("AUTH", "").upper().split()[1:] and \
            {"PLAIN", "LOGIN"} <= set(ext["AUTH"].upper().split()[1:]), ext
        check(c.cmd("MAIL FROM:<%s>" % USER), 530, "5.7.0")


def test_session_restarts_after_starttls(postern):
    """RFC 3207 4.2: after TLS the client must EHLO again."""
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        c.starttls()
        check(c.cmd("MAIL FROM:<%s>" % USER), 503, "5.5.1")
        c.ehlo()
        check(c.cmd("STARTTLS"), 503, "5.5.1")


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_auth_and_submit(postern, mech, implicit):
    msg = make_message(subject="submitted %s %s" % (mech, implicit), frm=USER,
                       to="alice@test.example")
    with submission_tls(postern, implicit) as c:
        version = c.sock.version()
        c.ehlo("laptop.test.example")
        r = c.auth_plain(USER, PASS) if mech == "PLAIN" else c.auth_login(USER, PASS)
        check(r, 235, "2.7.0")
        check(c.cmd("AUTH PLAIN AHVzZXJAdGVzdC5leGFtcGxlAHg="), 503, "5.5.1")
        check(c.cmd("MAIL FROM:<%s>" % USER), 250, "2.1.0")
        check(c.cmd("RCPT TO:<alice@test.example>"), 250, "2.1.5")
        qid = queue_id_of(c.data(msg))
        check(c.cmd("QUIT"), 221, "2.0.0")
    files = wait_for_files(postern.maildir(ALICE), 1)
    received = assert_delivered_exactly(read_files(files)[0], msg, USER, ALICE)
    f = received_fields(received)
    assert f["id"] == qid
    assert f["proto"] == "ESMTPSA", f  # RFC 3848: TLS and AUTH
    assert version in f["flat"], "TLS version %s not in %r" % (version, f["flat"])


def test_auth_submission_accepts_any_domain(postern):
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain(USER, PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<%s>" % USER), 250, "2.1.0")
        check(c.cmd("RCPT TO:<friend@other.example>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<someone@[192.0.2.1]>"), 250, "2.1.5")
        check(c.cmd("RSET"), 250, "2.0.0")


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_wrong_password(postern, mech):
    with submission_tls(postern) as c:
        c.ehlo()
        r = c.auth_plain(USER, "wrong") if mech == "PLAIN" else c.auth_login(USER, "wrong")
        check(r, 535, "5.7.8")
        r = c.auth_plain("nosuch@test.example", PASS)
        check(r, 535, "5.7.8")
        check(c.cmd("MAIL FROM:<%s>" % USER), 530, "5.7.0")
        # A correct attempt afterwards still works.
        check(c.auth_plain(USER, PASS), 235, "2.7.0")


def test_auth_login_cancelled(postern):
    with submission_tls(postern) as c:
        c.ehlo()
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334, r
        check(c.cmd("*"), 501)
        check(c.cmd("NOOP"), 250, "2.0.0")


def test_auth_not_offered_on_mx(postern):
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.starttls()
        ext = c.extensions(c.ehlo())
        assert "AUTH" not in ext, ext
        check_5xx(c.auth_plain(USER, PASS))


@pytest.mark.parametrize("sender,code,ecode", [
    (USER, 250, "2.1.0"),
    ("USER@Test.Example", 250, "2.1.0"),
    ("alice@test.example", 553, "5.7.1"),
    ("user@other.example", 553, "5.7.1"),
    ("postmaster@test.example", 553, "5.7.1"),
])
def test_sender_ownership(postern, sender, code, ecode):
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain(USER, PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<%s>" % sender), code, ecode)


@pytest.mark.parametrize("sender,code,ecode", [
    (ALICE, 250, "2.1.0"),
    ("alias@test.example", 250, "2.1.0"),
    ("alice@other.example", 250, "2.1.0"),
    ("user@test.example", 553, "5.7.1"),
    ("alias@other.example", 553, "5.7.1"),
])
def test_sender_ownership_extra_senders(postern, sender, code, ecode):
    with submission_tls(postern, implicit=True) as c:
        c.ehlo()
        check(c.auth_login(ALICE, ALICE_PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<%s>" % sender), code, ecode)


def test_extra_sender_delivery(postern):
    msg = make_message(subject="from alias", frm="alias@test.example", to=USER)
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain(ALICE, ALICE_PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alias@test.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % USER), 250, "2.1.5")
        queue_id_of(c.data(msg))
    files = wait_for_files(postern.maildir(USER), 1)
    assert_delivered_exactly(read_files(files)[0], msg, "alias@test.example", USER)


def test_smtplib_starttls_login(postern):
    msg = make_message(subject="smtplib submission", frm=USER, to=ALICE)
    with smtplib.SMTP("127.0.0.1", postern.ports["submission"], timeout=15) as s:
        s.ehlo("laptop.test.example")
        s.starttls(context=client_tls_context())
        s.ehlo("laptop.test.example")
        s.login(USER, PASS)
        assert s.sendmail(USER, [ALICE], msg) == {}
    assert_delivered_exactly(read_files(wait_for_files(postern.maildir(ALICE), 1))[0], msg,
                             USER, ALICE)


def test_smtplib_implicit_tls(postern):
    msg = make_message(subject="smtplib submissions", frm=USER, to=ALICE)
    with smtplib.SMTP_SSL("127.0.0.1", postern.ports["submissions"], timeout=15,
                          context=client_tls_context()) as s:
        s.login(USER, PASS)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(ALICE, [USER], msg)
        assert e.value.smtp_code == 553
        s.rset()
        assert s.sendmail(USER, [ALICE], msg) == {}
    assert_delivered_exactly(read_files(wait_for_files(postern.maildir(ALICE), 1))[0], msg,
                             USER, ALICE)


def test_starttls_on_mx_received_esmtps(postern):
    msg = make_message(subject="mx over tls")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        c.starttls()
        version = c.sock.version()
        cipher = c.sock.cipher()[0]
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<%s>" % USER), 250, "2.1.5")
        queue_id_of(c.data(msg))
    received = assert_delivered_exactly(read_files(wait_for_files(postern.maildir(USER), 1))[0],
                                        msg, "sender@other.example", USER)
    f = received_fields(received)
    assert f["proto"] == "ESMTPS", f
    assert version in f["flat"] and cipher in f["flat"], (version, cipher, f["flat"])


def test_nothing_delivered_for_refused_sessions(postern):
    """After refusals (no TLS, wrong password, foreign sender) nothing is
    queued or stored."""
    with SMTPConn(postern.ports["submission"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<%s>" % USER), 530, "5.7.0")
        check_5xx(c.cmd("RCPT TO:<alice@test.example>"))
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain(USER, PASS), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alice@test.example>"), 553, "5.7.1")
        check(c.cmd("RCPT TO:<alice@test.example>"), 503, "5.5.1")
        check(c.cmd("DATA"), 503, "5.5.1")
    assert postern.queue_empty()
    assert all_mail_files(postern.mailroot) == []


def test_implicit_tls_banner_after_handshake(postern):
    with SMTPConn(postern.ports["submissions"], implicit_tls=True) as c:
        check(c.banner, 220)
        ext = c.extensions(c.ehlo())
        assert "STARTTLS" not in ext
        assert "AUTH" in ext
        dialog(c, [("QUIT", 221, "2.0.0")])


def test_user_cli_add_list_del(postern):
    """Accounts are managed with the CLI while the server runs: a new
    account receives mail and can log in at once; a deleted one cannot."""
    postern.add_user("carol@test.example", "carol-password", ["c@test.example"])
    listing = postern.cli("user", "list").stdout.decode()
    assert "carol@test.example" in listing and "c@test.example" in listing, listing
    assert "user@test.example" in listing
    # Adding it twice is an error.
    p = postern.cli("user", "add", "carol@test.example", input=b"x\n", check=False)
    assert p.returncode != 0
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain("carol@test.example", "carol-password"), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<c@test.example>"), 250, "2.1.0")
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<carol@test.example>"), 250, "2.1.5")
    postern.cli("user", "del", "carol@test.example")
    assert "carol@test.example" not in postern.cli("user", "list").stdout.decode()
    with SMTPConn(postern.ports["mx"]) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<sender@other.example>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<carol@test.example>"), 550, "5.1.1")
    with submission_tls(postern) as c:
        c.ehlo()
        check(c.auth_plain("carol@test.example", "carol-password"), 535, "5.7.8")
    p = postern.cli("user", "del", "carol@test.example", check=False)
    assert p.returncode != 0
