#!/bin/bash
# smtpd_spf.sh - the real postfix-policyd-spf-python, configured as in
# seeds/001 (master.cf "policyd-spf unix - n n - 0 spawn
# user=policyd-spf argv=/usr/bin/policyd-spf", check_policy_service
# unix:private/policyd-spf, policyd-spf_time_limit = 3600s), behind
# postern's spawn daemon.  policyd-spf asks the resolver of
# /etc/resolv.conf, so the test runs in its own network and mount
# namespaces: only loopback, a test resolv.conf bind-mounted over
# /etc/resolv.conf (the real one is never touched), and unbound on
# 127.0.0.1:53 serving the SPF records of spf.example.  The client connects
# from 192.0.2.10 (added to the namespace's lo), since policyd-spf skips
# 127.0.0.0/8.  SPF fail gets 550 with policyd-spf's text, pass and
# softfail are accepted with its Received-SPF header prepended.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${SPF_INNER:-}" ]; then
	skip() { echo "ok 1 # skip $*"; exit 0; }
	[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
	for c in policyd-spf unbound unshare ip mount; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
	unshare --net --mount true 2>/dev/null || skip "cannot create network and mount namespaces here"
	exec unshare --net --mount --propagation private --fork env SPF_INNER=1 bash "$0" "$@"
fi

# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
# shellcheck source=tests/e2e/pipeline_lib.inc
. "$HERE/pipeline_lib.inc"

ip link set lo up || exit 1
ip addr add 192.0.2.10/32 dev lo || exit 1
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$PT_TMP/resolv.conf"
mount --bind "$PT_TMP/resolv.conf" /etc/resolv.conf || exit 1

# unbound on :53 of the namespace's loopback
Z="$PT_TMP/dns"
mkdir -p "$Z"
cat >"$Z/spf.example.zone" <<'EOF'
$ORIGIN spf.example.
$TTL 300
@	IN SOA ns.spf.example. hostmaster.spf.example. 1 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
pass	IN TXT "v=spf1 ip4:192.0.2.10 -all"
fail	IN TXT "v=spf1 ip4:192.0.2.99 -all"
soft	IN TXT "v=spf1 ip4:192.0.2.99 ~all"
EOF
cat >"$Z/unbound.conf" <<EOF
server:
	interface: 127.0.0.1
	port: 53
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$Z"
	pidfile: ""
	use-syslog: no
	logfile: "$Z/unbound.log"
	verbosity: 1
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	access-control: 192.0.2.0/24 allow
	module-config: "iterator"
	do-not-query-address: 0.0.0.0/0
	do-not-query-address: ::0/0
	num-threads: 1
remote-control:
	control-enable: no
auth-zone:
	name: "spf.example."
	zonefile: "$Z/spf.example.zone"
	for-downstream: yes
	for-upstream: no
	fallback-enabled: no
EOF
unbound -d -c "$Z/unbound.conf" >"$Z/unbound.out" 2>&1 &
UNBOUND=$!
trap 'kill $UNBOUND 2>/dev/null; pl_cleanup' EXIT
pl_wait 10 sh -c 'ss -Huan "sport = :53" | grep -q .' ||
	{ echo "not ok - unbound did not start"; cat "$Z/unbound.out" "$Z/unbound.log"; exit 1; }

pl_users RCPT || exit 1
PORT=$(pt_free_port)
pl_instance "$PORT"
cat >>"$D/main.cf" <<EOC
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
 check_policy_service unix:private/policyd-spf
policyd-spf_time_limit = 3600s
sleepy_time_limit = 2s
EOC
# one more spawn service, whose command outlives its time limit
echo "sleepy  unix  -  n  n  -  0  spawn user=nobody argv=/bin/sleep 30" >>"$D/master.cf"
echo "policyd-spf  unix  -       n       n       -       0       spawn user=policyd-spf argv=/usr/bin/policyd-spf" >>"$D/master.cf"

"$POSTERN" check -c "$D" >"$PT_TMP/check.out" 2>&1
pt_check "postern check accepts the seed's policyd-spf lines" \
	sh -c "! grep -i -E 'spawn|policyd-spf' '$PT_TMP/check.out'"
pt_start "$D" || { echo "not ok - postern start"; cat "$D/maillog"; exit 1; }
pt_wait_port "$PORT" 10 || { echo "not ok - smtpd listens"; exit 1; }
pt_check "private/policyd-spf socket exists" test -S "$D/queue/private/policyd-spf"
spawn_user() {
	local p users=""
	for p in $(pl_pids spawn); do users="$users $(ps -o user= -p "$p")"; done
	case " $users " in *" root "*) return 1 ;; *" policyd-spf "*) return 0 ;; esac
	return 1
}
pt_check "the spawn daemon runs as policyd-spf, not root" spawn_user

python3 - "$PORT" "$RCPT@postern-test.example" >"$PT_TMP/client.out" 2>&1 <<'PY'
import socket, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
class S:
    def __init__(self):
        self.s = socket.socket()
        self.s.bind(("192.0.2.10", 0))
        self.s.settimeout(30)
        self.s.connect(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
        self.reply()
    def reply(self):
        lines = []
        while True:
            l = self.f.readline().decode().rstrip("\r\n")
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return "\n".join(lines)
    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.reply()
for who in ("fail", "pass", "soft"):
    s = S()
    s.cmd("EHLO client.spf.example")
    s.cmd("MAIL FROM:<someone@%s.spf.example>" % who)
    r = s.cmd("RCPT TO:<%s>" % rcpt)
    print("%s RCPT %s" % (who, r))
    if r.startswith("250"):
        s.cmd("DATA")
        print("%s DATA %s" % (who, s.cmd("Subject: %s\r\n\r\nspf test %s\r\n." % (who, who))))
    s.cmd("QUIT")
PY
cat "$PT_TMP/client.out" | sed 's/^/# /'
R_FAIL=$(sed -n 's/^fail RCPT //p' "$PT_TMP/client.out")
pt_check "SPF fail: 550 5.7.23 with policyd-spf's text" \
	sh -c "printf '%s' \"\$1\" | grep -q '^550 5.7.23 <$RCPT@postern-test.example>: Recipient address rejected: Message rejected due to: SPF fail - not authorized'" _ "$R_FAIL"
pt_check "SPF pass: accepted" grep -q '^pass DATA 250' "$PT_TMP/client.out"
pt_check "SPF softfail: accepted (Mail_From_reject = Fail, the default)" grep -q '^soft DATA 250' "$PT_TMP/client.out"
pt_check "reject logged in Postfix's form" \
	grep -q "NOQUEUE: reject: RCPT from unknown\[192.0.2.10\]: 550 5.7.23 <$RCPT@postern-test.example>: Recipient address rejected: Message rejected due to: SPF fail - not authorized.*; from=<someone@fail.spf.example> to=<$RCPT@postern-test.example> proto=ESMTP helo=<client.spf.example>" "$D/maillog"

got_two() { [ "$(pl_maildir_files "$RCPT" | wc -l)" -ge 2 ]; }
pl_wait 20 got_two
files=$(pl_maildir_files "$RCPT")
pass_msg=$(grep -l 'spf test pass' $files 2>/dev/null | head -1)
soft_msg=$(grep -l 'spf test soft' $files 2>/dev/null | head -1)
pt_check "pass: Received-SPF: Pass header prepended by the policy's PREPEND" \
	sh -c "[ -n '$pass_msg' ] && grep -q '^Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.10;.*envelope-from=someone@pass.spf.example' '$pass_msg'"
pt_check "softfail: Received-SPF: Softfail header prepended" \
	sh -c "[ -n '$soft_msg' ] && grep -q '^Received-SPF: Softfail (mailfrom) identity=mailfrom; client-ip=192.0.2.10;' '$soft_msg'"
# shellcheck disable=SC2086
pt_check "the fail message was not delivered" sh -c '! grep -q "spf test fail" "$@" /dev/null' _ $files
pt_check "no spawn warnings for policyd-spf" sh -c "! grep -E 'spawn.*(warning|fatal|error).*policyd-spf' '$D/maillog'"
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.2)' "$D/queue/private/sleepy"
pt_check "a command past its \$name_time_limit is killed and logged" \
	pl_wait 8 grep -q 'spawn.*warning: command /bin/sleep: process id [0-9]*: command time limit exceeded' "$D/maillog"
pt_stop "$D" >/dev/null 2>&1
pl_wait 10 sh -c "! ss -Htln 'sport = :$PORT' | grep -q ."
echo "rootly  unix  -  n  n  -  0  spawn user=root argv=/bin/true" >>"$D/master.cf"
pt_check "a spawn service with user=root does not start" sh -c "! '$POSTERN' start -c '$D' >/dev/null 2>&1"
pt_check "user=root is refused and logged" \
	grep -q 'spawn.*fatal: service rootly: user=root: refusing to run a command with root privileges' "$D/maillog"
[ -n "$pass_msg" ] || sed 's/^/# /' "$D/maillog" | tail -30
pt_done
