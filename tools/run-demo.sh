#!/bin/sh
# run-demo.sh - "make run": a demo instance in ./run/ on 127.0.0.1:2525,
# run in the foreground (Ctrl-C stops it).  Mail for a local user is
# delivered as a Maildir under ./run/mail/<user>/.  As root it first
# creates the users postern's daemons run as (tools/mkusers.sh); as any
# other user everything runs as that user.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
P="$PWD/$BUILD/bin/postern"
PORT=${PORT:-2525}
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
"$P" alias -c "$RUN"

cat <<EOM

postern demo: configuration in run/, queue in run/queue, log in run/maillog.
Try it from another terminal:

  swaks --server 127.0.0.1:$PORT --from you@example.com --to $me@localhost

and find the message in run/mail/$me/new/.  Ctrl-C stops postern.

EOM
exec "$P" start-fg -c "$RUN"
