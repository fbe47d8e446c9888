#!/bin/bash
# pipeline_chain.sh - the real master + smtpd + qmgr + local chain:
#   - a permanent delivery failure bounces to the (local) sender with an
#     RFC 3464 DSN, checked with python3's email package;
#   - a temporary failure is deferred and delivered after the problem is
#     gone and "postern queue -f" asks for a retry;
#   - a 20 MB message arrives intact (SHA-256 of the body);
#   - 500 concurrent SMTP sessions all get a banner and deliver;
#   - privileges from /proc: master uid 0, smtpd and qmgr not root, no
#     capabilities in smtpd, qmgr (and smtp when built);
#   - an instance started by a non-root user receives and delivers.
. "$(dirname "$0")/lib.sh"
pt_init
. "$(dirname "$0")/pipeline_lib.inc"

for n in master smtpd qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then
		pt_skip "$n is not built in $BUILD/libexec"
		pt_done
	fi
done
pl_users RCPT SENDER || { pt_fail "create test users"; pt_done; }
port=$(pt_free_port)
pl_instance "$port"
# Deferred mail waits for a flush, not for the next queue run.
sed -i '/^minimal_backoff_time/d; /^maximal_backoff_time/d; /^queue_run_delay/d; /^alias_/d' "$D/main.cf"
# smtpd serves up to maxproc sessions (default_process_limit, 100) at once.
sed -i 's/^\(127.0.0.1:[0-9]* *inet *n *- *n *- *\)- *smtpd/\1600 smtpd/' "$D/master.cf"
grep -q " 600 smtpd$" "$D/master.cf" || pt_fail "master.cf: smtpd maxproc 600"
mkdir -p "$PT_TMP/out"
chmod 1777 "$PT_TMP/out"
cat >>"$D/main.cf" <<EOC
minimal_backoff_time = 600s
maximal_backoff_time = 1200s
queue_run_delay = 600s
message_size_limit = 30000000
alias_maps = hash:$D/aliases
alias_database = hash:$D/aliases
EOC
[ -x "$BUILD/libexec/smtp" ] &&
	echo "smtp      unix  -       -       n       -       -       smtp" >>"$D/master.cf"
cat >"$PT_TMP/flaky.sh" <<EOS
#!/bin/sh
[ -e "$PT_TMP/broken" ] && exit 75
cat >"$PT_TMP/out/flaky.\$\$"
EOS
chmod 755 "$PT_TMP/flaky.sh"
cat >"$D/aliases" <<EOA
postmaster: root
failing: "|exit 67"
flaky: "|$PT_TMP/flaky.sh"
EOA
"$POSTERN" alias -c "$D" "hash:$D/aliases" || pt_fail "postern alias"

out=$(pt_start "$D" 2>&1)
pt_check "postern start ($out)" test $? -eq 0
pt_wait_port "$port" 10 || pt_fail "smtpd listens on $port"

# send FROM TO SUBJECT [BODY-FILE]: one message over SMTP; exit 0 on 250.
send() {
	python3 - "$port" "$@" <<'PY'
import smtplib, sys
port, frm, to, subj = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = open(sys.argv[5], "rb").read() if len(sys.argv) > 5 else b"hello\r\n"
msg = (b"From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@chain.example>\r\n\r\n"
       % (frm.encode(), to.encode(), subj.encode(), subj.encode())) + body
s = smtplib.SMTP("127.0.0.1", port, timeout=120)
s.sendmail(frm, [to], msg)
s.quit()
PY
}
log_has() { grep -qE -- "$1" "$D/maillog"; }
in_maildir() { pl_maildir_files "$1" | xargs -r grep -l -- "$2" 2>/dev/null | head -1; }
has_mail() { [ -n "$(in_maildir "$1" "$2")" ]; }

# --- bounce with a DSN ------------------------------------------------
send "$SENDER@localhost" "failing@localhost" "chain-bounce-1"
pt_check "submission to a failing alias accepted" test $? -eq 0
pt_check "local logs status=bounced" pl_wait 20 log_has "to=<failing@localhost>.*status=bounced"
pt_check "the bounce arrives in the sender's Maildir" pl_wait 20 has_mail "$SENDER" "chain-bounce-1"
f=$(in_maildir "$SENDER" "chain-bounce-1")
if [ -n "$f" ]; then
	out=$(python3 - "$f" <<'PY' 2>&1
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
def need(cond, what):
    if not cond:
        print("FAIL:", what); sys.exit(1)
need(m.get_content_type() == "multipart/report", "multipart/report, got %s" % m.get_content_type())
need(m.get_param("report-type") == "delivery-status", "report-type=delivery-status")
need(m.get("Return-Path", "").strip() in ("<>", ""), "null sender, got %r" % m.get("Return-Path"))
parts = m.get_payload()
need(len(parts) >= 2, "at least two parts")
need(parts[0].get_content_type() == "text/plain", "first part text/plain")
ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
need(len(ds) == 1, "one message/delivery-status part")
groups = ds[0].get_payload()           # per-message fields, then per-recipient
need(len(groups) >= 2, "per-message and per-recipient fields")
need(groups[0].get("Reporting-MTA", "").startswith("dns;"), "Reporting-MTA: dns;...")
r = groups[1]
need(r.get("Final-Recipient", "").lower().replace(" ", "") == "rfc822;failing@localhost",
     "Final-Recipient rfc822; failing@localhost, got %r" % r.get("Final-Recipient"))
need(r.get("Action", "").strip() == "failed", "Action: failed, got %r" % r.get("Action"))
st = r.get("Status", "").strip()
need(len(st.split(".")) == 3 and st.startswith("5."), "Status 5.x.y, got %r" % st)
orig = [p for p in parts if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")]
need(len(orig) == 1, "original message or headers returned")
text = orig[0].as_string()
need("Subject: chain-bounce-1" in text, "original Subject returned")
print("Status", st)
PY
)
	pt_check "the bounce is an RFC 3464 DSN ($out)" test $? -eq 0
fi

# --- sendmail -bv: a report, no delivery -------------------------------
before=$(pl_maildir_files "$RCPT" | wc -l)
out=$("$POSTERN" sendmail -c "$D" -f "$SENDER@localhost" -bv "$RCPT@localhost" failing \
	nosuch-user-x far@remote.example 2>&1 </dev/null)
pt_check "sendmail -bv exits 0 ($out)" test $? -eq 0
report() { pl_maildir_files "$SENDER" | xargs -r grep -l '^Subject: Mail Delivery Status Report' | head -1; }
has_report() { [ -n "$(report)" ]; }
pt_check "the -bv report arrives in the sender's Maildir" pl_wait 20 has_report
f=$(report)
if [ -n "$f" ]; then
	out=$(python3 - "$f" "$RCPT" <<'PY' 2>&1
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
rcpt = sys.argv[2]
assert m.get_content_type() == "multipart/report", m.get_content_type()
ds = [p for p in m.get_payload() if p.get_content_type() == "message/delivery-status"][0]
got = {}
for g in ds.get_payload()[1:]:
    got[g["Final-Recipient"].split(";", 1)[1].strip()] = (g["Action"], g["Status"], g["Diagnostic-Code"])
want = {rcpt + "@localhost": ("deliverable", "2.0.0", "delivers to mailbox"),
        "failing@postern-test.example": ("deliverable", "2.0.0", "delivers to command: exit 67"),
        "nosuch-user-x@postern-test.example": ("undeliverable", "5.1.1", "unknown user"),
        "far@remote.example": ("deliverable", "2.0.0", "not probed")}
for a, (act, st, txt) in want.items():
    assert a in got, "no entry for %s in %s" % (a, list(got))
    assert got[a][0] == act and got[a][1] == st and txt in got[a][2], (a, got[a])
print("4 recipients reported")
PY
)
	pt_check "the -bv report says what would happen to each recipient ($out)" test $? -eq 0
fi
pt_check "-bv delivered nothing" test "$(pl_maildir_files "$RCPT" | wc -l)" = "$before"
pt_check "-bv logged no delivery" bash -c "! grep -q 'to=<nosuch-user-x' '$D/maillog'"

# --- deferred, then delivered after a flush ----------------------------
touch "$PT_TMP/broken"
send "$SENDER@localhost" "flaky@localhost" "chain-defer-1"
pt_check "submission to a temporarily failing alias accepted" test $? -eq 0
pt_check "status=deferred logged" pl_wait 20 log_has "to=<flaky@localhost>.*status=deferred"
sleep 1
pt_check "not delivered while the problem lasts" test -z "$(ls -A "$PT_TMP/out")"
pt_check "the message waits in deferred/" bash -c "ls '$D/queue/deferred' | grep -q ."
rm -f "$PT_TMP/broken"
out=$("$POSTERN" queue -c "$D" -f 2>&1)
pt_check "postern queue -f ($out)" test $? -eq 0
delivered_flaky() { grep -qs "chain-defer-1" "$PT_TMP"/out/flaky.*; }
pt_check "deferred message delivered after the flush" pl_wait 20 delivered_flaky
pt_check "... and logged status=sent" pl_wait 10 log_has "to=<flaky@localhost>.*status=sent"

# --- a 20 MB message ----------------------------------------------------
python3 - "$PT_TMP/big" <<'PY'
import os, base64, sys
raw = os.urandom(15 * 1024 * 1024)
b = base64.encodebytes(raw)                     # 76-column lines, about 20 MB
with open(sys.argv[1], "wb") as f:
    f.write(b.replace(b"\n", b"\r\n"))
PY
want=$(tr -d '\r' <"$PT_TMP/big" | sha256sum | cut -d' ' -f1)
send "$SENDER@localhost" "$RCPT@localhost" "chain-big-1" "$PT_TMP/big"
pt_check "20 MB message accepted ($(stat -c %s "$PT_TMP/big") bytes)" test $? -eq 0
pt_check "20 MB message delivered" pl_wait 60 has_mail "$RCPT" "chain-big-1"
f=$(in_maildir "$RCPT" "chain-big-1")
got=$([ -n "$f" ] && sed '1,/^\r\{0,1\}$/d' "$f" | tr -d '\r' | sha256sum | cut -d' ' -f1)
pt_check "20 MB body intact (sha256 $want)" test "$got" = "$want"
rm -f "$PT_TMP/big"

# --- 500 concurrent sessions ------------------------------------------
out=$(python3 - "$port" "$RCPT@localhost" <<'PY' 2>&1
import asyncio, sys
port, rcpt, N = int(sys.argv[1]), sys.argv[2], 500
async def reply(r):
    lines = []
    while True:
        l = await asyncio.wait_for(r.readline(), 60)
        if not l:
            raise EOFError("connection closed")
        lines.append(l)
        if l[3:4] != b"-":
            return int(l[:3])
async def cmd(r, w, line, want):
    w.write(line + b"\r\n")
    await w.drain()
    c = await reply(r)
    if c != want:
        raise ValueError("%r: %d" % (line, c))
async def main():
    conns = []
    for i in range(N):
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, limit=1 << 16), 30)
        conns.append((r, w))
    banners = await asyncio.gather(*(reply(r) for r, w in conns), return_exceptions=True)
    good = sum(1 for b in banners if b == 220)
    async def session(i, r, w):
        await cmd(r, w, b"EHLO c%d.example" % i, 250)
        await cmd(r, w, b"MAIL FROM:<many@chain.example>", 250)
        await cmd(r, w, b"RCPT TO:<%s>" % rcpt.encode(), 250)
        await cmd(r, w, b"DATA", 354)
        await cmd(r, w, b"Subject: chain-many-%d\r\n\r\nsession %d\r\n." % (i, i), 250)
        await cmd(r, w, b"QUIT", 221)
        w.close()
    res = await asyncio.gather(*(session(i, r, w) for i, (r, w) in enumerate(conns)),
                               return_exceptions=True)
    sent = sum(1 for x in res if x is None)
    errs = {repr(x) for x in res if x is not None}
    print("banners %d sent %d %s" % (good, sent, " ".join(sorted(errs))[:300]))
    sys.exit(0 if good == N and sent == N else 1)
asyncio.run(main())
PY
)
pt_check "500 concurrent sessions: all greeted and all sent ($out)" test $? -eq 0
many() { [ "$(pl_maildir_files "$RCPT" | xargs -r grep -l '^Subject: chain-many-' | wc -l)" -ge 500 ]; }
pt_check "500 concurrent sessions: all 500 messages delivered" pl_wait 90 many

# --- privileges ---------------------------------------------------------
field() { awk -v f="$1:" '$1 == f { print $2; exit }' "/proc/$2/status"; }
if [ "$(id -u)" = 0 ]; then
	m=$(pt_master_pid "$D")
	pt_check "master runs as uid 0" test "$(field Uid "$m")" = 0
	for n in smtpd qmgr smtp; do
		p=$(pl_pids "$n" | head -1)
		if [ -z "$p" ]; then
			[ "$n" = smtp ] || pt_fail "$n runs"
			continue
		fi
		uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$p/status")
		pt_check "$n runs as no root uid ($uids)" bash -c "! grep -qw 0 <<<'$uids'"
		pt_check "$n has no effective capabilities" test "$(field CapEff "$p")" = 0000000000000000
		pt_check "$n has no permitted capabilities" test "$(field CapPrm "$p")" = 0000000000000000
		pt_check "$n cannot gain privileges (NoNewPrivs)" test "$(field NoNewPrivs "$p")" = 1
	done
fi
pt_check "stop" pt_stop "$D"

# --- started by a non-root user -------------------------------------------
if [ "$(id -u)" = 0 ]; then
	pl_users OWN
	D2=$PT_TMP/own
	port2=$(pt_free_port)
	pt_instance "$D2" "$port2"
	sed -i '/^smtp /d; /^cleanup /d' "$D2/master.cf"
	mkdir -p "$D2/mail"
	cat >>"$D2/main.cf" <<EOC
mydestination = localhost, \$myhostname
mail_spool_directory = $D2/mail/
mail_owner = $OWN
network_user = $OWN
EOC
	chown -R "$OWN" "$D2"
	as() { runuser -u "$OWN" -- "$@"; }
	# The global form, as "postfix -c DIR start".
	out=$(as "$POSTERN" -c "$D2" start 2>&1)
	rc=$?
	PT_STARTED="$PT_STARTED $D2"
	pt_check "non-root: postern start as $OWN ($out)" test $rc -eq 0
	pt_wait_port "$port2" 10
	m=$(pt_master_pid "$D2")
	[ -n "$m" ] && pt_check "non-root: master runs as $OWN" test "$(field Uid "$m" | cut -f1)" = "$(id -u "$OWN")"
	port=$port2 send "someone@chain.example" "$OWN@localhost" "chain-nonroot-1"
	pt_check "non-root: a message accepted over SMTP" test $? -eq 0
	printf 'Subject: chain-nonroot-2\n\nby sendmail\n' | as "$POSTERN" sendmail -c "$D2" "$OWN@localhost"
	pt_check "non-root: a message submitted with postern sendmail" test $? -eq 0
	both() { [ "$(find "$D2/mail/$OWN/new" -type f 2>/dev/null | xargs -r grep -l '^Subject: chain-nonroot-' | wc -l)" = 2 ]; }
	pt_check "non-root: both delivered to the Maildir" pl_wait 20 both
	pt_check "non-root: the Maildir belongs to $OWN" test "$(stat -c %U "$D2/mail/$OWN/new")" = "$OWN"
	pt_check "non-root: stop (postern -c DIR stop)" as "$POSTERN" -c "$D2" stop
	port=$port
else
	pt_skip "already non-root: the runs above were the non-root run"
fi
pt_check "no sanitizer report in the logs" \
	bash -c "! grep -qsE 'Sanitizer|runtime error' '$D/maillog' '${D2:-/nonexistent}/maillog'"
pt_done
