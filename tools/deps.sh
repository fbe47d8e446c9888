#!/bin/sh
# deps.sh - install the Debian packages postern needs to build and test.
# As root it installs what is missing; otherwise it prints the command.
set -eu

# Grows with the features: add a package to the line of the area whose
# build or tests need it (one line per area keeps parallel work apart).
PKGS="build-essential pkg-config clang libtls-dev libevent-dev libdb-dev
libpcre2-dev libsasl2-dev libsasl2-modules libcmocka-dev
postfix postfix-pcre swaks python3 openssl procps iproute2"
PKGS_TLS="testssl.sh"
PKGS_SASL="sasl2-bin dovecot-core fail2ban"
PKGS_RESTRICT="postgrey postfix-policyd-spf-python"
PKGS_DNS="libunbound-dev unbound ldnsutils"
PKGS_RELAY="python3-aiosmtpd dovecot-core dovecot-lmtpd"
PKGS_PIPELINE=""
PKGS_PACKAGING="debhelper devscripts fakeroot lintian pflogsumm fail2ban man-db groff-base systemd"
PKGS="$PKGS $PKGS_TLS $PKGS_SASL $PKGS_RESTRICT $PKGS_DNS $PKGS_RELAY $PKGS_PIPELINE $PKGS_PACKAGING"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "postern needs these Debian packages; as root run:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
# Postfix is used as a tool and test oracle only: never as the system MTA.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
