#!/bin/bash
# master_fg.sh - postern start-fg: stays in the foreground, master and
# daemons log to stderr as well, SIGTERM (as a container runtime sends)
# stops everything with exit 0, SIGINT (Ctrl-C) likewise.
. "$(dirname "$0")/lib.sh"
pt_init

port=$(pt_free_port)
d=$PT_TMP/a
pt_instance "$d" "$port"
pt_fake_daemons "$d" || { pt_fail "build the stand-in daemon"; pt_done; }
PT_STARTED="$d"

for sig in TERM INT; do
	"$POSTERN" start-fg -c "$d" >"$PT_TMP/out" 2>&1 &
	fg=$!
	pt_check "start-fg: listener comes up" pt_wait_port "$port" 10
	mpid=$(pt_master_pid "$d")
	pt_check "start-fg: master is the process started (pid $fg = $mpid)" test "$fg" = "$mpid"
	b=$(pt_banner "$port")
	pt_check "start-fg: served ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"
	for i in $(seq 1 100); do grep -q "daemon started" "$PT_TMP/out" && break; sleep 0.1; done
	pt_check "start-fg: master logs to stderr" grep -q "^postern/master: daemon started" "$PT_TMP/out"
	pt_check "start-fg: daemons log to stderr" grep -q "^postern/smtpd: fake smtpd for service" "$PT_TMP/out"
	kill -"$sig" "$fg"
	st=unset
	for i in $(seq 1 100); do
		if ! kill -0 "$fg" 2>/dev/null; then wait "$fg"; st=$?; break; fi
		sleep 0.1
	done
	pt_check "start-fg: SIG$sig stops it with exit 0 (exit $st)" test "$st" = 0
	pt_check "start-fg: stop logged" grep -q "terminating on signal" "$PT_TMP/out"
	"$POSTERN" status -c "$d" >/dev/null 2>&1
	pt_check "start-fg: not running afterwards" test $? -eq 1
done
pt_done
