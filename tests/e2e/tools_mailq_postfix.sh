#!/bin/bash
# tools_mailq_postfix.sh - the same queue contents in a private Postfix
# instance and in postern (deferred mail from a sender and from the null
# sender, two recipients sharing a deferral reason, a held message):
# postqueue -p and postern queue -p must have the same layout, checked
# by one set of rules applied to both outputs, and postqueue -j and
# postern queue -j the same fields.  Needs root (Postfix's master).
. "$(dirname "$0")/tools_lib.inc"

if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null; then
	ok "skipped: needs root and Postfix"
	finish
fi

# --- Postfix: a private instance whose mail is deferred (relayhost is a
# closed port), no listener of its own.
pf_oracle_init <<EOT
minimal_backoff_time = 1000s
maximal_backoff_time = 2000s
queue_run_delay = 1000s
EOT
pfstop() { postfix -c "$PF/etc" stop >/dev/null 2>&1; }
trap 'pfstop; cleanup' EXIT
if ! postfix -c "$PF/etc" start >"$W/pf.log" 2>&1; then
	notok "private Postfix starts"; cat "$W/pf.log" | sed 's/^/#   | /'; finish
fi
check "postqueue -p on an empty queue" "Mail queue is empty" "$(postqueue -c "$PF/etc" -p)"

submit() { # sendmail-command config
	printf 'Subject: a\n\naaa\n' | $1 "$2" -f a@test.example r1@remote.example r2@remote.example
	printf 'Subject: b\n\nbbb\n' | $1 "$2" -f '' r3@remote.example
	python3 -c 'print("Subject: c\n\n" + "c" * 3000)' | $1 "$2" -f c@test.example r4@remote.example
}
submit "sendmail -C" "$PF/etc"
# Wait (bounded) until the three are deferred.
for _ in $(seq 1 100); do
	[ "$(postqueue -c "$PF/etc" -j | grep -c '"queue_name": "deferred"')" = 3 ] && break
	sleep 0.2
done
held=$(postqueue -c "$PF/etc" -j | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m["sender"] == "c@test.example": print(m["queue_id"])')
postsuper -c "$PF/etc" -h "$held" 2>/dev/null
postqueue -c "$PF/etc" -p >"$W/pf.p"
postqueue -c "$PF/etc" -j >"$W/pf.j"

# --- postern: the same.
write_conf "relayhost = [127.0.0.1]:$port"
start_qmgr || { notok "qmgr starts"; finish; }
check "postern queue -p on an empty queue" "Mail queue is empty" "$("$P" queue -c "$C" -p)"
submit "$P sendmail -c" "$C"
waitfor 50 settled
"$P" super -c "$C" -h "$(id_of c@test.example)" 2>/dev/null
"$P" queue -c "$C" -p >"$W/pt.p"
"$P" queue -c "$C" -j >"$W/pt.j"

# One set of layout rules for both; prints a normalized form (ids,
# sizes, dates and reasons replaced) after checking the columns.
layout() { # file jsonfile
	python3 - "$1" "$2" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().split("\n")
msgs = {m["queue_id"]: m for m in map(json.loads, open(sys.argv[2]))}
assert lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------", lines[0]
assert lines[-1] == "", "ends with a newline"
out, blocks, total = ["HEADER"], [], 0
i = 1
while lines[i] != "" and not lines[i].startswith("-- "):
    m = re.match(r"^([0-9A-Za-z]+)([*!]?)( +)([0-9]+) ([A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2})  (\S.*)$", lines[i])
    assert m, "message line: %r" % lines[i]
    qid, mark, size = m.group(1), m.group(2), int(m.group(4))
    # The size ends 8 columns after an 11-column id field.
    assert len(qid + mark) + len(m.group(3)) + len(m.group(4)) == max(11, len(qid + mark)) + 8, lines[i]
    assert size == msgs[qid]["message_size"]
    total += size
    block = ["MSG" + mark + " " + m.group(6)]
    i += 1
    while lines[i] != "":
        if lines[i].lstrip(" ").startswith("("):
            # Right-aligned to end at column 78, or from column 0 when longer.
            assert lines[i].endswith(")"), lines[i]
            assert len(lines[i]) == 78 or (len(lines[i]) > 78 and lines[i][0] == "("), repr(lines[i])
            block.append("REASON")
        else:
            assert re.match(r"^ {41}\S+$", lines[i]), "recipient line: %r" % lines[i]
            block.append("RCPT " + lines[i].strip())
        i += 1
    blocks.append("\n".join(block))
    i += 1
n = len(blocks)
assert lines[i] == "-- %d Kbytes in %d Request%s." % (total // 1024, n, "" if n == 1 else "s"), lines[i]
assert i == len(lines) - 2
print("\n".join(["HEADER"] + sorted(blocks) + ["SUMMARY"]))
PY
}
pf=$(layout "$W/pf.p" "$W/pf.j")
check "postqueue -p follows the layout rules" "0" "$?"
pt=$(layout "$W/pt.p" "$W/pt.j")
check "postern queue -p follows the same rules" "0" "$?"
check "same listing, ids/sizes/dates/reasons aside" "$pf" "$pt"
check "same -j fields" \
	"$(python3 -c 'import json, sys; print(sorted({k for l in open(sys.argv[1]) for k in json.loads(l)}))' "$W/pf.j")" \
	"$(python3 -c 'import json, sys; print(sorted({k for l in open(sys.argv[1]) for k in json.loads(l)}))' "$W/pt.j")"
check "same -j recipient fields" \
	"$(python3 -c 'import json, sys; print(sorted({k for l in open(sys.argv[1]) for r in json.loads(l)["recipients"] for k in r}))' "$W/pf.j")" \
	"$(python3 -c 'import json, sys; print(sorted({k for l in open(sys.argv[1]) for r in json.loads(l)["recipients"] for k in r}))' "$W/pt.j")"
finish
