#!/bin/bash
# qmgr_crash.sh - crash safety of the receive path: a client commits a
# bounded burst of messages while qmgr is killed with SIGKILL at random
# moments and restarted.  Afterwards every message the client saw
# COMMIT_OK for is in the queue and is delivered once a delivery agent
# is there; no half-written file is left in tmp/ and none is corrupt.
. "$(dirname "$0")/qmgr_lib.inc"

N=${QMGR_CRASH_MESSAGES:-300}
write_conf
start_qmgr || { notok "qmgr starts"; finish; }

py "$Q" "$N" "$W/acked" <<'PY' &
import os, sys, time, qmgr_proto as p
q, n, acked = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p.register()
with open(acked, "w") as out:
    for i in range(n):
        for attempt in range(400):
            try:
                st, qid = p.submit(q + "/private/qmgr", "burst@remote.example",
                                   ["u%d@test.example" % i],
                                   b"X-Seq: %d\nSubject: burst\n\n" % i + b"x" * (i * 37 % 3000) + b"\n")
            except (OSError, AssertionError, ValueError):
                st = "error"
            if st == "ok":
                out.write("%d %s\n" % (i, qid))
                out.flush()
                break
            time.sleep(0.05)
PY
CLIENT=$!
BG_PIDS="$BG_PIDS $CLIENT"

kills=0
for round in $(seq 1 8); do
	sleep "0.$((RANDOM % 2))$((RANDOM % 10))"
	kill -0 "$CLIENT" 2>/dev/null || break
	kill -9 "$QPID"
	wait "$QPID" 2>/dev/null
	kills=$((kills + 1))
	start_qmgr || notok "qmgr restarts after kill $round"
done
for _ in $(seq 1 600); do kill -0 "$CLIENT" 2>/dev/null || break; sleep 0.1; done
wait "$CLIENT"
acked=$(wc -l <"$W/acked")
echo "# $acked of $N messages acknowledged, qmgr killed $kills times"
[ "$kills" -ge 1 ] && ok "qmgr was killed $kills times during the burst" || notok "qmgr was killed during the burst"
check "client saw every message acknowledged in the end" "$N" "$acked"

kill -9 "$QPID"; wait "$QPID" 2>/dev/null
start_qmgr || notok "qmgr restarts"
check "no file left in tmp/" "" "$(ls "$Q/tmp")"
check "no file in corrupt/" "" "$(ls "$Q/corrupt")"
missing=0
while read -r i id; do
	[ "$(where "$id")" = none ] && { missing=$((missing + 1)); echo "# lost: $i $id"; }
done <"$W/acked"
check "every acknowledged message is in the queue" 0 "$missing"

# Deliver everything: every acknowledged message reaches the agent.
: >"$W/agent.log"
rm -f "$Q/private/local"
py "$Q/private/local" "$W/agent.log" <<'PY' &
import sys, qmgr_proto as p
p.agent(sys.argv[1], lambda r, req, c: ("2.0.0", "ok"), log=sys.argv[2])
PY
BG_PIDS="$BG_PIDS $!"
waitfor 50 test -S "$Q/private/local"
py "$Q" <<'PY' >/dev/null
import sys, qmgr_proto as p
p.admin(sys.argv[1] + "/public/qmgr", "flush")
PY
all_delivered() {
	local i id
	while read -r i id; do grep -q "^u$i@test.example	" "$W/agent.log" || return 1; done <"$W/acked"
}
waitfor 600 all_delivered && ok "every acknowledged message delivered after the crashes" ||
	notok "every acknowledged message delivered after the crashes"
empty_queue() { [ "$(find "$Q/incoming" "$Q/active" "$Q/deferred" -type f | wc -l)" = 0 ]; }
waitfor 100 empty_queue && ok "queue empty after delivery" || notok "queue empty after delivery"
stop_qmgr && ok "SIGTERM: exit 0" || notok "SIGTERM: exit 0"
finish
