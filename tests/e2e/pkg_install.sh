#!/bin/bash
# pkg_install.sh - make install / install-compat / uninstall: into a
# DESTDIR (files, modes, no set-id file, an existing main.cf kept and the
# shipped one put beside it as main.cf.dist, a foreign sendmail never
# replaced, uninstall removes exactly what install made and keeps a
# changed main.cf), and as root with DESTDIR empty in a throwaway overlay
# root (pkg_lib.inc), where install also creates the users and uninstall
# removes them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg_lib.inc"
pt_init
[ -n "$PT_TMP" ] || exit 1
B=$(basename "$BUILD")
# the same flags as the build under test, so make never rebuilds it otherwise
SAN=
case $B in *san*) SAN=SANITIZE=1 ;; esac
mk() { make -s -C "$PT_ROOT" BUILD="$B" $SAN "$@" 2>&1; }

dest=$PT_TMP/dest
mkdir -p "$dest"
out=$(mk install DESTDIR="$dest" PREFIX=/usr/local)
pt_check "make install DESTDIR=... exits 0" test $? -eq 0
for f in usr/local/sbin/postern usr/local/libexec/postern/master usr/local/libexec/postern/smtpd \
	usr/local/libexec/postern/qmgr usr/local/libexec/postern/local etc/postern/main.cf \
	etc/postern/master.cf usr/local/share/man/man1/postern.1 usr/local/share/man/man5/postern.conf.5 \
	usr/local/lib/systemd/system/postern.service usr/local/share/postern/install-manifest; do
	pt_check "installed $f" test -f "$dest/$f"
done
pt_check "queue directory created" test -d "$dest/var/spool/postern"
pt_check "the unit names the installed postern" \
	grep -q '^ExecStart=/usr/local/sbin/postern start' "$dest/usr/local/lib/systemd/system/postern.service"
pt_check "no users created with DESTDIR set" bash -c "! grep -q '^u ' '$dest/usr/local/share/postern/install-manifest'"
out=$(mk install-compat DESTDIR="$dest" PREFIX=/usr/local)
pt_check "make install-compat exits 0" test $? -eq 0
for l in usr/local/sbin/sendmail usr/local/bin/mailq usr/local/bin/newaliases; do
	pt_check "$l -> postern" test "$(readlink "$dest/$l")" = /usr/local/sbin/postern
done
setid=$(find "$dest" -perm /6000)
pt_check "no set-user-id or set-group-id file (find -perm /6000: $setid)" test -z "$setid"

out=$(mk install DESTDIR="$PT_TMP/wrong" PREFIX=/opt/elsewhere)
pt_check "install refuses a build made for another PREFIX" test $? -ne 0
pt_check "... says how to fix it" grep -q "make clean && make PREFIX=/opt/elsewhere" <<<"$out"
pt_check "... and installed nothing" test ! -e "$PT_TMP/wrong/opt"

# an existing configuration is never overwritten
echo "myhostname = kept.example" >>"$dest/etc/postern/main.cf"
out=$(mk install DESTDIR="$dest" PREFIX=/usr/local)
pt_check "reinstall keeps the changed main.cf" grep -q kept.example "$dest/etc/postern/main.cf"
pt_check "... and puts the shipped one beside it as main.cf.dist" cmp -s "$PT_ROOT/conf/main.cf" "$dest/etc/postern/main.cf.dist"
pt_check "... and says so" grep -q "main.cf.dist" <<<"$out"

# a sendmail that is not ours stays
other=$PT_TMP/other
mkdir -p "$other/usr/local/sbin"
echo '#!/bin/sh' >"$other/usr/local/sbin/sendmail"
mk install DESTDIR="$other" PREFIX=/usr/local >/dev/null
out=$(mk install-compat DESTDIR="$other" PREFIX=/usr/local)
pt_check "install-compat refuses to replace another sendmail" test $? -ne 0
pt_check "... which is left as it was" test "$(cat "$other/usr/local/sbin/sendmail")" = '#!/bin/sh'

# something of the admin's in a directory we created stays, with it
echo mine >"$dest/usr/local/share/man/man1/mine.1"
out=$(mk uninstall DESTDIR="$dest" PREFIX=/usr/local)
pt_check "make uninstall exits 0" test $? -eq 0
left=$(cd "$dest" && find . -mindepth 1 | sort | tr '\n' ' ')
want="./etc ./etc/postern ./etc/postern/main.cf ./usr ./usr/local ./usr/local/share ./usr/local/share/man ./usr/local/share/man/man1 ./usr/local/share/man/man1/mine.1 "
pt_check "uninstall left only the changed main.cf and the admin's file ($left)" test "$left" = "$want"
pt_check "... and said why main.cf stays" grep -q "kept .*main.cf" <<<"$out"

# the unit's sandboxing, as systemd scores it (docs/install.md records it)
if command -v systemd-analyze >/dev/null; then
	sec=$(systemd-analyze security --offline=yes "$PT_ROOT/conf/postern.service" 2>&1)
	score=$(sed -n 's/.*exposure level for postern.service: \([0-9.]*\).*/\1/p' <<<"$sec")
	pt_check "systemd-analyze security: exposure $score <= 3.5" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.5) }'
	pt_check "docs/install.md records that score" grep -q "exposure level for postern.service: $score " "$PT_ROOT/docs/install.md"
fi

if ! pk_can_throwaway; then
	pt_skip "no throwaway root (needs root, unshare, overlayfs): install to / not tested"
	pt_done
fi
cat >"$PT_TMP/inside.sh" <<'EOS'
set -u
root=$1 build=$2 san=${3:-}
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; }
check() { local t=$1; shift; if "$@"; then ok "$t"; else no "$t"; fi; }
userdel postern-net 2>/dev/null; userdel postern 2>/dev/null
groupdel postern-net 2>/dev/null; groupdel postern 2>/dev/null
cd "$root" || exit 1
before=$(mktemp)
find /etc /usr/local /var/spool -xdev 2>/dev/null | sort >"$before"
make -s BUILD="$build" $san install-compat >/tmp/inst.out 2>&1
check "make install-compat as root exits 0" test $? -eq 0
check "users created" bash -c 'getent passwd postern >/dev/null && getent passwd postern-net >/dev/null'
check "the manifest records them" grep -q '^u postern-net' /usr/local/share/postern/install-manifest
check "/usr/local/sbin/sendmail is ours" test "$(readlink /usr/local/sbin/sendmail)" = /usr/local/sbin/postern
setid=$(awk '$1 == "f" || $1 == "c" || $1 == "d" { print $2 }' /usr/local/share/postern/install-manifest |
	while read -r f; do find "$f" -maxdepth 0 -perm /6000; done)
check "no set-id file or directory among those installed ($setid)" test -z "$setid"
make -s BUILD="$build" $san uninstall >/tmp/uninst.out 2>&1
check "make uninstall exits 0" test $? -eq 0
check "users removed" bash -c '! getent passwd postern && ! getent passwd postern-net'
after=$(mktemp)
find /etc /usr/local /var/spool -xdev 2>/dev/null | sort >"$after"
d=$(diff "$before" "$after" | grep '^[<>]' | grep -v -e '/etc/passwd' -e '/etc/group' -e '/etc/shadow' -e '/etc/gshadow' -e '/etc/subuid' -e '/etc/subgid' | tr '\n' ' ')
check "the tree is as before install ($d)" test -z "$d"
EOS
out=$(pk_throwaway "$PT_TMP/ovl" "$PT_TMP/inside.sh" "$PT_ROOT" "$B" "$SAN" 2>&1)
echo "$out"
pt_check "throwaway root: all checks passed" bash -c "! grep -q '^not ok' <<<\"\$1\" && grep -c '^ok' <<<\"\$1\" | grep -qx 8" _ "$out"
pt_done
