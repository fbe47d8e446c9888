#!/bin/bash
# smtpd_postgrey.sh - check_policy_service with the real postgrey
# (Debian package postgrey), started privately on a loopback port with
# its own database directory: the first attempt is greylisted (450 4.2.0
# as postgrey asks), a retry after the delay is accepted and the message
# carries postgrey's X-Greylist header (a PREPEND action).
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
if ! command -v postgrey >/dev/null; then echo "ok - skipped: postgrey is not installed"; exit 0; fi
T=$(mktemp -d /tmp/postern-pgrey.XXXXXX)
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
PS=$(free_port); PG=$(free_port)
mkdir -p "$T/sc" "$T/sq" "$T/pg"
pguser=$(id -un)
if [ "$(id -u)" = 0 ]; then
	pguser=nobody
	getent passwd postgrey >/dev/null && pguser=postgrey
	chown "$pguser" "$T/pg"
fi
postgrey --inet="127.0.0.1:$PG" --dbdir="$T/pg" --delay=2 --user="$pguser" \
	--group="$(id -gn "$pguser")" --pidfile="$T/pg.pid" >"$T/postgrey.log" 2>&1 &
pids+=($!)
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
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
  check_policy_service inet:127.0.0.1:$PG
EOT
echo "smtp inet n - n - - smtpd" >"$T/sc/master.cf"
python3 "$HERE/smtpd_peer.py" "$T/sq" >"$T/peer.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/sq/private/qmgr" ] && break; sleep 0.1; done
chmod 755 "$T/sq" "$T/sq/private"
"$SMTPD" -c "$T/sc" -s smtp -t inet -f -l "127.0.0.1:$PS" >"$T/smtpd.log" 2>&1 &
pids+=($!)
up=no
for _ in $(seq 150); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$PS)).close(); socket.create_connection(('127.0.0.1',$PG)).close()" 2>/dev/null && { up=yes; break; }
	sleep 0.1
done
if [ $up = no ]; then echo "ok - skipped: postgrey did not start ($(tail -1 "$T/postgrey.log"))"; exit 0; fi
python3 - "$PS" "$T" <<'PY'
import glob, smtplib, sys, time
PS, T = int(sys.argv[1]), sys.argv[2]
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % d))
    failed += not c
def attempt():
    s = smtplib.SMTP("127.0.0.1", PS, local_hostname="client.example", timeout=30,
                     source_address=("127.0.0.2", 0))
    s.ehlo("client.example")
    s.mail("someone@sender.example")
    code, text = s.rcpt("root@mx.example")
    res = (code, text.decode())
    if code == 250:
        s.data(b"Subject: hello\r\n\r\ngreylisted once\r\n")
    s.quit()
    return res
code, text = attempt()
ok(code == 450 and text.startswith("4.2.0 <root@mx.example>: Recipient address rejected: Greylisted"),
   "postgrey: first attempt greylisted (450 4.2.0)", "%d %s" % (code, text))
code, text = attempt()
ok(code == 450, "postgrey: an early retry is still greylisted", "%d %s" % (code, text))
time.sleep(3)
code, text = attempt()
ok(code == 250, "postgrey: retry after the delay accepted", "%d %s" % (code, text))
msgs = [f for f in glob.glob(T + "/sq/incoming/*") if not f.endswith(".env")]
body = open(msgs[0]).read() if msgs else ""
ok(len(msgs) == 1 and body.startswith("X-Greylist: delayed "), "postgrey's PREPEND X-Greylist header is in the message", body[:200])
sys.exit(1 if failed else 0)
PY
rc=$?
grep -q "reject: RCPT from unknown\[127.0.0.2\]: 450 4.2.0 <root@mx.example>: Recipient address rejected: Greylisted" "$T/smtpd.log" &&
	echo "ok - greylisting logged as Postfix does" || { echo "not ok - greylisting logged"; rc=1; }
[ $rc = 0 ] || { sed 's/^/# /' "$T/smtpd.log" | tail; sed 's/^/# pg: /' "$T/postgrey.log" | tail -5; }
exit $rc
