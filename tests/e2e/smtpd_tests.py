#!/usr/bin/env python3
"""smtpd_tests.py - the client side of smtpd_receive.sh: drives two smtpd
instances with smtplib and raw sockets and checks replies, queued files
and log lines.  usage: smtpd_tests.py PORT_A PORT_B INCOMING LOG_A LOG_B"""
import os, re, smtplib, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpraw import Raw  # noqa: E402

PA, PB = int(sys.argv[1]), int(sys.argv[2])
INCOMING, LOGA, LOGB = sys.argv[3], sys.argv[4], sys.argv[5]
PIDA = int(sys.argv[6])
failed = 0


def ok(cond, name, detail=""):
    global failed
    if cond:
        print("ok - " + name)
    else:
        failed += 1
        print("not ok - " + name + (" (%s)" % detail if detail else ""))


def msgs():
    return sorted(f for f in os.listdir(INCOMING) if not f.endswith(".env"))


def content(qid):
    with open(os.path.join(INCOMING, qid), "rb") as f:
        return f.read()


def session(port=PA, src="127.0.0.1", ehlo="client.example"):
    r = Raw(port, src)
    banner = r.reply()
    r.ehlo = r.cmd("EHLO " + ehlo)
    r.banner = banner
    return r


# --- greeting and EHLO
r = session()
ok(r.banner == "220 mx.example ESMTP postern", "banner", r.banner)
for kw in ("PIPELINING", "SIZE 30000000", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
           "DSN", "CHUNKING", "VRFY"):
    ok(("250-" + kw) in r.ehlo or ("250 " + kw) in r.ehlo, "EHLO announces " + kw)
ok(r.cmd("HELP").startswith("214 "), "HELP")
ok(r.cmd("NOOP") == "250 2.0.0 Ok", "NOOP")
ok(r.cmd("RCPT TO:<root@mx.example>") == "503 5.5.1 Error: need MAIL command", "RCPT before MAIL")
ok(r.cmd("DATA") == "503 5.5.1 Error: need RCPT command", "DATA before MAIL")
ok(r.cmd("MAIL FROM:<a@b.example>") == "250 2.1.0 Ok", "MAIL")
ok(r.cmd("MAIL FROM:<a@b.example>") == "503 5.5.1 Error: nested MAIL command", "nested MAIL")
ok(r.cmd("DATA") == "554 5.5.1 Error: no valid recipients", "DATA before RCPT")
ok(r.cmd("RCPT TO:<nosuch@mx.example>") ==
   "550 5.1.1 <nosuch@mx.example>: Recipient address rejected: User unknown in local recipient table",
   "unknown local user: 550 5.1.1 at RCPT")
ok(r.cmd("DATA") == "554 5.5.1 Error: no valid recipients", "DATA with no valid recipient")
ok(r.cmd("RCPT TO:<root+ext@mx.example>") == "250 2.1.5 Ok", "recipient_delimiter extension")
ok(r.cmd("RCPT TO:<alias-only@mx.example>") == "250 2.1.5 Ok", "second local_recipient_maps table")
ok(r.cmd("RCPT TO:<ROOT@MX.EXAMPLE>") == "250 2.1.5 Ok", "case-insensitive local lookup")
ok(r.cmd("RCPT TO:<root@mx.example> FOO=bar") == "555 5.5.4 Unsupported option: FOO=bar", "unknown RCPT parameter")
ok(r.cmd("RSET") == "250 2.0.0 Ok", "RSET")
ok(r.cmd("VRFY root") == "252 2.0.0 root", "VRFY known user")
ok(r.cmd("VRFY nosuch").startswith("550 5.1.1 <nosuch>"), "VRFY unknown user")
ok(r.cmd("MAIL FROM:<a@b.example> SIZE=40000000") == "552 5.3.4 Message size exceeds fixed limit",
   "SIZE over message_size_limit: 552 at MAIL")
ok(r.cmd("GET / HTTP/1.0") == "221 2.7.0 Error: I can break rules, too. Goodbye.", "HTTP command ends the session")
ok(r.closed(), "connection closed after a non-SMTP command")

# --- long command line: 500 5.5.2, the session survives
r = session()
r.send(b"NOOP " + b"x" * 5000 + b"\r\n")
ok(r.reply() == "500 5.5.2 Error: line too long", "overlong command line: 500 5.5.2")
ok(r.cmd("NOOP") == "250 2.0.0 Ok", "session survives an overlong line")
r.send(b"NOOP " + b"y" * 2043 + b"\r\n")
ok(r.reply() == "250 2.0.0 Ok", "command line at the limit (2048) accepted")
r.send(b"NOOP " + b"y" * 2044 + b"\r\n")
ok(r.reply() == "500 5.5.2 Error: line too long", "command line one past the limit refused")
r.cmd("QUIT")

# --- a client that pipelines without reading replies: bounded memory
def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


r = session()
base = rss_kb(PIDA)
r.s.settimeout(0.5)
sent = 0
chunk = b"NOOP\r\n" * 10000
try:
    for _ in range(1000):  # up to 60 MB; the send stalls long before
        r.s.sendall(chunk)
        sent += 10000
except socket.timeout:
    pass
grown = rss_kb(PIDA) - base
ok(grown < 32 * 1024, "unread pipelined replies: smtpd memory stays bounded", "%d kB for %d NOOPs" % (grown, sent))
r.close()

# --- a message with smtplib; the Received: header
before = msgs()
s = smtplib.SMTP("127.0.0.1", PA, local_hostname="helo.example", timeout=30)
code, resp = s.ehlo()
s.mail("sender@b.example", ["BODY=8BITMIME", "RET=HDRS", "ENVID=abc+2Bd"])
s.rcpt("root@mx.example", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;root+40mx.example"])
code, resp = s.data(b"Subject: one\r\nMessage-ID: <m1@b.example>\r\n\r\nline 1\r\n.leading dot\r\n")
s.quit()
ok(code == 250 and re.match(rb"2\.0\.0 Ok: queued as \w+$", resp), "DATA accepted: 250 2.0.0 Ok: queued as ID", resp)
new = sorted(set(msgs()) - set(before))
ok(len(new) == 1, "exactly one message queued")
if new:
    qid = new[0]
    c = content(qid)
    m = re.match(rb"Received: from helo\.example \(unknown \[127\.0\.0\.1\]\)\n"
                 rb"\tby mx\.example \(postern\) with ESMTP id " + qid.encode() + rb"\n"
                 rb"\tfor <root@mx\.example>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)\n", c)
    ok(m is not None, "Received: header in Postfix's form (one recipient)", c[:300])
    # smtplib stuffs ".leading dot" to "..leading dot"; stored unstuffed
    ok(c.endswith(b"Subject: one\nMessage-ID: <m1@b.example>\n\nline 1\n.leading dot\n"),
       "content stored with LF line ends and dots unstuffed", c[-80:])
    env = open(os.path.join(INCOMING, qid + ".env")).read()
    ok('"ENVID", "abc+d"' in env and '"RET", "HDRS"' in env and '"BODY", "8BITMIME"' in env,
       "NEW carries RET, ENVID (decoded), BODY", env)
    ok('"ORCPT", "rfc822;root@mx.example"' in env and '"NOTIFY", 6' in env,
       "COMMIT carries ORCPT (decoded) and NOTIFY", env)
    ok('"MSGID", "<m1@b.example>"' in env, "COMMIT carries the Message-ID", env)

# two recipients: no "for" clause
before = msgs()
s = smtplib.SMTP("127.0.0.1", PA, local_hostname="helo.example", timeout=30)
s.sendmail("a@b.example", ["root@mx.example", "x@elsewhere.example"], b"Subject: two\r\n\r\nx\r\n")
s.quit()
new = sorted(set(msgs()) - set(before))
ok(len(new) == 1 and re.match(rb"Received: from helo\.example \(unknown \[127\.0\.0\.1\]\)\n"
                              rb"\tby mx\.example \(postern\) with ESMTP id \w+;\n\t\w{3}, ",
                              content(new[0])), "Received: header with several recipients")

# SMTPUTF8: UTF-8 addresses, "with UTF8SMTP" as Postfix writes it
before = msgs()
r = session()
ok(r.cmd("MAIL FROM:<j\u00f6rg@b\u00fc.example> SMTPUTF8") == "250 2.1.0 Ok", "SMTPUTF8 sender")
ok(r.cmd("RCPT TO:<root@mx.example>") == "250 2.1.5 Ok", "SMTPUTF8 recipient")
r.cmd("DATA")
ok(r.cmd("Subject: utf8\r\n\r\nx\r\n.").startswith("250 2.0.0 Ok: queued as"), "SMTPUTF8 message queued")
r.cmd("QUIT")
new = sorted(set(msgs()) - set(before))
ok(len(new) == 1 and b"\n\tby mx.example (postern) with UTF8SMTP id " in content(new[0]),
   "Received: with UTF8SMTP")

# smtpd_recipient_limit (1000), pipelined in one write
r = session()
r.cmd("MAIL FROM:<a@b.example>")
r.send(b"".join(b"RCPT TO:<root+%d@mx.example>\r\n" % i for i in range(1001)))
reps = [r.reply() for _ in range(1001)]
ok(all(x == "250 2.1.5 Ok" for x in reps[:1000]) and reps[1000] == "452 4.5.3 Error: too many recipients",
   "smtpd_recipient_limit: recipient 1001 gets 452 4.5.3", reps[-1])
r.cmd("QUIT")

# --- a slow qmgr answer does not hold up other sessions
slow = session()
slow.cmd("MAIL FROM:<slow@b.example>")
t0 = time.time()
slow.send(b"RCPT TO:<root@mx.example>\r\n")
time.sleep(0.3)
other = session()
ok(other.cmd("NOOP") == "250 2.0.0 Ok" and time.time() - t0 < 2,
   "other sessions are served while qmgr is slow to answer", "%.1fs" % (time.time() - t0))
other.cmd("QUIT")
ok(slow.reply() == "250 2.1.5 Ok" and time.time() - t0 >= 2.5, "the slow RCPT is answered when qmgr is")
slow.cmd("QUIT")

# --- PIPELINING: a whole transaction in one packet
before = msgs()
r = Raw(PA)
r.reply()
r.send(b"EHLO p.example\r\nMAIL FROM:<p@b.example>\r\nRCPT TO:<root@mx.example>\r\n"
       b"RCPT TO:<nosuch@mx.example>\r\nRCPT TO:<root@localhost>\r\nDATA\r\n"
       b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
replies = [r.reply() for _ in range(7)]
codes = [x.split("\n")[-1][:3] for x in replies]
ok(codes == ["250", "250", "250", "550", "250", "354", "250"], "PIPELINING: replies in order", codes)
ok(r.reply() == "221 2.0.0 Bye", "PIPELINING: QUIT answered")
ok(len(set(msgs()) - set(before)) == 1, "PIPELINING: one message queued")

# --- BDAT
before = msgs()
r = session()
r.cmd("MAIL FROM:<c@b.example> BODY=8BITMIME")
r.cmd("RCPT TO:<root@mx.example>")
chunk1 = b"Subject: chunked\r\n\r\nfirst part "
chunk2 = b"second part\r\n.\r\nnot the end\r\n"
r.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
ok(r.reply() == "250 2.0.0 Ok: %d bytes" % len(chunk1), "BDAT chunk")
r.send(b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
rep = r.reply()
ok(re.match(r"250 2\.0\.0 Ok: %d bytes queued as \w+$" % (len(chunk1) + len(chunk2)), rep), "BDAT LAST queues", rep)
new = sorted(set(msgs()) - set(before))
ok(len(new) == 1 and content(new[0]).endswith(b"first part second part\n.\nnot the end\n"),
   "BDAT content kept as sent (no dot handling)")
r.send(b"BDAT 5 LAST\r\nhello")
ok(r.reply() == "503 5.5.1 Error: need RCPT command", "BDAT without MAIL: chunk read and refused")
ok(r.cmd("NOOP") == "250 2.0.0 Ok", "session in step after a refused BDAT chunk")
r.cmd("QUIT")

# --- SMTP smuggling: bare LF / bare CR never end DATA or split a message
for name, body in [
    ("bare LF dot", b"Subject: s1\r\n\r\na\n.\nMAIL FROM:<evil@x.example>\nRCPT TO:<root@mx.example>\nDATA\nevil\n.\n"),
    ("LF dot CRLF", b"Subject: s2\r\n\r\na\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<root@mx.example>\r\nDATA\r\nevil\r\n"),
    ("CRLF dot LF", b"Subject: s3\r\n\r\na\r\n.\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<root@mx.example>\r\nDATA\r\nevil\r\n"),
    ("bare CR dot", b"Subject: s4\r\n\r\na\r.\rMAIL FROM:<evil@x.example>\r\nRCPT TO:<root@mx.example>\r\nDATA\r\nevil\r\n"),
]:
    before = msgs()
    r = session()
    r.cmd("MAIL FROM:<s@b.example>")
    r.cmd("RCPT TO:<root@mx.example>")
    ok(r.cmd("DATA").startswith("354"), "smuggling (%s): DATA" % name)
    r.send(body + b"\r\n.\r\n")
    rep = r.reply()
    ok(rep.startswith("250 2.0.0 Ok: queued as"), "smuggling (%s): one 250" % name, rep)
    ok(r.cmd("NOOP") == "250 2.0.0 Ok", "smuggling (%s): no extra replies" % name)
    r.cmd("QUIT")
    new = sorted(set(msgs()) - set(before))
    ok(len(new) == 1 and b"MAIL FROM:<evil@x.example>" in content(new[0]),
       "smuggling (%s): exactly one message in, one out, smuggled text is content" % name)

# --- no open relay (client 127.0.0.2 is outside mynetworks)
r = session(src="127.0.0.2")
r.cmd("MAIL FROM:<outsider@b.example>")
ok(r.cmd("RCPT TO:<root@mx.example>") == "250 2.1.5 Ok", "outsider may send to a local user")
ok(r.cmd("RCPT TO:<root@[127.0.0.1]>") == "250 2.1.5 Ok", "outsider may send to our IP literal")
for rcpt, shown in [
    ("x@elsewhere.example", "x@elsewhere.example"),
    ("x%elsewhere.example@mx.example", "x%elsewhere.example@mx.example"),
    ("@mx.example:x@elsewhere.example", "x@elsewhere.example"),
    ("elsewhere.example!x@mx.example", "elsewhere.example!x@mx.example"),
    ('"x@elsewhere.example"@mx.example', "x@elsewhere.example@mx.example"),
    ('"x%elsewhere.example"@mx.example', "x%elsewhere.example@mx.example"),
    ("x@elsewhere.example.", "x@elsewhere.example."),
    ("root@[192.0.2.1]", "root@[192.0.2.1]"),
    ("x@mx.example.elsewhere.example", "x@mx.example.elsewhere.example"),
]:
    rep = r.cmd("RCPT TO:<%s>" % rcpt)
    ok(rep == "454 4.7.1 <%s>: Relay access denied" % shown, "no open relay: %s" % rcpt, rep)
ok(r.cmd("RCPT TO:<x@elsewhere.example@mx.example>") == "501 5.1.3 Bad recipient address syntax",
   "no open relay: user@dom@dom is bad syntax")
r.cmd("QUIT")
r = session()  # 127.0.0.1 is in mynetworks
r.cmd("MAIL FROM:<insider@b.example>")
ok(r.cmd("RCPT TO:<x@elsewhere.example>") == "250 2.1.5 Ok", "mynetworks client may relay")
r.cmd("QUIT")

# --- oversize without SIZE: 552 at the end, nothing queued
before = msgs()
s = smtplib.SMTP("127.0.0.1", PA, timeout=120)
s.ehlo()
del s.esmtp_features["size"]  # no SIZE= hint: the limit must hold at the end
big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 31000
try:
    s.sendmail("a@b.example", ["root@mx.example"], big)
    ok(False, "oversize message refused")
except smtplib.SMTPDataError as e:
    ok(e.smtp_code == 552 and e.smtp_error == b"5.3.4 Message size exceeds fixed limit",
       "oversize message: 552 5.3.4 after DATA", e)
s.quit()
ok(msgs() == before, "oversize message: nothing queued")

# --- 20 MB message
before = msgs()
s = smtplib.SMTP("127.0.0.1", PA, timeout=120)
body = b"Subject: twenty\r\n\r\n" + (b"y" * 998 + b"\r\n") * 20000
s.sendmail("a@b.example", ["root@mx.example"], body)
s.quit()
new = sorted(set(msgs()) - set(before))
ok(len(new) == 1 and content(new[0]).endswith(b"y" * 998 + b"\n") and
   len(content(new[0])) > 20000 * 999, "20 MB message queued whole")

# --- 500 concurrent sessions (all open at once, each then sends a message)
N = 500
before = msgs()
conns, errors = [], []
for i in range(N):
    try:
        conns.append(Raw(PA))
    except OSError as e:
        errors.append(e)
banners = 0
for c in conns:
    try:
        if c.reply().startswith("220"):
            banners += 1
    except Exception as e:
        errors.append(e)
ok(banners == N, "500 concurrent sessions get their banner", "%d, %s" % (banners, errors[:2]))
for c in conns:
    c.send(b"EHLO c.example\r\nMAIL FROM:<c@b.example>\r\nRCPT TO:<root@mx.example>\r\nDATA\r\n"
           b"Subject: c\r\n\r\nx\r\n.\r\nQUIT\r\n")
done = 0
for c in conns:
    try:
        reps = [c.reply() for _ in range(6)]
        if reps[4].startswith("250 2.0.0 Ok: queued as") and reps[5] == "221 2.0.0 Bye":
            done += 1
    except Exception as e:
        errors.append(e)
    c.close()
ok(done == N, "500 concurrent sessions each queue their message", "%d %s" % (done, errors[:2]))
ok(len(set(msgs()) - set(before)) == N, "500 messages in the queue")

# --- instance B: maxproc 3 caps concurrent sessions; later clients wait
held = [Raw(PB, "127.0.0.3"), Raw(PB, "127.0.0.4"), Raw(PB, "127.0.0.5")]
ok(all(h.reply().startswith("220") for h in held), "maxproc: three sessions served")
waiting = Raw(PB, "127.0.0.6")
waiting.s.settimeout(1.5)
try:
    waiting.reply()
    ok(False, "maxproc: the fourth client waits")
except socket.timeout:
    ok(True, "maxproc: the fourth client waits (no banner while three are busy)")
held[0].cmd("QUIT")
waiting.s.settimeout(10)
ok(waiting.reply().startswith("220"), "maxproc: the fourth client is served when one ends")
for h in held[1:] + [waiting]:
    h.cmd("QUIT")

# connection count limit 2 per client address (127.0.0.2: not exempt)
a, b = Raw(PB, "127.0.0.2"), Raw(PB, "127.0.0.2")
a.reply(), b.reply()
c = Raw(PB, "127.0.0.2")
rep = c.reply()
ok(rep == "421 4.7.0 mx.example Error: too many connections from 127.0.0.2",
   "smtpd_client_connection_count_limit: 421 4.7.0", rep)
ok(c.closed(), "over the connection limit: disconnected")
a.cmd("QUIT"), b.cmd("QUIT")

# master.cf -o smtpd_helo_required=yes
r = Raw(PB, "127.0.0.9")
r.reply()
ok(r.cmd("MAIL FROM:<a@b.example>") == "503 5.5.1 Error: send HELO/EHLO first",
   "master.cf -o smtpd_helo_required=yes: MAIL before HELO refused")
r.cmd("QUIT")

# queue refuses: 452 4.3.1
r = session(PB, "127.0.0.2")
r.cmd("MAIL FROM:<a@b.example>")
rep = r.cmd("RCPT TO:<root@mx.example>")
ok(rep == "452 4.3.1 Insufficient system storage", "qmgr FAIL 4.3.1: 452 4.3.1 at RCPT", rep)
r.close()

# error limits: soft 2 (then 1 s per error reply), hard 4
r = session(PB, "127.0.0.7")
t0 = time.time()
replies = [r.cmd("FOO") for _ in range(3)]
slow = time.time() - t0
ok(slow >= 0.9, "smtpd_soft_error_limit: replies slow down after the soft limit", "%.2fs" % slow)
rep = r.cmd("FOO")
ok("500 5.5.2 Error: command not recognized\n" not in rep and
   r.reply() == "421 4.7.0 mx.example Error: too many errors" or rep.endswith("too many errors"),
   "smtpd_hard_error_limit: 421 4.7.0 too many errors", rep)
ok(r.closed(), "hard error limit: disconnected")

# smtpd_timeout 3s
r = Raw(PB, "127.0.0.8")
r.reply()
time.sleep(4)
try:
    rep = r.reply()
except Exception as e:
    rep = str(e)
ok(rep == "421 4.4.2 mx.example Error: timeout exceeded", "smtpd_timeout: 421 4.4.2", rep)

# --- garbage: random bytes, lines and half commands from many clients;
# the server must stay up and in step for the next client
import random
rnd = random.Random(4711)
words = [b"MAIL FROM:<", b"RCPT TO:<", b"DATA", b"BDAT 7", b"BDAT 3 LAST", b"\r\n", b"\n",
         b"\r", b".", b"\x00", b"@", b"<>", b'"', b"EHLO x", b"RSET", b" SIZE=", b"\xff\xfe"]
for i in range(150):
    try:
        g = Raw(PA)
        g.s.settimeout(2)
        data = b"".join(rnd.choice(words) if rnd.random() < 0.7 else bytes([rnd.randrange(256)])
                        for _ in range(rnd.randrange(1, 400)))
        g.send(data)
        g.s.shutdown(socket.SHUT_WR)
        while g.s.recv(65536):
            pass
    except OSError:
        pass
    g.close()
r = session()
ok(r.cmd("NOOP") == "250 2.0.0 Ok", "server in step after 150 garbage sessions")
raw_log = open(LOGA, "rb").read()
ok(all(b == 9 or b == 10 or 32 <= b < 127 for b in raw_log), "log lines hold printable ASCII only")
r.cmd("QUIT")

# --- log lines
time.sleep(0.5)
log = open(LOGA, errors="replace").read()
ok(re.search(r"connect from unknown\[127\.0\.0\.1\]", log), "log: connect from")
ok(re.search(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\b", log),
   "log: disconnect with command counts")
ok(re.search(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 <nosuch@mx\.example>: "
             r"Recipient address rejected: User unknown in local recipient table; from=<a@b\.example> "
             r"to=<nosuch@mx\.example> proto=ESMTP helo=<client\.example>", log), "log: NOQUEUE reject")
ok(re.search(r"\w+: client=unknown\[127\.0\.0\.1\]", log), "log: QUEUEID: client=")
ok(re.search(r"\w+: message-id=<m1@b\.example>", log), "log: QUEUEID: message-id=")
ok(re.search(r"reject: RCPT from unknown\[127\.0\.0\.2\]: 454 4\.7\.1 <x@elsewhere\.example>: Relay access denied", log),
   "log: relay reject")
logb = open(LOGB, errors="replace").read()
ok("Connection concurrency limit exceeded: 3 from unknown[127.0.0.2] for service smtp" in logb,
   "log: connection concurrency limit")
ok("timeout after CONNECT from unknown[127.0.0.8]" in logb, "log: timeout after")
sys.exit(1 if failed else 0)
