"""A scripted SMTP (or LMTP) receiver for scenario 21: a real server on a
loopback address that speaks the protocol the way an MX does (greeting,
EHLO with PIPELINING, 8BITMIME, SIZE and ENHANCEDSTATUSCODES, replies in
order to pipelined commands, DATA with dot-unstuffing) and whose replies
the test scripts: a reply per RCPT or per DATA, a delay before the reply
to the final dot, or no greeting at all.  It records what it saw:
connections, transactions (MAIL FROM, recipients and their replies, the
message) and the messages it accepted.

Standard library only: one thread accepts, one thread per connection."""

import re
import socket
import threading
import time

MSGID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.I | re.M)


class Transaction:
    def __init__(self, conn_no, mail_from, params):
        self.conn_no = conn_no
        self.mail_from = mail_from
        self.mail_params = params
        self.rcpts = []       # every RCPT TO address, in order
        self.rcpt_params = []
        self.rcpt_replies = []  # the reply line given to each
        self.accepted = []    # addresses that got 250
        self.data = None      # the message, unstuffed, CRLF line ends
        self.data_replies = []
        self.complete = False  # the final dot was read
        self.pipelined = None  # with probe_pipelining: the next command came before our 250
        self.delivered = False  # and answered 250

    @property
    def message_id(self):
        m = MSGID_RE.search(self.data or b"")
        return m.group(1).decode() if m else None

    def __repr__(self):
        return "Transaction(conn=%d from=<%s> rcpts=%r replies=%r data=%r)" % (
            self.conn_no, self.mail_from, self.rcpts, self.rcpt_replies, self.data_replies)


class Receiver:
    """One listening socket at (host, port).

    rcpt_reply(receiver, txn, addr) -> reply line or None (250 2.1.5 Ok)
    data_reply(receiver, txn) -> reply line or None (250 2.0.0 Ok); for
        LMTP a list with one line per accepted recipient may be returned.
    data_delay: seconds to wait before answering the final dot.
    silent: accept connections and never say anything (no greeting);
        they are held open until the client closes them.
    lmtp: speak LMTP (LHLO, one reply per recipient after the data).
    extensions: the EHLO keywords after the greeting line.
    backlog: the listen(2) backlog; accept=False never accepts (a full
        accept queue is what makes Linux drop further SYNs).
    on_message(receiver, txn): called for a message about to be answered
        250, before it counts in delivered().
    probe_pipelining: before answering MAIL, wait up to 2 s for the next
        command; txn.pipelined says whether it came (RFC 2920: a client
        that pipelines sends its RCPTs without waiting for that reply)."""

    def __init__(self, host, port, name="sink.test", rcpt_reply=None, data_reply=None,
                 data_delay=0.0, silent=False, lmtp=False, extensions=None, backlog=64,
                 accept=True, on_message=None, probe_pipelining=False):
        self.host, self.port, self.name = host, port, name
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.data_delay = data_delay
        self.silent = silent
        self.lmtp = lmtp
        self.extensions = extensions if extensions is not None else [
            "PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES"]
        self.on_message = on_message
        self.probe_pipelining = probe_pipelining
        self.lock = threading.Lock()
        self.connections = 0      # accepted so far
        self.open = 0             # still open
        self.closed_by_peer = 0   # ended by the client (EOF or QUIT)
        self.transactions = []
        self.commands = []        # (conn_no, command line) of every command
        self.sockets = []
        self.threads = []
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.accepting = accept
        if accept:
            t = threading.Thread(target=self._accept_loop, daemon=True)
            t.start()
            self.threads.append(t)

    # -- what was seen -----------------------------------------------------
    def delivered(self):
        """Transactions answered 250 after the data."""
        with self.lock:
            return [t for t in self.transactions if t.delivered]

    def delivered_ids(self):
        return [t.message_id for t in self.delivered()]

    def completed(self):
        """Transactions whose data was read to the final dot, answered
        or not."""
        with self.lock:
            return [t for t in self.transactions if t.complete]

    def attempts(self):
        with self.lock:
            return list(self.transactions)

    def snapshot(self):
        with self.lock:
            return {"connections": self.connections, "open": self.open,
                    "transactions": len(self.transactions)}

    # -- server ----------------------------------------------------------------
    def _accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.stopping:
                    conn.close()
                    return
                self.connections += 1
                self.open += 1
                n = self.connections
                self.sockets.append(conn)
            t = threading.Thread(target=self._session, args=(conn, n), daemon=True)
            t.start()
            with self.lock:
                self.threads.append(t)

    def _session(self, conn, conn_no):
        peer_closed = False
        try:
            conn.settimeout(None if self.silent else 120)
            if self.silent:
                while conn.recv(4096):
                    pass
                peer_closed = True
                return
            peer_closed = _Session(self, conn, conn_no).run()
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1
                if peer_closed:
                    self.closed_by_peer += 1
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        with self.lock:
            self.stopping = True
            socks = list(self.sockets)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        for t in list(self.threads):
            t.join(5)


class _Session:
    def __init__(self, rcv, conn, conn_no):
        self.rcv = rcv
        self.conn = conn
        self.conn_no = conn_no
        self.buf = b""
        self.txn = None
        self.greeted = False

    def send(self, lines):
        if isinstance(lines, str):
            lines = [lines]
        self.conn.sendall("".join(l + "\r\n" for l in lines).encode())

    def readline(self):
        while b"\r\n" not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def wait_next_command(self, timeout):
        """Whether another command line arrives within timeout (read into
        the buffer, not consumed)."""
        deadline = time.monotonic() + timeout
        try:
            while b"\r\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.conn.settimeout(left)
                try:
                    data = self.conn.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                self.buf += data
        finally:
            self.conn.settimeout(120)
        return b"\r\n" in self.buf

    def read_data(self):
        """The message up to CRLF.CRLF, unstuffed; None on EOF."""
        lines = []
        while True:
            line = self.readline()
            if line is None:
                return None
            if line == b".":
                return b"".join(l + b"\r\n" for l in lines)
            lines.append(line[1:] if line.startswith(b".") else line)

    def run(self):
        """Returns True when the client ended the session (QUIT or EOF)."""
        rcv = self.rcv
        self.send("220 %s %s ready" % (rcv.name, "LMTP" if rcv.lmtp else "ESMTP"))
        while True:
            line = self.readline()
            if line is None:
                return True
            text = line.decode("utf-8", "replace")
            with rcv.lock:
                rcv.commands.append((self.conn_no, text))
            verb = text.split(" ", 1)[0].upper()
            arg = text[len(verb):].strip()
            if verb in ("EHLO", "LHLO"):
                if (verb == "LHLO") != rcv.lmtp:
                    self.send("500 5.5.1 wrong greeting command")
                    continue
                self.greeted = True
                self.txn = None
                lines = [rcv.name] + list(rcv.extensions)
                self.send(["250-" + l for l in lines[:-1]] + ["250 " + lines[-1]])
            elif verb == "HELO" and not rcv.lmtp:
                self.greeted = True
                self.send("250 %s" % rcv.name)
            elif verb == "MAIL":
                m = re.match(r"(?i)^FROM:\s*<([^>]*)>\s*(.*)$", arg)
                if not self.greeted or self.txn is not None or m is None:
                    self.send("503 5.5.1 bad sequence" if m else "501 5.5.4 syntax")
                    continue
                self.txn = Transaction(self.conn_no, m.group(1), m.group(2))
                with rcv.lock:
                    rcv.transactions.append(self.txn)
                if rcv.probe_pipelining:
                    self.txn.pipelined = self.wait_next_command(2.0)
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"(?i)^TO:\s*<([^>]*)>\s*(.*)$", arg)
                if self.txn is None or m is None:
                    self.send("503 5.5.1 bad sequence" if m else "501 5.5.4 syntax")
                    continue
                addr = m.group(1)
                reply = rcv.rcpt_reply(rcv, self.txn, addr) if rcv.rcpt_reply else None
                reply = reply or "250 2.1.5 Ok"
                with rcv.lock:
                    self.txn.rcpts.append(addr)
                    self.txn.rcpt_params.append(m.group(2))
                    self.txn.rcpt_replies.append(reply)
                    if reply.startswith("2"):
                        self.txn.accepted.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if self.txn is None or not self.txn.accepted:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if data is None:
                    return True
                txn = self.txn
                self.txn = None
                with rcv.lock:
                    txn.data = data
                    txn.complete = True
                if rcv.data_delay:
                    time.sleep(rcv.data_delay)
                reply = rcv.data_reply(rcv, txn) if rcv.data_reply else None
                if reply is None:
                    reply = "250 2.0.0 Ok: queued as %d.%d" % (self.conn_no, id(txn) % 100000)
                replies = reply if isinstance(reply, list) else (
                    [reply] * len(txn.accepted) if rcv.lmtp else [reply])
                ok = any(r.startswith("2") for r in replies)
                # The hook runs before the message counts as delivered,
                # so that whoever waits for the count sees its effects.
                if ok and rcv.on_message:
                    rcv.on_message(rcv, txn)
                with rcv.lock:
                    txn.data_replies = list(replies)
                    txn.delivered = ok
                self.send(replies)
            elif verb == "RSET":
                self.txn = None
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return True
            else:
                self.send("502 5.5.2 command not implemented")
