#!/bin/bash
# tools_dsn_postfix.sh - a bounce made by postern (qmgr, through
# queue/dsn.c) has the structure of one made by Postfix: the same
# headers, the same three MIME parts (types and descriptions), the same
# per-message and per-recipient report fields, with ENVID and ORCPT
# carried over.  Both bounces are taken from the queue, each parsed by
# Python's email package.  Postfix needs root; without it the postern
# bounce is still checked on its own.
. "$(dirname "$0")/tools_lib.inc"

# --- postern: the message is deferred (no delivery agent runs), and
# expires when it is retried after maximal_queue_lifetime (1s); its
# bounce is deferred in turn (young enough) and waits in the queue.
write_conf "maximal_queue_lifetime = 1s" "notify_classes ="
start_qmgr || { notok "qmgr starts"; finish; }
printf 'Subject: to bounce\nFrom: s@test.example\n\nbody line\n' |
	"$P" sendmail -c "$C" -f s@test.example -V env-77 -R full nouser@remote.example
waitfor 50 settled
sleep 1.2
"$P" queue -c "$C" -i "$(id_of s@test.example)"
bid=
for _ in $(seq 1 50); do
	settled && bid=$(id_of MAILER-DAEMON)
	[ -n "$bid" ] && break
	sleep 0.1
done
[ -n "$bid" ] && ok "postern queued a bounce" || { notok "postern queued a bounce"; tail "$W/log"; finish; }
content "$bid" >"$W/pt.eml"

# Structure of a DSN as one line per fact (values that differ by
# nature - ids, dates, host names, wording - left out).
structure() {
	python3 - "$1" <<'PY'
import email, email.policy, re, sys
msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.compat32)
want = ["from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version",
        "content-type", "content-transfer-encoding"]
have = [k.lower() for k in msg.keys()]
out = ["header " + h for h in want if have.count(h) == 1]
out.append("from-name " + msg["From"].split("<")[0].strip())
out.append("from-local " + re.sub(r".*<([^@]*)@.*", r"\1", msg["From"]))
out.append("subject " + msg["Subject"])
out.append("auto-submitted " + msg["Auto-Submitted"])
out.append("type %s report-type=%s" % (msg.get_content_type(), msg.get_param("report-type")))
out.append("preamble " + (msg.preamble or "").strip())
for p in msg.get_payload():
    out.append("part %s | %s | cte=%s" % (p.get_content_type(), p["Content-Description"],
                                          p["Content-Transfer-Encoding"]))
    if p.get_content_type() == "message/delivery-status":
        blocks = p.get_payload()
        norm = lambda k: re.sub(r"^X-(Postfix|Postern)-", "X-MTA-", k)
        out.append("per-message " + " ".join(norm(k) for k in blocks[0].keys()))
        out.append("envid " + str(blocks[0]["Original-Envelope-Id"]))
        for b in blocks[1:]:
            out.append("per-recipient " + " ".join(k for k in b.keys() if k != "Remote-MTA"))
            # (Postfix keeps the 4.x.x status of an expired recipient;
            # that is the queue manager's choice, not the DSN's form.)
            out.append("action " + b["Action"] + " status-form " + re.sub(r"[0-9]+", "N", b["Status"]))
            out.append("final-recipient " + b["Final-Recipient"].replace(" ", ""))
    if p.get_content_type() == "message/rfc822":
        out.append("returned-subject " + p.get_payload()[0]["Subject"])
        out.append("returned-body " + p.get_payload()[0].get_payload().strip())
print("\n".join(out))
PY
}
pt=$(structure "$W/pt.eml")
check "postern bounce parses" "0" "$?"
echo "$pt" | grep -q '^part message/rfc822 | Undelivered Message' &&
	ok "postern bounce returns the message (RET=FULL)" || notok "postern bounce returns the message (RET=FULL)"
check "ENVID in the report" "envid env-77" "$(echo "$pt" | grep '^envid')"
check "to the sender" "s@test.example" "$(grep -m1 '^To:' "$W/pt.eml" | sed 's/^To: //')"

if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null; then
	ok "skipped: comparison with Postfix needs root and Postfix"
	finish
fi

# --- Postfix: the same message expires the same way.
pf_oracle_init <<EOT
maximal_queue_lifetime = 0
notify_classes =
# Keep the bounce: on hold, where we can read it.
internal_mail_filter_classes = bounce
header_checks = regexp:{{/^Subject: Undelivered Mail/ HOLD}}
minimal_backoff_time = 1000s
maximal_backoff_time = 2000s
queue_run_delay = 1000s
EOT
trap 'postfix -c "$PF/etc" stop >/dev/null 2>&1; cleanup' EXIT
postfix -c "$PF/etc" start >"$W/pf.log" 2>&1 || { notok "private Postfix starts"; finish; }
printf 'Subject: to bounce\nFrom: s@test.example\n\nbody line\n' |
	sendmail -C "$PF/etc" -f s@test.example -V env-77 -R full nouser@remote.example
pid=
for _ in $(seq 1 100); do
	pid=$(postqueue -c "$PF/etc" -j | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m["sender"] == "MAILER-DAEMON": print(m["queue_id"])')
	[ -n "$pid" ] && break
	sleep 0.2
done
[ -n "$pid" ] && ok "Postfix queued a bounce" || { notok "Postfix queued a bounce"; finish; }
postcat -c "$PF/etc" -bh -q "$pid" >"$W/pf.eml"
pf=$(structure "$W/pf.eml")
check "same DSN structure as Postfix's" "$pf" "$pt"
finish
