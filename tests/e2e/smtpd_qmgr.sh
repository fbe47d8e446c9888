#!/bin/bash
# smtpd_qmgr.sh - smtpd against the real queue manager (both started by
# hand, no master): a message received over SMTP is committed by qmgr
# under the ID smtpd announced; an abandoned transaction leaves nothing
# in tmp/.  Skipped while the build has no qmgr.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
QMGR="$TOP/$BUILD/libexec/qmgr"
if [ ! -x "$QMGR" ]; then echo "ok - skipped: no qmgr in $BUILD"; exit 0; fi
T=$(mktemp -d /tmp/postern-smtpdq.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then user=nobody; else user=$(id -un); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
smtpd_peername_lookup = no
EOT
: >"$T/conf/master.cf"
"$QMGR" -c "$T/conf" -f >"$T/qmgr.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'queue manager started' "$T/qmgr.log" && break; sleep 0.1; done
if [ "$(id -u)" = 0 ]; then
	# Started by hand qmgr leaves private/ to root's group; master gives
	# it network_user's group (docs/architecture.md).  Do what master does.
	chgrp "$(id -gn $user)" "$T/q/private" "$T/q/private/qmgr"
fi
"$SMTPD" -c "$T/conf" -s smtp -t inet -f -l "127.0.0.1:$port" >"$T/smtpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$port)).close()" 2>/dev/null && break
	sleep 0.1
done
rc=0
python3 - "$port" "$T" <<'PY' || rc=1
import os, re, smtplib, socket, sys, time
port, T = int(sys.argv[1]), sys.argv[2]
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % d))
    failed += not c
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=30)
code, resp = s.ehlo()
s.mail("a@b.example")
code1, r1 = s.rcpt("root@mx.example")
code2, r2 = s.rcpt("x@elsewhere.example")
code, resp = s.data(b"Subject: via qmgr\r\nMessage-ID: <q1@b.example>\r\n\r\nbody\r\n")
s.quit()
m = re.match(rb"2\.0\.0 Ok: queued as (\w+)$", resp)
ok(code == 250 and m, "qmgr commits: 250 2.0.0 Ok: queued as ID", resp)
qid = m.group(1).decode() if m else "none"
time.sleep(1)
log = open(os.path.join(T, "qmgr.log")).read()
ok(re.search(r"%s: from=<a@b\.example>, size=\d+, nrcpt=2" % qid, log), "qmgr logs the message under smtpd's ID", log[-500:])
found = [d for d in ("incoming", "active", "deferred") if os.path.exists(os.path.join(T, "q", d, qid))]
ok(found or "to=<root@mx.example>" in log, "message is in the queue, not in tmp", found)
# An abandoned transaction: RSET after RCPT, then QUIT.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
f.readline()
s.sendall(b"HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<root@mx.example>\r\nRSET\r\nQUIT\r\n")
replies = [f.readline() for _ in range(5)]
ok(replies[2].startswith(b"250 2.1.5") and replies[3].startswith(b"250 2.0.0"), "RSET after RCPT", replies)
s.close()
time.sleep(0.5)
ok(os.listdir(os.path.join(T, "q", "tmp")) == [], "abandoned transaction leaves nothing in tmp/")
sys.exit(1 if failed else 0)
PY
if [ $rc -ne 0 ]; then tail -20 "$T/smtpd.log" "$T/qmgr.log" | sed 's/^/# /'; fi
exit $rc
