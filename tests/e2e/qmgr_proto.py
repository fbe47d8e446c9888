"""qmgr_proto.py - the daemon records of common/ipc.h and common/proto.h
in Python, for the qmgr end-to-end tests: a submission client (NEW /
COMMIT), an administration client, and a delivery agent that listens on
private/<transport> and answers DELIVER with scripted RESULTs.  This is
the real protocol spoken over real SOCK_SEQPACKET sockets."""

import os
import socket
import struct


def register():
    """A long-running test process leaves its pid for the test's cleanup."""
    if os.environ.get("QMGR_TEST_PIDDIR"):
        with open(os.path.join(os.environ["QMGR_TEST_PIDDIR"], str(os.getpid())), "w"):
            pass

NEW, NEW_OK, COMMIT, COMMIT_OK, FAIL = 1, 2, 3, 4, 5
DELIVER, RESULT, DONE = 20, 21, 22
QUEUE_LIST, QUEUE_ITEM, QUEUE_END, ADMIN, ADMIN_OK = 40, 41, 42, 43, 44

TAGS = """ID SENDER RCPT ORCPT NOTIFY RET ENVID SIZE BODY SMTPUTF8 CLIENT_NAME
CLIENT_ADDR CLIENT_PORT HELO PROTOCOL SASL_METHOD SASL_USER STATUS TEXT OFFSET
LENGTH NEXTHOP RCPT_INDEX RELAY ARRIVAL QUEUE ACTION COUNT UID ORIG_RCPT
DSN_ORCPT FLAGS MSGID DELAYS""".split()
T = {name: i + 1 for i, name in enumerate(TAGS)}
U64 = {"NOTIFY", "SIZE", "SMTPUTF8", "OFFSET", "LENGTH", "RCPT_INDEX",
       "ARRIVAL", "COUNT", "UID", "FLAGS"}
NAME = {v: k for k, v in T.items()}

NOTIFY_NEVER, NOTIFY_SUCCESS, NOTIFY_FAILURE, NOTIFY_DELAY = 1, 2, 4, 8


def encode(rtype, fields):
    out = struct.pack(">H", rtype)
    for name, value in fields:
        if name in U64:
            data = struct.pack(">Q", value)
        else:
            data = value.encode() + b"\0"
        out += struct.pack(">BI", T[name], len(data)) + data
    return out


def decode(buf):
    rtype = struct.unpack(">H", buf[:2])[0]
    off, fields = 2, []
    while off < len(buf):
        tag, n = struct.unpack(">BI", buf[off:off + 5])
        data = buf[off + 5:off + 5 + n]
        assert len(data) == n, "truncated record"
        name = NAME.get(tag, str(tag))
        if name in U64:
            fields.append((name, struct.unpack(">Q", data)[0]))
        else:
            assert data.endswith(b"\0")
            fields.append((name, data[:-1].decode()))
        off += 5 + n
    return rtype, fields


def get(fields, name, default=None):
    for k, v in fields:
        if k == name:
            return v
    return default


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(30)
    s.connect(path)
    return s


def recv(s):
    msg, fds, _flags, _addr = socket.recv_fds(s, 300000, 4)
    if not msg:
        return None, None, fds
    rtype, fields = decode(msg)
    return rtype, fields, fds


def submit(path, sender, rcpts, content, extra=(), commit=True, size=None):
    """Returns (status, id_or_text).  status: 'ok', 'fail', 'eof'."""
    s = connect(path)
    try:
        s.send(encode(NEW, [("SENDER", sender)] + list(extra)))
        rtype, fields, fds = recv(s)
        if rtype == FAIL:
            return "fail", get(fields, "STATUS") + " " + get(fields, "TEXT")
        if rtype != NEW_OK or len(fds) != 1:
            return "eof", None
        qid = get(fields, "ID")
        with os.fdopen(fds[0], "wb") as f:
            f.write(content)
        if not commit:
            return "open", qid
        recs = [("SIZE", len(content) if size is None else size)]
        for r in rcpts:
            if isinstance(r, tuple):
                recs.append(("RCPT", r[0]))
                recs += list(r[1:])
            else:
                recs.append(("RCPT", r))
        s.send(encode(COMMIT, recs))
        rtype, fields, _ = recv(s)
        if rtype == COMMIT_OK:
            return "ok", get(fields, "ID")
        if rtype == FAIL:
            return "fail", get(fields, "STATUS") + " " + get(fields, "TEXT")
        return "eof", None
    finally:
        s.close()


def queue_list(path, queue=None):
    s = connect(path)
    s.send(encode(QUEUE_LIST, [("QUEUE", queue)] if queue else []))
    items = []
    while True:
        rtype, fields, _ = recv(s)
        if rtype in (None, QUEUE_END):
            break
        assert rtype == QUEUE_ITEM, rtype
        items.append(fields)
    s.close()
    return items


def admin(path, action, qid="ALL", queue=None):
    s = connect(path)
    f = [("ACTION", action), ("ID", qid)]
    if queue:
        f.append(("QUEUE", queue))
    s.send(encode(ADMIN, f))
    rtype, fields, _ = recv(s)
    s.close()
    if rtype == ADMIN_OK:
        return "ok", get(fields, "COUNT")
    return "fail", get(fields, "STATUS")


def agent(path, decide, log=None, count=None):
    """Serve DELIVER requests on path; decide(rcpt, req) -> (status, text).
    Each request's recipients, sender, content are appended to log (a
    file name) as one line per recipient: 'rcpt<TAB>status<TAB>sender
    <TAB>content-length<TAB>first content line'."""
    register()
    # Bound, opened to qmgr's user and listening before the name appears.
    tmp = path + ".new"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ls.bind(tmp)
    os.chmod(tmp, 0o666)
    ls.listen(64)
    os.rename(tmp, path)
    served = 0
    while count is None or served < count:
        c, _ = ls.accept()
        c.settimeout(30)
        try:
            served += serve_one(c, decide, log)
        except (OSError, AssertionError, struct.error):
            pass  # qmgr went away mid-request: it defers, we go on
        finally:
            c.close()


def serve_one(c, decide, log):
    rtype, fields, fds = recv(c)
    if rtype != DELIVER or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return 0
    off, length = get(fields, "OFFSET"), get(fields, "LENGTH")
    content = os.pread(fds[0], length, off)
    os.close(fds[0])
    rcpts = [v for k, v in fields if k == "RCPT"]
    for i, r in enumerate(rcpts):
        status, text = decide(r, fields, content)
        if status is None:  # die mid-request
            os._exit(3)
        if log:
            with open(log, "a") as f:
                first = content.split(b"\n", 1)[0].decode(errors="replace")
                f.write("%s\t%s\t%s\t%d\t%s\t%s\n" % (
                    r, status, get(fields, "SENDER"), length, first,
                    get(fields, "DELAYS")))
        c.send(encode(RESULT, [("RCPT_INDEX", i), ("STATUS", status),
                               ("TEXT", text), ("RELAY", "local")]))
    c.send(encode(DONE, []))
    return 1
