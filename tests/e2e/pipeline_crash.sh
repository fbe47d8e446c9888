#!/bin/bash
# pipeline_crash.sh - crash safety of the whole pipeline.  A real postern
# (master, smtpd, qmgr, local) delivers to a local user's Maildir while
# several SMTP clients send a burst of messages, each with a unique
# token in its Subject and Message-ID.  During the burst smtpd, qmgr,
# local and master itself are killed with SIGKILL in turn at random
# moments (master is started again with "postern start").  Afterwards
# every token the client saw "250" for after DATA must be in the Maildir
# (duplicates are allowed and counted), and nothing may be left in the
# queue or in corrupt/.
#   PIPELINE_CRASH_MESSAGES (default 1000), PIPELINE_CRASH_CLIENTS (8)
. "$(dirname "$0")/lib.sh"
pt_init
. "$(dirname "$0")/pipeline_lib.inc"

for n in master smtpd qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then
		pt_skip "$n is not built in $BUILD/libexec"
		pt_done
	fi
done
N=${PIPELINE_CRASH_MESSAGES:-1000}
C=${PIPELINE_CRASH_CLIENTS:-8}
BURST_SECONDS=${PIPELINE_CRASH_SECONDS:-75}

pl_users RCPT || { pt_fail "create a test user"; pt_done; }
port=$(pt_free_port)
pl_instance "$port"
out=$(pt_start "$D" 2>&1)
pt_check "postern start ($out)" test $? -eq 0
pt_wait_port "$port" 10 || pt_fail "smtpd listens on $port"

# The clients: each sends its share, one SMTP session per message,
# retrying (with a new token) after any failure, until its share is
# acknowledged or the burst's time is up.  Acknowledged tokens go to
# acked.N, one per line, written only after the 250 reply to DATA.
cat >"$PT_TMP/client.py" <<'PY'
import smtplib, sys, time, random
port, cid, count, rcpt, out, deadline = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                          sys.argv[4], sys.argv[5], float(sys.argv[6]))
done = attempt = 0
with open(out, "w") as acked:
    while done < count and time.time() < deadline:
        attempt += 1
        tok = "tok-%s-%d" % (cid, attempt)
        body = ("Subject: %s\r\nMessage-ID: <%s@crash.example>\r\n"
                "From: <sender@crash.example>\r\nTo: <%s>\r\n\r\n" % (tok, tok, rcpt)
                + "line %d of the crash burst\r\n" % attempt * random.randint(1, 40))
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=20)
            s.ehlo("client%s.example" % cid)
            s.mail("sender@crash.example")
            code, _ = s.rcpt(rcpt)
            if code != 250:
                raise smtplib.SMTPException("rcpt %d" % code)
            code, _ = s.data(body.encode())
            if code == 250:
                acked.write(tok + "\n")
                acked.flush()
                done += 1
            try:
                s.quit()
            except Exception:
                pass
        except Exception:
            time.sleep(0.1)
PY

deadline=$(($(date +%s) + BURST_SECONDS))
clients=""
per=$(((N + C - 1) / C))
for i in $(seq 1 "$C"); do
	python3 "$PT_TMP/client.py" "$port" "$i" "$per" "$RCPT@localhost" \
		"$PT_TMP/acked.$i" "$deadline" &
	clients="$clients $!"
done
running() {
	local p
	for p in $clients; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

# Kill each daemon in turn at random moments while the clients run.
kills=""
victims=(smtpd qmgr local master)
for round in $(seq 0 15); do
	sleep "0.$((RANDOM % 8 + 1))"
	running || break
	v=${victims[$((round % 4))]}
	if [ "$v" = master ]; then
		p=$(pt_master_pid "$D")
	else
		p=$(pl_pids "$v" | head -1)
	fi
	[ -n "$p" ] || continue
	kill -9 "$p" 2>/dev/null || continue
	kills="$kills $v"
	if [ "$v" = master ]; then
		pl_wait 10 pt_gone "$p"
		# The daemons notice that master is gone and end; until
		# they have, a new master cannot have the queue or ports.
		ok=0
		for _ in $(seq 1 20); do
			if "$POSTERN" start -c "$D" >"$PT_TMP/restart.out" 2>&1; then
				ok=1
				break
			fi
			sleep 0.5
		done
		[ $ok = 1 ] || pt_fail "postern start after master was killed: $(cat "$PT_TMP/restart.out")"
	fi
done
for _ in $(seq 1 $((BURST_SECONDS * 5 + 150))); do running || break; sleep 0.2; done
for p in $clients; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
cat "$PT_TMP"/acked.* >"$PT_TMP/acked"
acked=$(wc -l <"$PT_TMP/acked")
echo "# $acked of $N messages acknowledged; killed:$kills"
for v in smtpd qmgr local master; do
	pt_check "$v was killed during the burst" grep -qw "$v" <<<"$kills"
done
pt_check "the clients got $N messages acknowledged ($acked)" test "$acked" -ge "$N"

# Make sure a master runs (the last kill may have been master's), then
# flush the deferred mail and wait for the queue to drain.
"$POSTERN" status -c "$D" >/dev/null 2>&1 || "$POSTERN" start -c "$D" >/dev/null 2>&1
pt_check "postern status after the burst" "$POSTERN" status -c "$D"
"$POSTERN" queue -c "$D" -f >/dev/null 2>&1
delivered_tokens() {
	pl_maildir_files "$RCPT" | xargs -r grep -h '^Subject: tok-' | sed 's/^Subject: //; s/\r$//' | sort >"$PT_TMP/got"
}
all_there() {
	delivered_tokens
	[ -z "$(sort -u "$PT_TMP/acked" | comm -23 - <(sort -u "$PT_TMP/got"))" ]
}
drained() { [ -z "$(pl_queue_files)" ]; }
pl_wait 60 all_there
pl_wait 30 drained
delivered_tokens
lost=$(sort -u "$PT_TMP/acked" | comm -23 - <(sort -u "$PT_TMP/got"))
nlost=$(grep -c . <<<"$lost")
[ -n "$lost" ] && echo "$lost" | head -20 | sed 's/^/# lost: /'
pt_check "every acknowledged message delivered ($nlost of $acked lost)" test -z "$lost"
dups=$(uniq -d "$PT_TMP/got")
echo "# duplicates delivered: $(grep -c . <<<"$dups") ($(wc -l <"$PT_TMP/got") files for $(sort -u "$PT_TMP/got" | wc -l) tokens)"
[ -n "$dups" ] && echo "$dups" | head -10 | sed 's/^/# duplicate: /'
left=$(pl_queue_files)
pt_check "nothing left in the queue ($(grep -c . <<<"$left") files)" test -z "$left"
pt_check "nothing in corrupt/" test -z "$(ls -A "$D/queue/corrupt" 2>/dev/null)"
pt_check "nothing left in tmp/" test -z "$(find "$D/queue/tmp" -type f 2>/dev/null)"
pt_check "stop" pt_stop "$D"
pt_check "no sanitizer report in the log" \
	bash -c "! grep -qE 'Sanitizer|runtime error' '$D/maillog'"
pt_done
