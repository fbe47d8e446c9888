#!/bin/sh
# run-demo.sh - "make run": a demo instance in ./run/ on 127.0.0.1:2525,
# run in the foreground (Ctrl-C stops it).  The submission service on
# 127.0.0.1:2587 (SUBPORT) wants STARTTLS (a self-signed certificate
# made with openssl in ./run/tls/) and SMTP AUTH against a Cyrus sasldb
# in ./run/sasl/ holding one demo user (saslpasswd2, package sasl2-bin).
# Mail for a local user is delivered as a Maildir under ./run/mail/<user>/.  As root it first
# creates the users postern's daemons run as (tools/mkusers.sh); as any
# other user everything runs as that user.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
P="$PWD/$BUILD/bin/postern"
PORT=${PORT:-2525}
SUBPORT=${SUBPORT:-2587}
DEMO_USER=demo
DEMO_PASS=demo-password
RUN="$PWD/run"

[ "$(id -u)" = 0 ] && tools/mkusers.sh
mkdir -p "$RUN/mail"
# The daemons that drop privileges must reach the queue; local delivery,
# running as each recipient, creates the recipient's directory.
chmod 755 "$RUN"
chmod 1777 "$RUN/mail"

# conf/main.cf with the demo's paths and addresses.
sed -e "s|^inet_interfaces = .*|inet_interfaces = 127.0.0.1|" \
	-e "/^alias_maps\|^alias_database\|^mydestination/d" conf/main.cf >"$RUN/main.cf"
cat >>"$RUN/main.cf" <<EOC

# make run (tools/run-demo.sh)
inet_protocols = ipv4
queue_directory = $RUN/queue
daemon_directory = $PWD/$BUILD/libexec
maillog_file = $RUN/maillog
myhostname = localhost
mydestination = localhost, \$myhostname
mail_spool_directory = $RUN/mail/
alias_maps = hash:$RUN/aliases
alias_database = hash:$RUN/aliases
EOC
# conf/master.cf with smtpd on 127.0.0.1:$PORT and no chroot.
awk -v port="$PORT" '
	$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port; $5 = "n" }
	{ print }' conf/master.cf >"$RUN/master.cf"
me=$(id -un)
printf 'postmaster: %s\nabuse: postmaster\n' "$me" >"$RUN/aliases"

# Submission: a self-signed certificate and a sasldb with the demo user.
mkdir -p "$RUN/tls" "$RUN/sasl"
if [ ! -s "$RUN/tls/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
		-keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" 2>/dev/null
	chmod 600 "$RUN/tls/key.pem"
fi
cat >"$RUN/sasl/smtpd.conf" <<EOC
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $RUN/sasl/sasldb2
EOC
echo "$DEMO_PASS" | saslpasswd2 -c -p -f "$RUN/sasl/sasldb2" -u localhost "$DEMO_USER"
chmod 755 "$RUN/sasl"
# smtpd reads the sasldb as network_user.
if [ "$(id -u)" = 0 ]; then
	chgrp postern-net "$RUN/sasl/sasldb2"
	chmod 640 "$RUN/sasl/sasldb2"
fi
cat >>"$RUN/main.cf" <<EOC
cyrus_sasl_config_path = $RUN/sasl
smtpd_tls_cert_file = $RUN/tls/cert.pem
smtpd_tls_key_file = $RUN/tls/key.pem
EOC
cat >>"$RUN/master.cf" <<EOC
127.0.0.1:$SUBPORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOC
"$P" alias -c "$RUN"

cat <<EOM

postern demo: configuration in run/, queue in run/queue, log in run/maillog.
Try it from another terminal:

  swaks --server 127.0.0.1:$PORT --from you@example.com --to $me@localhost

and find the message in run/mail/$me/new/.  Submission with STARTTLS
and SMTP AUTH (user $DEMO_USER, password $DEMO_PASS) on port $SUBPORT:

  swaks --server 127.0.0.1:$SUBPORT --tls --auth PLAIN --auth-user $DEMO_USER --auth-password $DEMO_PASS --from $DEMO_USER@localhost --to $me@localhost

Ctrl-C stops postern.

EOM
exec "$P" start-fg -c "$RUN"
