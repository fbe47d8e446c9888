#!/bin/bash
# smtpd_receive.sh - end-to-end tests of smtpd with real clients (Python
# smtplib and raw sockets, swaks when installed) against a running smtpd
# and a qmgr peer: tests/e2e/smtpd_peer.py speaks qmgr's side of the
# receive exchange until the real qmgr is used here.  Prints "ok"/"not ok"
# lines; exits non-zero on any failure.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
T=$(mktemp -d /tmp/postern-smtpd.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$SMTPD" ]; then echo "not ok - $SMTPD missing"; exit 1; fi

free_port() {
	python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        s.close()
PY
}

# main instance (A): mynetworks = 127.0.0.1 only; 127.0.0.2 is an outsider.
# cap instance (B): maxproc 3, connection count limit 2, short timeout,
# error limits, and a queue peer that refuses every message (452 4.3.1).
PA=$(free_port); PB=$(free_port)
for i in A B; do mkdir -p "$T/$i/conf" "$T/$i/q"; chmod 755 "$T/$i" "$T/$i/q"; done
user=nobody
common() { # queue dir
	cat <<EOT
compatibility_level = 3.6
queue_directory = $1
myhostname = mx.example
mydomain = example
mydestination = \$myhostname, localhost.\$mydomain, localhost
mynetworks = 127.0.0.1/32
alias_maps =
local_recipient_maps = proxy:unix:passwd.byname inline:{ alias-only@mx.example=x }
network_user = $user
smtpd_peername_lookup = no
recipient_delimiter = +
EOT
}
{ common "$T/A/q"; echo "message_size_limit = 30000000"; echo "smtpd_error_sleep_time = 0"; } >"$T/A/conf/main.cf"
echo "smtp inet n - y - 600 smtpd" >"$T/A/conf/master.cf" # chrooted when root
{ common "$T/B/q"; cat <<EOT
smtpd_client_connection_count_limit = 2
smtpd_timeout = 3s
smtpd_soft_error_limit = 2
smtpd_hard_error_limit = 4
smtpd_error_sleep_time = 1s
EOT
} >"$T/B/conf/main.cf"
printf 'smtp inet n - n - 3 smtpd\n  -o smtpd_helo_required=yes\n' >"$T/B/conf/master.cf"

python3 "$HERE/smtpd_peer.py" "$T/A/q" >"$T/peerA.log" 2>&1 &
pids+=($!)
FAIL_NEW="4.3.1 Insufficient system storage" python3 "$HERE/smtpd_peer.py" "$T/B/q" >"$T/peerB.log" 2>&1 &
pids+=($!)
for i in $(seq 50); do [ -S "$T/A/q/private/qmgr" ] && [ -S "$T/B/q/private/qmgr" ] && break; sleep 0.1; done
chmod 755 "$T/A/q/private" "$T/B/q/private"

"$SMTPD" -c "$T/A/conf" -s smtp -t inet -f -l "127.0.0.1:$PA" >"$T/A.log" 2>&1 &
pids+=($!); PIDA=$!
"$SMTPD" -c "$T/B/conf" -s smtp -t inet -f -l "127.0.0.1:$PB" >"$T/B.log" 2>&1 &
pids+=($!)
for i in $(seq 50); do
	python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PA)).close(); socket.create_connection(('127.0.0.1',$PB)).close()" 2>/dev/null && break
	sleep 0.1
done

python3 "$HERE/smtpd_tests.py" "$PA" "$PB" "$T/A/q/incoming" "$T/A.log" "$T/B.log" "$PIDA"
rc=$?

# Privileges: started as root, smtpd must run as network_user.
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$PIDA/status")
	if [ "$uid" = "$(id -u $user)" ]; then echo "ok - smtpd runs as $user (uid $uid)"
	else echo "not ok - smtpd runs as uid $uid, not $user"; rc=1; fi
	root=$(readlink "/proc/$PIDA/root")
	if [ "$root" = "$T/A/q" ]; then echo "ok - smtpd is chrooted to queue_directory"
	else echo "not ok - smtpd root is $root, not $T/A/q"; rc=1; fi
	if grep -q '^CapEff:[[:space:]]*0*$' "/proc/$PIDA/status"; then echo "ok - smtpd has no effective capabilities"
	else echo "not ok - smtpd keeps capabilities: $(grep CapEff /proc/$PIDA/status)"; rc=1; fi
else
	echo "ok - skipped: privilege drop check needs root"
fi

# swaks, when installed: a plain delivery through a real client.
if command -v swaks >/dev/null; then
	n0=$(ls "$T/A/q/incoming" | grep -vc env)
	if swaks --server "127.0.0.1:$PA" --from a@b.example --to root@mx.example --helo swaks.example \
		--header "Subject: swaks" >"$T/swaks.log" 2>&1 &&
		grep -q "250 2.0.0 Ok: queued as" "$T/swaks.log" &&
		[ "$(ls "$T/A/q/incoming" | grep -vc env)" = $((n0 + 1)) ]; then
		echo "ok - swaks delivers one message"
	else
		echo "not ok - swaks"; tail -5 "$T/swaks.log"; rc=1
	fi
else
	echo "ok - skipped: swaks not installed"
fi
# SIGTERM: a client in mid-transaction gets 421, nothing is queued.
n0=$(ls "$T/A/q/incoming" | grep -vc env)
out=$(python3 - "$PA" "$PIDA" <<'PY'
import os, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
f.readline()
s.sendall(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<root@mx.example>\r\nDATA\r\npartial\r\n")
for _ in range(4):
    f.readline()
os.kill(int(sys.argv[2]), signal.SIGTERM)
print(f.readline().decode().strip())
PY
)
sleep 0.5
if [ "$out" = "421 4.3.2 mx.example Service shutting down" ] && [ "$(ls "$T/A/q/incoming" | grep -vc env)" = "$n0" ] &&
	[ -z "$(ls "$T/A/q/tmp")" ] && ! kill -0 "$PIDA" 2>/dev/null; then
	echo "ok - SIGTERM: 421 to a client in DATA, nothing queued, smtpd exits"
else
	echo "not ok - SIGTERM: got '$out'"; rc=1
fi

if [ $rc -ne 0 ]; then
	echo "# smtpd A log:"; tail -20 "$T/A.log" | sed 's/^/# /'
	echo "# smtpd B log:"; tail -20 "$T/B.log" | sed 's/^/# /'
	echo "# peer:"; tail -5 "$T/peerA.log" | sed 's/^/# /'
fi
exit $rc
