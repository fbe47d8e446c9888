#!/usr/bin/env python3
# dsn_check.py FILE EXPECT_JSON - parse a DSN written by dsn_compose with
# Python's email package (an independent MIME parser) and check its
# structure and report fields against the expectations.  Exit 0 when all
# hold; otherwise print what failed and exit 1.  Used by test_dsn.c.
import email
import email.policy
import json
import re
import sys

raw = open(sys.argv[1], "rb").read()
exp = json.loads(sys.argv[2])
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)


check(b"\r" not in raw, "CR in output")
for n, line in enumerate(raw.split(b"\n")):
    check(len(line) <= 998, "line %d longer than 998" % n)
head = raw.split(b"\n\n", 1)[0]
# Every header line is "Name: ..." or a continuation; nothing smuggled.
for line in head.split(b"\n"):
    check(re.match(rb"^([A-Za-z-]+:|[ \t])", line) is not None, "bad header line %r" % line)
    check(re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line) is None, "control char in %r" % line)

msg = email.message_from_bytes(raw, policy=email.policy.compat32)
names = [k.lower() for k in msg.keys()]
for h in ("from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version", "content-type"):
    check(names.count(h) == 1, "header %s present %d times" % (h, names.count(h)))
check(msg.get_content_type() == "multipart/report", "type " + msg.get_content_type())
check(msg.get_param("report-type") == "delivery-status", "report-type")
check(msg["Auto-Submitted"] == "auto-replied", "auto-submitted")
check(msg["Subject"] == exp["subject"], "subject %r" % msg["Subject"])
check("MAILER-DAEMON@" + exp["host"] in msg["From"], "from %r" % msg["From"])
to = email.utils.getaddresses([msg["To"]])
check(len(to) == 1 and to[0][1] == exp["to"], "to %r" % (to,))
check(not msg.defects, "defects %r" % msg.defects)
parts = msg.get_payload()
nparts = 3 if exp.get("third") else 2
check(isinstance(parts, list) and len(parts) == nparts, "parts %r" % (len(parts) if isinstance(parts, list) else parts))
if not fails:
    check(parts[0].get_content_type() == "text/plain", "part 1 type")
    text = parts[0].get_payload(decode=True).decode("utf-8", "replace")
    for s in exp.get("text_contains", []):
        check(s in text, "notification lacks %r" % s)
    check(parts[1].get_content_type() == "message/delivery-status", "part 2 type")
    blocks = parts[1].get_payload()
    check(len(blocks) == 1 + len(exp["rcpts"]), "report blocks %d" % len(blocks))
    permsg = blocks[0]
    check(permsg["Reporting-MTA"] == "dns; " + exp["host"], "reporting-mta %r" % permsg["Reporting-MTA"])
    check(permsg["Arrival-Date"] is not None, "arrival-date")
    check(permsg["X-Postern-Queue-ID"] == exp["queue_id"], "queue id")
    if "envid" in exp:
        check(permsg["Original-Envelope-Id"] == exp["envid"], "envid %r" % permsg["Original-Envelope-Id"])
    else:
        check(permsg["Original-Envelope-Id"] is None, "unexpected envid")
    for blk, want in zip(blocks[1:], exp["rcpts"]):
        for k, v in want.items():
            got = blk[k]
            if got is not None:
                got = re.sub(r"\s*\n\s*", " ", got)
            check(got == v, "%s: %r != %r" % (k, got, v))
    if nparts == 3:
        third = parts[2]
        check(third.get_content_type() == exp["third"], "part 3 type " + third.get_content_type())
        if exp["third"] == "message/rfc822":
            inner = third.get_payload()[0]
            check(inner["Subject"] == exp["orig_subject"], "returned subject %r" % inner["Subject"])
            body = inner.get_payload()
        else:
            body = third.get_payload()
        for s in exp.get("returned_contains", []):
            check(s in body, "returned part lacks %r" % s)
        for s in exp.get("returned_lacks", []):
            check(s not in body, "returned part has %r" % s)
if fails:
    print("\n".join(fails))
    sys.exit(1)
