#!/bin/sh
# mkusers.sh - create the system users postern's daemons run as, if they
# are missing: mail_owner (qmgr; owns the queue) and network_user
# (smtpd, smtp; may not write the queue), each with its own group.
#   tools/mkusers.sh [-c CONFIG_DIR]   names from main.cf via "postern conf"
#   MAIL_OWNER=... NETWORK_USER=... tools/mkusers.sh
# Needs root; as another user it only says what it would run.
set -eu
cd "$(dirname "$0")/.."
MAIL_OWNER=${MAIL_OWNER:-}
NETWORK_USER=${NETWORK_USER:-}
if [ "${1:-}" = "-c" ] && [ -n "${2:-}" ]; then
	P=${POSTERN:-build/bin/postern}
	[ -n "$MAIL_OWNER" ] || MAIL_OWNER=$("$P" conf -c "$2" -h mail_owner)
	[ -n "$NETWORK_USER" ] || NETWORK_USER=$("$P" conf -c "$2" -h network_user)
fi
MAIL_OWNER=${MAIL_OWNER:-postern}
NETWORK_USER=${NETWORK_USER:-postern-net}

for u in "$MAIL_OWNER" "$NETWORK_USER"; do
	getent passwd "$u" >/dev/null && continue
	cmd="useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $u"
	if [ "$(id -u)" != 0 ]; then
		echo "mkusers.sh: user $u is missing; as root run: $cmd" >&2
		exit 1
	fi
	echo "mkusers.sh: $cmd"
	$cmd
done
