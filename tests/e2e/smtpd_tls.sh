#!/bin/bash
# smtpd_tls.sh - the SMTP server's TLS with real peers on loopback, under
# a real master (so master.cf "-o" overrides, the privilege drop with a
# root-only key and chroot are the production path): STARTTLS with openssl s_client, swaks and Python
# smtplib; wrapper mode (465 style) with swaks --tlsc; smtpd_tls_security
# _level=encrypt (530 before STARTTLS); STARTTLS injection; STARTTLS twice
# and with arguments; state reset after the handshake; handshake garbage;
# a stalled handshake that times out while another session works; client
# certificates accepted by fingerprint (relay_clientcerts +
# permit_tls_clientcerts), Trusted/Untrusted by smtpd_tls_CAfile; the log
# line and the Received: header; a reload picks up a renewed certificate
# while an open session carries on; testssl.sh (when installed) finds no
# weak protocol or cipher with the defaults.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
tmp=$PT_TMP
[ -n "$tmp" ] || exit 1
D="$tmp/inst"
P1=$(pt_free_port) P2=$(pt_free_port) P3=$(pt_free_port) P4=$(pt_free_port)
[ -n "$P1" ] && [ -n "$P2" ] && [ -n "$P3" ] && [ -n "$P4" ] || exit 1

# A test CA, a server certificate, a client certificate it signed and a
# self-signed one.  The server key is root's, mode 0600: smtpd can only
# read it before it drops privileges.
C="$tmp/pki"
mkdir -p "$C"
(
	cd "$C" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=Test CA" &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=mx.example" &&
	printf 'subjectAltName=DNS:mx.example\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 30 -extfile srv.ext &&
	openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj "/CN=client.example" &&
	printf 'extendedKeyUsage=clientAuth\n' >cli.ext &&
	openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 30 -extfile cli.ext &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 30 -subj "/CN=selfsigned.example"
) >"$tmp/pki.log" 2>&1 || { pt_fail "make test certificates"; cat "$tmp/pki.log"; pt_done; }
cat "$C/srv.key" "$C/srv.pem" "$C/ca.pem" >"$C/chain.pem"
chmod 600 "$C/srv.key" "$C/chain.pem"
chmod 644 "$C"/cli.key "$C"/self.key
selffp=$(openssl x509 -in "$C/self.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
printf '%s self-signed client\n' "$selffp" >"$tmp/ccerts"

pt_instance "$D"
cat >>"$D/main.cf" <<EOT
compatibility_level = 3.6
myhostname = mx.example
mydestination = mx.example, localhost
mynetworks = 127.0.0.2/32
smtpd_peername_lookup = no
smtpd_tls_cert_file = $C/srv.pem
smtpd_tls_key_file = $C/srv.key
smtpd_tls_CAfile = $C/ca.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
relay_clientcerts = texthash:$tmp/ccerts
EOT
cat >>"$D/master.cf" <<EOT
127.0.0.1:$P1 inet n - y - - smtpd
127.0.0.1:$P2 inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_helo_required=yes
  -o smtpd_starttls_timeout=3s
127.0.0.1:$P3 inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
127.0.0.1:$P4 inet n - y - - smtpd
  -o smtpd_tls_cert_file=
  -o smtpd_tls_key_file=
  -o smtpd_tls_chain_files=$C/chain.pem
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_relay_restrictions=permit_tls_clientcerts,reject_unauth_destination
EOT
pt_start "$D" >"$tmp/start.log" 2>&1 || { pt_fail "start"; cat "$tmp/start.log" "$D/maillog"; pt_done; }
for p in $P1 $P2 $P3 $P4; do
	pt_wait_port "$p" 20 || { pt_fail "port $p listens"; cat "$D/maillog"; pt_done; }
done
log="$D/maillog"

# openssl s_client -starttls smtp: handshake, then EHLO over TLS.
out=$( (sleep 1; printf 'EHLO client.example\r\n'; sleep 1; printf 'QUIT\r\n'; sleep 1) |
	timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$P1" -CAfile "$C/ca.pem" \
		-verify_return_error 2>&1)
pt_check "openssl s_client -starttls smtp: certificate verifies, EHLO over TLS answered" \
	grep -q 'Verify return code: 0 (ok)' <<<"$out"
# Before TLS the EHLO reply ends with STARTTLS; only the one over TLS ends
# with CHUNKING.
pt_check "openssl s_client: EHLO over TLS no longer offers STARTTLS" \
	grep -q "^250 CHUNKING" <<<"$out"

# swaks --tls (STARTTLS) and --tlsc (wrapper mode).
if command -v swaks >/dev/null; then
	out=$(timeout 30 swaks --server 127.0.0.1 --port "$P1" --tls --from a@b.example \
		--to root@mx.example --helo client.example --header "Subject: swaks tls" 2>&1)
	pt_check "swaks --tls: message queued over STARTTLS" grep -q '250 2.0.0 Ok: queued as' <<<"$out"
	out=$(timeout 30 swaks --server 127.0.0.1 --port "$P3" --tlsc --from a@b.example \
		--to root@mx.example --helo client.example --header "Subject: swaks tlsc" 2>&1)
	pt_check "swaks --tlsc: message queued in wrapper mode" grep -q '250 2.0.0 Ok: queued as' <<<"$out"
else
	pt_skip "swaks not installed"
fi

python3 - "$P1" "$P2" "$P3" "$P4" "$C" "$D" <<'PY' || PT_FAILED=$((PT_FAILED + 1))
import glob, os, re, smtplib, socket, ssl, sys, threading, time
p1, p2, p3, p4 = map(int, sys.argv[1:5])
C, D = sys.argv[5], sys.argv[6]
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%r)" % (d,)))
    failed += not c
def ctx(cert=None):
    c = ssl.create_default_context(cafile=os.path.join(C, "ca.pem"))
    c.check_hostname = False
    if cert:
        c.load_cert_chain(os.path.join(C, cert + ".pem"), os.path.join(C, cert + ".key"))
    return c
def log():
    return open(os.path.join(D, "maillog"), errors="replace").read()
def wait_log(pat, secs=10):
    for _ in range(secs * 10):
        if re.search(pat, log()):
            return True
        time.sleep(0.1)
    return False
def qfile(qid):
    for _ in range(50):
        for f in glob.glob(os.path.join(D, "queue", "*", qid)) + glob.glob(os.path.join(D, "queue", "*", "*", qid)):
            try:
                return open(f, "rb").read()
            except OSError:
                pass
        time.sleep(0.1)
    return b""
class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                r, self.buf = self.buf, b""
                return r
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l + b"\n"
    def reply(self):
        ls = []
        while True:
            l = self.line()
            ls.append(l)
            if len(l) < 4 or l[3:4] != b"-":
                return b"".join(ls)
    def cmd(self, c):
        self.s.sendall(c)
        return self.reply()
    def starttls(self, cert=None):
        self.s = ctx(cert).wrap_socket(self.s)

# smtplib starttls: mail over TLS, log line and Received: header.
s = smtplib.SMTP("127.0.0.1", p1, local_hostname="client.example", timeout=30)
code, ehlo = s.ehlo()
ok(b"STARTTLS" in ehlo, "EHLO offers STARTTLS at level may", ehlo)
s.starttls(context=ctx())
code, ehlo2 = s.ehlo()
ok(code == 250 and b"STARTTLS" not in ehlo2, "EHLO after the handshake: no STARTTLS", ehlo2)
s.mail("a@b.example"); s.rcpt("root@mx.example")
code, resp = s.data(b"Subject: smtplib tls\r\n\r\nbody\r\n")
s.quit()
m = re.search(rb"queued as (\w+)", resp)
ok(code == 250 and m, "smtplib starttls: message queued", resp)
q = qfile(m.group(1).decode()) if m else b""
ok(re.search(rb"Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\n\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)\)\n\t\(No client certificate requested\)\n\tby mx\.example \(postern\) with ESMTPS id ", q),
   "Received: header says ESMTPS, the protocol and cipher, no client certificate", q[:600])
ok(wait_log(r"postfix/smtpd\[\d+\]: Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_\w+ \(\d+/\d+ bits\)")
   or wait_log(r"smtpd.*Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_\w+ \(\d+/\d+ bits\)"),
   "log: Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher ...")

# STARTTLS injection: "STARTTLS\r\nRSET\r\n" in one packet.
r = Raw(p1); r.reply(); r.cmd(b"EHLO client.example\r\n")
r.s.sendall(b"STARTTLS\r\nRSET\r\n")
rep = r.reply()
ok(rep.startswith(b"220 2.0.0"), "STARTTLS: 220 2.0.0 Ready to start TLS", rep)
r.starttls()
r.s.settimeout(2)
try:
    early = r.s.recv(4096)
except (socket.timeout, TimeoutError):
    early = b""
ok(early == b"", "STARTTLS injection: the pipelined RSET is not answered after the handshake", early)
r.s.settimeout(10)
rep = r.cmd(b"EHLO client.example\r\n")
ok(rep.startswith(b"250"), "the session works after the discarded injection", rep)
ok(wait_log(r"discarding 6 bytes pipelined after STARTTLS"), "log: the injected bytes are discarded and logged")
rep = r.cmd(b"STARTTLS\r\n")
ok(rep.startswith(b"554 5.5.1"), "STARTTLS twice: 554 5.5.1 Error: TLS already active", rep)
r.cmd(b"QUIT\r\n")

r = Raw(p1); r.reply(); r.cmd(b"EHLO client.example\r\n")
rep = r.cmd(b"STARTTLS now\r\n")
ok(rep.startswith(b"501 5.5.4"), "STARTTLS with an argument: 501 5.5.4", rep)
r.cmd(b"QUIT\r\n")

# Level encrypt: 530 before STARTTLS; after it, EHLO is required again.
r = Raw(p2); r.reply()
rep = r.cmd(b"EHLO client.example\r\n")
ok(b"STARTTLS" in rep, "encrypt: EHLO offers STARTTLS", rep)
rep = r.cmd(b"MAIL FROM:<a@b.example>\r\n")
ok(rep.startswith(b"530 5.7.0 Must issue a STARTTLS command first"), "encrypt: plaintext MAIL gets 530 5.7.0", rep)
rep = r.cmd(b"AUTH PLAIN AGZvbwBiYXI=\r\n")
ok(rep.startswith(b"530 5.7.0"), "encrypt: plaintext AUTH gets 530 5.7.0", rep)
ok(r.cmd(b"STARTTLS\r\n").startswith(b"220"), "encrypt: STARTTLS accepted")
r.starttls()
rep = r.cmd(b"MAIL FROM:<a@b.example>\r\n")
ok(rep.startswith(b"503 5.5.1 Error: send HELO/EHLO first"), "after the handshake the EHLO given before it is forgotten", rep)
ok(r.cmd(b"EHLO client.example\r\n").startswith(b"250"), "EHLO again over TLS")
rep = r.cmd(b"MAIL FROM:<a@b.example>\r\n")
ok(rep.startswith(b"250"), "encrypt: MAIL accepted over TLS", rep)
r.cmd(b"QUIT\r\n")

# Handshake garbage closes that session with a log line.
r = Raw(p1); r.reply(); r.cmd(b"EHLO x\r\n"); r.cmd(b"STARTTLS\r\n")
r.s.sendall(b"\x16\x03\x01\x00\x05garbage garbage garbage\r\n" * 4)
r.s.settimeout(10)
try:
    d = r.s.recv(4096)
    while d:
        d = r.s.recv(4096)
    closed = True
except (socket.timeout, TimeoutError):
    closed = False
except ConnectionResetError:
    closed = True
ok(closed, "handshake garbage: the server closes the connection")
ok(wait_log(r"SSL_accept error from unknown\[127\.0\.0\.1\]"), "log: SSL_accept error from unknown[127.0.0.1]")

# A stalled handshake (3 s starttls timeout on p2) while another
# session completes a transaction.
st = Raw(p2); st.reply(); st.cmd(b"EHLO x\r\n"); st.cmd(b"STARTTLS\r\n")
t0 = time.time()
s = smtplib.SMTP("127.0.0.1", p2, local_hostname="client.example", timeout=30)
s.starttls(context=ctx()); s.ehlo(); s.mail("a@b.example"); s.rcpt("root@mx.example")
code, resp = s.data(b"Subject: during stall\r\n\r\nbody\r\n"); s.quit()
ok(code == 250 and time.time() - t0 < 3, "another session is served while a handshake stalls", (code, time.time() - t0))
st.s.settimeout(15)
try:
    d = st.s.recv(4096)
except (socket.timeout, TimeoutError):
    d = None
el = time.time() - t0
ok(d == b"" and 2 <= el < 12, "the stalled handshake is closed after smtpd_starttls_timeout", (d, el))
ok(wait_log(r"timeout after STARTTLS from unknown\[127\.0\.0\.1\]"), "log: timeout after STARTTLS")

# Wrapper mode: no plaintext banner; the banner comes over TLS.
r = Raw(p3); r.s.settimeout(1.5)
try:
    d = r.s.recv(100)
except (socket.timeout, TimeoutError):
    d = b""
ok(d == b"", "wrapper mode: nothing in plaintext before the handshake", d)
r.s.settimeout(10); r.starttls()
ok(r.reply().startswith(b"220 "), "wrapper mode: the banner arrives over TLS")
r.cmd(b"QUIT\r\n")

# Client certificates on p4 (ask_ccert, relay via permit_tls_clientcerts;
# its key and certificate come from smtpd_tls_chain_files alone).
def relay_try(cert):
    s = smtplib.SMTP("127.0.0.1", p4, local_hostname="client.example", timeout=30)
    s.starttls(context=ctx(cert)); s.ehlo(); s.mail("a@b.example")
    code, resp = s.rcpt("x@elsewhere.example")
    if code == 250:
        code2, resp2 = s.data(b"Subject: relayed\r\n\r\nbody\r\n")
        s.quit()
        return code, resp2
    s.quit()
    return code, resp
code, resp = relay_try(None)
ok(code == 554 and b"Relay access denied" in resp, "no client certificate: relay denied", resp)
code, resp = relay_try("cli")
ok(code == 554, "a CA-signed certificate not in relay_clientcerts: relay denied", resp)
ok(wait_log(r"Trusted TLS connection established from unknown\[127\.0\.0\.1\]"), "log: Trusted TLS connection (client certificate verified by smtpd_tls_CAfile)")
code, resp = relay_try("self")
ok(code == 250, "a self-signed certificate listed by fingerprint in relay_clientcerts: relayed", resp)
ok(wait_log(r"Untrusted TLS connection established from unknown\[127\.0\.0\.1\]"), "log: Untrusted TLS connection (self-signed)")
m = re.search(rb"queued as (\w+)", resp)
q = qfile(m.group(1).decode()) if m else b""
ok(b'\t(Client CN "selfsigned.example", Issuer "selfsigned.example" (not verified))\n' in q,
   "Received: names the client certificate, not verified", q[:600])
sys.exit(1 if failed else 0)
PY

# A reload brings a renewed certificate; the session opened before it
# goes on.
exec 7<>"/dev/tcp/127.0.0.1/$P1"
read -r -t 10 banner <&7
old_serial=$(timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$P1" </dev/null 2>/dev/null |
	openssl x509 -noout -serial)
(cd "$C" && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.new -days 31 \
	-extfile srv.ext 2>/dev/null && mv srv.new srv.pem)
"$POSTERN" reload -c "$D" >/dev/null 2>&1
new_serial=""
for _ in $(seq 1 50); do
	new_serial=$(timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$P1" </dev/null 2>/dev/null |
		openssl x509 -noout -serial)
	[ -n "$new_serial" ] && [ "$new_serial" != "$old_serial" ] && break
	sleep 0.2
done
pt_check "reload: new connections get the renewed certificate" \
	test -n "$old_serial" -a -n "$new_serial" -a "$old_serial" != "$new_serial"
printf 'EHLO still.example\r\n' >&7
read -r -t 10 line <&7
pt_check "reload: the session opened before it is still served (${banner%%$'\r'} / ${line%%$'\r'})" \
	test "${line:0:3}" = 250
exec 7>&-

# conf/master.cf's submission and smtps services, uncommented as the
# guides say (the $mua_* lines stay comments), on test ports.
P5=$(pt_free_port) P6=$(pt_free_port)
awk '/^#submission /{on=1} on{print} on && /milter_macro_daemon_name/ && ++n == 2{exit}' "$PT_ROOT/conf/master.cf" |
	sed -E '/\$mua_/!s/^#(submission |smtps |  -o )/\1/' |
	sed -E "s/^submission inet/127.0.0.1:$P5 inet/; s/^smtps     inet/127.0.0.1:$P6 inet/" >"$tmp/sub.cf"
pt_check "conf/master.cf ships submission and smtps commented out" \
	test "$(grep -c '^127.0.0.1:' "$tmp/sub.cf")" = 2
cat "$tmp/sub.cf" >>"$D/master.cf"
# And a service that requires a trusted client certificate.
P7=$(pt_free_port) P8=$(pt_free_port)
cat >>"$D/master.cf" <<EOT
127.0.0.1:$P7 inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_req_ccert=yes
127.0.0.1:$P8 inet n - n - - smtpd
  -o smtpd_tls_security_level=
  -o smtpd_use_tls=yes
  -o smtpd_enforce_tls=yes
EOT
"$POSTERN" reload -c "$D" >/dev/null 2>&1
pt_wait_port "$P5" 20 && pt_wait_port "$P6" 20 && pt_wait_port "$P7" 20 && pt_wait_port "$P8" 20 ||
	{ pt_fail "uncommented services listen"; cat "$D/maillog"; }
python3 - "$P5" "$P6" "$C" "$P7" "$P8" <<'PY' || PT_FAILED=$((PT_FAILED + 1))
import os, smtplib, socket, ssl, sys
p5, p6, C, p7, p8 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
failed = 0
def ok(c, name, d=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%r)" % (d,)))
    failed += not c
c = ssl.create_default_context(cafile=os.path.join(C, "ca.pem")); c.check_hostname = False
s = smtplib.SMTP("127.0.0.1", p5, local_hostname="client.example", timeout=30)
code, ehlo = s.ehlo()
ok(b"STARTTLS" in ehlo, "submission (uncommented): EHLO offers STARTTLS", ehlo)
code, resp = s.docmd("MAIL FROM:<a@b.example>")
ok(code == 530, "submission: MAIL before STARTTLS gets 530", resp)
s.starttls(context=c); s.ehlo()
code, resp = s.mail("a@b.example")
ok(code == 250, "submission: MAIL over TLS accepted", resp)
code, resp = s.rcpt("x@elsewhere.example")
ok(code >= 500, "submission: unauthenticated RCPT refused (permit_sasl_authenticated,reject)", resp)
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", p6, local_hostname="client.example", timeout=30, context=c)
code, ehlo = s.ehlo()
ok(code == 250 and b"STARTTLS" not in ehlo, "smtps (uncommented): wrapper mode, EHLO over TLS", ehlo)
s.quit()
def req(cert):
    cc = ssl.create_default_context(cafile=os.path.join(C, "ca.pem")); cc.check_hostname = False
    if cert:
        cc.load_cert_chain(os.path.join(C, cert + ".pem"), os.path.join(C, cert + ".key"))
    try:
        s = smtplib.SMTP("127.0.0.1", p7, local_hostname="client.example", timeout=30)
        s.starttls(context=cc)
        code, resp = s.ehlo()
        return code
    except (smtplib.SMTPException, OSError) as e:
        return str(e)
r = req("cli")
ok(r == 250, "smtpd_tls_req_ccert: a CA-signed client certificate is served", r)
r = req("self")
ok(r != 250, "smtpd_tls_req_ccert: an untrusted client certificate is refused", r)
r = req(None)
ok(r != 250, "smtpd_tls_req_ccert: no client certificate, no session", r)
s = smtplib.SMTP("127.0.0.1", p8, local_hostname="client.example", timeout=30)
code, ehlo = s.ehlo()
code2, resp = s.docmd("MAIL FROM:<a@b.example>")
ok(b"STARTTLS" in ehlo and code2 == 530, "legacy smtpd_use_tls + smtpd_enforce_tls: STARTTLS offered, 530 before it", (ehlo, resp))
s.starttls(context=c); s.ehlo()
ok(s.mail("a@b.example")[0] == 250, "legacy smtpd_enforce_tls: MAIL accepted over TLS")
s.quit()
sys.exit(1 if failed else 0)
PY

# A key pair that cannot be loaded (Debian's package names the snakeoil
# pair, which may be missing): smtpd warns and serves without STARTTLS,
# as Postfix, instead of dying and taking the port down.
P9=$(pt_free_port)
cat >>"$D/master.cf" <<EOT
127.0.0.1:$P9 inet n - n - - smtpd
  -o smtpd_tls_cert_file=$tmp/missing.pem
  -o smtpd_tls_key_file=$tmp/missing.key
EOT
"$POSTERN" reload -c "$D" >/dev/null 2>&1
pt_wait_port "$P9" 20 || pt_fail "the service with a missing key pair listens"
out=$(python3 - "$P9" <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example", timeout=30)
code, ehlo = s.ehlo()
print("EHLO", code, b"STARTTLS" in ehlo)
s.mail("a@b.example")
print("RCPT", s.rcpt("postmaster@mx.example")[0])
s.quit()
PY
)
pt_check "missing key pair: EHLO answered, no STARTTLS offered" grep -q '^EHLO 250 False$' <<<"$out"
pt_check "missing key pair: mail still accepted" grep -q '^RCPT 250$' <<<"$out"
pt_check "missing key pair: logged" grep -q "warning: cannot load the key pair $tmp/missing.pem" "$log"

# testssl.sh against the default settings: no weak protocol or cipher.
if command -v testssl.sh >/dev/null 2>&1 || command -v testssl >/dev/null 2>&1; then
	ts=$(command -v testssl.sh || command -v testssl)
	timeout 600 "$ts" --quiet --color 0 --warnings off --starttls smtp -p -s -f \
		--jsonfile "$tmp/testssl.json" "127.0.0.1:$P1" >"$tmp/testssl.out" 2>&1
	pt_check "testssl.sh ran and wrote its findings" test -s "$tmp/testssl.json"
	bad=$(python3 - "$tmp/testssl.json" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception as e:
    print("unreadable: %s" % e); sys.exit(0)
weak = ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL",
        "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_OBSOLETED")
for f in data:
    if f.get("id") in weak and f.get("finding", "").lower().startswith("offered") \
       and "not offered" not in f.get("finding", "").lower():
        print(f["id"], f["finding"])
    if f.get("severity") in ("HIGH", "CRITICAL"):
        print(f["id"], f.get("finding"))
PY
)
	pt_check "testssl.sh: no weak protocol or cipher offered with the defaults${bad:+ ($bad)}" test -z "$bad"
else
	pt_skip "testssl.sh not installed (tools/deps.sh PKGS_TLS)"
fi
pt_done
