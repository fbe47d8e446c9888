#!/bin/bash
# smtp_sasl.sh - smarthost authentication of the smtp agent (Cyrus SASL
# client API) against tests/e2e/smtp_peer.py in "auth" mode (AUTH PLAIN
# LOGIN, 530 before AUTH): with smtp_sasl_security_options allowing
# plaintext mechanisms the password from smtp_sasl_password_maps is
# accepted and the mail sent; with the default "noplaintext" no
# credentials cross the unencrypted connection ("no mechanism
# available", deferred, no AUTH command at all); a wrong password is a
# deferral with the server's words.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
T=$PT_TMP
for n in master qmgr smtp; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; pt_cleanup' EXIT
PORT=$(pt_free_port)
mkdir -p "$T/peer"
python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$PORT" auth "$T/peer" >"$T/peer.out" 2>&1 &
BGP="$BGP $!"
for i in $(seq 1 300); do [ -e "$T/peer/ready" ] && break; sleep 0.1; done

d=$T/inst
pt_instance "$d"
printf '[127.0.0.1]:%s user:secret\n' "$PORT" >"$d/sasl_pw"
printf '[127.0.0.1]:%s user:wrong\nboss@corp.test user:secret\n' "$PORT" >"$d/sasl_bad"
cat >"$d/transport" <<EOT
auth.test     tauth:[127.0.0.1]:$PORT
plain.test    tdef:[127.0.0.1]:$PORT
bad.test      tbad:[127.0.0.1]:$PORT
sdep.test     tsdep:[127.0.0.1]:$PORT
EOT
cat >>"$d/main.cf" <<EOC
transport_maps = texthash:$d/transport
minimal_backoff_time = 300s
queue_run_delay = 300s
EOC
cat >>"$d/master.cf" <<EOM
tauth unix - - n - - smtp -o smtp_sasl_auth_enable=yes -o smtp_sasl_password_maps=texthash:$d/sasl_pw -o smtp_sasl_security_options=noanonymous
tdef  unix - - n - - smtp -o smtp_sasl_auth_enable=yes -o smtp_sasl_password_maps=texthash:$d/sasl_pw
tbad  unix - - n - - smtp -o smtp_sasl_auth_enable=yes -o smtp_sasl_password_maps=texthash:$d/sasl_bad -o smtp_sasl_security_options=noanonymous
tsdep unix - - n - - smtp -o smtp_sasl_auth_enable=yes -o smtp_sasl_password_maps=texthash:$d/sasl_bad -o smtp_sasl_security_options=noanonymous -o smtp_sender_dependent_authentication=yes
EOM
pt_start "$d" || { pt_fail "instance starts"; printf 'Subject: sd\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f boss@corp.test u@sdep.test
pt_check "smtp_sender_dependent_authentication: the sender's password wins" \
	waitlog "to=<u@sdep.test>, .*status=sent \(250 2\.0\.0 Ok"
pt_done; }
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
printf 'Subject: a\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test u@auth.test
pt_check "AUTH with the table's password: sent" waitlog "to=<u@auth.test>, .*status=sent \(250 2\.0\.0 Ok"
pt_check "AUTH succeeded is logged" waitlog "SASL authentication to 127\.0\.0\.1\[127\.0\.0\.1\] succeeded"
n_auth=$(grep -c '^AUTH' "$T/peer/commands")
printf 'Subject: p\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test u@plain.test
pt_check "noplaintext over a plain connection: deferred, no mechanism" \
	waitlog "to=<u@plain.test>, .*dsn=4\.7\.0, status=deferred \(SASL authentication failed; cannot authenticate to server 127\.0\.0\.1\[127\.0\.0\.1\]: no mechanism available\)"
pt_check "noplaintext: no AUTH command was sent" [ "$(grep -c '^AUTH' "$T/peer/commands")" = "$n_auth" ]
printf 'Subject: b\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f s@x.test u@bad.test
pt_check "wrong password: deferred with the server's reply" \
	waitlog "to=<u@bad.test>, .*dsn=4\.7\.0, status=deferred \(SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535 5\.7\.8 Error: authentication failed: bad password\)"
printf 'Subject: sd\n\nbody\n' | "$POSTERN" sendmail -c "$d" -f boss@corp.test u@sdep.test
pt_check "smtp_sender_dependent_authentication: the sender's password wins" \
	waitlog "to=<u@sdep.test>, .*status=sent \(250 2\.0\.0 Ok"
pt_done
