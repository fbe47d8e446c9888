#!/bin/bash
# smtp_dane.sh - DANE (RFC 7672) in the smtp client against a real
# unbound serving a DNSSEC-signed zone (dns_lib.inc's secure.example,
# with TLSA records added before signing) and STARTTLS peers
# (tests/e2e/smtp_peer.py, mode tls) on mx.secure.example's address:
# dane with a matching TLSA 3 1 1 record is "Verified" and sent; a TLSA
# record that does not match defers (no fallback); no TLSA records: dane
# is opportunistic TLS ("Untrusted", sent) and dane-only defers.
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
P1=$(pt_free_port) P2=$(pt_free_port) P3=$(pt_free_port)
mkdir -p "$T/certs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/certs/k.pem" -out "$T/certs/c.pem" \
	-days 2 -subj "/CN=mx.secure.example" 2>/dev/null || { pt_fail "certificate"; pt_done; }
SPKI=$(openssl x509 -in "$T/certs/c.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	sha256sum | cut -d' ' -f1)

# TLSA records for the peers' ports go into the zone before it is signed.
eval "dns_zones_orig() $(declare -f dns_zones | tail -n +2)"
dns_zones() {
	dns_zones_orig "$1"
	{
		echo "_$P1._tcp.mx	IN TLSA 3 1 1 $SPKI"
		echo "_$P2._tcp.mx	IN TLSA 3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	} >>"$1/secure.example.zone"
}
dns_start || { pt_fail "start the test DNS server"; pt_done; }
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; dns_cleanup; pt_cleanup' EXIT
for p in $P1 $P2 $P3; do
	mkdir -p "$T/peer$p"
	PEER_ADDR=127.0.0.30 PEER_CERT=$T/certs/c.pem PEER_KEY=$T/certs/k.pem \
		python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$p" tls "$T/peer$p" >"$T/peer$p.out" 2>&1 &
	BGP="$BGP $!"
done
for i in $(seq 1 300); do
	[ -e "$T/peer$P1/ready" ] && [ -e "$T/peer$P2/ready" ] && [ -e "$T/peer$P3/ready" ] && break
	sleep 0.1
done
pt_check "the three peers are up" test -e "$T/peer$P1/ready" -a -e "$T/peer$P2/ready" -a -e "$T/peer$P3/ready"

d=$T/inst
pt_instance "$d"
cat >"$d/transport" <<EOT
good.test   tdane:secure.example:$P1
bad.test    tdane:secure.example:$P2
none.test   tdane:secure.example:$P3
only.test   tdonly:secure.example:$P3
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
postern_dns_resolver = $DNS_ADDR
postern_dns_trust_anchor = $DNS_ANCHOR
minimal_backoff_time = 300s
queue_run_delay = 300s
EOC
cat >>"$d/master.cf" <<EOM
tdane  unix - - n - - smtp -o smtp_tls_security_level=dane
tdonly unix - - n - - smtp -o smtp_tls_security_level=dane-only
EOM
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
LOG=$d/maillog
waitlog() {
	local i
	for i in $(seq 1 150); do
		grep -qE "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no log line matching: $1"
	grep -E 'smtp\[' "$LOG" | tail -n 6 | sed 's/^/#   | /'
	return 1
}
for r in u@good.test u@bad.test u@none.test u@only.test; do
	printf 'Subject: dane\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test "$r"
done
R="mx\.secure\.example\[127\.0\.0\.30\]"
pt_check "dane, matching TLSA 3 1 1: Verified TLS" waitlog "Verified TLS connection established to $R:$P1: TLSv1\.[23] with cipher"
pt_check "dane, matching TLSA: sent" waitlog "to=<u@good.test>, relay=$R:$P1, .*status=sent"
pt_check "dane, TLSA does not match: deferred, no plaintext" \
	waitlog "to=<u@bad.test>, .*dsn=4\.7\.5, status=deferred \(TLS with $R failed \(security level dane\): Server certificate not verified: no TLSA record matches\)"
pt_check "dane, no TLSA records: opportunistic TLS, sent" waitlog "to=<u@none.test>, relay=$R:$P3, .*status=sent"
pt_check "dane, no TLSA records: Untrusted" waitlog "Untrusted TLS connection established to $R:$P3"
pt_check "dane-only, no TLSA records: deferred" \
	waitlog "to=<u@only.test>, .*dsn=4\.7\.5, status=deferred \(TLS is required \(security level dane-only\), but no usable DNSSEC-validated TLSA records were found for mx\.secure\.example:$P3\)"
pt_check "the mismatching peer never got the message" bash -c "! ls '$T/peer$P2'/msg.* >/dev/null 2>&1"
pt_done
