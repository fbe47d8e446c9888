#!/bin/bash
# master_real.sh - master with the real daemons of $BUILD/libexec (those
# that are built): start returns once each has reported ready, each
# runs as its user, smtpd greets on its port, the queue manager answers
# "postern flush" on public/qmgr, reload replaces them, stop ends them.
. "$(dirname "$0")/lib.sh"
pt_init

have=""
for n in smtpd qmgr local smtp; do
	[ -x "$BUILD/libexec/$n" ] && have="$have $n"
done
if [ -z "$have" ]; then
	pt_skip "no daemon built in $BUILD/libexec yet"
	pt_done
fi

port=$(pt_free_port)
d=$PT_TMP/real
pt_instance "$d" "$port"
cat >>"$d/main.cf" <<EOC
mydestination = localhost, \$myhostname
mail_spool_directory = $d/mail/
EOC
mkdir -p "$d/mail"
chmod 1777 "$d/mail"

out=$(pt_start "$d" 2>&1)
pt_check "start with the real daemons ($have) exits 0 ($out)" test $? -eq 0
pt_check "... without a daemon that failed to report ready" \
	bash -c "! grep -q 'did not report ready' '$d/maillog'"
mpid=$(pt_master_pid "$d")
field() { awk -v f="$1:" '$1 == f { print $2; exit }' "/proc/$2/status"; }
for n in $have; do
	p=$(pt_children "$mpid" "$n")
	pt_check "$n runs" test -n "$p"
	[ -n "$p" ] || continue
	if [ "$(id -u)" = 0 ]; then
		case $n in
		smtpd | smtp) want=$(id -u postern-net) ;;
		qmgr) want=$(id -u postern) ;;
		local) want=0 ;;
		esac
		pt_check "$n runs as uid $want" test "$(field Uid "$p")" = "$want"
		[ "$want" != 0 ] &&
			pt_check "$n has no capabilities" test "$(field CapEff "$p")" = 0000000000000000
	fi
done
case $have in *smtpd*)
	b=$(pt_banner "$port")
	pt_check "smtpd greets ($b)" grep -q "^220 " <<<"$b"
	;;
esac
case $have in *qmgr*)
	out=$("$POSTERN" flush -c "$d" 2>&1)
	pt_check "postern flush answered by qmgr ($out)" test $? -eq 0
	;;
esac
old=$(ps --ppid "$mpid" -o pid= | tr -d ' ' | sort | tr '\n' ' ')
"$POSTERN" reload -c "$d" 2>/dev/null
pt_check "reload exits 0" test $? -eq 0
new=""
for i in $(seq 1 100); do
	new=$(ps --ppid "$mpid" -o pid= | tr -d ' ' | sort | tr '\n' ' ')
	n_new=$(wc -w <<<"$new")
	if [ "$n_new" -eq "$(wc -w <<<"$have")" ] && ! grep -qwFf <(tr ' ' '\n' <<<"$old" | grep .) <<<"$new"; then
		break
	fi
	sleep 0.1
done
pt_check "reload replaced every daemon ($old -> $new)" \
	bash -c "! grep -qwFf <(tr ' ' '\n' <<<'$old' | grep .) <<<'$new'"
pt_check "stop" pt_stop "$d" 2>/dev/null
pt_check "no daemon died unexpectedly" bash -c "! grep -q 'warning: process' '$d/maillog'"
pt_done
