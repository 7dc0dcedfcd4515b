"""Helpers for postern's integration tests: a raw SMTP client that reads
replies exactly as they come off the wire, exact-reply dialogs, Maildir
polling and parsing of the headers postern prepends on delivery.

Only the standard library: these run under Debian's /usr/bin/python3."""

import base64
import os
import re
import socket
import ssl
import time

DEFAULT_TIMEOUT = 15.0

# RFC 3463: class.subject.detail.  RFC 2034 3 exempts the greeting and the
# replies to HELO/EHLO; 334 and 354 are intermediate replies whose text is
# defined by the protocol (a base64 challenge, the DATA prompt).
ENHANCED_RE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def client_tls_context():
    """An unverified client context: postern's default certificate is
    self-signed, and these tests are about SMTP, not PKI."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Reply:
    """One (possibly multi-line) SMTP reply."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines  # text after "NNN-" / "NNN "
        self.raw = raw      # bytes exactly as received

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def ecode(self):
        """The enhanced status code of the last line, or None."""
        first = self.lines[-1].split(" ", 1)[0] if self.lines else ""
        return first if ENHANCED_RE.match(first) else None

    def __repr__(self):
        return "Reply(%r)" % self.raw.decode("latin-1")


class ConnectionClosed(Exception):
    pass


class SMTPConn:
    """A raw SMTP connection.  Nothing is hidden: send() writes bytes as
    given, reply() parses exactly one reply from what the server wrote."""

    def __init__(self, port, host="127.0.0.1", implicit_tls=False, timeout=DEFAULT_TIMEOUT,
                 read_banner=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if implicit_tls:
            self.sock = client_tls_context().wrap_socket(self.sock, server_hostname=None)
        self.banner = self.reply() if read_banner else None

    # -- raw I/O ---------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLError as e:
            raise ConnectionClosed("TLS error: %s" % e)
        except ConnectionResetError as e:
            raise ConnectionClosed("reset: %s" % e)
        if not chunk:
            raise ConnectionClosed("server closed the connection; unread %r" % self.buf)
        self.buf += chunk

    def readline(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 100000:
                raise AssertionError("reply line without CRLF: %r" % self.buf[:200])
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        raw = b""
        lines = []
        code = None
        while True:
            line = self.readline()
            raw += line + b"\r\n"
            m = re.match(rb"^(\d{3})([ -])(.*)$", line) or re.match(rb"^(\d{3})()$", line)
            assert m, "malformed reply line %r (reply so far %r)" % (line, raw)
            c = int(m.group(1))
            assert code is None or c == code, "code changed inside a reply: %r" % raw
            code = c
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) != b"-":
                return Reply(code, lines, raw)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def is_closed(self, timeout=5.0):
        """True when the server closes the connection (EOF or reset)
        within timeout without sending anything more."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if data:
            self.buf += data
            return False
        return True

    # -- protocol steps --------------------------------------------------
    def ehlo(self, name="client.test.example"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def extensions(self, ehlo_reply):
        return {l.split(" ", 1)[0].upper(): l for l in ehlo_reply.lines[1:]}

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert not self.buf, "server sent data after 220 to STARTTLS: %r" % self.buf
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname=None)
        return r

    def auth_plain(self, user, password, authzid=""):
        token = base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()
        return self.cmd("AUTH PLAIN " + token)

    def auth_login(self, user, password):
        r = self.cmd("AUTH LOGIN")
        if r.code != 334:
            return r
        assert base64.b64decode(r.lines[0]).lower().startswith(b"username"), r
        r = self.cmd(base64.b64encode(user.encode()).decode())
        if r.code != 334:
            return r
        assert base64.b64decode(r.lines[0]).lower().startswith(b"password"), r
        return self.cmd(base64.b64encode(password.encode()).decode())

    def data(self, message):
        """DATA with a message given with CRLF line ends; dot-stuffs it and
        returns the final reply."""
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(message) + b".\r\n")
        return self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def dot_stuff(message):
    """RFC 5321 4.5.2: double a leading dot; make sure the text ends with
    CRLF so that the terminator is CRLF.CRLF."""
    if isinstance(message, str):
        message = message.encode("utf-8")
    out = re.sub(rb"(^|\r\n)\.", rb"\1..", message)
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


def check(reply, code, ecode=None, text=None):
    """Asserts one reply exactly: the code, the enhanced code (which every
    reply but the banner, EHLO/HELO, 334 and 354 must carry) and
    optionally a regular expression over the text."""
    want = "%d %s" % (code, ecode or "") + (" ~/%s/" % text if text else "")
    assert reply.code == code, "expected %s, got %r" % (want, reply.raw)
    if ecode:
        assert reply.ecode == ecode, "expected %s, got %r" % (want, reply.raw)
    elif ecode is None and code not in (220, 334, 354) and reply.code >= 200:
        assert reply.ecode is not None, "reply without an enhanced status code: %r" % reply.raw
    if text is not None:
        assert re.search(text, reply.text), "expected %s, got %r" % (want, reply.raw)
    return reply


def check_5xx(reply):
    assert 500 <= reply.code <= 599, "expected a 5xx reply, got %r" % reply.raw
    assert reply.ecode is not None and reply.ecode.startswith("5."), \
        "5xx without a 5.x.x enhanced code: %r" % reply.raw
    return reply


def dialog(conn, script):
    """Runs an exact-reply dialog: script is a list of (line to send,
    expected code, expected enhanced code or None).  A line of None only
    reads a reply (e.g. after a pipelined write)."""
    for step in script:
        line, code = step[0], step[1]
        ecode = step[2] if len(step) > 2 else None
        if ecode is None and line and line.split(" ")[0].upper() in ("HELO", "EHLO") \
                and code == 250:
            ecode = ""
        r = conn.cmd(line) if line is not None else conn.reply()
        check(r, code, ecode)


def make_message(subject="test", body=None, msgid=None, frm="sender@other.example",
                 to="user@test.example", extra_headers=()):
    """A message with CRLF line ends."""
    msgid = msgid or "<%s.%d@client.test.example>" % (os.urandom(8).hex(), os.getpid())
    if body is None:
        body = "Hello.\r\n\r\nThis is a test message.\r\n.leading dot line\r\n..two dots\r\n"
    hdrs = ["From: <%s>" % frm, "To: <%s>" % to, "Subject: %s" % subject,
            "Message-ID: %s" % msgid, "Date: Thu, 01 Jan 2026 00:00:00 +0000"]
    hdrs += list(extra_headers)
    text = "\r\n".join(hdrs) + "\r\n\r\n" + body
    return text.encode("utf-8") if isinstance(text, str) else text


# -- Maildir --------------------------------------------------------------

def maildir_files(path, subdirs=("new", "cur")):
    out = []
    for sub in subdirs:
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if not f.startswith(".")]
    return out


def wait_for_files(path, count, timeout=20.0):
    """Polls a Maildir until it holds at least count messages; returns
    their paths.  Fails (with what is there) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        files = maildir_files(path)
        if len(files) >= count:
            return files
        if time.monotonic() > deadline:
            raise AssertionError("%s: expected %d message(s) within %.0fs, found %d"
                                 % (path, count, timeout, len(files)))
        time.sleep(0.05)


def read_files(paths):
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.append(f.read())
    return out


def all_mail_files(root):
    """Every file in any Maildir (new, cur, tmp) below root."""
    out = []
    for d, _dirs, files in os.walk(root):
        if os.path.basename(d) in ("new", "cur", "tmp"):
            out += [os.path.join(d, f) for f in files]
    return sorted(out)


def split_delivered(data):
    """Splits a delivered file into (eol, return_path, delivered_to,
    received, rest).  postern prepends Return-Path, Delivered-To and one
    Received header (possibly folded); rest must be the message as sent.

    A Maildir may store lines with LF instead of CRLF; eol says which
    convention the file uses and the caller compares with the same."""
    first = data.split(b"\n", 1)[0]
    eol = b"\r\n" if first.endswith(b"\r") else b"\n"
    lines = data.split(eol)
    assert lines[0].startswith(b"Return-Path: "), "first line is not Return-Path: %r" % data[:300]
    assert lines[1].startswith(b"Delivered-To: "), "second line is not Delivered-To: %r" % data[:300]
    assert lines[2].startswith(b"Received: "), "third header is not Received: %r" % data[:300]
    i = 3
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    received = eol.join(lines[2:i])
    rest = eol.join(lines[i:])
    return (eol, lines[0][len(b"Return-Path: "):].decode(), lines[1][len(b"Delivered-To: "):].decode(),
            received.decode("utf-8", "replace"), rest)


def assert_delivered_exactly(data, sent, sender, rcpt):
    """The file holds the prepended headers and then sent, byte for byte."""
    eol, rp, dt, received, rest = split_delivered(data)
    assert rp == "<%s>" % sender, "Return-Path %r, expected <%s>" % (rp, sender)
    assert dt.lower() == rcpt.lower(), "Delivered-To %r, expected %s" % (dt, rcpt)
    expected = sent if eol == b"\r\n" else sent.replace(b"\r\n", b"\n")
    assert rest == expected, ("message not stored byte for byte:\n--- stored\n%r\n--- sent\n%r"
                              % (rest, expected))
    return received


def received_fields(received):
    """Parses the Received header postern writes:
    Received: from HELO (RDNS [IP]) by HOST (postern) with PROTO id QID ..."""
    flat = re.sub(r"\r?\n[ \t]+", " ", received)
    m = re.match(r"^Received: from (\S+) \((\S+) \[([^\]]+)\]\) by (\S+) \(postern\) "
                 r"with (\S+) id (\S+?);?(?:\s|$)", flat)
    assert m, "Received header does not have the expected shape: %r" % received
    return {"helo": m.group(1), "rdns": m.group(2), "ip": m.group(3), "host": m.group(4),
            "proto": m.group(5), "id": m.group(6), "flat": flat}


def queue_id_of(reply):
    m = re.match(r"^2\.0\.0 Ok: queued as (\S+)$", reply.lines[-1])
    assert reply.code == 250 and m, "expected '250 2.0.0 Ok: queued as ID', got %r" % reply.raw
    return m.group(1)


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(0.05)


class SilentDNS:
    """A UDP socket on loopback that reads queries and never answers: a
    name server that is down, for the tests of DNS failures."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def close(self):
        self.sock.close()
