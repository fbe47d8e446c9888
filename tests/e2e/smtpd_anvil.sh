#!/bin/bash
# smtpd_anvil.sh - rate limits shared by all smtpd processes: two smtpd
# services (two processes, two ports) and the real qmgr holding the
# counters.  Connection rate and concurrency are counted per client
# across both ports; message and recipient rates; mynetworks is exempt
# (smtpd_client_event_limit_exceptions); replies and warnings as Postfix's.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
QMGR="$TOP/$BUILD/libexec/qmgr"
if [ ! -x "$QMGR" ]; then echo "ok - skipped: no qmgr in $BUILD"; exit 0; fi
T=$(mktemp -d /tmp/postern-anvil.XXXXXX)
[ -n "$T" ] || exit 1
chmod 755 "$T"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then user=nobody; else user=$(id -un); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(free_port); PB=$(free_port)
mkdir "$T/conf"
cat >"$T/conf/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $T/q
mail_owner = $user
network_user = $user
myhostname = mx.example
mydestination = mx.example, localhost
mynetworks = 127.0.0.1/32
alias_maps =
local_recipient_maps =
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
anvil_rate_time_unit = 60s
smtpd_client_connection_rate_limit = 4
smtpd_client_connection_count_limit = 2
smtpd_client_message_rate_limit = 2
smtpd_client_recipient_rate_limit = 3
smtpd_recipient_restrictions = check_recipient_access inline:{ held@mx.example=HOLD, gone@mx.example=DISCARD }, permit_mynetworks, reject_unauth_destination
EOT
: >"$T/conf/master.cf"
"$QMGR" -c "$T/conf" -f >"$T/qmgr.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -qs 'queue manager started' "$T/qmgr.log" && break; sleep 0.1; done
if [ "$(id -u)" = 0 ]; then
	chgrp "$(id -gn $user)" "$T/q/private" "$T/q/private/qmgr"
fi
"$SMTPD" -c "$T/conf" -s smtp -t inet -f -l "127.0.0.1:$PA" >"$T/smtpd_a.log" 2>&1 &
pids+=($!)
"$SMTPD" -c "$T/conf" -s submission -t inet -f -l "127.0.0.1:$PB" >"$T/smtpd_b.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$PA)).close(); socket.create_connection(('127.0.0.1',$PB)).close()" 2>/dev/null && break
	sleep 0.1
done
sleep 0.5
python3 - "$PA" "$PB" "$T" <<'PY'
import glob, os, smtplib, socket, sys, time
PA, PB, T = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % d))
    failed += not c
class S:
    def __init__(s, port, src):
        s.s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=10)
        s.f = s.s.makefile("rb"); s.banner = s.reply()
    def reply(s):
        l = s.f.readline().decode().rstrip("\r\n")
        while len(l) >= 4 and l[3] == "-":
            l = s.f.readline().decode().rstrip("\r\n")
        return l
    def cmd(s, l):
        s.s.sendall(l.encode() + b"\r\n"); return s.reply()
    def close(s):
        try: s.cmd("QUIT")
        except Exception: pass
        s.s.close()

# connection rate, one client over both ports (each closed again)
banners = []
for i in range(6):  # bounded
    x = S(PA if i % 2 == 0 else PB, "127.0.0.2")
    banners.append(x.banner)
    x.close()
    time.sleep(0.05)
ok(all(b.startswith("220") for b in banners[:4]), "connection rate: four connections over two ports served", banners)
ok(banners[4] == "421 4.7.0 mx.example Error: too many connections from 127.0.0.2",
   "connection rate: the fifth gets Postfix's 421", banners[4])
# concurrency across processes
a = S(PA, "127.0.0.5"); b = S(PB, "127.0.0.5"); c = S(PA, "127.0.0.5")
ok(a.banner.startswith("220") and b.banner.startswith("220"), "concurrency: two open sessions on two ports")
ok(c.banner == "421 4.7.0 mx.example Error: too many connections from 127.0.0.5",
   "concurrency: the third, on the first port, refused (counted across processes)", c.banner)
b.close(); time.sleep(0.2)
d = S(PB, "127.0.0.5")
ok(d.banner.startswith("220"), "concurrency: a closed session frees its slot", d.banner)
for x in (a, c, d): x.close()
# message rate
m = S(PA, "127.0.0.3"); m.cmd("EHLO c.example")
r = [m.cmd("MAIL FROM:<a@b.example>") for _ in range(1)] + [m.cmd("RSET"), m.cmd("MAIL FROM:<a@b.example>"), m.cmd("RSET"), m.cmd("MAIL FROM:<a@b.example>")]
ok(r[0].startswith("250") and r[2].startswith("250"), "message rate: two MAIL commands accepted", r)
ok(r[4] == "450 4.7.1 Error: too much mail from 127.0.0.3", "message rate: the third gets 450 4.7.1", r[4])
m.close()
# recipient rate
n = S(PB, "127.0.0.4"); n.cmd("EHLO c.example"); n.cmd("MAIL FROM:<a@b.example>")
rr = [n.cmd("RCPT TO:<root@mx.example>") for _ in range(4)]
ok(all(x.startswith("250") for x in rr[:3]), "recipient rate: three recipients accepted", rr)
ok(rr[3] == "450 4.7.1 Error: too many recipients from 127.0.0.4", "recipient rate: the fourth gets 450 4.7.1", rr[3])
n.close()
# mynetworks is exempt
bs = []
for i in range(6):
    x = S(PA, "127.0.0.1"); bs.append(x.banner); x.close()
ok(all(b.startswith("220") for b in bs), "mynetworks: exempt from the limits", bs)
# access(5) HOLD and DISCARD through the real qmgr
def files():
    return sorted(f for q in ("incoming", "active", "deferred", "hold")
                  for f in glob.glob("%s/q/%s/*" % (T, q)))
def send(rcpt):
    s = smtplib.SMTP("127.0.0.1", PA, timeout=20, source_address=("127.0.0.6", 0))
    s.ehlo("c.example"); s.mail("a@b.example"); s.rcpt(rcpt)
    code, text = s.data(b"Subject: t\r\n\r\nbody\r\n"); s.quit()
    return code, text.decode()
before = files()
code, text = send("gone@mx.example")
time.sleep(0.3)
ok(code == 250 and files() == before, "DISCARD: answered as queued, nothing kept", "%d %s %s" % (code, text, files()))
code, text = send("held@mx.example")
qid = text.split()[-1]
time.sleep(0.3)
ok(code == 250 and os.path.exists("%s/q/hold/%s" % (T, qid)), "HOLD: the message is in the hold queue", "%d %s %s" % (code, text, files()))
sys.exit(1 if failed else 0)
PY
rc=$?
cat "$T"/smtpd_*.log >"$T/all.log"
for w in "warning: Connection rate limit exceeded: 5 from unknown\[127.0.0.2\] for service" \
	"warning: Message delivery request rate limit exceeded: 3 from unknown\[127.0.0.3\] for service smtp" \
	"warning: Recipient address rate limit exceeded: 4 from unknown\[127.0.0.4\] for service submission" \
	"warning: Connection concurrency limit exceeded: 3 from unknown\[127.0.0.5\] for service smtp"; do
	if grep -q "$w" "$T/all.log"; then echo "ok - logged: ${w//\\/}"; else echo "not ok - logged: ${w//\\/}"; rc=1; fi
done
[ $rc = 0 ] || { sed 's/^/# /' "$T/all.log" | tail -20; sed 's/^/# q: /' "$T/qmgr.log" | tail -5; }
exit $rc
