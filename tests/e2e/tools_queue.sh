#!/bin/bash
# tools_queue.sh - postern queue (-p, -j, -f, -i) and postern super
# (-h, -H, -r, -d with ids, ALL, "-" and queue names; -s; permissions)
# against the real qmgr.  The -p layout is checked line by line: a
# header, per message "ID[mark] SIZE DATE  SENDER", deferral reasons in
# parentheses right-aligned to column 78, recipients at column 41, an empty line, and
# "-- N Kbytes in M Request(s)."; tools_mailq_postfix.sh holds the same
# rules against Postfix's own postqueue.
. "$(dirname "$0")/tools_lib.inc"

write_conf
start_qmgr || { notok "qmgr starts"; finish; }

out=$("$P" queue -c "$C" -p)
check "empty queue" "Mail queue is empty" "$out"
check "empty queue, -j prints nothing" "" "$("$P" queue -c "$C" -j)"

printf 'Subject: a\n\naaa\n' | "$P" sendmail -c "$C" -f a@test.example r1@remote.example r2@remote.example
printf 'Subject: b\n\nbbb\n' | "$P" sendmail -c "$C" -f '' r3@remote.example
python3 -c 'print("Subject: c\n\n" + "c" * 3000)' | "$P" sendmail -c "$C" -f c@test.example r4@remote.example
waitfor 50 settled || notok "first delivery attempts finish"
A=$(id_of a@test.example) B=$(id_of MAILER-DAEMON) Cid=$(id_of c@test.example)

# Expected -p text, built from the -j data.
expect() {
	"$P" queue -c "$C" -j | python3 -c '
import json, sys, time
msgs = [json.loads(l) for l in sys.stdin]
out = ["-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"]
total = 0
for m in msgs:
    mark = {"active": "*", "hold": "!"}.get(m["queue_name"], "")
    date = time.strftime("%a %b %e %H:%M:%S", time.localtime(m["arrival_time"]))
    out.append("%-11s%8d %s  %s" % (m["queue_id"] + mark, m["message_size"], date, m["sender"]))
    last = None
    for r in m["recipients"]:
        if r.get("delay_reason") and r.get("delay_reason") != last:
            out.append(("(" + r["delay_reason"] + ")").rjust(78))
        last = r.get("delay_reason")
        out.append(" " * 41 + r["address"])
    out.append("")
    total += m["message_size"]
out.append("-- %d Kbytes in %d Request%s." % (total // 1024, len(msgs), "" if len(msgs) == 1 else "s"))
print("\n".join(out))'
}
"$P" queue -c "$C" -p >"$W/p"
check "queue -p exits 0" "0" "$?"
check "queue -p layout" "$(expect)" "$(cat "$W/p")"
check "three messages listed" "3" "$(grep -cE '^[0-9A-F]+[*!]? +[0-9]+ ' "$W/p")"
check "deferral reason shown once for two recipients" "1" \
	"$(sed -n "/^$A/,/^\$/p" "$W/p" | grep -c '^ *(.*)$')"
check "sizes are the content sizes" "$(content "$Cid" | wc -c)" \
	"$(grep "^$Cid" "$W/p" | awk '{print $2}')"
check "summary line" "-- 3 Kbytes in 3 Requests." "$(tail -n 1 "$W/p")"

"$P" queue -c "$C" -j >"$W/j"
python3 - "$W/j" "$A" <<'PY' && ok "queue -j: postqueue -j fields and values" || notok "queue -j: postqueue -j fields and values"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert len(msgs) == 3
for m in msgs:
    assert set(m) == {"queue_name", "queue_id", "arrival_time", "message_size", "forced_expire", "sender", "recipients"}, m
    assert m["queue_name"] == "deferred" and m["forced_expire"] is False
    assert all(set(r) == {"address", "delay_reason"} for r in m["recipients"]), m
a = [m for m in msgs if m["queue_id"] == sys.argv[2]][0]
assert [r["address"] for r in a["recipients"]] == ["r1@remote.example", "r2@remote.example"]
assert a["sender"] == "a@test.example"
PY

# super: hold, release, requeue, delete.
"$P" super -c "$C" -h "$A" 2>"$W/err"
check "super -h exits 0" "0" "$?"
check "super -h prints postsuper's lines" \
	"$(printf 'postern super: %s: placed on hold\npostern super: Placed on hold: 1 message' "$A")" "$(cat "$W/err")"
check "held message is in hold/" "hold" "$(where "$A")"
check "held message is marked !" "1" "$("$P" queue -c "$C" -p | grep -c "^$A! ")"
check "queue -j names the hold queue" "hold" \
	"$("$P" queue -c "$C" -j | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m["queue_id"] == sys.argv[1]: print(m["queue_name"])' "$A")"
check "queue -p layout with a held message" "$(expect)" "$("$P" queue -c "$C" -p)"
"$P" super -c "$C" -H "$A" 2>"$W/err"
check "super -H" "$(printf 'postern super: %s: released from hold\npostern super: Released from hold: 1 message' "$A")" "$(cat "$W/err")"
check "released message is deferred again" "deferred" "$(where "$A")"
"$P" super -c "$C" -H "$A" 2>"$W/err"
check "super -H of a message not held" "postern super: Released from hold: 0 messages" "$(cat "$W/err")"

"$P" super -c "$C" -h ALL 2>"$W/err"
check "super -h ALL" "postern super: Placed on hold: 3 messages" "$(tail -n 1 "$W/err")"
"$P" super -c "$C" -H ALL hold 2>"$W/err"
check "super -H ALL hold" "postern super: Released from hold: 3 messages" "$(tail -n 1 "$W/err")"

"$P" super -c "$C" -r ALL 2>"$W/err"
check "super -r ALL" "postern super: Requeued: 3 messages" "$(cat "$W/err")"
waitfor 50 settled

"$P" queue -c "$C" -f
check "queue -f exits 0" "0" "$?"
"$P" queue -c "$C" -i "$B"
check "queue -i ID exits 0" "0" "$?"
waitfor 50 settled

printf '%s\n\n  %s  \n' "$A" "$B" | "$P" super -c "$C" -d - 2>"$W/err"
check "super -d - reads ids from stdin" \
	"$(printf 'postern super: %s: removed\npostern super: %s: removed\npostern super: Deleted: 2 messages' "$A" "$B")" \
	"$(cat "$W/err")"
check "deleted files are gone" "none none" "$(where "$A") $(where "$B")"
"$P" super -c "$C" -d "bad/id" 2>"$W/err"
check "an invalid id is refused before it is sent" "1" "$(grep -c 'invalid queue id: bad/id' "$W/err")"
"$P" super -c "$C" -d ALL nosuchqueue 2>"$W/err"
check "unknown queue name: exit 64" "64" "$?"
"$P" super -c "$C" -d ALL hold 2>"$W/err"
check "super -d ALL hold leaves other queues" "postern super: Deleted: 0 messages|deferred" \
	"$(cat "$W/err")|$(where "$Cid")"

if [ "$(id -u)" = 0 ]; then
	as_user daemon "$P" super -c "$C" -d ALL 2>"$W/err"
	check "super by an ordinary user: exit 77" "77" "$?"
	check "super by an ordinary user: message" "1" "$(grep -c 'reserved for the superuser' "$W/err")"
	check "... and nothing deleted" "deferred" "$(where "$Cid")"
	as_user daemon "$P" queue -c "$C" -p >/dev/null
	check "an ordinary user may list the queue" "0" "$?"
	as_user daemon "$P" queue -c "$C" -f 2>"$W/err"
	check "an ordinary user may flush the queue (as Postfix's postqueue -f)" "0" "$?"
else
	ok "skipped: permission checks need root to switch users"
fi

"$P" super -c "$C" -d ALL 2>"$W/err"
check "super -d ALL" "postern super: Deleted: 1 message" "$(tail -n 1 "$W/err")"
check "queue empty at the end" "Mail queue is empty" "$("$P" queue -c "$C" -p)"

stop_qmgr
"$P" queue -c "$C" -p 2>"$W/err"
check "queue -p with qmgr down: exit 69" "69" "$?"
check "queue -p with qmgr down: message" "1" "$(grep -c 'mail system is down' "$W/err")"
"$P" super -c "$C" -d ALL 2>"$W/err"
check "super with qmgr down fails, claims nothing" "1|0" "$?|$(grep -c 'Deleted' "$W/err")"
finish
