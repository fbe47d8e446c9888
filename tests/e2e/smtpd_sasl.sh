#!/bin/bash
# smtpd_sasl.sh - SMTP AUTH end to end, under master with the real
# daemons and real SASL peers on loopback:
#   - Cyrus libsasl2 with a sasldb made by saslpasswd2 (PLAIN, LOGIN,
#     CRAM-MD5; swaks and Python smtplib as clients);
#   - Cyrus with pwcheck_method: saslauthd, a private saslauthd (-a
#     sasldb, our sasldb bind-mounted over /etc/sasldb2 in a private
#     mount namespace only it sees; skipped where unshare is not allowed);
#   - a real Dovecot auth service (dovecot -c TMPCONF, passwd-file, the
#     socket in the queue's private/auth), asynchronous: a session waiting
#     for Dovecot's failure delay does not stall another one.
# Negative: wrong passwords (535, the exact warning line, matched by
# fail2ban-regex with Debian's stock postfix filter), bad base64, '*'
# abort, over-long responses, AUTH in a transaction, AUTH twice, the
# hard error limit, smtpd_tls_auth_only on a plaintext connection.
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] || exit 1
for t in saslpasswd2 swaks python3; do
	command -v "$t" >/dev/null || {
		pt_skip "$t not installed (sh tools/deps.sh)"
		pt_done
	}
done
if [ ! -x "$BUILD/libexec/smtpd" ] || [ ! -x "$BUILD/libexec/qmgr" ]; then
	pt_skip "no smtpd/qmgr in $BUILD"
	pt_done
fi

d=$PT_TMP/i
P1=$(pt_free_port) # cyrus sasldb
P2=$(pt_free_port) # cyrus, smtpd_tls_auth_only = yes
P3=$(pt_free_port) # dovecot
P4=$(pt_free_port) # cyrus via saslauthd
P5=$(pt_free_port) # noplaintext + broken_sasl_auth_clients
P6=$(pt_free_port) # cyrus sasldb, chrooted smtpd
pt_instance "$d" "$P1"
mkdir -p "$d/mail" "$d/sasl" "$d/mux"
chmod 1777 "$d/mail"
chmod 755 "$d/sasl"

# Cyrus: the application name is smtpd_sasl_path, its file $name.conf in
# cyrus_sasl_config_path.
cat >"$d/sasl/smtpd.conf" <<EOC
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN CRAM-MD5
sasldb_path: $d/sasl/sasldb2
EOC
cat >"$d/sasl/saslauthd.conf" <<EOC
pwcheck_method: saslauthd
saslauthd_path: $d/mux/mux
mech_list: PLAIN LOGIN
EOC
echo 'secret' | saslpasswd2 -c -p -f "$d/sasl/sasldb2" -u postern-test.example alice
# smtpd checks as network_user: the sasldb must be readable by it.
chmod 644 "$d/sasl/sasldb2"
# Chrooted, the sasldb is opened inside queue_directory: the path in the
# .conf is seen from there.
cat >"$d/sasl/chroot.conf" <<EOC
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: /etc/sasldb2
EOC
mkdir -p "$d/queue/etc"
cp "$d/sasl/sasldb2" "$d/queue/etc/sasldb2"

cat >>"$d/main.cf" <<EOC
syslog_name = postfix
mydestination = localhost, \$myhostname
mail_spool_directory = $d/mail
mynetworks = 192.0.2.0/24
smtpd_sasl_auth_enable = yes
cyrus_sasl_config_path = $d/sasl
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_authenticated_header = yes
smtpd_hard_error_limit = 5
smtpd_soft_error_limit = 100
smtpd_error_sleep_time = 0
EOC
cat >>"$d/master.cf" <<EOC
127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_tls_auth_only=yes
127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=private/auth
127.0.0.1:$P4 inet n - n - - smtpd -o smtpd_sasl_path=saslauthd -o smtpd_sasl_local_domain=postern-test.example
127.0.0.1:$P5 inet n - n - - smtpd -o smtpd_sasl_security_options=noanonymous,noplaintext -o broken_sasl_auth_clients=yes
127.0.0.1:$P6 inet n - y - - smtpd -o smtpd_sasl_path=chroot
EOC

# Dovecot: only the auth service, its socket in our queue.
dv=$PT_TMP/dovecot
dvpid=""
if command -v dovecot >/dev/null; then
	mkdir -p "$dv/run" "$dv/state" "$d/queue/private"
	# As master makes it (mail_owner, network_user's group, 0710).
	if [ "$(id -u)" = 0 ]; then
		chown postern:postern-net "$d/queue/private" && chmod 0710 "$d/queue/private"
	fi
	cat >"$dv/dovecot.conf" <<EOC
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 2 secs
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dv/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener $d/queue/private/auth {
    mode = 0666
  }
}
EOC
	echo 'carol:{PLAIN}s3cret' >"$dv/users"
	chmod 644 "$dv/users"
	if dovecot -c "$dv/dovecot.conf" 2>"$dv/start.err"; then
		for _ in $(seq 50); do [ -S "$d/queue/private/auth" ] && break; sleep 0.1; done
		dvpid=$(cat "$dv/run/master.pid" 2>/dev/null)
	fi
fi

# saslauthd: -a sasldb reads only /etc/sasldb2; give it ours there in a
# mount namespace of its own (nothing outside it changes).
sapid=""
if [ "$(id -u)" = 0 ] && command -v saslauthd >/dev/null && [ -e /etc/sasldb2 ] &&
	unshare --mount --propagation private true 2>/dev/null; then
	# setsid: on SIGTERM saslauthd signals its whole process group.
	setsid unshare --mount --propagation private sh -c \
		"mount --bind '$d/sasl/sasldb2' /etc/sasldb2 && exec saslauthd -a sasldb -m '$d/mux' -n 0 -d" \
		>"$PT_TMP/saslauthd.log" 2>&1 &
	sapid=$!
	for _ in $(seq 50); do [ -S "$d/mux/mux" ] && break; sleep 0.1; done
	chmod 755 "$d/mux"
fi
stop_peers() {
	local p
	for p in $dvpid $sapid; do
		kill "$p" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	true
}
trap 'stop_peers; pt_cleanup' EXIT

out=$(pt_start "$d" 2>&1)
pt_check "instance starts ($out)" test $? -eq 0
for p in $P1 $P2 $P3 $P4 $P5 $P6; do pt_wait_port "$p" 10; done

# --- Cyrus sasldb ----------------------------------------------------
sw() { swaks --server "127.0.0.1:$1" --timeout 30 "${@:2}" 2>&1; }
o=$(sw "$P1" --quit-after EHLO)
pt_check "EHLO offers AUTH PLAIN LOGIN CRAM-MD5" grep -q '250-AUTH PLAIN LOGIN CRAM-MD5' <<<"$o"
o=$(sw "$P1" --auth PLAIN --auth-user alice --auth-password secret \
	--from alice@postern-test.example --to nobody@postern-test.example \
	--header 'Subject: sasl-plain-test')
pt_check "swaks --auth PLAIN: 235 and the message is queued" \
	bash -c 'grep -q "235 2.7.0 Authentication successful" <<<"$1" && grep -q "queued as" <<<"$1"' _ "$o"
o=$(sw "$P1" --auth LOGIN --auth-user alice --auth-password secret --to bob@elsewhere.example --quit-after RCPT)
pt_check "swaks --auth LOGIN: 235, then relaying is permitted (permit_sasl_authenticated)" \
	bash -c 'grep -q "^<-  235 2.7.0" <<<"$1" && grep -q "^<-  250 2.1.5" <<<"$1"' _ "$o"
o=$(sw "$P1" --to bob@elsewhere.example --quit-after RCPT)
pt_check "without AUTH the same relay is refused" grep -q '554 5.7.1 <bob@elsewhere.example>: Relay access denied' <<<"$o"

python3 - "$P1" "$P2" "$P5" <<'PY' || PT_FAILED=$((PT_FAILED + 1))
import base64, smtplib, socket, sys, time
p1, p2, p5 = (int(a) for a in sys.argv[1:4])
import atexit, os
failed = []
def ok(c, name, d=""):
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%r)" % (d,)))
    if not c:
        failed.append(name)
atexit.register(lambda: os._exit(1) if failed else None)
for mech in ("CRAM-MD5", "PLAIN", "LOGIN"):
    s = smtplib.SMTP("127.0.0.1", p1, local_hostname="client.example", timeout=30)
    s.ehlo()
    s.user, s.password = "alice", "secret"
    code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))
    ok(code == 235, "smtplib AUTH %s as alice" % mech, (code, resp))
    s.quit()
class C:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")
        self.f.readline()
    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        r = []
        while True:
            l = self.f.readline()
            r.append(l.decode("latin-1").rstrip("\r\n"))
            if l[3:4] != b"-":
                return r
c = C(p1)
c.cmd(b"EHLO x")
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA=")
ok(r[-1] == "501 5.5.2 Invalid base64 data in initial response", "bad base64 (4n+3 length) gets 501 5.5.2", r)
r = c.cmd(b"AUTH PLAIN AGFsaWNl*HNlY3JldA==")
ok(r[-1] == "501 5.5.2 Invalid base64 data in initial response", "bad base64 character gets 501 5.5.2", r)
r = c.cmd(b"AUTH PLAIN")
ok(r[-1] == "334 ", "AUTH PLAIN without initial response gets an empty 334", r)
r = c.cmd(b"*")
ok(r[-1] == "501 5.7.0 Authentication aborted", "'*' aborts with 501 5.7.0", r)
r = c.cmd(b"AUTH LOGIN")
r = c.cmd(b"YWxpY2U=")
ok(r[-1] == "334 UGFzc3dvcmQ6", "LOGIN asks for the password", r)
r = c.cmd(b"!!!!")
ok(r[-1] == "501 5.5.2 Invalid base64 data in continued response", "bad base64 in a response gets 501 5.5.2", r)
r = c.cmd(b"AUTH PLAIN")
r = c.cmd(b"QUFB" * 4000)
ok(r[-1] == "500 5.5.6 SASL response limit exceeded", "a response over smtpd_sasl_response_limit gets 500 5.5.6", r)
c.cmd(b"QUIT")
c = C(p1)
c.cmd(b"EHLO x")
r = c.cmd(b"AUTH PLAIN")
r = c.cmd(b"*")
ok(r[-1] == "501 5.7.0 Authentication aborted", "'*' aborts (again)", r)
r = c.cmd(b"AUTH LOGIN")
ok(r[-1] == "334 VXNlcm5hbWU6", "a new AUTH after aborted ones starts clean", r)
r = c.cmd(b"YWxpY2U=")
r = c.cmd(base64.b64encode(b"secret"))
ok(r[-1] == "235 2.7.0 Authentication successful", "... and succeeds", r)
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1] == "503 5.5.1 Error: already authenticated", "a second AUTH gets 503", r)
c.cmd(b"QUIT")
c = C(p1)
c.cmd(b"EHLO x")
c.cmd(b"MAIL FROM:<a@b.example>")
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1] == "503 5.5.1 Error: MAIL transaction in progress", "AUTH inside a transaction gets 503", r)
c.cmd(b"QUIT")
c = C(p1)
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1].startswith("503 5.5.1"), "AUTH before EHLO gets 503", r)
c.cmd(b"EHLO x")
r = c.cmd(b"AUTH PLAIN " + b"QUFB" * 600)
ok(r[-1] == "500 5.5.2 Error: line too long", "an AUTH command over the line limit gets 500", r)
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1] == "235 2.7.0 Authentication successful", "... and the session goes on", r)
c.cmd(b"QUIT")
# Failures: 535, a growing delay, the hard error limit (5) ends the session.
c = C(p1)
c.cmd(b"EHLO x")
t = []
for i in range(4):
    t0 = time.time()
    r = c.cmd(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong"))
    t.append(time.time() - t0)
    ok(r[-1] == "535 5.7.8 Error: authentication failed: authentication failure", "wrong password %d: 535 5.7.8" % (i + 1), r)
ok(t[0] >= 0.9 and t[1] >= 1.9 and t[2] >= 3.9, "the delay grows: 1, 2, 4 s", t)
r = c.cmd(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong"))
r.append(c.f.readline().decode().rstrip("\r\n"))
ok(r[0].startswith("535 5.7.8") and r[1].startswith("421 4.7.0") and "too many errors" in r[1], "the 5th error ends the session (smtpd_hard_error_limit)", r)
# smtpd_tls_auth_only on a plaintext connection.
c = C(p2)
r = c.cmd(b"EHLO x")
ok(not any(l[4:].startswith("AUTH") for l in r), "smtpd_tls_auth_only: no AUTH in EHLO without TLS", r)
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1] == "503 5.5.1 Error: authentication not enabled", "... and AUTH is refused with 503", r)
c.cmd(b"QUIT")
# Security options and broken clients.
c = C(p5)
r = c.cmd(b"EHLO x")
ok("250-AUTH CRAM-MD5" in r and "250-AUTH=CRAM-MD5" in r, "noplaintext leaves CRAM-MD5, announced twice for broken clients", r)
r = c.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==")
ok(r[-1].startswith("535 5.7.8") and "Invalid authentication mechanism" in r[-1], "a filtered mechanism is refused", r)
c.cmd(b"QUIT")
PY

if [ "$(id -u)" = 0 ]; then
	o=$(sw "$P6" --auth PLAIN --auth-user alice --auth-password secret --quit-after AUTH)
	pt_check "chrooted smtpd: Cyrus sasldb inside queue_directory" grep -q "^<-  235 2.7.0" <<<"$o"
fi

# --- Dovecot ---------------------------------------------------------
if [ -n "$dvpid" ]; then
	o=$(sw "$P3" --auth PLAIN --auth-user carol --auth-password s3cret --to bob@elsewhere.example --quit-after RCPT)
	pt_check "dovecot: swaks --auth PLAIN, relay permitted" \
		bash -c 'grep -q "^<-  235 2.7.0" <<<"$1" && grep -q "^<-  250 2.1.5" <<<"$1"' _ "$o"
	o=$(sw "$P3" --auth LOGIN --auth-user carol --auth-password s3cret --quit-after AUTH)
	pt_check "dovecot: swaks --auth LOGIN" grep -q "^<-  235 2.7.0" <<<"$o"
	python3 - "$P3" <<'PY' || PT_FAILED=$((PT_FAILED + 1))
import base64, smtplib, socket, sys, threading, time
port = int(sys.argv[1])
import atexit, os
failed = []
def ok(c, name, d=""):
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%r)" % (d,)))
    if not c:
        failed.append(name)
atexit.register(lambda: os._exit(1) if failed else None)
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo()
code, resp = s.login("carol", "s3cret")
ok(code == 235, "dovecot: smtplib login", (code, resp))
s.quit()
# A failure waits for Dovecot's auth_failure_delay (2 s); meanwhile
# another session of the same smtpd process is served at once.
res = {}
def bad():
    c = smtplib.SMTP("127.0.0.1", port, timeout=30)
    c.ehlo()
    try:
        c.login("carol", "wrong")
    except smtplib.SMTPAuthenticationError as e:
        res["bad"] = (e.smtp_code, e.smtp_error)
    res["bad_t"] = time.time()
t0 = time.time()
th = threading.Thread(target=bad)
th.start()
time.sleep(0.3)
c = smtplib.SMTP("127.0.0.1", port, timeout=30)
c.ehlo()
code, _ = c.login("carol", "s3cret")
t_good = time.time()
c.quit()
th.join()
ok(res.get("bad", (0,))[0] == 535, "dovecot: wrong password gets 535", res)
ok(t_good < res.get("bad_t", 0), "dovecot: a slow failure does not stall another session", (t_good - t0, res.get("bad_t", 0) - t0))
# A client that leaves while its request waits at Dovecot: the late
# answer finds no session, and smtpd goes on.
c = socket.create_connection(("127.0.0.1", port), timeout=10)
c.recv(1000)
c.sendall(b"EHLO x\r\nAUTH PLAIN " + base64.b64encode(b"\0carol\0wrong") + b"\r\n")
time.sleep(0.3)
c.close()
time.sleep(2.5)
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo()
code, _ = s.login("carol", "s3cret")
ok(code == 235, "dovecot: after a client left mid-request, the next login works", code)
s.quit()
PY
	# Dovecot goes away: AUTH gets 454, EHLO still offers the mechanisms.
	# Its auth process serves our open connection until it exits too.
	kids=$(ps --ppid "$dvpid" -o pid= | tr -d ' ')
	kill "$dvpid" $kids 2>/dev/null
	for p in $dvpid $kids; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	dvpid=""
	o=$(sw "$P3" --auth PLAIN --auth-user carol --auth-password s3cret --quit-after AUTH)
	pt_check "dovecot gone: 454 4.7.0 Temporary authentication failure" \
		grep -q "454 4.7.0 Temporary authentication failure" <<<"$o"
	pt_check "... and EHLO still offers AUTH" grep -q "250-AUTH PLAIN LOGIN" <<<"$o"
else
	pt_skip "dovecot auth service did not start ($(cat "$dv/start.err" 2>/dev/null))"
fi

# --- saslauthd -------------------------------------------------------
if [ -n "$sapid" ] && [ -S "$d/mux/mux" ]; then
	o=$(sw "$P4" --auth PLAIN --auth-user alice --auth-password secret --quit-after AUTH)
	pt_check "saslauthd: swaks --auth PLAIN" grep -q "^<-  235 2.7.0" <<<"$o"
	o=$(sw "$P4" --auth LOGIN --auth-user alice --auth-password wrong --quit-after AUTH)
	pt_check "saslauthd: wrong password gets 535" grep -q "535 5.7.8" <<<"$o"
else
	pt_skip "saslauthd: no private mount namespace here"
fi

# --- logs ------------------------------------------------------------
sleep 1
log=$d/maillog
pt_check "client= line carries sasl_method and sasl_username" \
	grep -qE 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=[^[]*\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice$' "$log"
pt_check "the failure is logged as Postfix does" \
	grep -qE 'postfix/smtpd\[[0-9]+\]: warning: [^[]*\[127\.0\.0\.1\]: SASL PLAIN authentication failed: authentication failure, sasl_username=alice$' "$log"
pt_check "'*' is logged as an aborted exchange" \
	grep -qE 'warning: [^[]*\[127\.0\.0\.1\]: SASL PLAIN authentication aborted' "$log"
mbox=$d/mail/nobody
for _ in $(seq 50); do [ -s "$mbox" ] && break; sleep 0.1; done
pt_check "Received: says (Authenticated sender: alice) and ESMTPA" \
	bash -c 'grep -A2 "^Received: from" "$1" | grep -q "(Authenticated sender: alice)" &&
		grep -A3 "^Received: from" "$1" | grep -q "with ESMTPA id"' _ "$mbox"
if command -v fail2ban-regex >/dev/null && [ -f /etc/fail2ban/filter.d/postfix.conf ]; then
	# Only the wrong-password lines: every one must match.
	grep 'authentication failed: authentication failure' "$log" >"$PT_TMP/fail.log"
	want=$(wc -l <"$PT_TMP/fail.log")
	f2b='/etc/fail2ban/filter.d/postfix.conf[mode=auth]'
	o=$(fail2ban-regex "$PT_TMP/fail.log" "$f2b" 2>&1)
	n=$(sed -n 's/^|   1) \[\([0-9]*\)\].*/\1/p' <<<"$o" | head -1)
	pt_check "fail2ban-regex (stock postfix filter, mode=auth) matches all $want failure lines (${n:-none})" \
		test "$want" -ge 5 -a "${n:-0}" = "$want"
	ips=$(fail2ban-regex -o ip "$PT_TMP/fail.log" "$f2b" 2>&1 | sort -u)
	pt_check "... and bans the client address ($ips)" test "$ips" = 127.0.0.1
else
	pt_skip "fail2ban not installed"
fi
pt_stop "$d" >/dev/null 2>&1
pt_done
