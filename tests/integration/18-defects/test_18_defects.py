"""Scenario 18: defects found in review, each with the test that shows it
fixed: --help of postern and of every subcommand prints the usage on stdout
and exits 0, a usage error prints it on stderr and exits 2; TLS 1.2 offers
forward-secret suites only, even with an RSA certificate; a master that
gives up on children failing at start leaves none of them running."""

import os
import signal
import ssl
import subprocess

import pytest

from conftest import alive, postern_bin
from helpers import SMTPConn, check, wait_until


def run(cwd, *args):
    return subprocess.run([postern_bin()] + list(args), capture_output=True, timeout=30,
                          cwd=str(cwd), stdin=subprocess.DEVNULL)


def subcommands(cwd):
    """The command names listed by `postern --help`, in order."""
    out = run(cwd, "--help").stdout.decode()
    lines = out.split("commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = []
    for line in lines:
        name = line.split()[0]
        if name not in names:
            names.append(name)
    return names


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_stdout_exit_0(tmp_path, flag):
    p = run(tmp_path, flag)
    assert p.returncode == 0 and p.stderr == b"", p
    assert p.stdout.startswith(b"usage: postern"), p.stdout
    names = subcommands(tmp_path)
    for known in ("serve", "check-config", "user", "queue", "dns", "spf", "dkim", "arc",
                  "dmarc", "version"):
        assert known in names, names
    for name in names:
        p = run(tmp_path, name, flag)
        assert p.returncode == 0, "postern %s %s: exit %d\n%s" % (name, flag, p.returncode,
                                                                   p.stderr.decode())
        assert p.stderr == b"", "postern %s %s wrote to stderr: %r" % (name, flag, p.stderr)
        assert b"usage:" in p.stdout and name.encode() in p.stdout, (name, p.stdout)


@pytest.mark.parametrize("args", [
    ["spf", "check", "--help"],
    ["dkim", "sign", "-h"],
    ["queue", "show", "--help"],
    ["user", "add", "a@test.example", "--help"],
    # The usage needs no configuration: not even a readable one.
    ["-c", "/nonexistent/postern.conf", "spf", "--help"],
    ["-c", "/nonexistent/postern.conf", "serve", "--help"],
], ids=lambda a: " ".join(a))
def test_help_after_arguments(tmp_path, args):
    p = run(tmp_path, *args)
    assert p.returncode == 0 and p.stderr == b"", p
    assert p.stdout.startswith(b"usage: postern"), p.stdout


@pytest.mark.parametrize("args", [
    [],
    ["--bogus"],
    ["-c"],
    ["no-such-command"],
    ["serve", "--bogus"],
    ["check-config", "--bogus"],
    ["user"],
    ["user", "frobnicate"],
    ["queue", "bogus"],
    ["dns", "query"],
    ["spf"],
    ["spf", "check", "192.0.2.1"],
    ["dkim", "bogus"],
    ["arc", "verify"],
    ["dmarc", "bogus"],
    ["version", "extra"],
], ids=lambda a: " ".join(a) or "nothing")
def test_usage_error_on_stderr_exit_2(tmp_path, args):
    p = run(tmp_path, *args)
    assert p.returncode == 2, "postern %s: exit %d\n%s" % (" ".join(args), p.returncode, p)
    assert p.stdout == b"", p.stdout
    assert b"usage: postern" in p.stderr, p.stderr
    # Nothing ran: no state directory was made.
    assert not os.path.exists(os.path.join(str(tmp_path), "var"))


@pytest.fixture
def server(postern_stopped):
    """postern with an RSA certificate (OpenSSL's default TLS 1.2 list
    offers RSA key exchange only with an RSA key)."""
    tmp = postern_stopped.tmp
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.test.example", "-keyout", os.path.join(tmp, "rsa-key.pem"),
                    "-out", os.path.join(tmp, "rsa-cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return postern_stopped.start()


def tls12(ciphers):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    return ctx


def handshake(server, ctx, implicit):
    """An SMTP connection after the TLS handshake: STARTTLS on the MX port,
    or implicit TLS on the submissions port."""
    if implicit:
        c = SMTPConn(server.ports["submissions"], read_banner=False)
    else:
        c = SMTPConn(server.ports["mx"])
        c.ehlo()
        check(c.cmd("STARTTLS"), 220, "2.0.0")
    try:
        c.sock = ctx.wrap_socket(c.sock, server_hostname=None)
    except BaseException:
        c.close()
        raise
    if implicit:
        check(c.reply(), 220)
    return c


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_tls12_forward_secrecy_only(server, implicit):
    # Static RSA key exchange: a key stolen later decrypts the session.
    for suite in ("AES256-GCM-SHA384", "AES128-SHA256"):
        # Made outside pytest.raises: a suite this client's OpenSSL refuses
        # must fail the test, not pass as the server's refusal.
        ctx = tls12(suite)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(server, ctx, implicit).close()
    # ECDHE with an RSA certificate works.
    with handshake(server, tls12("ECDHE-RSA-AES128-GCM-SHA256"), implicit) as c:
        assert c.sock.version() == "TLSv1.2"
        assert c.sock.cipher()[0] == "ECDHE-RSA-AES128-GCM-SHA256"
        assert c.ehlo().code == 250
    # The server's order wins: AES-256 before AES-128.
    with handshake(server, tls12("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"),
                   implicit) as c:
        assert c.sock.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384"
    assert server.proc.poll() is None


def test_giving_up_leaves_no_child(server):
    """Workers that cannot start make the master give up; it must take every
    child with it (when the children run as another user, the privilege
    drop has cleared their parent-death signal)."""
    if not server.drop_user:
        pytest.skip("the defect needs children that drop to another user (run as root)")
    wait_until(lambda: len(server.children("postern-smtp")) == 2 and
               len(server.children("postern-qmgr")) == 1, 20, "two workers and a qmgr")
    kids = [p for p, _ in server.children()]
    # Workers started from now on cannot open the state database.
    state = os.path.join(server.tmp, "var", "state.db")
    os.rename(state, state + ".moved")
    os.mkdir(state)
    os.kill(server.children("postern-smtp")[0][0], signal.SIGKILL)
    try:
        rc = server.proc.wait(60)
        assert rc == 1, server.log_tail()
        assert "event=giving_up" in server.log(), server.log_tail()
        wait_until(lambda: not [p for p in kids if alive(p)], 10, "the children to be gone")
    finally:
        for p in kids:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        server.proc = None
        server.logfile.close()
