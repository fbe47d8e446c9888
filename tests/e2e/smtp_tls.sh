#!/bin/bash
# smtp_tls.sh - the smtp client's TLS policy against a private, real
# Postfix (its own config dir, queue and ports) with three listeners: no
# STARTTLS, a self-signed certificate, a certificate from a test CA.
# Levels from master.cf "-o" overrides and from smtp_tls_policy_maps:
# may (plaintext when not offered; plaintext again after a failed
# handshake), encrypt (defers without STARTTLS), verify (defers on a
# self-signed peer, passes with the CA), secure with match= (passes,
# wrong name defers), fingerprint (right and wrong digest).  Needs root
# (Postfix's master) and Debian's postfix.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
for n in master qmgr smtp; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done
if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null || ! getent passwd postfix >/dev/null; then
	pt_skip "needs root and Debian's postfix"
	exit 0
fi
T=$PT_TMP
PF=$T/pf
trap 'postfix -c "$PF" stop >/dev/null 2>&1; pt_cleanup' EXIT

# Certificates: a test CA and a server certificate for localhost and
# 127.0.0.1 it signed; a self-signed one.
mkdir -p "$T/certs"
(
	cd "$T/certs" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj "/CN=postern test CA" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
		-subj "/CN=localhost" 2>/dev/null &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext -out srv.pem 2>/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
) || { pt_fail "test certificates"; pt_done; }
chmod 644 "$T/certs/"*
FP=$(openssl x509 -in "$T/certs/srv.pem" -noout -fingerprint -sha256 | sed 's/.*=//')

P1=$(pt_free_port) P2=$(pt_free_port) P3=$(pt_free_port)
mkdir -p "$PF" "$T/pfq" "$T/pfd"
chown postfix "$T/pfd"
cat >"$PF/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $T/pfq
data_directory = $T/pfd
maillog_file = $T/pf.log
maillog_file_prefixes = $T
myhostname = peer.example
mydestination = \$myhostname, localhost, plain.test, self.test, ca.test, mayfb.test, enc.test, encself.test, ver.test, verself.test, sec.test, secbad.test, fp.test, fpbad.test
local_transport = discard:
local_recipient_maps =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
EOC
sed -e '/^smtp \{1,\}inet /d' -e '/^postlog /d' /etc/postfix/master.cf >"$PF/master.cf"
cat >>"$PF/master.cf" <<EOM
postlog   unix-dgram n  -       n       -       1       postlogd
127.0.0.1:$P1 inet n - n - - smtpd -o smtpd_tls_security_level=none
127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_tls_cert_file=$T/certs/self.pem -o smtpd_tls_key_file=$T/certs/self.key
127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_tls_cert_file=$T/certs/srv.pem -o smtpd_tls_key_file=$T/certs/srv.key
EOM
if ! postfix -c "$PF" start >"$T/pfstart.log" 2>&1; then
	pt_skip "the private Postfix did not start ($(tail -1 "$T/pfstart.log"))"
	exit 0
fi
pt_wait_port "$P3" || pt_fail "Postfix listens"

d=$T/inst
pt_instance "$d"
cat >"$d/transport" <<EOT
plain.test    tmay:[127.0.0.1]:$P1
self.test     tmay:[127.0.0.1]:$P2
ca.test       tmay:[127.0.0.1]:$P3
enc.test      tenc:[127.0.0.1]:$P1
encself.test  tenc:[127.0.0.1]:$P2
ver.test      tver:[127.0.0.1]:$P3
verself.test  tver:[127.0.0.1]:$P2
sec.test      tpol:[127.0.0.1]:$P3
secbad.test   tpol:[localhost]:$P3
mayfb.test    tpol:[127.0.0.1]:$P2
fp.test       tfp:[127.0.0.1]:$P3
fpbad.test    tfpbad:[127.0.0.1]:$P3
EOT
cat >"$d/tls_policy" <<EOT
[127.0.0.1]:$P3   secure match=localhost
[localhost]:$P3   secure match=wrong.example
[127.0.0.1]:$P2   may protocols=TLSv1 ciphers=high
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
minimal_backoff_time = 300s
queue_run_delay = 300s
smtp_tls_CAfile = $T/certs/ca.pem
EOC
cat >>"$d/master.cf" <<EOM
tmay   unix - - n - - smtp -o smtp_tls_security_level=may
tenc   unix - - n - - smtp -o smtp_tls_security_level=encrypt
tver   unix - - n - - smtp -o smtp_tls_security_level=verify -o smtp_tls_verify_cert_match=127.0.0.1
tpol   unix - - n - - smtp -o smtp_tls_policy_maps=texthash:$d/tls_policy
tfp    unix - - n - - smtp -o smtp_tls_security_level=fingerprint -o smtp_tls_fingerprint_digest=sha256 -o smtp_tls_fingerprint_cert_match=$FP
tfpbad unix - - n - - smtp -o smtp_tls_security_level=fingerprint -o smtp_tls_fingerprint_digest=sha256 -o smtp_tls_fingerprint_cert_match=00:11:22
EOM
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
LOG=$d/maillog

waitlog() {
	local i
	for i in $(seq 1 150); do
		grep -qE "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no log line matching: $1"
	grep -E 'smtp\[' "$LOG" | tail -n 6 | sed 's/^/#   | /'
	return 1
}
for dom in plain self ca enc encself ver verself sec secbad mayfb fp fpbad; do
	printf 'Subject: %s\n\nbody\n' "$dom" | "$POSTERN" sendmail -c "$d" -f s@x.test "u@$dom.test"
done
R3="127\.0\.0\.1\[127\.0\.0\.1\]:$P3"
pt_check "may, no STARTTLS offered: sent in plaintext" waitlog "to=<u@plain.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P1, .*status=sent"
pt_check "may, self-signed peer: Untrusted TLS, sent" waitlog "Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$P2: TLSv1\.[23] with cipher"
pt_check "may, self-signed peer: sent" waitlog "to=<u@self.test>, .*status=sent"
pt_check "encrypt, no STARTTLS: deferred" waitlog "to=<u@enc.test>, .*dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"
pt_check "encrypt, self-signed: sent" waitlog "to=<u@encself.test>, .*status=sent"
pt_check "verify, test-CA peer: Verified TLS" waitlog "Verified TLS connection established to $R3: TLSv1\.[23] with cipher"
pt_check "verify, test-CA peer: sent" waitlog "to=<u@ver.test>, .*status=sent"
pt_check "verify, self-signed peer: deferred" waitlog "to=<u@verself.test>, .*dsn=4\.7\.5, status=deferred \(TLS with 127\.0\.0\.1\[127\.0\.0\.1\] failed \(security level verify\)"
pt_check "secure match=localhost (policy map): sent" waitlog "to=<u@sec.test>, relay=$R3, .*status=sent"
pt_check "secure, wrong name: deferred" waitlog "to=<u@secbad.test>, .*status=deferred \(.*name does not match"
pt_check "fingerprint match: sent" waitlog "to=<u@fp.test>, .*status=sent"
pt_check "fingerprint mismatch: deferred" waitlog "to=<u@fpbad.test>, .*status=deferred \(.*fingerprint does not match"
pt_check "may, failed handshake: logged, retried in plaintext" waitlog "TLS handshake with 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$P2 failed: .*; retrying in plaintext"
pt_check "may, failed handshake: sent in plaintext" waitlog "to=<u@mayfb.test>, .*status=sent"
pt_check "no plaintext fallback at encrypt and above" bash -c "! grep -E 'to=<u@(enc|verself|secbad|fpbad)\.test>.*status=sent' '$LOG'"
pt_check "mail arrived at Postfix over TLS" bash -c "grep -q 'Anonymous TLS connection established from localhost\[127.0.0.1\]\|TLS connection established from' '$T/pf.log'"
pt_done
