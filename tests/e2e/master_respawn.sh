#!/bin/bash
# master_respawn.sh - a daemon killed with SIGKILL is logged and
# restarted, with a growing delay when it keeps dying (never a tight
# loop); its listener works again afterwards.
. "$(dirname "$0")/lib.sh"
pt_init

port=$(pt_free_port)
d=$PT_TMP/a
pt_instance "$d" "$port"
pt_fake_daemons "$d" || { pt_fail "build the stand-in daemon"; pt_done; }
pt_check "start" pt_start "$d" 2>/dev/null
mpid=$(pt_master_pid "$d")

# Wait (bounded) until NAME has a pid other than OLD; prints it.
new_pid() {
	local name=$1 old=$2 i p
	for i in $(seq 1 150); do
		p=$(pt_children "$mpid" "$name")
		if [ -n "$p" ] && [ "$p" != "$old" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

old=$(pt_children "$mpid" smtpd)
kill -9 "$old"
t0=$(date +%s.%N)
new=$(new_pid smtpd "$old")
t1=$(date +%s.%N)
pt_check "smtpd respawned after kill -9 ($old -> $new)" test -n "$new"
pt_check "the kill is logged" \
	grep -q "postern/master\[$mpid\]: warning: process $d/libexec/smtpd pid $old killed by signal 9" "$d/maillog"
pt_check "first restart after 1 s" grep -q "service 127.0.0.1:$port: restarting smtpd in 1 s" "$d/maillog"
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
pt_check "... not sooner (took $took s)" awk -v t="$took" 'BEGIN { exit !(t >= 0.9) }' 
b=$(pt_banner "$port")
pt_check "listener works after the respawn ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"

# Dying again soon: the delay doubles.
old=$new
kill -9 "$old"
new=$(new_pid smtpd "$old")
pt_check "second kill: respawned again" test -n "$new"
pt_check "... after 2 s" grep -q "restarting smtpd in 2 s" "$d/maillog"
old=$new
kill -9 "$old"
sleep 1
pt_check "third kill: not yet back after 1 s (backoff 4 s)" test -z "$(pt_children "$mpid" smtpd)"
new=$(new_pid smtpd "$old")
pt_check "... but back later" test -n "$new"

# qmgr comes back with both sockets.
q=$(pt_children "$mpid" qmgr)
kill -9 "$q"
nq=$(new_pid qmgr "$q")
pt_check "qmgr respawned ($q -> $nq)" test -n "$nq"
n=$(ls -l "/proc/$nq/fd" 2>/dev/null | grep -c socket)
pt_check "new qmgr holds its sockets (status + 2 listeners: $n)" test "$n" -ge 3

# The master itself was never restarted.
pt_check "master pid unchanged" test "$(pt_master_pid "$d")" = "$mpid"

# Master killed: each daemon sees end of file on its status socket (no
# other process holds master's ends), so they can all go, and a new
# master can bind the ports again.
kids=$(ps --ppid "$mpid" -o pid= | tr -d ' ')
pt_check "four daemons before master is killed" test "$(wc -w <<<"$kids")" -eq 4
kill -9 "$mpid"
left=$kids
for i in $(seq 1 50); do
	left=""
	for k in $kids; do pt_gone "$k" || left="$left $k"; done
	[ -z "$left" ] && break
	sleep 0.1
done
pt_check "master killed: every daemon sees it and exits ($left)" test -z "$left"
pt_check "... and a new start works" pt_start "$d" 2>/dev/null
pt_check "... and serves" pt_wait_port "$port" 10
pt_check "stop" pt_stop "$d" 2>/dev/null

# A daemon that sends master something other than "ready" is logged;
# master goes on.
pt_check "start again (junk test)" env FAKE_JUNK=smtpd "$POSTERN" start -c "$d"
mpid=$(pt_master_pid "$d")
for i in $(seq 1 50); do grep -q "unexpected status record" "$d/maillog" && break; sleep 0.1; done
pt_check "junk on the status socket is logged" \
	grep -q "postern/master\[$mpid\]: warning: process $d/libexec/smtpd pid [0-9]*: unexpected status record" "$d/maillog"
b=$(pt_banner "$port")
pt_check "... and master goes on ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"
pt_check "stop" pt_stop "$d" 2>/dev/null
pt_done
