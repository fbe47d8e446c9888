#!/bin/bash
# dns_smtpd.sh - smtpd's DNS work against a real unbound serving test
# zones (dns_lib.inc): the DNS restrictions of smtpd/smtpd_dnsck.c run in
# a libevent loop by tests/e2e/dnsck_driver.c (DNSBL with TXT reason and
# filters, DNSWL, RHSBL, rbl reply templates, unknown client / HELO /
# sender / recipient with null MX and temporary failures, MX/NS/A server
# lists), and a real smtpd finding client names by PTR and forward
# confirmation (connections from 127.0.0.10-13, seen in the log and the
# Received: header).
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

drv="$PT_TMP/dnsck_driver"
san=""
case $BUILD in *san*) san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;; esac
# shellcheck disable=SC2086,SC2046
if ! ${CC:-cc} -std=c11 -g -D_GNU_SOURCE $san -I"$PT_ROOT/common" -o "$drv" \
	"$PT_ROOT/tests/e2e/dnsck_driver.c" "$BUILD/obj/smtpd/smtpd_dnsck.o" \
	"$BUILD/obj/smtpd/smtpd_dns.o" "$BUILD/libpostern.a" \
	$(pkg-config --libs libevent libunbound) 2>"$PT_TMP/cc.err"; then
	pt_fail "build dnsck_driver"
	sed 's/^/# /' "$PT_TMP/cc.err"
	pt_done
fi

out="$PT_TMP/out"
d() { "$drv" -r "$DNS_ADDR" "$@" >"$out" 2>&1; }
is() { grep -qxF -- "$1" "$out" || { echo "# want: $1"; sed 's/^/# got:  /' "$out"; return 1; }; }
like() { grep -q -- "$1" "$out" || { echo "# want /$1/"; sed 's/^/# got:  /' "$out"; return 1; }; }

# DNSBL: 127.0.0.2 listed (A 127.0.0.2, TXT), 127.0.0.4 listed (A 127.0.0.4, no TXT).
pt_check "reject_rbl_client: listed, TXT as the reason" eval 'd -a 127.0.0.2 rbl dnsbl.example &&
	like "^action=reject reply=554 5.7.1 Service unavailable; Client host \[127.0.0.2\] blocked using dnsbl.example; Listed: see http://dnsbl.example/?127.0.0.2 "'
pt_check "reject_rbl_client: listed without TXT" eval 'd -a 127.0.0.4 rbl dnsbl.example &&
	like "^action=reject reply=554 5.7.1 Service unavailable; Client host \[127.0.0.4\] blocked using dnsbl.example tempfail"'
pt_check "reject_rbl_client: not listed" eval 'd -a 127.0.0.5 rbl dnsbl.example && like "^action=dunno"'
pt_check "reject_rbl_client: filter =127.0.0.2 matches" eval 'd -a 127.0.0.2 rbl dnsbl.example=127.0.0.2 && like "^action=reject"'
pt_check "reject_rbl_client: filter =127.0.0.3 does not match" eval 'd -a 127.0.0.2 rbl dnsbl.example=127.0.0.3 && like "^action=dunno"'
pt_check "reject_rbl_client: filter with a set [1;3..5]" eval 'd -a 127.0.0.4 rbl "dnsbl.example=127.0.0.[1;3..5]" && like "^action=reject"'
pt_check "reject_rbl_client: bad filter is an error" eval '! d -a 127.0.0.2 rbl "dnsbl.example=127.0.0.[9..1]" && like "^error=bad DNS list filter"'
pt_check "reject_rbl_client: IPv6 nibble form" eval 'd -a ::1 rbl dnsbl.example && like "^action=reject reply=554 5.7.1 Service unavailable; Client host \[::1\] blocked"'
pt_check "default_rbl_reply template with \$client_address and \${rbl_txt?..}" eval '
	d -a 127.0.0.2 -T "450 4.7.9 \$client_address in \$rbl_domain\${rbl_txt?: \$rbl_txt}\${nothing:!}" rbl dnsbl.example &&
	like "^action=reject reply=450 4.7.9 127.0.0.2 in dnsbl.example: Listed: see http://dnsbl.example/?127.0.0.2! "'
pt_check "rbl_reply_maps entry for the domain wins, DSN added" eval '
	d -a 127.0.0.2 -m "dnsbl.example=\$rbl_code Go away, \$rbl_what" rbl dnsbl.example && like "^action=reject reply=554 5.7.1 Go away, 127.0.0.2 "'
pt_check "resolver trouble: DNSBL counts as not listed" eval '"$drv" -r "127.0.0.1@1" -a 127.0.0.2 rbl dnsbl.example >"$out" 2>&1 && like "^action=dunno"'

pt_check "reject_rbl_client without an event loop (dns_run)" eval 'd -S -a 127.0.0.2 rbl dnsbl.example && like "^action=reject reply=554 5.7.1 "'
pt_check "check_*_mx_access without an event loop (dns_run)" eval 'd -S mx mx.plain.example && like "^status=ok n=3"'
pt_check "permit_dnswl_client: listed" eval 'd -a 127.0.0.3 dnswl dnswl.example && like "^action=permit"'
pt_check "permit_dnswl_client: filter =127.0.[0..255].[1;2]" eval 'd -a 127.0.0.3 dnswl "dnswl.example=127.0.[0..255].[1;2]" && like "^action=permit"'
pt_check "permit_dnswl_client: not listed" eval 'd -a 127.0.0.2 dnswl dnswl.example && like "^action=dunno"'

pt_check "reject_rhsbl_sender" eval 'd -s user@spammer.invalid-domain.example rhsbl_sender rhsbl.example &&
	like "^action=reject reply=554 5.7.1 Service unavailable; Sender address \[user@spammer.invalid-domain.example\] blocked using rhsbl.example; rhs listed "'
pt_check "reject_rhsbl_recipient" eval 'd -R x@spammer.invalid-domain.example rhsbl_recipient rhsbl.example && like "Recipient address \[x@spammer.invalid-domain.example\] blocked"'
pt_check "reject_rhsbl_helo" eval 'd -h spammer.invalid-domain.example rhsbl_helo rhsbl.example && like "Helo command \[spammer.invalid-domain.example\] blocked"'
pt_check "reject_rhsbl_sender: null sender not looked up" eval 'd -s "" rhsbl_sender rhsbl.example && like "^action=dunno"'
pt_check "reject_rhsbl_client: unverified name not used" eval 'd -a 127.0.0.11 rhsbl_client rhsbl.example && like "^action=dunno"'

# Client names (PTR + forward confirmation): .10 good, .11 PTR to a name
# with another address, .12 no PTR, .13 PTR to a name that does not exist.
pt_check "client name: confirmed" eval 'd -a 127.0.0.10 names && is "name=good.plain.example status=2 reverse=good.plain.example reverse_status=2"'
pt_check "client name: forward mismatch is forged" eval 'd -a 127.0.0.11 names && is "name=unknown status=6 reverse=wrong.plain.example reverse_status=2"'
pt_check "client name: no PTR" eval 'd -a 127.0.0.12 names && is "name=unknown status=5 reverse=unknown reverse_status=5"'
pt_check "client name: PTR name without address" eval 'd -a 127.0.0.13 names && is "name=unknown status=6 reverse=nxname.plain.example reverse_status=2"'
pt_check "client name: numeric PTR name refused" eval 'd -a 127.0.0.14 names && is "name=unknown status=5 reverse=unknown reverse_status=5" && grep -q "numeric hostname: 127.0.0.10" "$out"'
pt_check "client name: temporary failure" eval '"$drv" -r 127.0.0.1@1 -a 127.0.0.10 names >"$out" 2>&1 && is "name=unknown status=4 reverse=unknown reverse_status=4"'
pt_check "reject_unknown_client_hostname: known" eval 'd -a 127.0.0.10 unknown_client && like "^action=dunno"'
pt_check "reject_unknown_client_hostname: forged, unknown_client_reject_code" eval 'd -c 550 -a 127.0.0.11 unknown_client &&
	is "action=reject reply=550 5.7.25 Client host rejected: cannot find your hostname, [127.0.0.11] tempfail=- detail=client hostname status 6"'
pt_check "reject_unknown_reverse_client_hostname: PTR is enough" eval 'd -c 550 -a 127.0.0.11 unknown_reverse_client && like "^action=dunno"'
pt_check "reject_unknown_reverse_client_hostname: no PTR" eval 'd -c 550 -a 127.0.0.12 unknown_reverse_client &&
	like "^action=reject reply=550 5.7.25 Client host rejected: cannot find your reverse hostname, \[127.0.0.12\]"'
pt_check "reject_unknown_client_hostname: temporary failure is 450" eval '"$drv" -r 127.0.0.1@1 -c 550 -a 127.0.0.10 unknown_client >"$out" 2>&1 &&
	like "^action=defer reply=450 4.7.25 Client host rejected: cannot find your hostname, \[127.0.0.10\] tempfail=reject_tempfail_action"'

pt_check "reject_unknown_helo_hostname: has A" eval 'd -h helo.plain.example unknown_helo && like "^action=dunno"'
pt_check "reject_unknown_helo_hostname: has MX only" eval 'd -h mx.plain.example unknown_helo && like "^action=dunno"'
pt_check "reject_unknown_helo_hostname: not found" eval 'd -h nosuch.plain.example unknown_helo &&
	like "^action=reject reply=450 4.7.1 <nosuch.plain.example>: Helo command rejected: Host not found"'
pt_check "reject_unknown_helo_hostname: address literal skipped" eval 'd -h "[127.0.0.1]" unknown_helo && like "^action=dunno"'

pt_check "reject_unknown_sender_domain: MX" eval 'd -s a@sender.plain.example unknown_sender && like "^action=dunno"'
pt_check "reject_unknown_sender_domain: A only" eval 'd -s a@host.plain.example unknown_sender && like "^action=dunno"'
pt_check "reject_unknown_sender_domain: not found" eval 'd -c 550 -s a@nosuch.plain.example unknown_sender &&
	like "^action=reject reply=550 5.1.8 <a@nosuch.plain.example>: Sender address rejected: Domain not found"'
pt_check "reject_unknown_sender_domain: null MX 550 5.7.27" eval 'd -s a@null.plain.example unknown_sender &&
	like "^action=reject reply=550 5.7.27 <a@null.plain.example>: Sender address rejected: Domain null.plain.example does not accept mail (nullMX)"'
pt_check "reject_unknown_recipient_domain: null MX 556 5.1.10" eval 'd -R b@null.plain.example unknown_recipient &&
	like "^action=reject reply=556 5.1.10 <b@null.plain.example>: Recipient address rejected: Domain null.plain.example does not accept mail (nullMX)"'
pt_check "reject_unknown_recipient_domain: not found 450 4.1.2" eval 'd -R b@nosuch.plain.example unknown_recipient &&
	like "^action=reject reply=450 4.1.2 <b@nosuch.plain.example>: Recipient address rejected: Domain not found"'
pt_check "reject_unknown_sender_domain: temporary failure defers" eval '"$drv" -r 127.0.0.1@1 -s a@plain.example unknown_sender >"$out" 2>&1 &&
	like "^action=defer reply=450 4.1.8 .*tempfail=unknown_address_tempfail_action"'

pt_check "check_*_mx_access: MX hosts with addresses" eval 'd mx mx.plain.example && like "^status=ok n=3" &&
	is "server mx2.plain.example 127.0.0.12 ::1" && is "server mx3.plain.example 127.0.0.13"'
pt_check "check_*_mx_access: no MX, the domain itself" eval 'd mx host.plain.example && is "server host.plain.example 127.0.0.20 2001:db8::20"'
pt_check "check_*_ns_access: NS of a parent" eval 'd ns deep.sub.plain.example && like "^status=ok n=1" && is "server ns.plain.example 127.0.0.53"'
pt_check "check_*_a_access: addresses" eval 'd a host.plain.example && is "server host.plain.example 127.0.0.20 2001:db8::20"'
pt_check "check_*_mx_access: temporary failure reported" eval '"$drv" -r 127.0.0.1@1 mx mx.plain.example >"$out" 2>&1 && like "^status=tempfail"'

# A real smtpd: client names in the log and the Received: header.
inst="$PT_TMP/inst"
port=$(pt_free_port)
pt_instance "$inst" "$port"
cat >>"$inst/main.cf" <<EOF
postern_dns_resolver = $DNS_ADDR
mynetworks = 127.0.0.0/8
EOF
# Chrooted (when root): the resolver must have read its files before.
sed -i "s|^127.0.0.1:$port inet n - n |127.0.0.1:$port inet n - y |" "$inst/master.cf"
pt_start "$inst" >/dev/null 2>&1 || pt_fail "postern start"
pt_wait_port "$port" || pt_fail "smtpd listens"
send_from() { # source address
	python3 - "$1" "$port" <<'PY'
import smtplib, sys
s = smtplib.SMTP()
s.source_address = (sys.argv[1], 0)
s.connect("127.0.0.1", int(sys.argv[2]))
s.ehlo("client.example")
s.mail("a@postern-test.example")
s.rcpt("root@postern-test.example")
s.data(b"Subject: dns\r\n\r\nhi\r\n")
s.quit()
PY
}
for a in 127.0.0.10 127.0.0.11 127.0.0.12; do
	send_from "$a" >"$PT_TMP/send.$a" 2>&1 || pt_fail "send from $a"
done
for i in $(seq 1 50); do
	[ "$(grep -c 'disconnect from' "$inst/maillog" 2>/dev/null)" -ge 3 ] && break
	sleep 0.1
done
log="$inst/maillog"
pt_check "smtpd: connect from good.plain.example[127.0.0.10]" grep -q "connect from good.plain.example\[127.0.0.10\]" "$log"
pt_check "smtpd: forged name logged as unknown" grep -q "connect from unknown\[127.0.0.11\]" "$log"
pt_check "smtpd: warning for the name that does not resolve back" grep -q "warning: hostname wrong.plain.example does not resolve to address 127.0.0.11" "$log"
pt_check "smtpd: no PTR: unknown" grep -q "connect from unknown\[127.0.0.12\]" "$log"
pt_check "smtpd: client= line carries the name" grep -q "client=good.plain.example\[127.0.0.10\]" "$log"
if [ "$(id -u)" = 0 ]; then
	spid=$(pt_children "$(pt_master_pid "$inst")" smtpd | head -n 1)
	pt_check "smtpd resolved while chrooted to queue_directory" \
		[ "$(readlink "/proc/$spid/root" 2>/dev/null)" = "$inst/queue" ]
fi
pt_stop "$inst" >/dev/null 2>&1

# A resolver that never answers: each client waits at most
# postern_dns_timeout for its banner, and the waits overlap (three
# clients at once take about one timeout, not three).
dns_blackhole || pt_fail "start a silent DNS server"
inst2="$PT_TMP/inst2"
port2=$(pt_free_port)
pt_instance "$inst2" "$port2"
printf 'postern_dns_resolver = %s\npostern_dns_timeout = 3s\n' "$DNS_DEAD" >>"$inst2/main.cf"
pt_start "$inst2" >/dev/null 2>&1 || pt_fail "postern start (silent resolver)"
pt_wait_port "$port2" || pt_fail "smtpd listens (silent resolver)"
start=$(date +%s)
python3 - "$port2" >"$PT_TMP/banners" 2>&1 <<'PY'
import socket, sys, threading
res = []
def one(src):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20, source_address=(src, 0))
    res.append(s.makefile("rb").readline().decode().strip())
    s.close()
ts = [threading.Thread(target=one, args=(a,)) for a in ("127.0.0.10", "127.0.0.11", "127.0.0.12")]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(res))
PY
took=$(($(date +%s) - start))
pt_check "silent resolver: three banners" [ "$(grep -c '^220 ' "$PT_TMP/banners")" = 3 ]
pt_check "silent resolver: lookups overlap and are bounded ($took s)" eval '[ "$took" -ge 2 ] && [ "$took" -le 7 ]'
for i in $(seq 1 50); do
	[ "$(grep -c 'connect from unknown' "$inst2/maillog" 2>/dev/null)" -ge 3 ] && break
	sleep 0.1
done
pt_check "silent resolver: clients are unknown" grep -q "connect from unknown\[127.0.0.11\]" "$inst2/maillog"
pt_stop "$inst2" >/dev/null 2>&1
pt_done
