#!/usr/bin/env python3
"""smtpd_peer.py - a test peer that speaks qmgr's side of the receive
exchange (docs/architecture.md, common/proto.h) on QDIR/private/qmgr, for
the smtpd end-to-end tests while no real qmgr is at hand: NEW -> NEW_OK
with an ID and a passed descriptor of QDIR/tmp/ID; COMMIT -> size check,
rename to QDIR/incoming/ID, envelope written to QDIR/incoming/ID.env
(JSON), COMMIT_OK.  A connection closed before COMMIT removes tmp/ID.
FAIL_NEW="4.3.1 Insufficient system storage" makes every NEW fail; a
sender starting with "slow@" gets its NEW_OK 3 seconds late.  ETRN is
answered ADMIN_OK (COUNT 0), as qmgr does when nothing is deferred.

usage: smtpd_peer.py QDIR
"""
import json, os, socket, struct, sys, threading, time, itertools

QDIR = sys.argv[1]
NEW, NEW_OK, COMMIT, COMMIT_OK, FAIL = 1, 2, 3, 4, 5
ADMIN_OK, ETRN = 44, 45
TAGS = {1: "ID", 2: "SENDER", 3: "RCPT", 4: "ORCPT", 5: "NOTIFY", 6: "RET", 7: "ENVID",
        8: "SIZE", 9: "BODY", 10: "SMTPUTF8", 11: "CLIENT_NAME", 12: "CLIENT_ADDR",
        13: "CLIENT_PORT", 14: "HELO", 15: "PROTOCOL", 33: "MSGID"}
U64 = {"NOTIFY", "SIZE", "SMTPUTF8"}
counter = itertools.count(1)
lock = threading.Lock()


def parse(buf):
    typ = struct.unpack(">H", buf[:2])[0]
    off, fields = 2, []
    while off < len(buf):
        tag = buf[off]
        (n,) = struct.unpack(">I", buf[off + 1:off + 5])
        data = buf[off + 5:off + 5 + n]
        if len(data) != n:
            raise ValueError("short field")
        off += 5 + n
        name = TAGS.get(tag, str(tag))
        if name in U64:
            fields.append((name, struct.unpack(">Q", data)[0]))
        else:
            if not data.endswith(b"\0") or b"\0" in data[:-1]:
                raise ValueError("bad string field %s" % name)
            fields.append((name, data[:-1].decode("utf-8", "replace")))
    return typ, fields


def record(typ, *fields):
    out = struct.pack(">H", typ)
    for tag, val in fields:
        b = val.encode() + b"\0"
        out += struct.pack(">BI", tag, len(b)) + b
    return out


def serve(conn):
    qid = tmp = None
    env = {}
    try:
        msg, fds, flags, addr = socket.recv_fds(conn, 262144, 1)
        if not msg:
            return
        typ, fields = parse(msg)
        if typ == ETRN:  # "flushed": ADMIN_OK with COUNT 0 (u64)
            conn.send(struct.pack(">HBIQ", ADMIN_OK, 28, 8, 0))
            return
        if typ != NEW:
            raise ValueError("expected NEW, got %d" % typ)
        env["new"] = fields
        if dict(fields).get("SENDER", "").startswith("slow@"):
            time.sleep(3)  # a slow qmgr: smtpd must serve others meanwhile
        fail = os.environ.get("FAIL_NEW")
        if fail:
            st, text = fail.split(" ", 1)
            conn.send(record(FAIL, (18, st), (19, text)))
            return
        with lock:
            qid = "T%d%05d" % (int(time.time()), next(counter))
        tmp = os.path.join(QDIR, "tmp", qid)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        socket.send_fds(conn, [record(NEW_OK, (1, qid))], [fd])
        os.close(fd)
        msg = conn.recv(262144)
        if not msg:
            return
        typ, fields = parse(msg)
        if typ != COMMIT:
            raise ValueError("expected COMMIT, got %d" % typ)
        env["commit"] = fields
        size = dict(fields).get("SIZE")
        if size != os.path.getsize(tmp):
            conn.send(record(FAIL, (18, "4.3.0"), (19, "Message content size mismatch")))
            return
        env["id"] = qid
        with open(tmp + ".env", "w") as f:
            json.dump(env, f)
        os.rename(tmp + ".env", os.path.join(QDIR, "incoming", qid + ".env"))
        os.rename(tmp, os.path.join(QDIR, "incoming", qid))
        tmp = None
        conn.send(record(COMMIT_OK, (1, qid)))
        conn.recv(1)
    except Exception as e:
        print("peer: %s" % e, file=sys.stderr, flush=True)
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        conn.close()


def main():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for d in ("tmp", "incoming", "private"):
        os.makedirs(os.path.join(QDIR, d), exist_ok=True)
    path = os.path.join(QDIR, "private", "qmgr")
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(1024)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
