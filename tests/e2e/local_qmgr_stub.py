#!/usr/bin/env python3
"""local_qmgr_stub.py - the receiving side of the queue manager's
submission exchange (NEW / NEW_OK + descriptor / COMMIT / COMMIT_OK on
public/qmgr, records of common/ipc.h, tags from common/proto.h), enough to
test what the local agent submits when it forwards mail.  Each committed
message is saved as OUTDIR/ID.msg (content) and OUTDIR/ID.env (sender and
recipients); the file it hands out starts with a fake envelope head, so
the client has to report the content size, not the file size."""
import array, os, socket, struct, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_client import load_proto

HEAD = b"FAKE-ENVELOPE-HEAD\n"

def parse(data):
    t = struct.unpack(">H", data[:2])[0]
    off, fields = 2, []
    while off < len(data):
        tag, n = struct.unpack(">BI", data[off:off + 5])
        fields.append((tag, data[off + 5:off + 5 + n]))
        off += 5 + n
    return t, fields

def rec(t, *fields):
    return struct.pack(">H", t) + b"".join(
        struct.pack(">BI", tag, len(v)) + v for tag, v in fields)

def main():
    sockpath, proto, outdir = sys.argv[1:4]
    types, T = load_proto(proto)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ls.bind(sockpath)
    os.chmod(sockpath, 0o666)
    ls.listen(8)
    n = 0
    while True:
        c, _ = ls.accept()
        try:
            t, f = parse(c.recv(1 << 18))
            assert t == types["PROTO_NEW"], t
            sender = dict(f)[T["T_SENDER"]].rstrip(b"\0").decode()
            n += 1
            qid = "F%05dSTUB" % n
            path = os.path.join(outdir, qid + ".tmp")
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, HEAD)
            c.sendmsg([rec(types["PROTO_NEW_OK"], (T["T_ID"], qid.encode() + b"\0"))],
                      [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
            t, f = parse(c.recv(1 << 18))
            assert t == types["PROTO_COMMIT"], t
            size = struct.unpack(">Q", dict(f)[T["T_SIZE"]])[0]
            rcpts = [v.rstrip(b"\0").decode() for tag, v in f if tag == T["T_RCPT"]]
            data = open(path, "rb").read()
            os.close(fd)
            if size != len(data) - len(HEAD) or not data.startswith(HEAD):
                c.send(rec(types["PROTO_FAIL"], (T["T_STATUS"], b"4.3.0\0"),
                           (T["T_TEXT"], b"Message content size mismatch\0")))
                continue
            open(os.path.join(outdir, qid + ".msg"), "wb").write(data[len(HEAD):])
            open(os.path.join(outdir, qid + ".env"), "w").write(
                "sender=%s\n" % sender + "".join("rcpt=%s\n" % r for r in rcpts))
            os.unlink(path)
            c.send(rec(types["PROTO_COMMIT_OK"], (T["T_ID"], qid.encode() + b"\0")))
        except (AssertionError, KeyError, OSError, struct.error) as e:
            print("stub: bad exchange:", e, file=sys.stderr)
        finally:
            c.close()

if __name__ == "__main__":
    main()
