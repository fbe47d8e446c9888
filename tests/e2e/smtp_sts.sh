#!/bin/bash
# smtp_sts.sh - MTA-STS (RFC 8461, postern_smtp_mta_sts = yes) in the
# smtp client: test zones on a real unbound (dns_lib.inc's plain.example
# plus _mta-sts TXT and mta-sts A records this test adds), the policies
# served over HTTPS by python3 on 127.0.0.41:443 with a test-CA
# certificate, STARTTLS peers on the MX addresses.  enforce with a
# listed MX and a verified certificate: sent, "Verified"; enforce with a
# self-signed MX certificate: deferred; enforce with an MX the policy
# does not list: deferred, never contacted; testing: logged, sent; the
# policy is cached (one fetch for two messages).  Needs root (port 443).
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
[ "$(id -u)" = 0 ] || { pt_skip "needs root for port 443"; exit 0; }
if [ -n "$(ss -Htln 'sport = :443' 2>/dev/null | grep 127.0.0.41)" ]; then
	pt_skip "127.0.0.41:443 is busy"
	exit 0
fi

C=$T/certs
mkdir -p "$C"
(
	cd "$C" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj "/CN=postern sts test CA" 2>/dev/null &&
	for n in web:mta-sts.stsok.plain.example,DNS:mta-sts.stsbad.plain.example,DNS:mta-sts.ststest.plain.example,DNS:mta-sts.stsself.plain.example \
		mx3:mx3.plain.example; do
		openssl req -newkey rsa:2048 -nodes -keyout "${n%%:*}.key" -out "${n%%:*}.csr" \
			-subj "/CN=x" 2>/dev/null &&
		printf 'subjectAltName=DNS:%s\n' "${n#*:}" >"${n%%:*}.ext" &&
		openssl x509 -req -in "${n%%:*}.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
			-days 2 -extfile "${n%%:*}.ext" -out "${n%%:*}.pem" 2>/dev/null || exit 1
	done
	openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 \
		-subj "/CN=mx2.plain.example" -addext "subjectAltName=DNS:mx2.plain.example" 2>/dev/null
) || { pt_fail "test certificates"; pt_done; }
chmod 644 "$C"/*

eval "dns_zones_orig() $(declare -f dns_zones | tail -n +2)"
dns_zones() {
	dns_zones_orig "$1"
	local dname
	for dname in stsok stsbad ststest stsself; do
		if [ "$dname" = stsself ]; then echo "$dname	IN MX 10 mx2"; else echo "$dname	IN MX 10 mx3"; fi
		echo "_mta-sts.$dname	IN TXT \"v=STSv1; id=20261123\""
		echo "mta-sts.$dname	IN A 127.0.0.41"
	done >>"$1/plain.example.zone"
}
dns_start || { pt_fail "start the test DNS server"; pt_done; }
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; dns_cleanup; pt_cleanup' EXIT

# The policy server.
cat >"$T/web.py" <<'PY'
import http.server, ssl, sys, os
pol = {
    "mta-sts.stsok.plain.example": "version: STSv1\nmode: enforce\nmx: mx3.plain.example\nmax_age: 86400\n",
    "mta-sts.stsbad.plain.example": "version: STSv1\nmode: enforce\nmx: *.elsewhere.example\nmax_age: 86400\n",
    "mta-sts.ststest.plain.example": "version: STSv1\nmode: testing\nmx: other.example\nmax_age: 86400\n",
    "mta-sts.stsself.plain.example": "version: STSv1\nmode: enforce\nmx: mx2.plain.example\nmax_age: 86400\n",
}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        with open(sys.argv[2], "a") as f:
            f.write("%s %s\n" % (host, self.path))
        body = pol.get(host, "").encode()
        if self.path != "/.well-known/mta-sts.txt" or not body:
            self.send_response(404); self.end_headers(); return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + "/web.pem", sys.argv[1] + "/web.key")
srv = http.server.HTTPServer(("127.0.0.41", 443), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(sys.argv[2] + ".ready", "w").close()
srv.serve_forever()
PY
python3 "$T/web.py" "$C" "$T/fetches" >"$T/web.out" 2>&1 &
BGP="$BGP $!"
PORT=$(pt_free_port)
for spec in 127.0.0.13:mx3 127.0.0.12:self; do
	a=${spec%%:*} n=${spec#*:}
	mkdir -p "$T/peer$a"
	PEER_ADDR=$a PEER_CERT=$C/$n.pem PEER_KEY=$C/$n.key \
		python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$PORT" tls "$T/peer$a" >"$T/peer$a.out" 2>&1 &
	BGP="$BGP $!"
done
for i in $(seq 1 300); do [ -e "$T/fetches.ready" ] && [ -e "$T/peer127.0.0.12/ready" ] && break; sleep 0.1; done
pt_check "policy server and peers are up" test -e "$T/fetches.ready"

d=$T/inst
pt_instance "$d"
mkdir -p "$T/sts"
chmod 1777 "$T/sts"
cat >"$d/transport" <<EOT
stsok.plain.example     smtp:stsok.plain.example:$PORT
stsbad.plain.example    smtp:stsbad.plain.example:$PORT
ststest.plain.example   smtp:ststest.plain.example:$PORT
stsself.plain.example   smtp:stsself.plain.example:$PORT
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
postern_dns_resolver = $DNS_ADDR
postern_smtp_mta_sts = yes
postern_smtp_mta_sts_cache = $T/sts
smtp_tls_CAfile = $C/ca.pem
smtp_connect_timeout = 3s
minimal_backoff_time = 300s
queue_run_delay = 300s
EOC
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
for r in a@stsok.plain.example u@stsbad.plain.example u@ststest.plain.example u@stsself.plain.example; do
	printf 'Subject: sts\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test "$r"
done
R3="mx3\.plain\.example\[127\.0\.0\.13\]:$PORT"
pt_check "enforce, listed MX, CA-verified: sent" waitlog "to=<a@stsok.plain.example>, relay=$R3, .*status=sent"
pt_check "enforce: Verified TLS" waitlog "Verified TLS connection established to $R3"
pt_check "policy fetched and logged" waitlog "MTA-STS: policy for stsok\.plain\.example \(id 20261123\): mode enforce, max_age 86400"
pt_check "enforce, MX not in the policy: deferred" \
	waitlog "to=<u@stsbad.plain.example>, .*dsn=4\.7\.5, status=deferred \(MTA-STS policy of stsbad\.plain\.example does not list MX host mx3\.plain\.example\)"
pt_check "testing, MX not in the policy: logged" waitlog "MTA-STS policy of ststest\.plain\.example \(testing\) does not list MX host mx3\.plain\.example$"
pt_check "testing: sent anyway" waitlog "to=<u@ststest.plain.example>, relay=$R3, .*status=sent"
pt_check "enforce, self-signed MX certificate: deferred" \
	waitlog "to=<u@stsself.plain.example>, .*status=deferred \(TLS with mx2\.plain\.example\[127\.0\.0\.12\] failed \(security level verify\)"
pt_check "policy cached on disk" test -s "$T/sts/stsok.plain.example"
printf 'Subject: sts2\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test b@stsok.plain.example
pt_check "second message: sent" waitlog "to=<b@stsok.plain.example>, relay=$R3, .*status=sent"
pt_check "second message: the cached policy, no second fetch" \
	[ "$(grep -c '^mta-sts.stsok.plain.example ' "$T/fetches")" = 1 ]
pt_done
