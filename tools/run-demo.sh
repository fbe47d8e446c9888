#!/bin/sh
# run-demo.sh - "make run": a demo configuration in ./run/ on loopback
# ports.  The mail daemons are not built yet (see README), so for now this
# builds the demo configuration and shows what postern makes of it.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
P="$BUILD/bin/postern"
mkdir -p run/mail
sed -e "s|^inet_interfaces = all|inet_interfaces = 127.0.0.1|" conf/main.cf > run/main.cf
sed -e "s|^smtp      inet|127.0.0.1:2525 inet|" conf/master.cf > run/master.cf
cat >> run/main.cf <<EOC
queue_directory = $PWD/run/queue
alias_maps = hash:$PWD/run/aliases
alias_database = hash:$PWD/run/aliases
EOC
printf 'postmaster: root\nabuse: postmaster\n' > run/aliases
"$P" alias -c run
echo "== postern conf -n (run/main.cf)"
"$P" conf -c run -n
echo "== postern check"
"$P" check -c run || true
echo
echo "The SMTP daemons arrive with the mail pipeline milestone; this demo"
echo "configuration in ./run/ is what they will start on (127.0.0.1:2525)."
