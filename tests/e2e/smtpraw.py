"""smtpraw.py - a raw SMTP client for tests that must send exactly the
bytes they mean (pipelined, malformed, partial): send() bytes, reply()
one complete reply, cmd() both, closed() whether the server hung up."""
import socket


class Raw:
    def __init__(self, port, src="127.0.0.1", timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("connection closed; have %r" % self.buf)
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)

    def cmd(self, line):
        self.send(line.encode("utf-8", "surrogateescape") + b"\r\n")
        return self.reply()

    def closed(self):
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.s.close()
