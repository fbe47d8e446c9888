#!/usr/bin/env python3
"""local_client.py - test client of the real queue-manager -> local
delivery protocol (common/ipc.h records on SOCK_SEQPACKET, record types
and tags read from common/proto.h).  Sends one or more DELIVER requests
with a queue-file-like descriptor attached and prints what comes back:
  RESULT <index> <dsn> <text>
  DONE
  EOF            (the agent dropped the connection)
--mutate sends a deliberately broken request (hostile-input tests)."""
import argparse, array, os, re, socket, struct, sys

def load_proto(path):
    types, tags = {}, {}
    text = open(path).read()
    for enum, out in (("proto_type", types), ("proto_tag", tags)):
        body = re.search(r"enum %s \{(.*?)\};" % enum, text, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        n = 0
        for m in re.finditer(r"(\w+)\s*(?:=\s*(\d+))?\s*,", body):
            if m.group(2) is not None:
                n = int(m.group(2))
            out[m.group(1)] = n
            n += 1
    return types, tags

def field(tag, data):
    return struct.pack(">BI", tag, len(data)) + data

def s(tag, v):
    return field(tag, v.encode() + b"\0")

def u64(tag, v):
    return field(tag, struct.pack(">Q", v))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--proto", required=True)
    ap.add_argument("--file", required=True, help="queue-file-like: content at offset")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--length", type=int, default=-1)
    ap.add_argument("--id", default="4AbCdEf0123")
    ap.add_argument("--sender", default="sender@example.org")
    ap.add_argument("--arrival", type=int, default=None)
    ap.add_argument("--rcpt", action="append", default=[],
                    help="ADDR or ADDR=ORIG")
    ap.add_argument("--uid", type=int, default=None, help="become this uid first")
    ap.add_argument("--repeat", type=int, default=1, help="requests on one connection")
    ap.add_argument("--mutate", default=None)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    types, T = load_proto(a.proto)

    mode = os.O_RDWR if a.mutate == "writable-fd" else os.O_RDONLY
    fd = os.open(a.file, mode)
    if a.uid is not None:
        os.setgroups([])
        os.setresuid(a.uid, a.uid, a.uid)
    length = a.length if a.length >= 0 else os.fstat(fd).st_size - a.offset
    arrival = a.arrival if a.arrival is not None else int(__import__("time").time())

    f = b""
    if a.mutate != "no-id":
        f += s(T["T_ID"], a.id)
    f += s(T["T_SENDER"], a.sender)
    f += u64(T["T_ARRIVAL"], arrival)
    f += u64(T["T_OFFSET"], a.offset)
    f += u64(T["T_LENGTH"], length if a.mutate != "long-length" else length + 10**6)
    f += s(T["T_NEXTHOP"], "localhost")
    f += s(T["T_DELAYS"], "0.01/0")
    f += u64(T["T_FLAGS"], 0)
    if a.mutate == "dup-sender":
        f += s(T["T_SENDER"], "other@example.org")
    if a.mutate == "unknown-tag":
        f += s(200, "x")
    if a.mutate == "no-nul":
        f += field(T["T_ENVID"], b"abc")
    if a.mutate == "short-u64":
        f += field(T["T_FLAGS"], b"\0\0")
    if a.mutate == "crlf-rcpt":
        f += s(T["T_RCPT"], "a\r\nBcc: x")
    if a.mutate == "orcpt-first":
        f += s(T["T_ORCPT"], "rfc822;x@y")
    for r in a.rcpt:
        addr, _, orig = r.partition("=")
        f += s(T["T_RCPT"], addr)
        f += s(T["T_ORIG_RCPT"], orig or addr)
        f += u64(T["T_NOTIFY"], 0)
    rtype = types["PROTO_DELIVER"] if a.mutate != "bad-type" else 999
    rec = struct.pack(">H", rtype) + f
    if a.mutate == "truncated":
        rec = rec[:-3]

    sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sk.settimeout(a.timeout)
    try:
        sk.connect(a.socket)
    except OSError as e:
        print("CONNECT-FAILED", e)
        return 2
    for _ in range(a.repeat):
        anc = [] if a.mutate == "no-fd" else [
            (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
        try:
            sk.sendmsg([rec], anc)
        except OSError as e:
            print("EOF", e)
            return 0
        while True:
            try:
                data = sk.recv(1 << 18)
            except (ConnectionResetError, socket.timeout) as e:
                print("EOF", e)
                return 0
            if not data:
                print("EOF")
                return 0
            t = struct.unpack(">H", data[:2])[0]
            off, fl = 2, {}
            while off < len(data):
                tag, n = struct.unpack(">BI", data[off:off + 5])
                fl[tag] = data[off + 5:off + 5 + n]
                off += 5 + n
            if t == types["PROTO_RESULT"]:
                idx = struct.unpack(">Q", fl[T["T_RCPT_INDEX"]])[0]
                dsn = fl[T["T_STATUS"]].rstrip(b"\0").decode()
                text = fl[T["T_TEXT"]].rstrip(b"\0").decode(errors="replace")
                relay = fl[T["T_RELAY"]].rstrip(b"\0").decode()
                print("RESULT %d %s %s [%s]" % (idx, dsn, text, relay))
            elif t == types["PROTO_DONE"]:
                print("DONE")
                sys.stdout.flush()
                break
            else:
                print("UNKNOWN", t)
                return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
