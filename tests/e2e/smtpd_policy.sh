#!/bin/bash
# smtpd_policy.sh - check_policy_service against a policy server written
# for the test (tests/e2e/policy_server.py): its answers become access(5)
# results; a server that hangs, answers garbage or closes gets the
# per-service default action; a hanging request does not stall other
# sessions; connections are reused; the request holds Postfix's
# attributes.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
T=$(mktemp -d /tmp/postern-policy.XXXXXX)
[ -n "$T" ] || exit 1
chmod 755 "$T"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PS=$(free_port); PP=$(free_port); PD=$(free_port) # nothing listens on PD
mkdir -p "$T/sc" "$T/sq" "$T/pl"
cat >"$T/sc/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $T/sq
network_user = nobody
myhostname = mx.example
mydestination = mx.example, localhost
mynetworks = 127.0.0.1/32
alias_maps =
local_recipient_maps =
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtpd_policy_service_try_limit = 1
smtpd_restriction_classes = deadpolicy
deadpolicy = check_policy_service inet:127.0.0.1:$PD
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
  check_recipient_access inline:{dead@mx.example=deadpolicy},
  check_policy_service { inet:127.0.0.1:$PP, timeout=2s, { default_action = 450 4.7.9 policy down } }
EOT
echo "smtp inet n - n - - smtpd" >"$T/sc/master.cf"
python3 "$HERE/policy_server.py" "$PP" "$T/pl" >"$T/policy.log" 2>&1 &
pids+=($!)
python3 "$HERE/smtpd_peer.py" "$T/sq" >"$T/peer.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/sq/private/qmgr" ] && break; sleep 0.1; done
chmod 755 "$T/sq" "$T/sq/private"
"$SMTPD" -c "$T/sc" -s smtp -t inet -f -l "127.0.0.1:$PS" >"$T/smtpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$PS)).close(); socket.create_connection(('127.0.0.1',$PP)).close()" 2>/dev/null && break
	sleep 0.1
done
rm -f "$T/pl/connections"
python3 - "$PS" "$T" <<'PY'
import socket, sys, threading, time, os
PS, T = int(sys.argv[1]), sys.argv[2]
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % d))
    failed += not c

class S:
    def __init__(s):
        s.s = socket.create_connection(("127.0.0.1", PS), source_address=("127.0.0.2", 0), timeout=20)
        s.f = s.s.makefile("rb"); s.reply()
    def reply(s):
        out = []
        while True:
            l = s.f.readline().decode().rstrip("\r\n"); out.append(l)
            if len(l) < 4 or l[3] != "-": return out[-1] if len(out) == 1 else " | ".join(out)
    def cmd(s, l):
        s.s.sendall(l.encode() + b"\r\n"); return s.reply()

a = S()
a.cmd("EHLO client.example")
a.cmd("MAIL FROM:<sender@b.example>")
ok(a.cmd("RCPT TO:<ok@mx.example>").startswith("250 "), "policy DUNNO: accepted")
r = a.cmd("RCPT TO:<grey@mx.example>")
ok(r == "450 4.7.1 <grey@mx.example>: Recipient address rejected: greylisted, try again", "policy 450 as access result", r)
r = a.cmd("RCPT TO:<reject@mx.example>")
ok(r == "554 5.7.1 <reject@mx.example>: Recipient address rejected: no way", "policy REJECT text", r)
r = a.cmd("RCPT TO:<list@mx.example>")
ok(r == "554 5.7.1 <list@mx.example>: Recipient address rejected: Access denied", "policy answer as a restriction list", r)
ok(a.cmd("RCPT TO:<ok@mx.example>").startswith("250 "), "second DUNNO")
n = len(open(os.path.join(T, "pl", "connections")).read().split())
ok(n == 1, "five requests of one session share one connection", "connections=%d" % n)
req = open(os.path.join(T, "pl", "requests")).read().split("\n\n")[0]
attrs = dict(l.partition("=")[::2] for l in req.split("\n") if l)
for k, v in [("request", "smtpd_access_policy"), ("protocol_state", "RCPT"), ("protocol_name", "ESMTP"),
             ("helo_name", "client.example"), ("sender", "sender@b.example"), ("recipient", "ok@mx.example"),
             ("recipient_count", "0"), ("client_address", "127.0.0.2"), ("client_name", "unknown"),
             ("server_address", "127.0.0.1"), ("server_port", str(PS))]:
    ok(attrs.get(k) == v, "request attribute %s=%s" % (k, v), attrs.get(k))
for k in ["queue_id", "reverse_client_name", "instance", "sasl_method", "sasl_username", "sasl_sender",
          "size", "ccert_subject", "ccert_issuer", "ccert_fingerprint", "encryption_protocol",
          "encryption_cipher", "encryption_keysize", "etrn_domain", "stress", "server_address",
          "server_port", "ccert_pubkey_fingerprint", "client_port", "policy_context"]:
    ok(k in attrs, "request attribute %s present" % k)
ok(attrs.get("instance", "") != "", "instance is set")

# A hanging server: the default action after the timeout, while another
# session is served at once.
b = S(); b.cmd("EHLO client.example"); b.cmd("MAIL FROM:<x@b.example>")
t0 = time.time()
b.s.sendall(b"RCPT TO:<hang@mx.example>\r\n")
time.sleep(0.3)
c = S(); c.cmd("EHLO other.example"); c.cmd("MAIL FROM:<y@b.example>")
r = c.cmd("RCPT TO:<ok@mx.example>")
ok(r.startswith("250 ") and time.time() - t0 < 1.9, "another session is served while a policy request hangs", r)
r = b.reply()
el = time.time() - t0
ok(r == "450 4.7.9 <hang@mx.example>: Recipient address rejected: policy down" and 1.5 < el < 6,
   "hanging server: per-service default_action after timeout=2s", "%s after %.1fs" % (r, el))
r = b.cmd("RCPT TO:<garbage@mx.example>")
ok(r == "450 4.7.9 <garbage@mx.example>: Recipient address rejected: policy down", "garbage reply: default action", r)
r = b.cmd("RCPT TO:<close@mx.example>")
ok(r == "450 4.7.9 <close@mx.example>: Recipient address rejected: policy down", "closed connection: default action", r)
ok(b.cmd("RCPT TO:<ok@mx.example>").startswith("250 "), "the next request works again")
t0 = time.time()
r = b.cmd("RCPT TO:<dead@mx.example>")
ok(r == "451 4.3.5 <dead@mx.example>: Recipient address rejected: Server configuration problem"
   and time.time() - t0 < 3, "nobody listening: smtpd_policy_service_default_action's default at once", r)
ok(b.cmd("RSET").startswith("250"), "session still usable")
for x in (a, b, c): x.cmd("QUIT")
sys.exit(1 if failed else 0)
PY
rc=$?
if grep -q "problem talking to server inet:127.0.0.1:$PP: timeout" "$T/smtpd.log"; then
	echo "ok - timeout logged"
else
	echo "not ok - timeout logged"; rc=1
fi
if grep -q "problem talking to server inet:127.0.0.1:$PD: " "$T/smtpd.log"; then
	echo "ok - refused connection logged"
else
	echo "not ok - refused connection logged"; rc=1
fi
[ $rc = 0 ] || sed 's/^/# /' "$T/smtpd.log" | tail -20
exit $rc
