#!/bin/bash
# dns_resolver.sh - postern's resolver (common/dns, through `postern dns`)
# against a real unbound serving test zones (dns_lib.inc): every record
# type, NXDOMAIN, no data, a resolver that never answers (bounded
# timeout), DNSSEC secure / insecure / bogus, next-hop lists (MX order,
# implicit MX, null MX, MX without address), and postern_dns_resolver
# read from main.cf.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.inc"
pt_init || exit 1
[ -n "${PT_TMP:-}" ] || exit 1
command -v unbound >/dev/null && command -v ldns-signzone >/dev/null || {
	pt_fail "unbound and ldns-signzone needed (tools/deps.sh PKGS_DNS)"
	pt_done
}
dns_start || {
	pt_fail "start the test DNS server"
	pt_done
}

out="$PT_TMP/out"
q() { # expected-exit args... ; output in $out
	local want=$1 rc
	shift
	"$POSTERN" dns -r "$DNS_ADDR" -t 5 "$@" >"$out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || { echo "# exit $rc, wanted $want: $*"; cat "$out" | sed 's/^/# /'; return 1; }
}
has() { grep -qx -- "$1" "$out" || { echo "# missing: $1"; sed 's/^/# /' "$out"; return 1; }; }

pt_check "A record" eval 'q 0 A mx1.plain.example && has "A 127.0.0.11" && has "status=ok secure=insecure name=mx1.plain.example type=A"'
pt_check "AAAA record" eval 'q 0 AAAA host.plain.example && has "AAAA 2001:db8::20"'
pt_check "MX records, sorted by preference" eval 'q 0 MX mx.plain.example && has "MX 10 mx1.plain.example." && has "MX 10 mx2.plain.example." && [ "$(tail -n 1 "$out")" = "MX 20 mx3.plain.example." ]'
pt_check "TXT strings joined" eval 'q 0 TXT txt.plain.example && has "TXT \"hello world\""'
pt_check "PTR from an address" eval 'q 0 PTR 127.0.0.10 && has "PTR good.plain.example"'
pt_check "PTR from the hosts file" eval '"$POSTERN" dns -r "$DNS_ADDR" PTR 127.0.0.1 | grep -qx "PTR localhost"'
pt_check "NS record" eval 'q 0 NS plain.example && has "NS ns.plain.example"'
pt_check "TLSA record" eval 'q 0 TLSA _25._tcp.mx1.plain.example && has "TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"'
pt_check "NXDOMAIN" eval 'q 1 A nosuch.plain.example && grep -q "^status=nxdomain" "$out"'
pt_check "no data" eval 'q 1 TXT mx1.plain.example && grep -q "^status=nodata" "$out"'
pt_check "malformed query name: permanent failure" eval 'q 4 A "bad..name" && grep -q "^status=permfail" "$out"'

# A resolver that never answers: temporary failure after the timeout, bounded.
dns_blackhole || pt_fail "start a silent DNS server"
start=$(date +%s)
"$POSTERN" dns -r "$DNS_DEAD" -t 2 A x.plain.example >"$out" 2>&1
rc=$?
took=$(($(date +%s) - start))
pt_check "silent resolver: temporary failure (exit 3)" [ "$rc" = 3 ]
pt_check "silent resolver: reason timeout" grep -q "^status=tempfail .*why=timeout" "$out"
pt_check "silent resolver: bounded by postern_dns_timeout ($took s)" [ "$took" -le 4 ]

# DNSSEC: the signed zone with its DS as trust anchor.
pt_check "DNSSEC: signed answer is secure" eval 'q 0 -a "$DNS_ANCHOR" A www.secure.example && grep -q "^status=ok secure=secure" "$out"'
pt_check "DNSSEC: signed NXDOMAIN is secure" eval 'q 1 -a "$DNS_ANCHOR" A nosuch.secure.example && grep -q "^status=nxdomain secure=secure" "$out"'
pt_check "DNSSEC: secure TLSA" eval 'q 0 -a "$DNS_ANCHOR" TLSA _25._tcp.mx.secure.example && grep -q "^status=ok secure=secure" "$out"'
pt_check "DNSSEC: altered record is bogus, a temporary failure" eval 'q 3 -a "$DNS_ANCHOR" A bad.secure.example && grep -q "^status=tempfail secure=bogus" "$out" && ! grep -q "^A " "$out"'
pt_check "DNSSEC: unsigned zone is insecure" eval 'q 0 -a "$DNS_ANCHOR" A host.plain.example && grep -q "^status=ok secure=insecure" "$out"'
pt_check "DNSSEC: without a trust anchor nothing is secure" eval 'q 0 A www.secure.example && grep -q "^status=ok secure=insecure" "$out"'
pt_check "missing trust anchor file is an error" eval '! "$POSTERN" dns -a "$PT_TMP/none.ds" A localhost >/dev/null 2>&1'

# Next-hop lists for the SMTP client.
pt_check "nexthop: MX hosts in preference order, all addresses" eval 'q 0 nexthop mx.plain.example &&
	[ "$(grep -c "^host " "$out")" = 4 ] && tail -n 1 "$out" | grep -qx "host mx3.plain.example 127.0.0.13 pref=20"'
pt_check "nexthop: equal preferences shuffled" eval '
	seen=""; for i in $(seq 1 30); do
		"$POSTERN" dns -r "$DNS_ADDR" nexthop mx.plain.example | sed -n 2p >>"$PT_TMP/first"
	done; grep -q mx1 "$PT_TMP/first" && grep -q mx2 "$PT_TMP/first"'
pt_check "nexthop: implicit MX (A and AAAA)" eval 'q 0 nexthop host.plain.example && has "host host.plain.example 127.0.0.20 pref=-1" && has "host host.plain.example 2001:db8::20 pref=-1"'
pt_check "nexthop: null MX" eval 'q 1 nexthop null.plain.example && grep -q "^status=nullmx .*does not accept mail (nullMX)" "$out"'
pt_check "nexthop: MX host without address" eval 'q 1 nexthop noaddr.plain.example && grep -q "^status=noaddr" "$out"'
pt_check "nexthop: no such domain" eval 'q 1 nexthop nosuch.plain.example && grep -q "^status=notfound .*type=MX: Host not found" "$out"'
pt_check "nexthop: secure MX flagged" eval 'q 0 -a "$DNS_ANCHOR" nexthop secure.example && has "status=ok secure=secure" && has "host mx.secure.example 127.0.0.30 pref=10 secure"'

# inet_protocols and smtp_mx_address_limit from main.cf; the resolver
# address from postern_dns_resolver.
cf="$PT_TMP/cf"
mkdir -p "$cf"
printf 'postern_dns_resolver = %s\ninet_protocols = ipv4\nsmtp_mx_address_limit = 2\n' "$DNS_ADDR" >"$cf/main.cf"
pt_check "main.cf: postern_dns_resolver, inet_protocols, smtp_mx_address_limit" eval '
	"$POSTERN" dns -c "$cf" nexthop mx.plain.example >"$out" && [ "$(grep -c "^host " "$out")" = 2 ] && ! grep -q "::1" "$out"'
printf 'postern_dns_resolver = %s\nsmtp_address_preference = ipv6\n' "$DNS_ADDR" >"$cf/main.cf"
pt_check "smtp_address_preference = ipv6: AAAA first among equal MX preferences" eval '
	"$POSTERN" dns -c "$cf" nexthop mx.plain.example >"$out" &&
	[ "$(sed -n 2p "$out")" = "host mx2.plain.example ::1 pref=10" ]'
printf 'postern_dns_resolver = %s\nsmtp_address_preference = ipv4\n' "$DNS_ADDR" >"$cf/main.cf"
pt_check "smtp_address_preference = ipv4: A records of equal MX preferences first" eval '
	"$POSTERN" dns -c "$cf" nexthop mx.plain.example >"$out" &&
	[ "$(sed -n 4p "$out")" = "host mx2.plain.example ::1 pref=10" ]'
# smtp_host_lookup = native: MX from DNS, addresses from getaddrinfo
# (the system's resolver, which does not know the test zones).
printf 'postern_dns_resolver = %s\nsmtp_host_lookup = native\n' "$DNS_ADDR" >"$cf/main.cf"
pt_check "smtp_host_lookup = native: getaddrinfo for localhost" eval '
	"$POSTERN" dns -c "$cf" nexthop localhost >"$out" && has "host localhost 127.0.0.1 pref=-1"'
pt_check "smtp_host_lookup = native: test-zone host not found by getaddrinfo" eval '
	! "$POSTERN" dns -c "$cf" -t 3 nexthop host.plain.example >"$out" 2>&1 && ! grep -q "^host " "$out"'
printf 'postern_dns_resolver = %s\nsmtp_host_lookup = dns, native\n' "$DNS_ADDR" >"$cf/main.cf"
pt_check "smtp_host_lookup = dns, native: DNS first" eval '
	"$POSTERN" dns -c "$cf" nexthop host.plain.example >"$out" && has "host host.plain.example 127.0.0.20 pref=-1"'
printf 'postern_dns_resolver = 127.0.0.1@notaport\n' >"$cf/main.cf"
pt_check "bad postern_dns_resolver is reported" eval '! "$POSTERN" dns -c "$cf" A localhost 2>&1 | grep -q "^status" '
touch "$cf/master.cf"
printf 'postern_dns_resolver = 127.0.0.1@53 10.0.0.1@x\npostern_dns_trust_anchor = %s/none.ds\n' "$PT_TMP" >"$cf/main.cf"
"$POSTERN" check -c "$cf" >"$out" 2>&1
pt_check "postern check: bad resolver address" grep -q 'error: postern_dns_resolver: bad resolver address "10.0.0.1@x"' "$out"
pt_check "postern check: missing trust anchor" grep -q 'error: postern_dns_trust_anchor: trust anchor file .*none.ds' "$out"
printf 'postern_dns_resolver = %s\npostern_dns_trust_anchor = %s\n' "$DNS_ADDR" "$DNS_ANCHOR" >"$cf/main.cf"
pt_check "postern check: good postern_dns_* settings pass" eval '! "$POSTERN" check -c "$cf" 2>&1 | grep -q postern_dns'
pt_check "main.cf trust anchor validates" eval '"$POSTERN" dns -c "$cf" A www.secure.example | grep -q "^status=ok secure=secure"'

pt_done
