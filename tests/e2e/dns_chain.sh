#!/bin/bash
# dns_chain.sh - the DNS restrictions through the real restriction chain:
# a real smtpd (master, qmgr) asks a private unbound (dns_lib.inc) and
# answers reject_rbl_client, permit_dnswl_client, reject_rhsbl_sender,
# reject_unknown_sender_domain and check_sender_mx_access as Postfix;
# postern probe gives the same answers with real DNS.
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] && [ -d "$PT_TMP" ] || exit 1
. "$(dirname "$0")/dns_lib.inc"
for n in master smtpd qmgr; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n not built"; pt_done; }
done
command -v unbound >/dev/null || { pt_skip "no unbound"; pt_done; }
dns_start || { pt_fail "the test DNS server starts"; pt_done; }
trap 'dns_cleanup; pt_cleanup' EXIT

port=$(pt_free_port)
d=$PT_TMP/inst
pt_instance "$d" "$port"
printf 'mx1.plain.example REJECT MX host mx1 is blocked\n' >"$d/mxaccess"
cat >>"$d/main.cf" <<EOC
postern_dns_resolver = $DNS_ADDR
mydestination = mx.example
mynetworks = 127.0.0.1/32
smtpd_client_restrictions = permit_dnswl_client dnswl.example, reject_rbl_client dnsbl.example
smtpd_sender_restrictions = reject_rhsbl_sender rhsbl.example, reject_unknown_sender_domain,
	check_sender_mx_access texthash:$d/mxaccess
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
EOC
out=$(pt_start "$d" 2>&1)
pt_check "postern starts ($out)" test $? -eq 0
pt_wait_port "$port" || pt_fail "smtpd listens"

/usr/bin/python3 - "$port" "$PT_ROOT/tests/e2e" <<'EOP' || PT_FAILED=$((PT_FAILED + 1))
import sys, os
sys.path.insert(0, sys.argv[2])
from smtpraw import Raw
port = int(sys.argv[1])
bad = 0
def ok(c, name, d=""):
    global bad
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % d))
    bad += not c
def rcpt(src, sender):
    r = Raw(port, src)
    r.reply()
    r.cmd("EHLO client.example")
    m = r.cmd("MAIL FROM:<%s>" % sender)
    t = r.cmd("RCPT TO:<user@mx.example>")
    r.cmd("QUIT")
    return m, t
m, t = rcpt("127.0.0.2", "a@plain.example")
ok(t.startswith("554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using dnsbl.example;"),
   "reject_rbl_client: listed client refused at RCPT with the DNSBL's text", t)
ok("Listed: see http://dnsbl.example/?127.0.0.2" in t, "... the TXT record is the reason", t)
m, t = rcpt("127.0.0.5", "a@spammer.invalid-domain.example")
ok(t.startswith("554 5.7.1") and "rhsbl.example" in t, "reject_rhsbl_sender: a listed sender domain refused", t)
m, t = rcpt("127.0.0.5", "a@nxdomain.plain.example")
ok(t.startswith("450 4.1.8") or t.startswith("550 5.1.8"), "reject_unknown_sender_domain: a domain without records refused", t)
m, t = rcpt("127.0.0.5", "a@sender.plain.example")
ok(t.startswith("554 5.7.1") and "MX host mx1 is blocked" in t, "check_sender_mx_access: the MX host's entry decides", t)
m, t = rcpt("127.0.0.5", "a@host.plain.example")
ok(t.startswith("250"), "a clean client and sender domain are accepted", t)
m, t = rcpt("127.0.0.3", "a@host.plain.example")
ok(t.startswith("250"), "permit_dnswl_client: a listed client ends the client stage before the DNSBL", t)
sys.exit(1 if bad else 0)
EOP

out=$("$POSTERN" probe -c "$d" --client 127.0.0.2 --from a@plain.example --rcpt user@mx.example 2>&1)
rc=$?
pt_check "postern probe with real DNS: a DNSBL-listed client is rejected (exit $rc)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'dnsbl.example' <<<'$out'"
pt_check "no sanitizer report or crash in the log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|panic:' '$d/maillog'"
pt_done
