#!/bin/bash
# pkg_logs.sh - postern's log works with the usual log tools: a small
# instance receives mail over SMTP (some delivered, some rejected) and
# pflogsumm's report of its maillog_file counts exactly those; fail2ban's
# regex tester with conf/fail2ban/filter.d/postern.conf matches each
# reject; with syslog_name = postfix, pflogsumm without options and
# fail2ban's stock postfix filter work as on Postfix's own log.
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] || exit 1
for t in pflogsumm fail2ban-regex swaks; do
	command -v $t >/dev/null || {
		pt_skip "$t missing (sh tools/deps.sh)"
		pt_done
	}
done
[ -x "$BUILD/libexec/smtpd" ] && [ -x "$BUILD/libexec/qmgr" ] && [ -x "$BUILD/libexec/local" ] || {
	pt_skip "smtpd, qmgr and local are not all built"
	pt_done
}

port=$(pt_free_port)
d=$PT_TMP/inst
pt_instance "$d" "$port"
cat >>"$d/main.cf" <<EOC
mydestination = localhost, \$myhostname
mail_spool_directory = $d/mail/
EOC
mkdir -p "$d/mail"
chmod 1777 "$d/mail"
me=$(id -un)
pt_check "start" pt_start "$d"

send() { swaks --server "127.0.0.1:$port" --from sender@example.org --to "$1" --timeout 20 >/dev/null 2>&1; }
for i in 1 2; do send "$me@localhost"; done
# a local submission: Postfix logs it from pickup, which pflogsumm counts
printf 'Subject: local\n\nhi\n' | "$POSTERN" sendmail -c "$d" -f "$me" "$me@localhost"
pt_check "the local submission is logged from .../pickup as Postfix" \
	grep -qE " postern/pickup\[[0-9]+\]: [0-9A-F]+: uid=$(id -u) from=<$me" "$d/maillog"
send nosuchuser@localhost # rejected: User unknown in local recipient table
send nosuchuser2@localhost
# wait until the three are delivered
for i in $(seq 1 100); do
	[ "$(grep -c 'status=sent' "$d/maillog")" -ge 3 ] && break
	sleep 0.1
done
pt_check "three deliveries logged" test "$(grep -c 'status=sent' "$d/maillog")" -eq 3
pt_check "two rejects logged" test "$(grep -c 'NOQUEUE: reject: RCPT' "$d/maillog")" -eq 2

log1=$PT_TMP/log1
cp "$d/maillog" "$log1"
rep=$(pflogsumm --syslog-name=postern "$log1" 2>&1)
total() { awk -v w="$1" '$2 == w && $1 ~ /^[0-9]+$/ { print $1; exit }' <<<"$2"; }
pt_check "pflogsumm: 3 received ($(total received "$rep"))" test "$(total received "$rep")" = 3
pt_check "pflogsumm: 3 delivered ($(total delivered "$rep"))" test "$(total delivered "$rep")" = 3
pt_check "pflogsumm: 2 rejected ($(total rejected "$rep"))" test "$(total rejected "$rep")" = 2
pt_check "pflogsumm: 0 deferred, 0 bounced" \
	test "$(total deferred "$rep")" = 0 -a "$(total bounced "$rep")" = 0
pt_check "pflogsumm: the reject reason is listed" grep -q 'User unknown in local recipient table' <<<"$rep"
pt_check "pflogsumm: the recipient is listed" grep -q "$me@localhost" <<<"$rep"

f2b=$PT_TMP/f2b/filter.d
mkdir -p "$f2b"
cp "$PT_ROOT/conf/fail2ban/filter.d/postern.conf" "$f2b/"
cp /etc/fail2ban/filter.d/common.conf "$f2b/" 2>/dev/null
matched() { fail2ban-regex "$1" "$2" 2>&1 | awk '/^Lines:/ { for (i = 1; i <= NF; i++) if ($i ~ /^matched/) print $(i - 1) }'; }
m=$(matched "$log1" "$f2b/postern.conf")
pt_check "fail2ban-regex with filter.d/postern.conf: the 2 rejects match ($m)" test "$m" = 2
pt_check "... and the host is 127.0.0.1" \
	bash -c "fail2ban-regex --print-all-matched '$log1' '$f2b/postern.conf' 2>&1 | grep -q '127.0.0.1'"

# syslog_name = postfix: the tools' Postfix defaults apply unchanged
echo "syslog_name = postfix" >>"$d/main.cf"
"$POSTERN" reload -c "$d" >/dev/null 2>&1
pt_check "reload with syslog_name = postfix" test $? -eq 0
for i in $(seq 1 100); do
	pt_wait_port "$port" 1 && send "$me@localhost" && break
	sleep 0.1
done
send nosuchuser3@localhost
for i in $(seq 1 100); do
	[ "$(grep -c 'postfix/local.*status=sent' "$d/maillog")" -ge 1 ] && break
	sleep 0.1
done
log2=$PT_TMP/log2
grep ' postfix/' "$d/maillog" >"$log2"
pt_check "log lines read postfix/smtpd, postfix/qmgr, postfix/local" \
	bash -c "grep -q ' postfix/smtpd\\[' '$log2' && grep -q ' postfix/qmgr\\[' '$log2' && grep -q ' postfix/local\\[' '$log2'"
rep=$(pflogsumm "$log2" 2>&1)
pt_check "pflogsumm (no options): 1 received, 1 delivered, 1 rejected" \
	test "$(total received "$rep")/$(total delivered "$rep")/$(total rejected "$rep")" = 1/1/1
if [ -f /etc/fail2ban/filter.d/postfix.conf ]; then
	m=$(matched "$log2" /etc/fail2ban/filter.d/postfix.conf)
	pt_check "fail2ban's stock postfix filter matches the reject ($m)" test "$m" = 1
fi
pt_check "stop" pt_stop "$d"
pt_done
