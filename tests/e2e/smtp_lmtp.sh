#!/bin/bash
# smtp_lmtp.sh - the smtp agent as "lmtp" (RFC 2033): into a real
# Dovecot LMTP server run privately (its own config, base_dir, log and
# mail directory; /etc/dovecot is never read) through transport_maps
# (lmtp:unix:/path) and through mailbox_transport after
# local's alias expansion; and to a scripted LMTP peer over
# lmtp:inet:host:port that accepts one recipient and refuses the other
# after DATA (one reply per recipient).  Needs root and dovecot-lmtpd.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
T=$PT_TMP
for n in master qmgr smtp local; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done
if [ "$(id -u)" != 0 ] || [ ! -x /usr/lib/dovecot/lmtp ] || ! command -v dovecot >/dev/null; then
	pt_skip "needs root, dovecot-core and dovecot-lmtpd"
	exit 0
fi
d=$T/inst
pt_instance "$d"
BGP=""
DC=$T/dovecot.conf
trap 'doveadm -c "$DC" stop >/dev/null 2>&1; for p in $BGP; do kill "$p" 2>/dev/null; done; pt_cleanup' EXIT

LPORT=$(pt_free_port)
mkdir -p "$T/lpeer"
python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$LPORT" lmtp "$T/lpeer" >"$T/lpeer.out" 2>&1 &
BGP="$BGP $!"

mkdir -p "$T/dv/run" "$T/dv/state" "$T/mail"
chmod 777 "$T/mail"
cat >"$DC" <<EOC
base_dir = $T/dv/run
state_dir = $T/dv/state
log_path = $T/dv/log
instance_name = postern-test-$$
protocols = lmtp
ssl = no
listen = 127.0.0.1
mail_location = maildir:$T/mail/%n
first_valid_uid = 1
auth_username_format = %Ln
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$T/mail/%n allow_all_users=yes
}
service lmtp {
  unix_listener $T/dv/lmtp {
    mode = 0666
  }
}
service anvil {
  chroot =
}
EOC
if ! dovecot -c "$DC" >"$T/dv/start.log" 2>&1; then
	pt_skip "private Dovecot did not start ($(tail -n 1 "$T/dv/start.log"))"
	exit 0
fi
for i in $(seq 1 50); do [ -S "$T/dv/lmtp" ] && break; sleep 0.1; done
pt_check "private Dovecot LMTP listens" test -S "$T/dv/lmtp"

printf 'carol nobody\n' >"$d/aliases"
cat >"$d/transport" <<EOT
dove.test     lmtp:unix:$T/dv/lmtp
lpeer.test    lmtp:inet:127.0.0.1:$LPORT
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
mailbox_transport = lmtp:unix:$T/dv/lmtp
lmtp_lhlo_name = client.postern.test
minimal_backoff_time = 300s
queue_run_delay = 300s
EOC
sed -i "s|^alias_maps =.*|alias_maps = texthash:$d/aliases|" "$d/main.cf"
echo "lmtp      unix  -       -       n       -       -       lmtp" >>"$d/master.cf"
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
LOG=$d/maillog
waitlog() {
	local i
	for i in $(seq 1 150); do
		grep -qE "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no log line matching: $1"
	grep -E 'lmtp|local|qmgr' "$LOG" | tail -n 6 | sed 's/^/#   | /'
	return 1
}
inbox() { # user text: a message in the user's Dovecot Maildir holds text
	local i
	for i in $(seq 1 100); do
		grep -rqs "$2" "$T/mail/$1/new" "$T/mail/$1/cur" && return 0
		sleep 0.1
	done
	return 1
}

printf 'Subject: to dovecot\n\nfirst via transport_maps\n' |
	"$POSTERN" sendmail -c "$d" -f s@x.test alice@dove.test
pt_check "lmtp:unix: to Dovecot: sent" waitlog "lmtp\[[0-9]+\]: [0-9A-F]+: to=<alice@dove.test>, relay=$T/dv/lmtp, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <alice@dove\.test>"
pt_check "Dovecot stored it in alice's Maildir" inbox alice "first via transport_maps"

printf 'Subject: alias\n\nsecond via alias and mailbox_transport\n' |
	"$POSTERN" sendmail -c "$d" -f s@x.test carol@postern-test.example
pt_check "mailbox_transport after alias expansion: delivered" \
	waitlog "local\[[0-9]+\]: [0-9A-F]+: to=<nobody@postern-test.example>, orig_to=<carol@postern-test.example>, relay=local, .*status=sent \(delivered via lmtp service"
pt_check "Dovecot stored it in nobody's Maildir" inbox nobody "second via alias and mailbox_transport"

printf 'Subject: peer\n\nthird\n' |
	"$POSTERN" sendmail -c "$d" -f s@x.test ok@lpeer.test lmtpfail@lpeer.test
pt_check "LMTP: first recipient's own reply after DATA" \
	waitlog "to=<ok@lpeer.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$LPORT, .*status=sent \(250 2\.0\.0 <ok@lpeer\.test> delivered\)"
pt_check "LMTP: second recipient's own refusal after DATA" \
	waitlog "to=<lmtpfail@lpeer.test>, .*dsn=5\.2\.2, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 552 5\.2\.2 <lmtpfail@lpeer\.test> mailbox full \(in reply to end of DATA command\)\)"
pt_check "LHLO was used" grep -q '^LHLO client.postern.test' "$T/lpeer/commands"
pt_done
