#!/bin/bash
# attacks.sh - the security regression suite (issue 8): one real postern
# (master, smtpd, qmgr, local) on a loopback port, attacked over its
# socket with the inputs of known MTA vulnerabilities; attacks.py sends
# them and checks the safe outcome in replies, mailboxes and the log.
# Needs root (throwaway local users are created and removed).
. "$(dirname "$0")/../e2e/lib.sh"
pt_init
[ -n "$PT_TMP" ] && [ -d "$PT_TMP" ] || exit 1
for n in master smtpd qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then
		pt_skip "$n is not built"
		pt_done
	fi
done
if [ "$(id -u)" != 0 ]; then
	pt_skip "the attack suite needs root (local users)"
	pt_done
fi

USERS=()
cleanup_users() {
	local u
	for u in "${USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1; done
	pt_cleanup
}
trap cleanup_users EXIT
sfx=$(printf '%04x' $((RANDOM)))
ALICE=sa$sfx BOB=sb$sfx CAROL=sc$sfx DAVE=sd$sfx
for u in $ALICE $BOB $CAROL $DAVE; do
	useradd -m -d "$PT_TMP/home/$u" -s /bin/sh "$u" || { pt_fail "useradd $u"; pt_done; }
	USERS+=("$u")
done

port=$(pt_free_port)
d=$PT_TMP/inst
pt_instance "$d" "$port"
mkdir -p "$d/mail" "$d/out"
chmod 1777 "$d/mail" "$d/out"
# The recipient of |command aliases writes what it was given, nothing more.
cat >"$d/record" <<EOS
#!/bin/sh
printf '%s\n' "\$SENDER" >>"$d/out/senders"
cat >/dev/null
EOS
chmod 755 "$d/record"
printf ':include:%s\n' "$d/inc2" >"$d/inc1"
printf ':include:%s\n' "$d/inc1" >"$d/inc2"
cat >"$d/aliases" <<EOA
postmaster: root
recorder: |$d/record
loop: :include:$d/inc1
EOA
cat >>"$d/main.cf" <<EOC
mydestination = mx.example, localhost
mynetworks = 127.0.0.1/32
mail_spool_directory = $d/mail
alias_maps = hash:$d/aliases
alias_database = hash:$d/aliases
allow_mail_to_commands = alias
message_size_limit = 1000000
smtpd_timeout = 3s
smtpd_recipient_limit = 100
minimal_backoff_time = 300s
maximal_backoff_time = 600s
EOC
sed -i "s/^127.0.0.1:$port inet n - n - - smtpd/127.0.0.1:$port inet n - n - 2000 smtpd/" "$d/master.cf"
"$POSTERN" alias -c "$d" "hash:$d/aliases" || pt_fail "postern alias"
# Carol's mailbox is a symlink, Dave's a hard link, to files they do not own.
echo "precious" >"$d/target-sym"
echo "precious" >"$d/target-hard"
ln -s "$d/target-sym" "$d/mail/$CAROL"
ln "$d/target-hard" "$d/mail/$DAVE"
# A .forward with a command, which allow_mail_to_commands = alias forbids.
printf '|/bin/touch %s/out/forward-ran\n' "$d" >"$PT_TMP/home/$BOB/.forward"
chown "$BOB" "$PT_TMP/home/$BOB/.forward"

out=$(pt_start "$d" 2>&1)
pt_check "postern starts ($out)" test $? -eq 0
pt_wait_port "$port" || pt_fail "smtpd listens"

ulimit -n 4096 2>/dev/null
/usr/bin/python3 "$(dirname "$0")/attacks.py" "$port" "$d" "$ALICE" "$BOB" "$CAROL" "$DAVE" ||
	PT_FAILED=$((PT_FAILED + 1))

pt_check "no sanitizer report, panic or crashed daemon in the log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|panic:|warning: process .* (killed|terminated)' '$d/maillog'"
pt_done
