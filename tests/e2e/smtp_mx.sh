#!/bin/bash
# smtp_mx.sh - the smtp agent's MX routing with common/dns against a real
# unbound serving test zones (dns_lib.inc): MX preference order (the two
# best MX hosts refuse connections, the third gets the mail), null MX
# (RFC 7505) bounces at once, a domain that does not exist bounces, and
# an MX that is this host is "mail for X loops back to myself".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.inc"
pt_init || exit 1
[ -n "${PT_TMP:-}" ] || exit 1
T=$PT_TMP
for n in master qmgr smtp; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done
command -v unbound >/dev/null && command -v ldns-signzone >/dev/null || {
	pt_skip "unbound and ldns-signzone needed (tools/deps.sh PKGS_DNS)"
	exit 0
}
dns_start || { pt_fail "start the test DNS server"; pt_done; }
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; dns_cleanup; pt_cleanup' EXIT

# The peer listens on mx3's address only: mx1 and mx2 (preference 10)
# refuse, mx3 (preference 20) takes the mail.
PORT=$(pt_free_port)
mkdir -p "$T/peer"
PEER_ADDR=127.0.0.13 python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$PORT" normal "$T/peer" \
	>"$T/peer.out" 2>&1 &
BGP="$BGP $!"
for i in $(seq 1 300); do [ -e "$T/peer/ready" ] && break; sleep 0.1; done

d=$T/inst
pt_instance "$d"
cat >"$d/transport" <<EOT
mx.plain.example    smtp:mx.plain.example:$PORT
secure.example      smtp:secure.example:$PORT
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
postern_dns_resolver = $DNS_ADDR
smtp_host_lookup = dns
smtp_connect_timeout = 3s
minimal_backoff_time = 300s
queue_run_delay = 300s
EOC
sed -i 's/^myhostname = .*/myhostname = mx.secure.example/' "$d/main.cf"
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
LOG=$d/maillog
waitlog() {
	local i
	for i in $(seq 1 200); do
		grep -qE "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no log line matching: $1"
	grep -E 'smtp\[' "$LOG" | tail -n 6 | sed 's/^/#   | /'
	return 1
}
for r in u@mx.plain.example u@null.plain.example u@nxdomain.plain.example u@secure.example; do
	printf 'Subject: mx\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test "$r"
done
pt_check "MX order: mx1/mx2 refuse, sent to mx3" \
	waitlog "to=<u@mx.plain.example>, relay=mx3\.plain\.example\[127\.0\.0\.13\]:$PORT, .*status=sent \(250 2\.0\.0 Ok"
pt_check "the preference 10 hosts were tried first" \
	bash -c "grep -q 'connect to mx1.plain.example\[127.0.0.11\]:$PORT' '$LOG' && grep -q 'connect to mx2.plain.example\[127.0.0.12\]:$PORT' '$LOG'"
pt_check "null MX: bounced at once" \
	waitlog "to=<u@null.plain.example>, relay=none, .*dsn=5\.1\.10, status=bounced \(.*does not accept mail \(nullMX\)\)"
pt_check "no such domain: bounced" \
	waitlog "to=<u@nxdomain.plain.example>, relay=none, .*dsn=5\.4\.4, status=bounced \(Host or domain name not found"
pt_check "MX is this host: loops back to myself" \
	waitlog "to=<u@secure.example>, relay=none, .*dsn=5\.4\.6, status=bounced \(mail for secure\.example loops back to myself\)"
pt_done
