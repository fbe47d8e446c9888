#!/usr/bin/env python3
"""attacks.py - the client side of attacks.sh: known attacks on MTAs,
each sent over the socket to a running postern, each checked for the
safe outcome in the reply, the mailboxes and the log.
usage: attacks.py PORT INSTANCE_DIR ALICE BOB CAROL DAVE"""
import os, re, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from smtpraw import Raw  # noqa: E402

PORT, D = int(sys.argv[1]), sys.argv[2]
ALICE, BOB, CAROL, DAVE = sys.argv[3:7]
DOM = "mx.example"
MAILLOG = os.path.join(D, "maillog")
failed = 0


def ok(cond, name, detail=""):
    global failed
    if cond:
        print("ok - " + name)
    else:
        failed += 1
        print("not ok - " + name + (" (%s)" % str(detail)[:300] if detail else ""))


def session(src="127.0.0.2"):
    """An outsider's session (mynetworks is 127.0.0.1 only)."""
    r = Raw(PORT, src)
    r.banner = r.reply()
    r.cmd("EHLO attacker.example")
    return r


def mbox(user):
    try:
        with open(os.path.join(D, "mail", user), "rb") as f:
            return f.read()
    except OSError:
        return b""


def log():
    with open(MAILLOG, "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait(cond, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def alive():
    r = session("127.0.0.1")
    good = r.banner.startswith("220") and r.cmd("NOOP") == "250 2.0.0 Ok"
    r.close()
    return good


# --- SMTP smuggling (CVE-2023-51764/51765/51766 class): every odd end of
# data followed by a pipelined second transaction is content of ONE
# message, delivered once.
ENDINGS = [b"\n.\n", b"\n.\r\n", b"\r.\n", b"\r.\r\n", b"\r\n\x00.\r\n", b"\r\n.\n", b"\n.\r\r\n",
           b"\r\n.\r", b"\r\n\r.\r\n"]
for i, end in enumerate(ENDINGS):
    tag = "smuggle-%d-%x" % (i, int(time.time() * 1000))
    before = mbox(ALICE).count(b"\nFrom ") + mbox(ALICE).startswith(b"From ")
    r = session()
    r.cmd("MAIL FROM:<a@b.example>")
    r.cmd("RCPT TO:<%s@%s>" % (ALICE, DOM))
    r.cmd("DATA")
    second = (b"MAIL FROM:<admin@" + DOM.encode() + b">\r\nRCPT TO:<" + ALICE.encode() + b"@" +
              DOM.encode() + b">\r\nDATA\r\nSubject: SMUGGLED-" + tag.encode() + b"\r\n\r\nx\r\n")
    r.send(b"Subject: " + tag.encode() + b"\r\n\r\nbody" + end + second + b".\r\n")
    rep = r.reply()
    extra = r.cmd("NOOP")
    r.close()
    ok(rep.startswith("250 2.0.0 Ok: queued as") and extra == "250 2.0.0 Ok",
       "smuggling %r: one 250, no reply for a second transaction" % end, rep + " / " + extra)
    wait(lambda: tag.encode() in mbox(ALICE))
    box = mbox(ALICE)
    after = box.count(b"\nFrom ") + box.startswith(b"From ")
    ok(after == before + 1 and box.count(b"Subject: SMUGGLED-" + tag.encode()) == 1 and
       re.search(rb"\nSubject: SMUGGLED-" + tag.encode() + rb"\n(?:.*\n)*?Subject: " + tag.encode(), box) is None,
       "smuggling %r: exactly one message delivered, the smuggled text is inside it" % end,
       "%d -> %d" % (before, after))

# --- command injection through addresses (CVE-2020-7247, CVE-2019-10149
# classes): the sender reaches a |command only as data, never as shell.
pwn1, pwn2 = os.path.join(D, "out", "pwned1"), os.path.join(D, "out", "pwned2")
evil_sender = ";touch${IFS}%s;@b.example" % pwn1
r = session()
rep1 = r.cmd("MAIL FROM:<%s>" % evil_sender)
rep2 = r.cmd("RCPT TO:<recorder@%s>" % DOM)
if rep1.startswith("250") and rep2.startswith("250"):
    r.cmd("DATA")
    r.send(b"Subject: shell\r\n\r\nx\r\n.\r\n")
    rep = r.reply()
    ok(rep.startswith("250"), "shell metacharacters in MAIL FROM: queued as data", rep)
    ok(wait(lambda: os.path.exists(os.path.join(D, "out", "senders"))),
       "the |command alias ran for that message")
    with open(os.path.join(D, "out", "senders")) as f:
        got = f.read()
    ok(evil_sender in got, "the command saw the sender verbatim in $SENDER", got)
else:
    print("# shell sender:", rep1, "/", rep2)
    ok(rep1[0] in "45" or rep2[0] in "45", "shell metacharacters in MAIL FROM: refused", rep1 + rep2)
r.cmd("RSET")
rep = r.cmd("MAIL FROM:<a@b.example>")
rep = r.cmd("RCPT TO:<${run{/bin/touch${IFS}%s}}@%s>" % (pwn2, DOM))
ok(rep[0] == "5", "${run{...}} recipient refused", rep)
r.close()
time.sleep(1)
ok(not os.path.exists(pwn1) and not os.path.exists(pwn2), "no injected command ever ran")

# --- CR/LF/NUL smuggled into ORCPT, ENVID and addresses (CVE-2020-28026
# and CVE-2020-28021 classes): refused, or kept as inert data that never
# becomes a header line of a DSN we generate.
r = session()
rep = r.cmd("MAIL FROM:<%s@%s> ENVID=abc+0D+0AX-Injected:+20envid" % (BOB, DOM))
print("# ENVID with CR LF:", rep)
ok(rep[0] in "25", "ENVID with encoded CR LF: answered", rep)
if rep[0] != "2":
    r.cmd("MAIL FROM:<%s@%s> ENVID=plain" % (BOB, DOM))
rep = r.cmd("RCPT TO:<%s@%s> NOTIFY=SUCCESS ORCPT=rfc822;x+0AX-Injected:+20orcpt@y" % (ALICE, DOM))
print("# ORCPT with LF:", rep)
ok(rep[0] in "25", "ORCPT with encoded LF: answered", rep)
if rep.startswith("250"):
    r.cmd("DATA")
    r.send(b"Subject: dsn-injection\r\n\r\nx\r\n.\r\n")
    ok(r.reply().startswith("250"), "message with hostile ENVID/ORCPT queued")
    ok(wait(lambda: b"dsn-injection" in mbox(ALICE)), "... and delivered")
    wait(lambda: b"delivery-status" in mbox(BOB), 10)
ok(re.search(rb"^X-Injected:", mbox(BOB) + mbox(ALICE), re.M) is None,
   "no injected header line in any delivered message or DSN")
r.send(b"MAIL FROM:<a\x00b@b.example>\r\n")
rep = r.reply()
ok(rep[0] == "5", "NUL in a command: refused", rep)
rep = r.cmd("MAIL FROM:<a@b.example> AUTH=<>+0D+0AX-Injected:+20auth")
ok(rep[0] in "25", "AUTH= with encoded CR LF: answered", rep)
r.cmd("RSET")
r.send(b"MAIL FROM:<\xff\xfe@b.example>\r\n")
rep = r.reply()
ok(rep[0] in "25", "0xFF bytes in an address: answered", rep)
r.close()
ok(all(c in "\t\n" or 32 <= ord(c) < 127 for c in log()), "the log holds printable ASCII only")
ok("\nX-Injected" not in log(), "no injected line in the log")

# --- hostile headers: From: <><><>..., a huge folded header.
r = session()
r.cmd("MAIL FROM:<a@b.example>")
r.cmd("RCPT TO:<%s@%s>" % (ALICE, DOM))
r.cmd("DATA")
r.send(b"From: " + b"<>" * 400 + b"\r\nTo: " + b"<><" * 300 + b"\r\nX-Big: start\r\n" +
       b" folded line of a very long header\r\n" * 8000 + b"Subject: hostile-headers\r\n\r\nx\r\n.\r\n")
rep = r.reply()
ok(rep[:1] in ("2", "5"), "hostile headers: a definite answer", rep)
r.close()
ok(alive(), "server alive after hostile headers")

# --- resource abuse.
r = session()
r.cmd("MAIL FROM:<a@b.example>")
reps = []
for i in range(110):  # 10 over: below smtpd_hard_error_limit (20)
    r.send(("RCPT TO:<%s@%s>\r\n" % (ALICE, DOM)).encode())
for i in range(110):
    reps.append(r.reply())
ok(reps[99] == "250 2.1.5 Ok" and reps[100].startswith("452 4.5.3"),
   "RCPT flood: bounded by smtpd_recipient_limit", reps[100])
r.close()

r = session()
r.cmd("MAIL FROM:<a@b.example>")
r.cmd("RCPT TO:<%s@%s>" % (ALICE, DOM))
r.cmd("DATA")
chunk = (b"y" * 78 + b"\r\n") * 1000
for i in range(40):  # 3.2 MB against a 1 MB limit
    r.send(chunk)
r.send(b".\r\n")
rep = r.reply()
ok(rep.startswith("552 5.3.4"), "endless DATA: 552 5.3.4 past message_size_limit", rep)
ok(r.cmd("NOOP") == "250 2.0.0 Ok", "... and the session goes on")
r.close()


def smtpd_pid():
    with open(os.path.join(D, "queue", "pid", "master.pid")) as f:
        master = f.read().strip()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open("/proc/%s/status" % p).read()
            except OSError:
                continue
            if re.search(r"^PPid:\s*%s$" % master, st, re.M) and re.search(r"^Name:\s*smtpd$", st, re.M):
                return int(p)
    return None


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


pid = smtpd_pid()
base = rss_kb(pid) if pid else 0
idle = []
# From 127.0.0.1: in mynetworks, so exempt from the per-client connection
# limit, and named by /etc/hosts (no DNS queue to wait behind).
for i in range(1000):
    try:
        idle.append(Raw(PORT, "127.0.0.1"))
    except OSError:
        break
t0 = time.time()
fresh = Raw(PORT, "127.0.0.1")
banner = fresh.reply()
delay = time.time() - t0
ok(len(idle) == 1000 and banner.startswith("220") and delay < 2.0,
   "1000 idle connections: a new session still gets its banner at once",
   "%d idle, %.2fs, %s" % (len(idle), delay, banner))
grown = (rss_kb(pid) - base) if pid else -1
ok(pid is not None and grown < 200 * 1024, "1000 idle connections: smtpd memory bounded", "%d kB" % grown)
fresh.close()
for c in idle:
    c.close()

# Slowloris at every stage: each stalled session gets 421 after
# smtpd_timeout (3 s), while a normal client is served meanwhile.
STAGES = {
    "greeting": [],
    "partial command": [b"EHLO x\r\n", b"MAIL FROM:<a@b.exa"],
    "after MAIL": [b"EHLO x\r\n", b"MAIL FROM:<a@b.example>\r\n"],
    "inside DATA": [b"EHLO x\r\n", ("MAIL FROM:<a@b.example>\r\nRCPT TO:<%s@%s>\r\nDATA\r\n" % (ALICE, DOM)).encode(),
                    b"Subject: slow\r\n\r\nhalf a li"],
    "inside BDAT": [b"EHLO x\r\n", ("MAIL FROM:<a@b.example>\r\nRCPT TO:<%s@%s>\r\nBDAT 1000 LAST\r\n" % (ALICE, DOM)).encode(),
                    b"only some bytes"],
}
results = {}


def slow(name, steps):
    try:
        r = Raw(PORT, "127.0.0.1", timeout=20)
        r.reply()
        for s in steps:
            r.send(s)
        t0 = time.time()
        data = b""
        while True:
            d = r.s.recv(65536)
            if not d:
                break
            data += d
        results[name] = (data, time.time() - t0)
    except OSError as e:
        results[name] = (str(e).encode(), -1)


threads = [threading.Thread(target=slow, args=(n, s)) for n, s in STAGES.items()]
for t in threads:
    t.start()
time.sleep(0.5)
ok(alive(), "slowloris: a normal client is served while five sessions stall")
for t in threads:
    t.join(30)
for name in STAGES:
    data, took = results.get(name, (b"", -1))
    ok(b"421 4.4.2" in data and 2.0 <= took < 15, "slowloris %s: 421 4.4.2 after smtpd_timeout" % name,
       "%r after %.1fs" % (data[-80:], took))

# --- delivery abuse: symlinked and hard-linked mailboxes, a .forward
# command that is not allowed, recursive :include:.
r = session()
for rcpt in (CAROL, DAVE, BOB, "loop"):
    r.cmd("MAIL FROM:<%s@%s>" % (ALICE, DOM))
    rep = r.cmd("RCPT TO:<%s@%s>" % (rcpt, DOM))
    r.cmd("DATA")
    r.send(b"Subject: abuse\r\n\r\nOVERWRITE\r\n.\r\n")
    ok(r.reply().startswith("250"), "delivery abuse message to %s queued" % rcpt, rep)
r.close()
ok(wait(lambda: re.search(r"to=<%s@%s>.*status=(deferred|bounced)" % (CAROL, DOM), log()) is not None),
   "symlinked mailbox: delivery refused", log()[-500:])
ok(wait(lambda: re.search(r"to=<%s@%s>.*status=(deferred|bounced)" % (DAVE, DOM), log()) is not None),
   "hard-linked mailbox: delivery refused")
for t in ("target-sym", "target-hard"):
    with open(os.path.join(D, t)) as f:
        ok(f.read() == "precious\n", "the file behind the %s mailbox is untouched" % t)
ok(wait(lambda: re.search(r"to=<%s@%s>.*status=" % (BOB, DOM), log()) is not None), ".forward message handled")
time.sleep(0.5)
ok(not os.path.exists(os.path.join(D, "out", "forward-ran")),
   ".forward |command not run when allow_mail_to_commands excludes forward")
ok(wait(lambda: re.search(r"to=<loop@%s>.*status=(bounced|deferred)" % DOM, log()) is not None),
   "recursive :include: ends in a bounce or deferral, no hang")
ok(alive(), "server alive at the end")
sys.exit(1 if failed else 0)
