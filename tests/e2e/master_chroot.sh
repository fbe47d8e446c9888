#!/bin/bash
# master_chroot.sh - a chrooted service finds the resolver configuration
# and hosts file: master copies them into queue_directory/etc at start
# and again at reload (as Debian's Postfix start script does).
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] && [ -d "$PT_TMP" ] || exit 1
[ -x "$BUILD/libexec/smtpd" ] || { pt_skip "no smtpd"; pt_done; }
[ "$(id -u)" = 0 ] || { pt_skip "chroot needs root"; pt_done; }
port=$(pt_free_port)
d=$PT_TMP/c
pt_instance "$d" "$port"
sed -i "s/^127.0.0.1:$port inet n - n - - smtpd/127.0.0.1:$port inet n - y - - smtpd/" "$d/master.cf"
out=$(pt_start "$d" 2>&1)
pt_check "start with a chrooted smtpd ($out)" test $? -eq 0
for f in resolv.conf hosts; do
	[ -f /etc/$f ] || continue
	pt_check "queue_directory/etc/$f is a copy of /etc/$f" cmp -s "/etc/$f" "$d/queue/etc/$f"
done
pt_check "queue_directory/etc is root's and not writable by others" \
	test "$(stat -c '%U %a' "$d/queue/etc")" = "root 755"
rm -f "$d/queue/etc/hosts"
"$POSTERN" reload -c "$d" >/dev/null 2>&1
for _ in $(seq 1 50); do [ -f "$d/queue/etc/hosts" ] && break; sleep 0.1; done
pt_check "reload copies them again" cmp -s /etc/hosts "$d/queue/etc/hosts"
b=$(pt_banner "$port")
pt_check "the chrooted smtpd greets ($b)" grep -q "^220 " <<<"$b"
pt_done
