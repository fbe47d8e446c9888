#!/bin/bash
# qmgr_receive.sh - qmgr started by hand in a temporary queue_directory,
# driven over its real sockets: NEW/COMMIT puts a durable file in the
# queue; a transaction abandoned before COMMIT leaves nothing; a wrong
# size and a full disk are refused; socket modes; recovery of tmp/ and
# active/ at start; a corrupt file goes to corrupt/; SIGTERM exits 0.
. "$(dirname "$0")/qmgr_lib.inc"

write_conf
start_qmgr || { notok "qmgr starts"; finish; }
ok "qmgr starts by hand and binds its sockets"

check "private/qmgr mode" "660" "$(stat -c %a "$Q/private/qmgr")"
check "public/qmgr mode" "666" "$(stat -c %a "$Q/public/qmgr")"
if [ "$(id -u)" = 0 ]; then
	# As master makes them: smtpd (network_user's group) reaches private/qmgr.
	ng=$(id -gn "$OWNER")
	check "private/ owner and group (by hand as root)" "$OWNER:$ng 710" "$(stat -c '%U:%G %a' "$Q/private")"
	check "private/qmgr owner and group" "$OWNER:$ng" "$(stat -c '%U:%G' "$Q/private/qmgr")"
fi

# 1. A committed message is in the queue with exactly its content.
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
q = sys.argv[1]
st, qid = p.submit(q + "/private/qmgr", "alice@remote.example",
    ["bob@test.example", ("carol@test.example", ("ORCPT", "rfc822;carol@test.example"),
     ("NOTIFY", p.NOTIFY_FAILURE | p.NOTIFY_DELAY))],
    b"Subject: t1\nFrom: alice@remote.example\n\nbody line\n",
    extra=[("CLIENT_ADDR", "192.0.2.1"), ("CLIENT_NAME", "client.example"),
           ("HELO", "client.example"), ("PROTOCOL", "ESMTP"), ("ENVID", "env1"),
           ("RET", "HDRS")])
print(st, qid)
PY
)
set -- $out
check "COMMIT answered COMMIT_OK" "ok" "${1:-}"
ID1=${2:-none}
loc=$(where "$ID1")
case $loc in incoming|active|deferred) ok "committed file is in the queue ($loc)";;
*) notok "committed file is in the queue (found: $loc)";; esac
f=$Q/$loc/$ID1
if grep -q 'body line' "$f" 2>/dev/null && grep -q 'carol@test.example' "$f"; then
	ok "queue file holds content and recipients"
else
	notok "queue file holds content and recipients"
fi
waitfor 50 grep -q "$ID1: from=<alice@remote.example>, size=50, nrcpt=2 (queue active)" "$W/log" &&
	ok "from= line logged" || notok "from= line logged"
check "queue ids are 13 hex digits" "1" "$(echo "$ID1" | grep -cE '^[0-9A-F]{13}$')"

# 2. Abandoned before COMMIT: nothing is left.
ID2=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
st, qid = p.submit(sys.argv[1] + "/private/qmgr", "a@b", ["x@test.example"], b"half", commit=False)
print(qid)
PY
)
waitfor 30 is_in "$ID2" none && ok "disconnect before COMMIT deletes the file" ||
	notok "disconnect before COMMIT deletes the file ($(where "$ID2"))"

# 3. A size that does not match the file is refused and nothing kept.
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
print(*p.submit(sys.argv[1] + "/private/qmgr", "a@b", ["x@test.example"], b"12345", size=4))
PY
)
check "size mismatch refused" "fail 4.3.0 Message content size mismatch" "$out"
check "tmp/ empty after refusals" "" "$(ls "$Q/tmp")"

# 4. Local submission on public/qmgr records the uid.
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
print(*p.submit(sys.argv[1] + "/public/qmgr", "me@test.example", ["x@remote.example"], b"Subject: local\n\nx\n"))
PY
)
set -- $out
check "public/qmgr submission committed" "ok" "${1:-}"
waitfor 30 grep -q "${2:-none}: uid=$(id -u) from=<me@test.example>" "$W/log" &&
	ok "uid of the local submitter logged" || notok "uid of the local submitter logged"

# 5. Unknown record types drop the connection; qmgr lives on.
py "$Q" <<'PY'
import sys, qmgr_proto as p
s = p.connect(sys.argv[1] + "/private/qmgr")
s.send(b"\x00\x63junk")
s.recv(100)
PY
kill -0 "$QPID" && ok "garbage record does not kill qmgr" || notok "garbage record does not kill qmgr"

# A control character in an address: the transaction is dropped.
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
pub = sys.argv[1] + "/public/qmgr"
print(p.submit(pub, "a@b\nX-Injected: 1", ["x@test.example"], b"x\n")[0],
      p.submit(pub, "a@b", ["x@test.example\r"], b"x\n")[0])
PY
)
check "control characters in addresses refused" "eof eof" "$out"
check "tmp/ empty after refused addresses" "" "$(ls "$Q/tmp")"

# 6. SIGTERM: exit 0; the message survives a restart.
stop_qmgr && ok "SIGTERM: exit 0" || notok "SIGTERM: exit 0"
loc=$(where "$ID1")
echo "junk" >"$Q/tmp/0000000000001"
printf "garbage" >"$Q/incoming/0000000000002"; chown "$OWNER" "$Q/incoming/0000000000002" 2>/dev/null
if [ "$loc" != none ] && [ "$loc" != active ]; then mv "$Q/$loc/$ID1" "$Q/active/$ID1"; fi
start_qmgr || notok "qmgr restarts"
check "restart removes tmp/ files" "" "$(ls "$Q/tmp")"
waitfor 50 test -e "$Q/corrupt/0000000000002" && ok "corrupt file moved to corrupt/" ||
	notok "corrupt file moved to corrupt/"
checkgrep "corrupt file logged" "0000000000002: corrupt queue file" "$W/log"
loc=$(where "$ID1")
case $loc in incoming|active|deferred) ok "message in active/ requeued at start ($loc)";;
*) notok "message in active/ requeued at start ($loc)";; esac
waitfor 50 count_ge "$ID1: from=" "$W/log" 2 && ok "requeued message activated again" ||
	notok "requeued message activated again"

# 7. Free space below queue_minfree: NEW gets 4.3.1.
stop_qmgr
write_conf "queue_minfree = 999999999999999"
start_qmgr
out=$(py "$Q" <<'PY'
import sys, qmgr_proto as p
print(*p.submit(sys.argv[1] + "/private/qmgr", "a@b", ["x@test.example"], b"x\n"))
PY
)
check "insufficient storage refused" "fail 4.3.1 Insufficient system storage" "$out"
stop_qmgr
finish
