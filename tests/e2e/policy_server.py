#!/usr/bin/env python3
"""policy_server.py PORT LOGDIR - a Postfix policy server for the tests.
What it answers depends on the recipient's local part: ok (DUNNO),
grey (450), reject (REJECT), hang (never answers), garbage (a reply that
is not name=value), close (closes the connection), list (a restriction
list).  Every request is written to LOGDIR/requests; every accepted
connection counts in LOGDIR/connections."""
import os, socket, sys, threading, time

port, logdir = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
conns = 0

def log(name, text):
    with lock:
        with open(os.path.join(logdir, name), "a") as f:
            f.write(text)

def serve(c):
    f = c.makefile("rb")
    while True:
        attrs = {}
        raw = []
        while True:
            line = f.readline()
            if not line:
                c.close(); return
            raw.append(line.decode(errors="replace"))
            line = line.rstrip(b"\n")
            if line == b"":
                break
            k, _, v = line.decode(errors="replace").partition("=")
            attrs[k] = v
        log("requests", "".join(raw))
        who = attrs.get("recipient", "").split("@")[0]
        if who == "hang":
            time.sleep(30); c.close(); return
        if who == "close":
            c.close(); return
        if who == "garbage":
            c.sendall(b"this is not a policy reply\n\n"); continue
        act = {"grey": "450 4.7.1 greylisted, try again", "reject": "REJECT no way",
               "list": "permit_mynetworks, reject"}.get(who, "DUNNO")
        c.sendall(("action=%s\n\n" % act).encode())

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(50)
while True:
    c, _ = s.accept()
    conns += 1
    log("connections", "x\n")
    threading.Thread(target=serve, args=(c,), daemon=True).start()
