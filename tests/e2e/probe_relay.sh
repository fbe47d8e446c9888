#!/bin/bash
# probe_relay.sh - `postern probe` end to end, and the open-relay matrix
# through it (the same restriction code smtpd runs) against the default
# configuration and the seeds' configuration (../shared/seeds 003: helo,
# sender and recipient restrictions, postgrey and an RBL): percent hack,
# source routes, bang paths, quoted local parts with @ and %, user@dom@dom,
# IP literals, trailing dots, mixed case - never accepted from outside.
# Exit codes: 0 accepted, 1 rejected, 2 deferred.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
POSTERN=${POSTERN:-$TOP/$BUILD/bin/postern}
. "$HERE/lib.sh"
pt_init
[ -n "$PT_TMP" ] && [ -d "$PT_TMP" ] || exit 1
T=$PT_TMP/probe
mkdir -p "$T"
# Real DNS, from a private server (dns_lib.inc): the senders' domains
# are in its plain.example zone; everything else fails at once.
. "$HERE/dns_lib.inc"
dns_start || { echo "not ok - the test DNS server starts"; exit 1; }
n=0; rc=0
ok() { n=$((n+1)); echo "ok $n - $*"; }
nok() { n=$((n+1)); echo "not ok $n - $*"; rc=1; }

mkdir -p "$T/default" "$T/seed"
base="compatibility_level = 3.6
myhostname = mx.example
mydomain = example
mydestination = \$myhostname, localhost.\$mydomain, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
alias_maps =
local_recipient_maps =
postern_dns_resolver = $DNS_ADDR"
echo "$base" >"$T/default/main.cf"
{ echo "$base"; cat <<'EOT'
smtpd_helo_required = yes
smtpd_helo_restrictions = permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = permit_mynetworks, reject_non_fqdn_sender, reject_unknown_sender_domain, reject_unauth_pipelining
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_non_fqdn_recipient,
  reject_unknown_recipient_domain, reject_rbl_client zen.spamhaus.org,
  check_policy_service unix:private/postgrey
EOT
} >"$T/seed/main.cf"
printf 'smtp inet n - y - - smtpd\n' >"$T/default/master.cf"
cp "$T/default/master.cf" "$T/seed/master.cf"

probe() { "$POSTERN" probe -c "$1" --no-policy --client "$2" --helo client.example --from a@host.plain.example "${@:3}" >"$T/out" 2>"$T/err"; }

for conf in default seed; do
	probe "$T/$conf" 192.0.2.1 --rcpt root@mx.example; e=$?
	[ $e = 0 ] && grep -q "^result: accepted" "$T/out" && ok "$conf: local recipient accepted (exit 0)" ||
		{ nok "$conf: local recipient accepted (exit $e)"; sed 's/^/# /' "$T/out" "$T/err"; }
	probe "$T/$conf" 127.0.0.1 --rcpt x@else.example; e=$?
	[ $e = 0 ] && ok "$conf: mynetworks may relay" || nok "$conf: mynetworks may relay (exit $e)"
	for r in 'x@else.example' 'x%else.example@mx.example' '@mx.example:x@else.example' \
		'@mx.example,@mx.example:x@else.example' 'else.example!x@mx.example' \
		'"x@else.example"@mx.example' '"x%else.example"@mx.example' 'x@else.example.' \
		'X@ELSE.Example' 'x@mx.example.else.example' 'root@[192.0.2.1]' 'root@[IPv6:2001:db8::1]' \
		'x@else.example@mx.example' '"x@else.example"@MX.EXAMPLE.' 'else.example!x%y@mx.example'; do
		probe "$T/$conf" 192.0.2.1 --rcpt "$r"; e=$?
		if [ $e != 0 ] && ! grep -q "^result: accepted" "$T/out"; then
			ok "$conf: never relayed: $r (exit $e: $(grep '^-> ' "$T/out" | tail -1))"
		else
			nok "$conf: RELAYED: $r"; sed 's/^/# /' "$T/out"
		fi
	done
done
probe "$T/default" 192.0.2.1 --rcpt x@else.example; e=$?
[ $e = 2 ] && grep -q "454 4.7.1 <x@else.example>: Relay access denied" "$T/out" &&
	grep -q "\[relay\] defer_unauth_destination -> 454" "$T/out" &&
	ok "default: defer_unauth_destination deferred (exit 2), the trace names it" || nok "default defer (exit $e)"
probe "$T/seed" 192.0.2.1 --rcpt x@else.example; e=$?
[ $e = 2 ] && ok "seed: relay stage first (454, exit 2)" || nok "seed: exit $e"
sed -i 's/^smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination/smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination/' "$T/seed/main.cf"
probe "$T/seed" 192.0.2.1 --rcpt x@else.example; e=$?
[ $e = 1 ] && grep -q "554 5.7.1 <x@else.example>: Relay access denied" "$T/out" && ok "rejected: exit 1" || nok "rejected: exit $e"
"$POSTERN" probe -c "$T/seed" --no-policy --client 192.0.2.1 --helo shortname --from a@host.plain.example --rcpt root@mx.example >"$T/out" 2>&1; e=$?
[ $e = 1 ] && grep -q "504 5.5.2 <shortname>: Helo command rejected: need fully-qualified hostname" "$T/out" &&
	ok "seed helo restrictions via probe" || nok "seed helo (exit $e)"
"$POSTERN" probe -c "$T/seed" --client 192.0.2.1 --helo client.example --from a@host.plain.example --rcpt root@mx.example >"$T/out" 2>&1; e=$?
[ $e = 2 ] && grep -q "451 4.3.5 <root@mx.example>: Recipient address rejected: Server configuration problem" "$T/out" &&
	ok "policy service unreachable: default action, exit 2" || { nok "policy default action (exit $e)"; sed 's/^/# /' "$T/out"; }
"$POSTERN" probe -c "$T/seed" --client 192.0.2.1 >/dev/null 2>&1; e=$?
[ $e = 2 ] && ok "usage error: exit 2" || nok "usage error: exit $e"
printf 'smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n' >"$T/default/master.cf"
probe "$T/default" 192.0.2.1 --service submission --sasl bob --rcpt x@else.example; e=$?
[ $e = 0 ] && ok "submission: SASL user may relay" || nok "submission sasl (exit $e)"
probe "$T/default" 192.0.2.1 --service submission --rcpt x@else.example; e=$?
[ $e = 1 ] && grep -q "554 5.7.1 <x@else.example>: Recipient address rejected: Access denied" "$T/out" &&
	ok "submission: no SASL, rejected by the -o list" || { nok "submission no sasl (exit $e)"; sed 's/^/# /' "$T/out"; }
# postern check: dangerous restriction lists
mkdir -p "$T/lint"
cat >"$T/lint/main.cf" <<'EOT'
compatibility_level = 3.6
myhostname = mx.example
smtpd_delay_reject = no
smtpd_client_restrictions = reject_unknown_client_hostname, reject_rbl_client zen.spamhaus.orh
smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination
smtpd_recipient_restrictions = warn_if_reject reject_unauth_destination, ablehnen
EOT
printf 'smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd -o smtpd_relay_restrictions=permit_sasl_authenticated -o smtpd_recipient_restrictions=\n' >"$T/lint/master.cf"
"$POSTERN" check -c "$T/lint" >"$T/out" 2>&1; e=$?
for w in 'reject_unknown_client_hostname with smtpd_delay_reject = no' \
	'zone "zen.spamhaus.orh" looks like a typo of "zen.spamhaus.org"' \
	'"permit" before reject_unauth_destination: any client may relay' \
	'warn_if_reject before reject_unauth_destination' \
	'"ablehnen" is neither a restriction nor a restriction class' \
	'master.cf:2: warning: smtpd_relay_restrictions and smtpd_recipient_restrictions: neither has'; do
	grep -qF "$w" "$T/out" && ok "postern check warns: $w" || { nok "postern check warns: $w"; sed 's/^/# /' "$T/out"; }
done
[ $e = 1 ] && ok "postern check exits 1 on warnings" || nok "postern check exit $e"
"$POSTERN" check -c "$T/default" >"$T/out" 2>&1 && ok "postern check: the default configuration is clean" ||
	{ nok "default config warns"; sed 's/^/# /' "$T/out"; }
exit $rc
