#!/bin/bash
# smtpd_submission.sh - TLS and SASL together, as a submission server:
# the submission (587) and smtps (465) services of conf/master.cf,
# uncommented as shipped, with a self-signed certificate and a Cyrus
# sasldb user.  Before STARTTLS no AUTH is offered or accepted and MAIL
# gets 530; after it AUTH works and relaying needs it; an authenticated
# user cannot send as somebody else (smtpd_sender_login_maps +
# reject_sender_login_mismatch); smtpd_client_auth_rate_limit caps AUTH
# commands through anvil; wrapper mode on 465 authenticates over TLS.
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] && [ -d "$PT_TMP" ] || exit 1
for t in saslpasswd2 swaks openssl; do
	command -v "$t" >/dev/null || { pt_skip "$t not installed"; pt_done; }
done
for n in master smtpd qmgr; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n not built"; pt_done; }
done

d=$PT_TMP/sub
PS=$(pt_free_port)
PW=$(pt_free_port)
pt_instance "$d"
mkdir -p "$d/sasl" "$d/tls" "$d/mail"
chmod 755 "$d/sasl" "$d/tls"
chmod 1777 "$d/mail"
(cd "$d/tls" && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
	-days 30 -subj "/CN=postern-test.example" >/dev/null 2>&1) || pt_fail "self-signed certificate"
cat >"$d/sasl/smtpd.conf" <<EOC
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $d/sasl/sasldb2
EOC
echo 'secret' | saslpasswd2 -c -p -f "$d/sasl/sasldb2" -u postern-test.example alice
chmod 644 "$d/sasl/sasldb2"
printf 'alice@postern-test.example alice@postern-test.example\n' >"$d/login"
cat >>"$d/main.cf" <<EOC
mydestination = localhost, \$myhostname
mail_spool_directory = $d/mail
local_recipient_maps =
smtpd_tls_cert_file = $d/tls/cert.pem
smtpd_tls_key_file = $d/tls/key.pem
cyrus_sasl_config_path = $d/sasl
smtpd_sasl_local_domain = postern-test.example
smtpd_sender_login_maps = texthash:$d/login
mua_sender_restrictions = reject_sender_login_mismatch
smtpd_client_auth_rate_limit = 4
smtpd_error_sleep_time = 0
smtpd_client_event_limit_exceptions =
EOC
# The shipped services, uncommented, on free ports.
sed -n '/^#submission inet/,/^#  -o milter_macro_daemon_name/p; /^#smtps /,/^#  -o milter_macro_daemon_name/p' \
	"$PT_ROOT/conf/master.cf" | sed -e 's/^#//' -e "s/^submission inet/127.0.0.1:$PS inet/" \
	-e "s/^smtps     inet/127.0.0.1:$PW inet/" >>"$d/master.cf"
pt_check "the shipped submission and smtps services are in master.cf" \
	test "$(grep -c 'inet' "$d/master.cf")" -eq 2

out=$(pt_start "$d" 2>&1)
pt_check "postern starts ($out)" test $? -eq 0
pt_wait_port "$PS" && pt_wait_port "$PW" || pt_fail "both ports listen"

/usr/bin/python3 - "$PS" "$PW" "$PT_ROOT/tests/e2e" <<'EOP' || PT_FAILED=$((PT_FAILED + 1))
import base64, smtplib, ssl, sys
sys.path.insert(0, sys.argv[3])
from smtpraw import Raw
PS, PW = int(sys.argv[1]), int(sys.argv[2])
bad = 0
def ok(c, name, d=""):
    global bad
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % str(d)[:300]))
    bad += not c
plain = base64.b64encode(b"\0alice@postern-test.example\0secret").decode()

r = Raw(PS)
r.reply()
e = r.cmd("EHLO client.example")
ok("STARTTLS" in e and "AUTH" not in e, "587 before TLS: STARTTLS offered, AUTH not", e)
ok(r.cmd("AUTH PLAIN " + plain).startswith("530 5.7.0"), "587 before TLS: AUTH refused with 530")
ok(r.cmd("MAIL FROM:<alice@postern-test.example>").startswith("530 5.7.0"),
   "587 before TLS: MAIL refused with 530")
r.close()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", PS, timeout=20)
s.starttls(context=ctx)
code, e = s.ehlo("client.example")
ok(b"AUTH PLAIN LOGIN" in e or b"AUTH LOGIN PLAIN" in e, "587 after TLS: AUTH offered", e)
code, rep = s.docmd("MAIL", "FROM:<alice@postern-test.example>")
code, rep = s.docmd("RCPT", "TO:<someone@elsewhere.example>")
ok(code in (553, 554, 454), "587 after TLS, before AUTH: refused", (code, rep))
s.rset()
s.login("alice@postern-test.example", "secret")
code, rep = s.docmd("MAIL", "FROM:<bob@postern-test.example>")
code2, rep2 = s.docmd("RCPT", "TO:<someone@elsewhere.example>")
ok(code2 == 553 and b"not owned by user alice" in rep2,
   "authenticated as alice, sending as bob: reject_sender_login_mismatch", (code2, rep2))
s.rset()
code, rep = s.docmd("MAIL", "FROM:<alice@postern-test.example>")
code, rep = s.docmd("RCPT", "TO:<someone@elsewhere.example>")
ok(code == 250, "authenticated as alice, sending as alice: relaying allowed", (code, rep))
s.quit()

w = smtplib.SMTP_SSL("127.0.0.1", PW, timeout=20, context=ctx)
code, e = w.ehlo("client.example")
ok(code == 250 and b"AUTH" in e and b"STARTTLS" not in e, "465 wrapper mode: AUTH offered, no STARTTLS", e)
w.login("alice@postern-test.example", "secret")
code, rep = w.docmd("MAIL", "FROM:<alice@postern-test.example>")
code, rep = w.docmd("RCPT", "TO:<alice@postern-test.example>")
ok(code == 250, "465: authenticated mail accepted", (code, rep))
w.quit()

# smtpd_client_auth_rate_limit = 4: the fifth AUTH within the minute is
# refused (counted per client across sessions).
codes = []
for i in range(6):
    t = smtplib.SMTP("127.0.0.1", PS, timeout=20)
    t.starttls(context=ctx)
    t.ehlo("client.example")
    c, rep = t.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@postern-test.example\0wrong").decode())
    codes.append((c, rep))
    t.close()
ok(codes[0][0] == 535 and any(c == 450 and b"too many AUTH commands" in r for c, r in codes[4:]),
   "smtpd_client_auth_rate_limit: AUTH refused past the rate", codes)
sys.exit(1 if bad else 0)
EOP
pt_check "the log names the SASL login on the client= line" \
	grep -q "client=localhost\[127.0.0.1\], sasl_method=PLAIN, sasl_username=alice@postern-test.example" "$d/maillog"
pt_check "no sanitizer report or crash in the log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|panic:' '$d/maillog'"
pt_done
