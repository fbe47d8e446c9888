#!/bin/bash
# pkg_deb.sh - the Debian package: "make deb" builds it; its control
# fields make it an MTA as Debian policy wants (Provides, Conflicts and
# Replaces mail-transport-agent), it ships /usr/sbin/sendmail, mailq and
# newaliases and no set-id file; its maintainer scripts parse.  Then, in a
# throwaway overlay of this machine (pkg_lib.inc: own mount, pid and
# network namespaces, so this host's Postfix and files are untouched):
# dpkg -i (which replaces the Postfix installed here), users and service
# enabled, mail over SMTP on port 25 and through /usr/sbin/sendmail
# delivered to /var/mail, STARTTLS on 25 with the snakeoil pair, submission
# on 587 switched on as the guides say (STARTTLS, AUTH with Cyrus sasldb),
# mailq, then dpkg --purge leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg_lib.inc"
pt_init

case $BUILD in *san*)
	pt_skip "the package is built from the source tree, once (BUILD=build)"
	pt_done
	;;
esac
for t in dpkg-buildpackage dh; do
	command -v $t >/dev/null || {
		pt_skip "$t missing (sh tools/deps.sh)"
		pt_done
	}
done

deb=${POSTERN_DEB:-}
if [ -z "$deb" ]; then
	out=$(cd "$PT_ROOT" && make -s deb 2>&1)
	rc=$?
	deb=$(tail -n 1 <<<"$out")
	case $deb in /*) ;; *) deb="$PT_ROOT/$deb" ;; esac
	pt_check "make deb builds a package ($deb)" test $rc -eq 0 -a -f "$deb"
	[ $rc -eq 0 ] || {
		echo "$out" | tail -20 | sed 's/^/# /'
		pt_done
	}
fi
cp "$deb" "$PT_TMP/postern.deb"
deb=$PT_TMP/postern.deb

field() { dpkg-deb -f "$deb" "$1"; }
for f in Provides Conflicts Replaces; do
	pt_check "$f: mail-transport-agent ($(field $f))" grep -qw mail-transport-agent <<<"$(field $f)"
done
contents=$(dpkg-deb -c "$deb")
for p in ./usr/sbin/postern ./usr/sbin/sendmail ./usr/bin/mailq ./usr/bin/newaliases \
	./usr/lib/sendmail ./usr/libexec/postern/master ./usr/libexec/postern/smtpd \
	./usr/libexec/postern/qmgr ./usr/libexec/postern/local ./etc/postern/main.cf \
	./etc/postern/master.cf ./lib/systemd/system/postern.service \
	./usr/share/man/man1/postern.1.gz ./usr/share/man/man5/postern.conf.5.gz; do
	pt_check "ships $p" grep -q " $p\( ->\|$\)" <<<"$contents"
done
pt_check "no set-user-id or set-group-id file in the package" \
	bash -c "! awk '{print \$1}' <<<'$contents' | grep -q '[sS]'"
ctl=$PT_TMP/control
dpkg-deb -e "$deb" "$ctl"
pt_check "main.cf and master.cf are conffiles" \
	bash -c "grep -qx /etc/postern/main.cf '$ctl/conffiles' && grep -qx /etc/postern/master.cf '$ctl/conffiles'"
for s in postinst prerm postrm; do
	pt_check "$s parses (sh -n)" sh -n "$ctl/$s"
	if command -v shellcheck >/dev/null; then
		pt_check "$s passes shellcheck" shellcheck -s sh -S warning "$ctl/$s"
	fi
done

if command -v lintian >/dev/null; then
	out=$(timeout 300 lintian --fail-on error,warning "$deb" 2>&1 | grep -v 'root privileges')
	pt_check "lintian: no error or warning ($out)" test -z "$out"
fi

if ! pk_can_throwaway; then
	pt_skip "no throwaway root here (needs root, unshare, overlayfs): the .deb was not installed"
	pt_done
fi

# The part that runs inside the throwaway root.
cat >"$PT_TMP/inside.sh" <<'EOS'
set -u
deb=$1
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; }
check() { local t=$1; shift; if "$@"; then ok "$t"; else no "$t"; fi; }
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin

# dpkg -i alone refuses while another MTA is installed (Conflicts);
# apt removes that one, as it would for any MTA switch.
mta=$(dpkg-query -W -f='${Package} ${Status} ${Provides}\n' 2>/dev/null |
	awk '/ok installed/ && /mail-transport-agent/ { print $1; exit }')
if [ -n "$mta" ]; then
	out=$(dpkg -i "$deb" 2>&1)
	check "dpkg -i refuses while $mta is installed (Conflicts)" \
		bash -c "grep -q 'conflicting packages' <<<\"\$1\"" _ "$out"
	out=$(apt-get install -y --no-install-recommends "$deb" 2>&1)
	rc=$?
	check "apt-get install ./postern.deb installs it, removing $mta" test $rc -eq 0
	check "$mta was removed in its favour" bash -c "! dpkg-query -W -f='\${Status}' $mta 2>/dev/null | grep -q 'ok installed'"
else
	out=$(dpkg -i "$deb" 2>&1)
	rc=$?
	check "dpkg -i installs it (no other MTA here)" test $rc -eq 0
fi
[ $rc -eq 0 ] || echo "$out" | sed "s/^/# /"
grep -E '^(# )?(Removing|Setting up|postern:|Created symlink)|rror|arning' <<<"$out" | sed "s/^/# /"
check "dpkg says it is installed" bash -c "dpkg-query -W -f='\${Status}' postern | grep -q 'install ok installed'"
check "users postern and postern-net exist" bash -c 'getent passwd postern >/dev/null && getent passwd postern-net >/dev/null'
check "service enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/postern.service
v=$(systemd-analyze verify /lib/systemd/system/postern.service 2>&1)
check "systemd-analyze verify postern.service ($v)" test -z "$v"
check "/usr/sbin/sendmail is postern" test "$(readlink -f /usr/sbin/sendmail)" = /usr/sbin/postern
check "/etc/aliases.db built by postinst" test -f /etc/aliases.db
check "dpkg -L postern" dpkg -L postern >/dev/null
setid=$(dpkg -L postern 2>/dev/null | while read -r f; do [ -f "$f" ] && find "$f" -perm /6000; done)
check "no set-id file installed ($setid)" test -z "$setid"
check "postern check on the shipped configuration has no error" \
	bash -c "! postern check -c /etc/postern 2>&1 | grep -q ': error:'"

useradd -m alice
out=$(postern start 2>&1)
check "postern start on port 25 ($out)" test $? -eq 0
swaks --server 127.0.0.1:25 --from bob@example.org --to alice@localhost \
	--header "Subject: over smtp" >/tmp/swaks.out 2>&1
check "swaks: 250 queued" grep -q '^<- *250.*queued' /tmp/swaks.out
printf 'Subject: through sendmail\n\nhello\n' | /usr/sbin/sendmail alice
check "sendmail exits 0" test $? -eq 0
for i in $(seq 1 100); do
	[ "$(grep -c '^From ' /var/mail/alice 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
check "both messages delivered to /var/mail/alice" test "$(grep -c '^From ' /var/mail/alice 2>/dev/null)" = 2
check "... the SMTP one" grep -q '^Subject: over smtp' /var/mail/alice
check "... the sendmail one" grep -q '^Subject: through sendmail' /var/mail/alice
check "mailq: the queue is empty" bash -c "mailq | grep -q 'Mail queue is empty'"

# TLS on 25 out of the box: main.cf names the snakeoil pair
check "the snakeoil certificate exists" test -r /etc/ssl/certs/ssl-cert-snakeoil.pem
swaks --server 127.0.0.1:25 --tls --from bob@example.org --to alice@localhost \
	--header "Subject: over starttls" >/tmp/swaks-tls.out 2>&1
check "port 25: STARTTLS, then 250 queued" \
	bash -c "grep -q '^<- *220.*Ready to start TLS' /tmp/swaks-tls.out && grep -q '^<~ *250.*queued' /tmp/swaks-tls.out"
# Submission on 587 as the guides switch it on: the shipped lines
# uncommented (the $mua_* ones stay comments), Cyrus sasldb as
# docs/sasl.md says.
sed -i -E '/^#submission /,/milter_macro_daemon_name/{/\$mua_/!s/^#(submission |  -o )/\1/}' /etc/postern/master.cf
mkdir -p /etc/postern/sasl
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: /etc/postern/sasl/sasldb2\n' \
	>/etc/postern/sasl/smtpd.conf
echo secret | saslpasswd2 -p -c -f /etc/postern/sasl/sasldb2 -u "$(postern conf -h myhostname)" alice
chgrp postern-net /etc/postern/sasl/sasldb2
chmod 640 /etc/postern/sasl/sasldb2
printf 'smtpd_sasl_type = cyrus\ncyrus_sasl_config_path = /etc/postern/sasl\n' >>/etc/postern/main.cf
postern reload >/dev/null 2>&1
for i in $(seq 1 100); do
	(exec 3<>/dev/tcp/127.0.0.1/587) 2>/dev/null && break
	sleep 0.1
done
swaks --server 127.0.0.1:587 --from alice@localhost --to alice@localhost --quit-after EHLO \
	>/tmp/swaks-587a.out 2>&1
check "port 587: no AUTH offered before STARTTLS" \
	bash -c "grep -q '^<- *250.*STARTTLS' /tmp/swaks-587a.out && ! grep -q '^<- *250.AUTH' /tmp/swaks-587a.out"
swaks --server 127.0.0.1:587 --tls --auth PLAIN --auth-user alice \
	--auth-password secret --from alice@localhost --to alice@localhost \
	--header "Subject: over submission" >/tmp/swaks-587.out 2>&1
check "port 587: STARTTLS, AUTH PLAIN, 250 queued" \
	bash -c "grep -q '^<~ *235' /tmp/swaks-587.out && grep -q '^<~ *250.*queued' /tmp/swaks-587.out"
for i in $(seq 1 100); do
	[ "$(grep -c '^From ' /var/mail/alice 2>/dev/null)" = 4 ] && break
	sleep 0.1
done
check "... both delivered, over TLS (Received: with ESMTPS, ESMTPSA)" \
	bash -c "grep -q '^Subject: over starttls' /var/mail/alice && grep -q '^Subject: over submission' /var/mail/alice &&
		grep -q 'with ESMTPS ' /var/mail/alice && grep -q 'with ESMTPSA ' /var/mail/alice"
check "no set-id file appeared under /var/spool/postern" test -z "$(find /var/spool/postern -perm /6000)"

# reinstall (the upgrade path) while running: stopped by prerm, started
# again by postinst (no systemd here), and still delivering
out=$(dpkg -i "$deb" 2>&1)
check "reinstall over a running system exits 0" test $? -eq 0
check "... and it runs again afterwards" bash -c "postern status >/dev/null"
printf 'Subject: after reinstall\n\nhello\n' | /usr/sbin/sendmail alice
for i in $(seq 1 100); do
	grep -q '^Subject: after reinstall' /var/mail/alice 2>/dev/null && break
	sleep 0.1
done
check "... and delivers" grep -q '^Subject: after reinstall' /var/mail/alice
# remove (not purge) keeps the configuration, the queue and the users
out=$(dpkg -r postern 2>&1)
check "dpkg -r exits 0" test $? -eq 0
check "... it stopped the running system" bash -c '! pgrep -x master >/dev/null'
check "... it kept main.cf, the queue and the users" \
	bash -c 'test -f /etc/postern/main.cf && test -d /var/spool/postern && getent passwd postern >/dev/null'
check "... and removed the programs" test ! -e /usr/sbin/postern

out=$(dpkg --purge postern 2>&1)
check "dpkg --purge (stops the running system)" test $? -eq 0
echo "$out" | grep -iE 'error|warning' | sed 's/^/# /'
check "no postern process left" bash -c '! pgrep -x master >/dev/null && ! pgrep -x qmgr >/dev/null && ! pgrep -x smtpd >/dev/null' 
for p in /etc/postern /var/spool/postern /var/lib/postern /usr/sbin/postern /usr/sbin/sendmail \
	/usr/bin/mailq /usr/lib/sendmail /usr/libexec/postern /lib/systemd/system/postern.service \
	/etc/systemd/system/multi-user.target.wants/postern.service /etc/logrotate.d/postern; do
	check "purged: $p" test ! -e "$p" -a ! -L "$p"
done
check "users and groups removed" bash -c '! getent passwd postern && ! getent passwd postern-net && ! getent group postern && ! getent group postern-net' 
check "dpkg no longer knows postern" bash -c "! dpkg-query -W -f='\${Status}' postern 2>/dev/null | grep -q 'ok installed'"
EOS

ovl=$PT_TMP/ovl
pk_throwaway "$ovl" "$PT_TMP/inside.sh" "$deb" >"$PT_TMP/inside.out" 2>&1
rc=$?
cat "$PT_TMP/inside.out"
pt_check "the throwaway root ran to the end (status $rc)" test $rc -eq 0
nok=$(grep -c '^not ok' "$PT_TMP/inside.out")
nsub=$(grep -c '^ok' "$PT_TMP/inside.out")
pt_check "inside: $nsub checks passed, $nok failed" test "$nok" -eq 0 -a "$nsub" -gt 20
# What the purge left in the changed files of the overlay, except the
# test's own files, dpkg's records, logs, and alice's mailbox and home.
left=$(cd "$ovl/upper" && find . -path ./tmp -prune -o -path ./var/lib/dpkg -prune \
	-o -path ./var/log -prune -o -path ./var/cache -prune -o -path ./home -prune \
	-o -path ./var/mail -prune -o -path "./${PT_TMP#/}" -prune -o -path ./usr/sbin/policy-rc.d -prune \
	-o -name '*postern*' -print)
pt_check "nothing named postern left on the system ($left)" test -z "$left"
pt_done
