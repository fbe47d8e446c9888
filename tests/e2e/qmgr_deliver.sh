#!/bin/bash
# qmgr_deliver.sh - qmgr's delivery side against a delivery agent that
# speaks the real DELIVER / RESULT / DONE records on private/local
# (tests/e2e/qmgr_proto.py): 2xx removes the message, a recipient done
# is never delivered again, 4xx defers with backoff and the reason shows
# in the listing, 5xx makes a bounce to the sender from the null sender,
# NOTIFY=NEVER suppresses it, a bounce is never bounced, a dying agent
# defers its recipients, expiry returns the message, administration.
. "$(dirname "$0")/qmgr_lib.inc"

write_conf "maximal_queue_lifetime = 6s" "bounce_queue_lifetime = 6s"
start_qmgr || { notok "qmgr starts"; finish; }

AGLOG=$W/agent.log
: >"$AGLOG"
start_agent() {
	rm -f "$Q/private/local"
	py "$Q/private/local" "$AGLOG" "$W/died" <<'PY' &
import os, sys, qmgr_proto as p
def decide(rcpt, req, content):
    user = rcpt.split("@")[0]
    if user.startswith("soft"):
        return "4.2.0", "mailbox busy"
    if user.startswith("hard"):
        return "5.1.1", "unknown user: \"%s\"" % user
    if user.startswith("die"):
        if os.path.exists(sys.argv[3]):  # die once only: retries get 4xx
            return "4.3.0", "still recovering"
        open(sys.argv[3], "w").close()
        return None, None
    return "2.0.0", "delivered to mailbox"
p.agent(sys.argv[1], decide, log=sys.argv[2])
PY
	AGPID=$!
	BG_PIDS="$BG_PIDS $AGPID"
	waitfor 50 test -S "$Q/private/local"
}
start_agent

submit() { # sender content-tag rcpt... -> "status id"
	py "$Q" "$@" <<'PY'
import sys, qmgr_proto as p
q, sender, tag = sys.argv[1:4]
rcpts = []
for r in sys.argv[4:]:
    if r.endswith("+never"):
        rcpts.append((r[:-6], ("NOTIFY", p.NOTIFY_NEVER)))
    elif r.endswith("+success"):
        rcpts.append((r[:-8], ("NOTIFY", p.NOTIFY_SUCCESS | p.NOTIFY_FAILURE)))
    else:
        rcpts.append(r)
print(*p.submit(q + "/private/qmgr", sender, rcpts,
                ("X-Tag: %s\nSubject: test\n\nbody\n" % tag).encode()))
PY
}
delivered() { grep -c "^$1	2.0.0" "$AGLOG"; }

# 2xx: delivered once, file removed, "removed" logged.
set -- $(submit s@remote.example t1 ok1@test.example)
ID=${2:-none}
waitfor 50 grep -q "$ID: removed" "$W/log" && ok "2xx: message removed" || notok "2xx: message removed"
check "2xx: file gone" none "$(where "$ID")"
check "agent got sender, content and first line" \
	"ok1@test.example	2.0.0	s@remote.example	30	X-Tag: t1" \
	"$(grep '^ok1@' "$AGLOG" | cut -f1-5)"
check "DELIVER carries delays a/b" 1 "$(grep '^ok1@' "$AGLOG" | cut -f6 | grep -cE '^[0-9.]+/[0-9.]+$')"

# 4xx beside 2xx: the delivered recipient is marked done in place; the
# message is deferred with a retry time in the future and its reason.
set -- $(submit s@remote.example t2 ok2@test.example soft2@test.example)
ID=${2:-none}
waitfor 50 is_in "$ID" deferred && ok "4xx: message deferred" || notok "4xx: message deferred"
now=$(date +%s)
mt=$(stat -c %Y "$Q/deferred/$ID" 2>/dev/null || echo 0)
[ "$mt" -gt "$now" ] && ok "4xx: next attempt in the future" || notok "4xx: next attempt in the future ($mt <= $now)"
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
for it in p.queue_list(sys.argv[1] + "/public/qmgr", "deferred"):
    print(p.get(it, "QUEUE"), p.get(it, "SENDER"), [v for k, v in it if k in ("RCPT", "TEXT")])
PY
)
check "listing shows the deferred recipient and reason" \
	"deferred s@remote.example ['soft2@test.example', 'mailbox busy']" "$out"
# Retried after the backoff: soft2 tried again, ok2 never again.
waitfor 100 count_ge '^soft2@' "$AGLOG" 2 && ok "4xx: retried after backoff" ||
	notok "4xx: retried after backoff"
check "recipient done is not delivered again" 1 "$(delivered ok2@test.example)"

# 5xx: bounce to the sender, from the null sender, flagged; logged.
set -- $(submit sender5@remote.example t3 hard3@test.example)
ID=${2:-none}
waitfor 50 grep -q "$ID: sender non-delivery notification: " "$W/log" &&
	ok "5xx: non-delivery notification logged" || notok "5xx: non-delivery notification logged"
BID=$(sed -n "s/.*$ID: sender non-delivery notification: \([0-9A-F]*\).*/\1/p" "$W/log" | head -1)
waitfor 50 grep -q "${BID:-none}: from=<>, size=[0-9]*, nrcpt=1 (queue active)" "$W/log" &&
	ok "bounce is a message from <>" || notok "bounce is a message from <>"
bl=$(where "${BID:-none}")
if [ "$bl" != none ] && grep -q 'sender5@remote.example' "$Q/$bl/$BID"; then
	ok "bounce goes to the original sender"
else
	notok "bounce goes to the original sender ($bl)"
fi
waitfor 50 grep -q "$ID: removed" "$W/log" && ok "5xx: original removed" || notok "5xx: original removed"
if [ "$bl" != none ] && grep -q 'report-type=delivery-status' "$Q/$bl/$BID" &&
	grep -q 'hard3@test.example' "$Q/$bl/$BID" && grep -q 'X-Tag: t3' "$Q/$bl/$BID"; then
	ok "bounce is a delivery-status report naming the recipient, with the original"
else
	notok "bounce is a delivery-status report naming the recipient, with the original"
fi

# NOTIFY=SUCCESS: a delivery status notification.
set -- $(submit s8@remote.example t8 ok8@test.example+success)
ID=${2:-none}
waitfor 50 grep -q "$ID: sender delivery status notification: " "$W/log" &&
	ok "NOTIFY=SUCCESS: success notification" || notok "NOTIFY=SUCCESS: success notification"

# NOTIFY=NEVER: no bounce.
set -- $(submit s@remote.example t4 hard4@test.example+never)
ID=${2:-none}
waitfor 50 grep -q "$ID: removed" "$W/log" && ok "NOTIFY=NEVER: removed" || notok "NOTIFY=NEVER: removed"
check "NOTIFY=NEVER: no notification" 0 "$(grep -c "$ID: sender non-delivery" "$W/log")"

# A bounce (null sender) that fails is not bounced.
set -- $(submit "" t5 hard5@test.example)
ID=${2:-none}
waitfor 50 grep -q "$ID: removed" "$W/log" && ok "null sender 5xx: removed" || notok "null sender 5xx: removed"
checkgrep "null sender 5xx: discarded, not bounced" "$ID: undeliverable notification discarded" "$W/log"

# The agent dies mid-request: the recipient is deferred, not lost.
set -- $(submit s@remote.example t6 die6@test.example)
ID=${2:-none}
waitfor 50 is_in "$ID" deferred && ok "agent died: message deferred" ||
	notok "agent died: message deferred ($(where "$ID"))"
checkgrep "agent died: mail transport unavailable" "$ID: to=<die6@test.example>.*status=deferred \(mail transport unavailable\)" "$W/log"
start_agent

# Administration: hold, release, delete.
out=$(py "$Q" "$ID" <<'PY'
import sys, qmgr_proto as p
pub = sys.argv[1] + "/public/qmgr"
print(*p.admin(pub, "hold", sys.argv[2]))
PY
)
check "hold: one message" "ok 1" "$out"
check "hold: in hold/" hold "$(where "$ID")"
out=$(py "$Q" "$ID" <<'PY'
import sys, qmgr_proto as p
print(*p.admin(sys.argv[1] + "/public/qmgr", "release", sys.argv[2]))
PY
)
check "release: one message" "ok 1" "$out"
check "release: in deferred/" deferred "$(where "$ID")"
out=$(py "$Q" "$ID" <<'PY'
import sys, qmgr_proto as p
print(*p.admin(sys.argv[1] + "/public/qmgr", "delete", sys.argv[2]))
PY
)
check "delete: one message" "ok 1" "$out"
check "delete: gone" none "$(where "$ID")"
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
print(*p.admin(sys.argv[1] + "/public/qmgr", "explode", "ALL"))
PY
)
check "unknown action refused" "fail 5.5.4" "$out"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65533 --regid=65533 --clear-groups env PYTHONPATH="$TOP/tests/e2e" \
		python3 -c 'import sys, qmgr_proto as p; print(*p.admin(sys.argv[1] + "/public/qmgr", "delete", "ALL"))' "$Q")
	check "delete by another user refused" "fail 5.7.1" "$out"
fi

# Expiry: a recipient that keeps failing is returned after the lifetime.
set -- $(submit sender7@remote.example t7 soft7@test.example)
ID=${2:-none}
waitfor 150 grep -q "$ID: to=<soft7@test.example>.*status=expired, returned to sender" "$W/log" &&
	ok "expired recipient returned to sender" || notok "expired recipient returned to sender"
waitfor 30 grep -q "$ID: sender non-delivery notification" "$W/log" &&
	ok "expiry: bounce queued" || notok "expiry: bounce queued"

kill -0 "$QPID" && ok "qmgr still running" || notok "qmgr still running"
stop_qmgr && ok "SIGTERM: exit 0" || notok "SIGTERM: exit 0"

# notify_classes = 2bounce: a failed bounce goes to the postmaster, once.
write_conf "notify_classes = resource, software, 2bounce"
start_qmgr || notok "qmgr restarts"
set -- $(submit "" t9 hard9@test.example)
ID=${2:-none}
waitgrep "2bounce: postmaster notified" 100 "$ID: postmaster non-delivery notification: " "$W/log"
waitgrep "2bounce: notice delivered to postmaster from <>" 100 "^postmaster	2.0.0		" "$AGLOG"

# soft_bounce = yes: a 5xx result defers instead of bouncing.
stop_qmgr
write_conf "soft_bounce = yes"
start_qmgr || notok "qmgr restarts"
set -- $(submit s@remote.example t10 hard10@test.example)
ID=${2:-none}
waitfor 50 is_in "$ID" deferred && ok "soft_bounce: 5xx deferred" || notok "soft_bounce: 5xx deferred"
check "soft_bounce: no notification" 0 "$(grep -c "$ID: sender non-delivery" "$W/log")"

# delay_warning_time: one delay notice, however many retries follow.
stop_qmgr
write_conf "delay_warning_time = 1s"
start_qmgr || notok "qmgr restarts"
set -- $(submit s12@remote.example t12 soft12@test.example)
ID=${2:-none}
waitfor 100 grep -q "$ID: sender delay notification: " "$W/log" &&
	ok "delay_warning_time: delay notification" || notok "delay_warning_time: delay notification"
waitfor 100 count_ge '^soft12@' "$AGLOG" 3 || true
check "delay notification sent once" 1 "$(grep -c "$ID: sender delay notification" "$W/log")"
DID=$(sed -n "s/.*$ID: sender delay notification: \([0-9A-F]*\).*/\1/p" "$W/log" | head -1)
dl=$(where "${DID:-none}")
if [ "$dl" != none ] && grep -qi 'Action: delayed' "$Q/$dl/$DID"; then
	ok "delay notification says Action: delayed"
else
	notok "delay notification says Action: delayed ($dl)"
fi
stop_qmgr
finish
