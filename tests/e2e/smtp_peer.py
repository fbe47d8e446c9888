#!/usr/bin/env python3
"""smtp_peer.py - a scripted SMTP/LMTP server for the smtp client's tests
(tests/e2e/smtp_*.sh).  Usage: smtp_peer.py PORT MODE OUTDIR

Recipients decide per-recipient replies: local part "hard*" gets
550 5.1.1, "soft*" 450 4.2.0, anything else 250.  MODE changes the
whole session:
  normal      ESMTP with PIPELINING, SIZE, 8BITMIME, DSN, SMTPUTF8
  noesmtp     EHLO refused with 502: the client must fall back to HELO
  lmtp        LHLO and one reply per accepted recipient after DATA
  closedata   closes the connection in the middle of the message body
  longline    greets with a 1 MB reply line
  manylines   greets with 10000 continuation lines
  stall       greets, then never answers
  greet554    greets with 554 5.7.1 go away
  tls         normal, and STARTTLS with PEER_CERT / PEER_KEY (environment)
  auth        offers AUTH PLAIN LOGIN, wants user "user" password "secret"
              (530 to MAIL before that)
Each transaction is written to OUTDIR/msg.N (envelope lines, then the
data as received, dot-stuffing and CRLF left as they were on the wire)
and every command line to OUTDIR/commands.
"""
import base64
import os
import socket
import ssl
import sys
import threading
import time

port, mode, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
counter = [0]
lock = threading.Lock()


def log_cmd(line):
    with lock:
        with open(os.path.join(outdir, "commands"), "ab") as f:
            f.write(line + b"\n")


def serve(conn):
    f = conn.makefile("rb")
    send = conn.sendall
    if mode == "longline":
        send(b"220 " + b"x" * (1024 * 1024) + b"\r\n")
        time.sleep(5)
        return
    if mode == "manylines":
        send(b"".join(b"220-line %d\r\n" % i for i in range(10000)) + b"220 done\r\n")
        time.sleep(5)
        return
    if mode == "greet554":
        send(b"554 5.7.1 go away\r\n")
    else:
        send(b"220 peer.test ESMTP\r\n")
    if mode == "stall":
        time.sleep(30)
        return
    env = []
    rcpts_ok = []
    authed = [mode != "auth"]

    def check(u, p):
        if u == b"user" and p == b"secret":
            authed[0] = True
            send(b"235 2.7.0 Authentication successful\r\n")
        else:
            send(b"535 5.7.8 Error: authentication failed: bad password\r\n")
    while True:
        line = f.readline(10000)
        if not line:
            return
        line = line.rstrip(b"\r\n")
        log_cmd(line)
        cmd = line[:4].upper()
        if cmd in (b"EHLO", b"LHLO"):
            if mode == "noesmtp":
                send(b"502 5.5.2 EHLO not understood\r\n")
                continue
            auth = b"250-AUTH PLAIN LOGIN\r\n" if mode == "auth" else b""
            if mode == "tls" and not isinstance(conn, ssl.SSLSocket):
                auth += b"250-STARTTLS\r\n"
            send(b"250-peer.test\r\n" + auth + b"250-PIPELINING\r\n250-SIZE 1000000\r\n"
                 b"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
                 b"250 ENHANCEDSTATUSCODES\r\n")
        elif cmd == b"HELO":
            send(b"250 peer.test\r\n")
        elif cmd == b"AUTH":
            parts = line.split()
            mech = parts[1].upper() if len(parts) > 1 else b""
            try:
                if mech == b"PLAIN":
                    if len(parts) > 2:
                        resp = parts[2]
                    else:
                        send(b"334 \r\n")
                        resp = f.readline(10000).strip()
                    fields = base64.b64decode(resp).split(b"\0")
                    check(fields[1], fields[2])
                elif mech == b"LOGIN":
                    if len(parts) > 2:
                        u = base64.b64decode(parts[2])
                    else:
                        send(b"334 VXNlcm5hbWU6\r\n")
                        u = base64.b64decode(f.readline(10000).strip())
                    send(b"334 UGFzc3dvcmQ6\r\n")
                    p = base64.b64decode(f.readline(10000).strip())
                    check(u, p)
                else:
                    send(b"504 5.5.4 mechanism not supported\r\n")
            except Exception:
                send(b"501 5.5.2 bad AUTH\r\n")
        elif cmd == b"MAIL" and not authed[0]:
            send(b"530 5.7.0 Authentication required\r\n")
        elif cmd == b"MAIL":
            env = [line]
            rcpts_ok = []
            send(b"250 2.1.0 Ok\r\n")
        elif cmd == b"RCPT":
            env.append(line)
            addr = line.split(b"<", 1)[1].split(b">", 1)[0]
            local = addr.split(b"@")[0]
            if local.startswith(b"hard"):
                send(b"550 5.1.1 <" + addr + b">: Recipient address rejected: "
                     b"User unknown in local recipient table\r\n")
            elif local.startswith(b"soft"):
                send(b"450 4.2.0 <" + addr + b">: mailbox busy\r\n")
            else:
                rcpts_ok.append(addr)
                send(b"250 2.1.5 Ok\r\n")
        elif cmd == b"DATA":
            if not rcpts_ok:
                send(b"554 5.5.1 Error: no valid recipients\r\n")
                continue
            send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            data = b""
            while True:
                chunk = f.readline(1000000)
                if not chunk:
                    return
                if mode == "closedata" and len(data) > 10:
                    conn.close()
                    return
                if chunk == b".\r\n":
                    break
                data += chunk
            with lock:
                counter[0] += 1
                n = counter[0]
            with open(os.path.join(outdir, "msg.%d" % n), "wb") as out:
                out.write(b"\n".join(env) + b"\n\n" + data)
            if mode == "lmtp":
                for a in rcpts_ok:
                    if a.split(b"@")[0].startswith(b"lmtpfail"):
                        send(b"552 5.2.2 <" + a + b"> mailbox full\r\n")
                    else:
                        send(b"250 2.0.0 <" + a + b"> delivered\r\n")
            else:
                send(b"250 2.0.0 Ok: queued as PEER%d\r\n" % n)
        elif cmd == b"STAR" and mode == "tls":
            send(b"220 2.0.0 Ready to start TLS\r\n")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.environ["PEER_CERT"], os.environ["PEER_KEY"])
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            send = conn.sendall
            log_cmd(b"TLS " + conn.version().encode())
        elif cmd == b"RSET":
            send(b"250 2.0.0 Ok\r\n")
        elif cmd == b"QUIT":
            send(b"221 2.0.0 Bye\r\n")
            return
        else:
            send(b"502 5.5.2 Error: command not recognized\r\n")


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((os.environ.get("PEER_ADDR", "127.0.0.1"), port))
    s.listen(16)
    open(os.path.join(outdir, "ready"), "w").close()
    while True:
        c, _ = s.accept()

        def run(c=c):
            try:
                serve(c)
            except OSError:
                pass
            finally:
                try:
                    c.close()
                except OSError:
                    pass
        threading.Thread(target=run, daemon=True).start()


main()
