#!/bin/bash
# master_basic.sh - postern start/status/stop with stand-in daemons:
# listeners up when start returns, queue tree and sockets with their
# owners and modes, a second start refused, a port in use or a
# configuration error makes start fail with a clear message.
. "$(dirname "$0")/lib.sh"
pt_init

port=$(pt_free_port)
d=$PT_TMP/a
pt_instance "$d" "$port"
pt_fake_daemons "$d" || { pt_fail "build the stand-in daemon"; pt_done; }

pt_check "postern start exits 0" pt_start "$d"
# No wait: start returns only when the listeners are up.
b=$(pt_banner "$port")
pt_check "smtpd listener answers as soon as start returns ($b)" \
	test "$b" = "220 fake smtpd 127.0.0.1:$port"
out=$("$POSTERN" status -c "$d" 2>&1)
pt_check "status exits 0 while running" test $? -eq 0
mpid=$(pt_master_pid "$d")
pt_check "status names the master pid ($out)" grep -q "running: PID: $mpid" <<<"$out"
for n in smtpd qmgr local smtp; do
	pt_check "$n started" test -n "$(pt_children "$mpid" "$n")"
done
pt_check "cleanup line logged as provided internally" \
	grep -q "service cleanup/unix.*provided internally" "$d/maillog"

q=$d/queue
if [ "$(id -u)" = 0 ]; then
	mo=postern
	ng=$(id -gn postern-net)
else
	mo=$(id -un)
	ng=$(id -gn)
fi
mg=$(id -gn "$mo")
perm() { stat -c '%a %U %G' "$1"; }
for s in tmp incoming active deferred hold corrupt bounce defer; do
	pt_check "queue/$s is 700 $mo" test "$(perm "$q/$s")" = "700 $mo $mg"
done
pt_check "private/ is 710 $mo:$ng" test "$(perm "$q/private")" = "710 $mo $ng"
pt_check "public/ is 711 $mo" test "$(perm "$q/public")" = "711 $mo $mg"
pt_check "private/qmgr is a socket 660 $mo:$ng" \
	test "$(stat -c '%F %a %U %G' "$q/private/qmgr")" = "socket 660 $mo $ng"
pt_check "public/qmgr is a socket 666" test "$(stat -c '%F %a' "$q/public/qmgr")" = "socket 666"
pt_check "private/local is a socket 600 $mo" \
	test "$(stat -c '%F %a %U' "$q/private/local")" = "socket 600 $mo"
pt_check "private/cleanup not created (internal)" test ! -e "$q/private/cleanup"
python3 - "$q/public/qmgr" <<'EOP' && pt_ok "public/qmgr is SOCK_SEQPACKET" || pt_fail "public/qmgr is SOCK_SEQPACKET"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
EOP

out=$("$POSTERN" flush -c "$d" 2>&1)
pt_check "postern flush exits 0 ($out)" test $? -eq 0
for i in $(seq 1 50); do grep -q "fake admin request" "$d/maillog" && break; sleep 0.1; done
pt_check "... after qmgr got ADMIN flush ALL on public/qmgr" \
	grep -q "postern/qmgr\[[0-9]*\]: fake admin request: flush ALL" "$d/maillog"

out=$("$POSTERN" start -c "$d" 2>&1)
st=$?
pt_check "second start refused (exit $st)" test $st -ne 0
pt_check "second start says why ($out)" grep -q "already running" <<<"$out"
out=$("$BUILD/libexec/master" -c "$d" -f 2>&1)
st=$?
pt_check "second master on the same queue refused (exit $st)" test $st -ne 0
pt_check "... because of the lock ($out)" grep -q "already running (pid $mpid" <<<"$out"
pt_check "first master still running" kill -0 "$mpid"

# Port in use: a second instance on the same port.
d2=$PT_TMP/b
pt_instance "$d2" "$port"
pt_fake_daemons "$d2"
out=$(pt_start "$d2" 2>&1)
st=$?
pt_check "start on a port in use fails (exit $st)" test $st -ne 0
pt_check "... naming the address ($out)" grep -q "cannot bind 127.0.0.1:$port: Address already in use" <<<"$out"
"$POSTERN" status -c "$d2" >/dev/null 2>&1
pt_check "... and nothing keeps running" test $? -eq 1
pt_check "... and no daemon was left behind" test -z "$(pgrep -f -- "-c $d2 " || true)"

# Configuration errors: start refuses with postern check's error line.
d3=$PT_TMP/c
pt_instance "$d3" "$(pt_free_port)"
pt_fake_daemons "$d3"
echo "smtpd_helo_required = perhaps" >>"$d3/main.cf"
out=$(pt_start "$d3" 2>&1)
st=$?
pt_check "start with a configuration error fails (exit $st)" test $st -ne 0
pt_check "... with the error line ($out)" grep -q "main.cf:.*smtpd_helo_required.*bad boolean" <<<"$out"
pt_check "... and nothing was started" test ! -e "$d3/queue/pid/master.pid"

# A daemon that dies before it is ready fails the start.
d4=$PT_TMP/d
pt_instance "$d4" "$(pt_free_port)"
pt_fake_daemons "$d4"
out=$(FAKE_FAIL=qmgr pt_start "$d4" 2>&1)
st=$?
pt_check "start fails when a daemon dies at start-up (exit $st)" test $st -ne 0
pt_check "... naming it ($out)" grep -q "service qmgr: process .*/qmgr pid [0-9]* exit status 1 before it was ready" <<<"$out"
"$POSTERN" status -c "$d4" >/dev/null 2>&1
pt_check "... and nothing keeps running" test $? -eq 1

kids=$(ps --ppid "$mpid" -o pid= | tr -d ' ')
pt_check "postern stop exits 0" pt_stop "$d"
"$POSTERN" status -c "$d" >/dev/null 2>&1
pt_check "status exits 1 after stop" test $? -eq 1
# stop returns once master released its lock; the process itself is
# gone a moment later.
for i in $(seq 1 50); do pt_gone "$mpid" && break; sleep 0.1; done
pt_check "master is gone" pt_gone "$mpid"
left=""
for k in $kids; do pt_gone "$k" || left="$left $k"; done
pt_check "every daemon is gone ($left)" test -z "$left"
pt_check "the port is closed" bash -c "! (exec 9<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
pt_check "no warnings at a clean stop" bash -c "! grep -q 'warning: process' '$d/maillog'"
out=$("$POSTERN" stop -c "$d" 2>&1)
pt_check "stop when not running exits 1 ($out)" test $? -eq 1
out=$("$POSTERN" flush -c "$d" 2>&1)
st=$?
pt_check "flush when not running fails (exit $st)" test $st -ne 0
pt_check "... saying so ($out)" grep -q "cannot connect to the queue manager.*is postern running" <<<"$out"

pt_done
