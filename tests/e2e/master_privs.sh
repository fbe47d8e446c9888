#!/bin/bash
# master_privs.sh - privileges from /proc: as root, master is uid 0,
# every daemon but local runs as its unprivileged user with no effective
# capabilities and no_new_privs, local stays root; started by an
# ordinary user, everything runs as that user after one warning.
. "$(dirname "$0")/lib.sh"
pt_init

# field NAME PID: first value of a /proc/PID/status line
field() { awk -v f="$1:" '$1 == f { print $2; exit }' "/proc/$2/status"; }

if [ "$(id -u)" = 0 ]; then
	port=$(pt_free_port)
	d=$PT_TMP/root
	pt_instance "$d" "$port"
	pt_fake_daemons "$d" || { pt_fail "build the stand-in daemon"; pt_done; }
	pt_check "start as root" pt_start "$d" 2>/dev/null
	mpid=$(pt_master_pid "$d")
	pt_check "master runs as uid 0" test "$(field Uid "$mpid")" = 0
	net=$(id -u postern-net)
	mail=$(id -u postern)
	for spec in smtpd:$net smtp:$net qmgr:$mail; do
		n=${spec%%:*}
		want=${spec#*:}
		p=$(pt_children "$mpid" "$n")
		u=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$p/status")
		pt_check "$n runs as uid $want (real, effective, saved, fs: $u)" \
			test "$u" = "$want $want $want $want"
		pt_check "$n has no effective capabilities" test "$(field CapEff "$p")" = 0000000000000000
		pt_check "$n has no permitted capabilities" test "$(field CapPrm "$p")" = 0000000000000000
		pt_check "$n has no_new_privs" test "$(field NoNewPrivs "$p")" = 1
		g=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$p/status" | tr -d ' ')
		pt_check "$n has only its own group ($g)" test "$g" = "$(field Gid "$p")"
	done
	p=$(pt_children "$mpid" local)
	pt_check "local runs as root (to become each recipient)" test "$(field Uid "$p")" = 0
	pt_check "stop" pt_stop "$d" 2>/dev/null

	# A missing user is a clear error naming the fix.
	d=$PT_TMP/nouser
	pt_instance "$d" "$(pt_free_port)"
	pt_fake_daemons "$d"
	echo "mail_owner = postern-no-such-user" >>"$d/main.cf"
	out=$(pt_start "$d" 2>&1)
	st=$?
	pt_check "start with a missing mail_owner fails (exit $st)" test $st -ne 0
	pt_check "... naming mkusers.sh and useradd ($out)" \
		grep -q 'mail_owner: user "postern-no-such-user" does not exist; create it with tools/mkusers.sh, or: useradd' <<<"$out"
	"$POSTERN" status -c "$d" >/dev/null 2>&1
	pt_check "... and nothing runs" test $? -eq 1
	user=nobody
	as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"; }
else
	pt_skip "root-only privilege checks (not root)"
	user=$(id -un)
	as_user() { "$@"; }
fi

# Started as an ordinary user: no users needed, everything as that user.
port=$(pt_free_port)
d=$PT_TMP/user
pt_instance "$d" "$port"
pt_fake_daemons "$d"
[ "$(id -u)" = 0 ] && chown -R "$user" "$d"
out=$(as_user "$POSTERN" start -c "$d" 2>&1)
st=$?
PT_STARTED="$PT_STARTED $d"
pt_check "start as $user exits 0 ($out)" test $st -eq 0
pt_check "... with one warning" test "$(grep -c "warning: not started as root" <<<"$out")" -eq 1
mpid=$(pt_master_pid "$d")
uid=$(id -u "$user")
pt_check "master runs as $user" test "$(field Uid "$mpid")" = "$uid"
for n in smtpd qmgr local smtp; do
	p=$(pt_children "$mpid" "$n")
	pt_check "$n runs as $user" test -n "$p" -a "$(field Uid "$p")" = "$uid"
done
b=$(pt_banner "$port")
pt_check "listener answers ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"
pt_check "queue owned by $user" test "$(stat -c %U "$d/queue/incoming")" = "$user"
pt_check "stop as $user" as_user "$POSTERN" stop -c "$d"
pt_done
