#!/bin/bash
# local_delivery.sh - end-to-end tests of the local delivery agent
# (build/libexec/local): real DELIVER records from tests/e2e/local_client.py
# over private/local with a queue-file descriptor attached, real mailboxes,
# maildirs, alias tables built by "postern alias", .forward and :include:
# files, commands.  As root it creates throw-away users (removed at the
# end) to check that every delivery runs as the right user; as non-root
# it runs the single-user subset.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
POSTERN=${POSTERN:-$BUILD/bin/postern}
LOCAL=$BUILD/libexec/local
CLIENT=(python3 "$ROOT/tests/e2e/local_client.py" --proto "$ROOT/common/proto.h")
failed=0
ok() { echo "ok - $*"; }
nok() {
	echo "not ok - $*"
	[ -f "$T/out" ] && sed 's/^/#   /' "$T/out" | head -5
	[ -f "$T/local.log" ] && tail -n 3 "$T/local.log" | sed 's/^/#   log: /'
	failed=1
}
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

T=$(mktemp -d /tmp/postern-local.XXXXXX) || exit 1
[ -d "$T" ] || exit 1
chmod 755 "$T"
PID=
STUB=
USERS=()
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$STUB" ] && kill "$STUB" 2>/dev/null && wait "$STUB" 2>/dev/null
	for u in "${USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" = 0 ]; then
	AS_ROOT=1
	sfx=$(printf '%04x' $((RANDOM)))
	OWNER=plo$sfx ALICE=pla$sfx BOB=plb$sfx
	for u in $OWNER $ALICE $BOB; do
		useradd -m -d "$T/home/$u" -s /bin/sh "$u" || { echo "not ok - useradd $u"; exit 1; }
		USERS+=("$u")
	done
	CLIENT+=(--uid "$(id -u "$OWNER")")
else
	AS_ROOT=0
	OWNER=$(id -un) ALICE=$(id -un) BOB=$(id -un)
	echo "ok - skipped: multi-user tests need root (running the single-user subset)"
fi
ALICE_HOME=$(getent passwd "$ALICE" | cut -d: -f6)

mkdir -p "$T/etc" "$T/q/private" "$T/mail" "$T/pub"
chmod 1777 "$T/mail" "$T/pub"
chmod 755 "$T/q"
[ "$AS_ROOT" = 1 ] && chown "$OWNER" "$T/q/private"
printf 'local unix - n n - - local\n' >"$T/etc/master.cf"

base_conf() {
	{
		echo "queue_directory = $T/q"
		echo "mail_spool_directory = $T/mail"
		echo "alias_maps = hash:$T/etc/aliases"
		echo "myhostname = test.example"
		echo "mydestination = test.example, localhost"
		echo "mail_owner = $OWNER"
		echo "recipient_delimiter = +"
		echo "deliver_lock_delay = 1s"
		echo "deliver_lock_attempts = 3"
	} >"$T/etc/main.cf"
}

stop_local() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	PID=
}

start_local() {
	stop_local
	rm -f "$T/q/private/local"
	POSTERN_FOREGROUND=1 "$LOCAL" -c "$T/etc" -s local >>"$T/local.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 50); do
		[ -S "$T/q/private/local" ] && break
		sleep 0.1
	done
}

# deliver FILE [client args...]: output in $T/out
deliver() {
	local f=$1
	shift
	timeout 120 "${CLIENT[@]}" --socket "$T/q/private/local" --file "$f" "$@" >"$T/out" 2>&1
}
has() { grep -qF -- "$1" "${2:-$T/out}"; }
logged() { grep -qF -- "$1" "$T/local.log"; }
# A mailbox with the date of its "From " lines replaced.
normbox() { sed -E 's/^(From [^ ]+  ).*$/\1DATE/' "$1"; }

printf 'Subject: hello\nFrom: a@example.org\n\nFrom the start\nline two\n>From quoted\nFromage\nno newline at end' >"$T/msg"
# A queue-file-like file: the content at an offset, among other bytes.
{
	printf 'QUEUEFILEHEAD\n'
	cat "$T/msg"
	printf 'TRAILER'
} >"$T/qf"
OFF=14
LEN=$(stat -c %s "$T/msg")

base_conf
printf 'postmaster: root\n' >"$T/etc/aliases"
"$POSTERN" alias -c "$T/etc" "hash:$T/etc/aliases"
start_local

# 1. mbox delivery, exact contents
deliver "$T/qf" --offset $OFF --length "$LEN" --sender s@example.org --rcpt "$ALICE@test.example"
check "mbox: 2.0.0 delivered to mailbox" has "RESULT 0 2.0.0 delivered to mailbox [local]"
check "mbox: DONE after the results" has "DONE"
{
	echo "From s@example.org  DATE"
	echo "Return-Path: <s@example.org>"
	echo "X-Original-To: $ALICE@test.example"
	echo "Delivered-To: $ALICE@test.example"
	echo "Subject: hello"
	echo "From: a@example.org"
	echo ""
	echo ">From the start"
	echo "line two"
	echo ">From quoted"
	echo "Fromage"
	echo "no newline at end"
	echo ""
} >"$T/expect"
check "mbox: exact contents (From_ line, headers, >From quoting, final newline, blank line)" \
	cmp -s <(normbox "$T/mail/$ALICE") "$T/expect"
check "mbox: mode 0600, owned by the recipient" \
	test "$(stat -c '%a %U' "$T/mail/$ALICE")" = "600 $ALICE"
check "mbox: log line in Postfix's format" \
	grep -qE "4AbCdEf0123: to=<$ALICE@test.example>, relay=local, delay=[0-9.]+, delays=0.01/0/0/[0-9.]+, dsn=2.0.0, status=sent \(delivered to mailbox\)" "$T/local.log"

# 2. a second message is appended; the null sender is MAILER-DAEMON
deliver "$T/qf" --offset $OFF --length "$LEN" --sender "" --rcpt "$ALICE@test.example=orig@test.example"
check "mbox: second delivery appended" test "$(grep -c '^From ' "$T/mail/$ALICE")" = 2
check "mbox: null sender gives From MAILER-DAEMON and Return-Path: <>" \
	bash -c "grep -qE '^From MAILER-DAEMON  ' '$T/mail/$ALICE' && grep -qx 'Return-Path: <>' '$T/mail/$ALICE'"
check "mbox: X-Original-To is the original recipient" has "X-Original-To: orig@test.example" "$T/mail/$ALICE"
check "log: orig_to= when the original recipient differs" logged "orig_to=<orig@test.example>"

# 3. several requests on one connection
deliver "$T/qf" --offset $OFF --length "$LEN" --repeat 3 --rcpt "$ALICE@test.example"
check "three requests on one connection" test "$(grep -c DONE "$T/out")" = 3

# 4. unknown user
deliver "$T/qf" --rcpt "nosuchuser+x@test.example"
check "unknown user: 5.1.1 as Postfix words it" has 'RESULT 0 5.1.1 unknown user: "nosuchuser+x" [local]'
check "unknown user: logged as bounced" logged 'dsn=5.1.1, status=bounced (unknown user: "nosuchuser+x")'

# 4b. role accounts never bounce: abuse (no alias, no user) goes to root
rm -f "$T/mail/root"
deliver "$T/qf" --rcpt "abuse@test.example"
check "abuse without alias or user: delivered to root's mailbox" \
	bash -c "grep -q 'RESULT 0 2.0.0 delivered to mailbox' '$T/out' && grep -q '^Delivered-To: abuse@test.example' '$T/mail/root'"
check "abuse: logged as to=<root@...>, orig_to=<abuse@...>" logged "to=<root@test.example>, orig_to=<abuse@test.example>, relay=local"

# 5. Delivered-To loop
printf 'Delivered-To: %s@TEST.example\nSubject: loop\n\nx\n' "$ALICE" >"$T/loopmsg"
deliver "$T/loopmsg" --rcpt "$ALICE@test.example"
check "Delivered-To loop: 5.4.6 mail forwarding loop" has "RESULT 0 5.4.6 mail forwarding loop for $ALICE@test.example"

# 6. symlink and hard link mailboxes refused
mv "$T/mail/$ALICE" "$T/alice.saved"
ln -s "$T/pub/target" "$T/mail/$ALICE"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "symlink mailbox refused (5.2.0)" has "RESULT 0 5.2.0 cannot update mailbox $T/mail/$ALICE"
check "symlink target not created" test ! -e "$T/pub/target"
rm -f "$T/mail/$ALICE"
: >"$T/pub/other"
[ "$AS_ROOT" = 1 ] && chown "$ALICE" "$T/pub/other"
ln "$T/pub/other" "$T/mail/$ALICE"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "hard-linked mailbox refused (5.2.0)" has "more than one hard link"
check "hard link target untouched" test ! -s "$T/pub/other"
rm -f "$T/mail/$ALICE" "$T/pub/other"
if [ "$AS_ROOT" = 1 ]; then
	: >"$T/mail/$ALICE"
	chown "$BOB" "$T/mail/$ALICE"
	chmod 666 "$T/mail/$ALICE"
	deliver "$T/qf" --rcpt "$ALICE@test.example"
	check "mailbox owned by another user refused (5.2.0)" has "5.2.0 cannot update mailbox $T/mail/$ALICE for user $ALICE. $T/mail/$ALICE: file has the wrong owner"
	check "mailbox owned by another user untouched" test ! -s "$T/mail/$ALICE"
	rm -f "$T/mail/$ALICE"
fi
mv "$T/alice.saved" "$T/mail/$ALICE"

# 7. mailbox_size_limit: a message that would pass it is refused and the
# mailbox keeps its old size; one that fits is delivered
before=$(stat -c %s "$T/mail/$ALICE")
echo "mailbox_size_limit = $((before + 100))" >>"$T/etc/main.cf"
echo "message_size_limit = 100" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "$ALICE@test.example"
check "mailbox_size_limit: 5.2.2 File too large" has "RESULT 0 5.2.2 cannot update mailbox $T/mail/$ALICE for user $ALICE. error writing message: File too large"
check "mailbox_size_limit: mailbox cut back to its old size" test "$(stat -c %s "$T/mail/$ALICE")" = "$before"
base_conf
echo "mailbox_size_limit = $((before + 1000))" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "$ALICE@test.example"
check "mailbox_size_limit: a message that fits is delivered" has "RESULT 0 2.0.0"
base_conf
start_local

# 8. locking: a concurrent writer holds an fcntl lock for 2 s
rm -f "$T/mail/$ALICE.held"
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
f.write("X-Held: lock\n"); f.flush()
open(sys.argv[1] + ".held", "w").close()
time.sleep(2)
f.write("X-Released: lock\n"); f.flush()
' "$T/mail/$ALICE" &
locker=$!
for _ in $(seq 1 50); do [ -e "$T/mail/$ALICE.held" ] && break; sleep 0.1; done
rm -f "$T/mail/$ALICE.held"
start=$(date +%s%N)
deliver "$T/qf" --offset $OFF --length "$LEN" --sender s@example.org --rcpt "$ALICE@test.example"
elapsed=$((($(date +%s%N) - start) / 1000000))
wait $locker
check "lock: delivery waited for the fcntl lock, then succeeded" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && [ $elapsed -ge 900 ]"
check "lock: the other writer's lines come whole before the new message" \
	bash -c "grep -A2 -x 'X-Held: lock' '$T/mail/$ALICE' | tr '\n' '|' | grep -q '^X-Held: lock|X-Released: lock|From s@example.org  '"
# a dot-lock that is not stale makes the delivery wait, then defer
touch "$T/mail/$ALICE.lock"
[ "$AS_ROOT" = 1 ] && chown "$ALICE" "$T/mail/$ALICE.lock"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "dotlock held: deferred, 4.2.0 unable to create lock file" has "RESULT 0 4.2.0 cannot update mailbox $T/mail/$ALICE for user $ALICE. unable to create lock file $T/mail/$ALICE.lock"
rm -f "$T/mail/$ALICE.lock"
# a stale dot-lock is removed
touch -d '-1 hour' "$T/mail/$ALICE.lock"
[ "$AS_ROOT" = 1 ] && chown "$ALICE" "$T/mail/$ALICE.lock"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "stale dotlock removed, delivered" has "RESULT 0 2.0.0"
check "stale dotlock: logged" logged "removing stale lock file $T/mail/$ALICE.lock"

# 9. hostile records: dropped connection, nothing delivered, agent alive
for m in bad-type no-id unknown-tag no-nul short-u64 crlf-rcpt orcpt-first truncated dup-sender no-fd long-length writable-fd; do
	deliver "$T/qf" --mutate $m --rcpt "$ALICE@test.example"
	check "hostile DELIVER ($m): connection dropped, nothing delivered" \
		bash -c "grep -q '^EOF' '$T/out' && ! grep -q RESULT '$T/out'"
done
check "hostile DELIVER: logged as protocol errors" logged "dropping connection"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "agent still serves after hostile records" has "RESULT 0 2.0.0"

# 10. mailbox_transport hands the mailbox delivery to the transport's
# socket; with no agent listening there it is a clear deferral (the
# delivery itself is tested in tests/e2e/smtp_lmtp.sh)
echo "mailbox_transport = lmtp:unix:private/dovecot-lmtp" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "mailbox_transport without its agent: deferred" has "RESULT 0 4.3.0 mail transport unavailable: connect to private/lmtp"
base_conf

# 11. an alias table that cannot be opened defers, and is picked up
# once it exists (and re-opened when it changes)
sed -i "s|^alias_maps = .*|alias_maps = hash:$T/etc/aliases2|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "missing alias table: deferred 4.3.0 alias database unavailable" has "RESULT 0 4.3.0 alias database unavailable"
printf 'postmaster: root\nsomeone: %s\n' "$ALICE" >"$T/etc/aliases2"
"$POSTERN" alias -c "$T/etc" "hash:$T/etc/aliases2"
deliver "$T/qf" --rcpt "someone@test.example"
check "alias table created later: used without a restart" has "RESULT 0 2.0.0 delivered to mailbox"
sleep 1
printf 'postmaster: root\nsomeone: nosuchuser\n' >"$T/etc/aliases2"
"$POSTERN" alias -c "$T/etc" "hash:$T/etc/aliases2"
deliver "$T/qf" --rcpt "someone@test.example"
check "alias table changed: re-opened" has 'RESULT 0 5.1.1 unknown user: "nosuchuser"'
base_conf

sanitizer_check() {
	check "no sanitizer or crash reports from the agent" \
		bash -c "! grep -qE 'Sanitizer|runtime error|fatal:|panic:' '$T/local.log'"
}

if [ "$AS_ROOT" = 0 ]; then
	stop_local
	sanitizer_check
	[ $failed = 0 ]
	exit
fi

# ---- root only: Maildir in the home, mailbox_command as the user ----

# 11. Maildir via home_mailbox
echo "home_mailbox = Maildir/" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --sender s@example.org --rcpt "$ALICE@test.example"
check "maildir: 2.0.0 delivered to maildir" has "RESULT 0 2.0.0 delivered to maildir"
md=$ALICE_HOME/Maildir
check "maildir: tmp, new, cur created, owned by the user" \
	test "$(stat -c %U "$md" "$md/tmp" "$md/new" "$md/cur" | sort -u)" = "$ALICE"
check "maildir: one file in new, none in tmp" \
	test "$(ls "$md/new" | wc -l)/$(ls "$md/tmp" | wc -l)" = "1/0"
f=$(ls "$md/new")
check "maildir: unique name time.MusecPpidQn.host" bash -c "[[ '$f' =~ ^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\..+$ ]]"
{
	echo "Return-Path: <s@example.org>"
	echo "X-Original-To: $ALICE@test.example"
	echo "Delivered-To: $ALICE@test.example"
	echo "Subject: hello"
	echo "From: a@example.org"
	echo ""
	echo "From the start"
	echo "line two"
	echo ">From quoted"
	echo "Fromage"
	echo "no newline at end"
} >"$T/expect"
check "maildir: exact contents (no From_ line, no quoting)" cmp -s "$md/new/$f" "$T/expect"
check "maildir: file mode 0600 owned by the user" test "$(stat -c '%a %U' "$md/new/$f")" = "600 $ALICE"
base_conf

# 11b. mbox in the home directory via home_mailbox
echo "home_mailbox = Mailbox" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --sender s@example.org --rcpt "$ALICE@test.example"
check "home_mailbox = Mailbox: mbox in the home, owned by the user" \
	bash -c "grep -q 'RESULT 0 2.0.0 delivered to mailbox' '$T/out' && [ \"\$(stat -c '%a %U' '$ALICE_HOME/Mailbox')\" = '600 $ALICE' ] && grep -q '^>From the start' '$ALICE_HOME/Mailbox'"
base_conf

# 12. mailbox_command with the environment, exit codes per sysexits
{
	echo '#!/bin/sh'
	echo 'cat >"$HOME/mbcmd.out"'
	echo 'env | sort >"$HOME/mbcmd.env"'
	echo 'exit "${CODE:-0}"'
} >"$T/pub/mbcmd.sh"
chmod 755 "$T/pub/mbcmd.sh"
echo "mailbox_command = $T/pub/mbcmd.sh" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --sender 's@example.org' --rcpt "$ALICE+ext@test.example=Orig@test.example"
check "mailbox_command: 2.0.0 delivered to command" has "RESULT 0 2.0.0 delivered to command: $T/pub/mbcmd.sh"
check "mailbox_command: ran as the user" test "$(stat -c %U "$ALICE_HOME/mbcmd.out")" = "$ALICE"
check "mailbox_command: From_ line first" grep -q "^From s@example.org  " "$ALICE_HOME/mbcmd.out"
for v in "HOME=$ALICE_HOME" "USER=$ALICE" "LOGNAME=$ALICE" "SHELL=/bin/sh" "SENDER=s@example.org" \
	"RECIPIENT=$ALICE+ext@test.example" "EXTENSION=ext" "DOMAIN=test.example" \
	"LOCAL=$ALICE+ext" "ORIGINAL_RECIPIENT=Orig@test.example" "PATH=/usr/bin:/bin"; do
	check "mailbox_command environment: $v" grep -qxF "$v" "$ALICE_HOME/mbcmd.env"
done
check "mailbox_command environment: nothing else of the agent's" \
	bash -c "! grep -qE '^(POSTERN|SUDO|TERM|MAIL=)' '$ALICE_HOME/mbcmd.env'"
# Not subjected to $name substitution (postconf(5)): shell syntax such as
# "$EXTENSION" reaches the shell, which takes it from the environment.
sed -i "s|^mailbox_command = .*|mailbox_command = echo \"\$EXTENSION\" > \$HOME/mbcmd.ext|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --offset $OFF --length "$LEN" --sender 's@example.org' --rcpt "$ALICE+ext@test.example"
check "mailbox_command: \$EXTENSION left for the shell" test "$(cat "$ALICE_HOME/mbcmd.ext" 2>/dev/null)" = ext
sed -i "s|^mailbox_command = .*|mailbox_command = id -un > $T/pub/root.who|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "root@test.example"
check "mailbox_command for root runs as default_privs" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && [ \"\$(cat '$T/pub/root.who')\" = nobody ]"
sed -i "s|^mailbox_command = .*|mailbox_command = CODE=75 $T/pub/mbcmd.sh|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "mailbox_command exit 75 (EX_TEMPFAIL): 4.3.0 temporary failure" has "RESULT 0 4.3.0 temporary failure"
sed -i "s|^mailbox_command = .*|mailbox_command = CODE=3 $T/pub/mbcmd.sh|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "mailbox_command exit 3: 5.3.0 Command died with status 3" has "RESULT 0 5.3.0 Command died with status 3: \"CODE=3 $T/pub/mbcmd.sh\""
sed -i "s|^mailbox_command = .*|mailbox_command = echo 5.2.1 over quota; exit 67|" "$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "$ALICE@test.example"
check "mailbox_command: a status code at the start of the output wins" has "RESULT 0 5.2.1 user unknown. Command output: 5.2.1 over quota"
base_conf

# ---- root only: aliases, :include:, commands, files, .forward ----
mkdir -p "$T/inc"
printf '%s\n# a comment\n%s\n' "$ALICE" "$BOB" >"$T/inc/list"
{
	echo "postmaster: root"
	echo "team: $ALICE, $BOB"
	echo "owner-team: $ALICE"
	echo "incl: :include:$T/inc/list"
	echo "cmd: \"|id -un > $T/pub/cmd.who; cat > $T/pub/cmd.out\""
	echo "envcmd: \"|env | sort > $T/pub/env.out\""
	echo "file: $T/pub/file.mbox"
	echo "maildirfile: $T/pub/md/"
	echo "loopa: loopb"
	echo "loopb: loopa"
	echo "remote: someone@remote.example"
	echo "self: self, $BOB"
	echo "slow: \"|sleep 3\""
	echo "ext+x: $BOB"
	echo "ext: $ALICE"
	echo "recur: :include:$T/inc/recur"
} >"$T/etc/aliases"
echo ":include:$T/inc/recur" >"$T/inc/recur"
"$POSTERN" alias -c "$T/etc" "hash:$T/etc/aliases"
start_local
: >"$T/mail/$ALICE"
: >"$T/mail/$BOB"
chown "$ALICE" "$T/mail/$ALICE"
chown "$BOB" "$T/mail/$BOB"

deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "team@test.example"
check "alias to two users: 2.0.0" has "RESULT 0 2.0.0"
check "alias: both mailboxes got the message" \
	bash -c "grep -q '^Subject: hello' '$T/mail/$ALICE' && grep -q '^Subject: hello' '$T/mail/$BOB'"
check "alias: Delivered-To is the alias address" grep -q "^Delivered-To: team@test.example" "$T/mail/$BOB"
check "alias: owner-team becomes the envelope sender" grep -q "^Return-Path: <owner-team@test.example>" "$T/mail/$BOB"
check "alias: logged per final recipient with orig_to" \
	logged "to=<$BOB@test.example>, orig_to=<team@test.example>, relay=local"

: >"$T/mail/$ALICE"
: >"$T/mail/$BOB"
deliver "$T/qf" --rcpt "incl@test.example"
check ":include: delivered to the listed users" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && [ -s '$T/mail/$ALICE' ] && [ -s '$T/mail/$BOB' ]"
chown "$BOB" "$T/inc/list"
: >"$T/mail/$ALICE"
deliver "$T/qf" --rcpt "incl@test.example"
check ":include: file owned by another user refused" \
	bash -c "grep -q 'RESULT 0 5.3.5 cannot open include file' '$T/out' && [ ! -s '$T/mail/$ALICE' ]"
chown root "$T/inc/list"
echo "$T/pub/inc.file" >"$T/inc/list2"
sed -i "s|^incl: .*|incl: :include:$T/inc/list2|" "$T/etc/aliases"
"$POSTERN" alias -c "$T/etc" "hash:$T/etc/aliases"
deliver "$T/qf" --rcpt "incl@test.example"
check ":include: with a /file is restricted by default" has "RESULT 0 5.7.1 mail to file is restricted"

deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "cmd@test.example"
check "|command: 2.0.0 delivered to command" has "RESULT 0 2.0.0 delivered to command: id -un > $T/pub/cmd.who; cat > $T/pub/cmd.out"
check "|command from a root-owned alias table runs as default_privs" test "$(cat "$T/pub/cmd.who")" = nobody
check "|command: message on its input with From_ line and Delivered-To" \
	bash -c "head -1 '$T/pub/cmd.out' | grep -q '^From sender@example.org  ' && grep -q '^Delivered-To: cmd@test.example' '$T/pub/cmd.out'"
deliver "$T/qf" --rcpt "envcmd+x@test.example"
for v in "USER=envcmd" "LOGNAME=envcmd" "EXTENSION=x" "LOCAL=envcmd+x" "RECIPIENT=envcmd+x@test.example" \
	"DOMAIN=test.example" "ORIGINAL_RECIPIENT=envcmd+x@test.example" "SENDER=sender@example.org" "PATH=/usr/bin:/bin"; do
	check "alias command environment: $v" grep -qxF "$v" "$T/pub/env.out"
done
check "alias command environment: no HOME outside a user context" bash -c "! grep -q '^HOME=' '$T/pub/env.out'"
rm -f /tmp/postern-local-pwned
deliver "$T/qf" --sender 'x$(touch${IFS}/tmp/postern-local-pwned)`id`;@evil' --rcpt "envcmd@test.example"
check "envelope data reaches commands only filtered, in the environment" \
	bash -c "grep -qx 'SENDER=x__touch__IFS_/tmp/postern-local-pwned__id__@evil' '$T/pub/env.out' && [ ! -e /tmp/postern-local-pwned ]"
echo "allow_mail_to_commands = forward" >>"$T/etc/main.cf"
start_local
rm -f "$T/pub/cmd.out"
deliver "$T/qf" --rcpt "cmd@test.example"
check "|command without permission: 5.7.1 mail to command is restricted" has "RESULT 0 5.7.1 mail to command is restricted"
check "|command without permission: not run" test ! -e "$T/pub/cmd.out"
base_conf
start_local

deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "file@test.example"
check "/file: 2.0.0 delivered to file" has "RESULT 0 2.0.0 delivered to file: $T/pub/file.mbox"
check "/file: mbox format, written as default_privs" \
	bash -c "[ \"\$(stat -c %U '$T/pub/file.mbox')\" = nobody ] && grep -q '^>From the start' '$T/pub/file.mbox'"
echo "allow_mail_to_files = forward" >>"$T/etc/main.cf"
start_local
deliver "$T/qf" --rcpt "file@test.example"
check "/file without permission: 5.7.1 mail to file is restricted" has "RESULT 0 5.7.1 mail to file is restricted"
base_conf
start_local
deliver "$T/qf" --rcpt "maildirfile@test.example"
check "/dir/: maildir delivery" bash -c "grep -q 'RESULT 0 2.0.0 delivered to maildir' '$T/out' && [ \$(ls '$T/pub/md/new' | wc -l) = 1 ]"

deliver "$T/qf" --rcpt "recur@test.example"
check ":include: that includes itself: bounded, 5.4.6" has "RESULT 0 5.4.6 mail forwarding loop for recur@test.example"
: >"$T/mail/$ALICE"
: >"$T/mail/$BOB"
deliver "$T/qf" --rcpt "ext+x@test.example"
check "alias lookup tries user+ext before user" bash -c "[ -s '$T/mail/$BOB' ] && [ ! -s '$T/mail/$ALICE' ]"
deliver "$T/qf" --rcpt "ext+y@test.example"
check "alias lookup falls back to user without the extension" bash -c "[ -s '$T/mail/$ALICE' ]"

deliver "$T/qf" --rcpt "loopa@test.example"
check "alias loop: 5.4.6 alias database loop" has "RESULT 0 5.4.6 alias database loop for loopa"

deliver "$T/qf" --rcpt "remote@test.example"
check "forward to a remote address without a queue manager: deferred 4.3.0" has "RESULT 0 4.3.0 cannot forward: queue manager not reachable"

# Forwarding with a queue manager to submit to: the receiving side of the
# real NEW/COMMIT exchange on public/qmgr (tests/e2e/local_qmgr_stub.py).
mkdir -p "$T/q/public" "$T/fwd"
python3 "$ROOT/tests/e2e/local_qmgr_stub.py" "$T/q/public/qmgr" "$ROOT/common/proto.h" "$T/fwd" 2>"$T/stub.log" &
STUB=$!
for _ in $(seq 1 50); do [ -S "$T/q/public/qmgr" ] && break; sleep 0.1; done
deliver "$T/qf" --offset $OFF --length "$LEN" --rcpt "remote@test.example"
check "forward: 2.0.0 forwarded as the new queue ID" has "RESULT 0 2.0.0 forwarded as F00001STUB"
check "forward: logged as Postfix does" logged "to=<remote@test.example>, relay=local"
check "forward: new message to the remote address, same sender" \
	bash -c "printf 'sender=sender@example.org\nrcpt=someone@remote.example\n' | cmp -s - '$T/fwd/F00001STUB.env'"
check "forward: content is Delivered-To: plus the message, unchanged" \
	bash -c "cmp -s <(printf 'Delivered-To: remote@test.example\n'; cat '$T/msg'; echo) '$T/fwd/F00001STUB.msg'"
printf 'someone@remote.example\n' >"$ALICE_HOME/.forward"
chown "$ALICE" "$ALICE_HOME/.forward"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check ".forward to a remote address: forwarded" has "RESULT 0 2.0.0 forwarded as F00002STUB"
check ".forward to a remote address: Delivered-To: is the user" \
	bash -c "head -1 '$T/fwd/F00002STUB.msg' | grep -qx 'Delivered-To: $ALICE@test.example'"
# the forwarded copy coming back is a loop
deliver "$T/fwd/F00002STUB.msg" --rcpt "$ALICE@test.example"
check "forwarded copy coming back: mail forwarding loop" has "RESULT 0 5.4.6 mail forwarding loop for $ALICE@test.example"
rm -f "$ALICE_HOME/.forward"
kill $STUB 2>/dev/null
wait $STUB 2>/dev/null
STUB=
rm -f "$T/q/public/qmgr"

# .forward: to another user and to the own mailbox ("\user")
: >"$T/mail/$ALICE"
: >"$T/mail/$BOB"
printf '%s\n\\%s\n' "$BOB" "$ALICE" >"$ALICE_HOME/.forward"
chown "$ALICE" "$ALICE_HOME/.forward"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check ".forward: to the other user and, with \\user, the own mailbox" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && [ -s '$T/mail/$ALICE' ] && [ -s '$T/mail/$BOB' ]"
printf '"|id -un > %s/fwd.who"\n' "$T/pub" >"$ALICE_HOME/.forward"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check ".forward |command runs as the user" test "$(cat "$T/pub/fwd.who" 2>/dev/null)" = "$ALICE"
printf '%s\n' "$BOB" >"$ALICE_HOME/.forward+lists"
chown "$ALICE" "$ALICE_HOME/.forward+lists"
: >"$T/mail/$BOB"
rm -f "$T/pub/fwd.who"
deliver "$T/qf" --rcpt "$ALICE+lists@test.example"
check ".forward+extension chosen first by forward_path" \
	bash -c "[ -s '$T/mail/$BOB' ] && [ ! -e '$T/pub/fwd.who' ]"
rm -f "$ALICE_HOME/.forward+lists"
chown "$BOB" "$ALICE_HOME/.forward"
: >"$T/mail/$ALICE"
deliver "$T/qf" --rcpt "$ALICE@test.example"
check ".forward owned by someone else is ignored (mailbox delivery)" \
	bash -c "grep -q 'RESULT 0 2.0.0 delivered to mailbox' '$T/out' && [ -s '$T/mail/$ALICE' ]"
rm -f "$ALICE_HOME/.forward"

# Deliveries on different connections run at the same time.
(deliver "$T/qf" --rcpt "slow@test.example"; cp "$T/out" "$T/out.slow") &
slowpid=$!
sleep 0.5
start=$(date +%s%N)
deliver "$T/qf" --rcpt "$BOB@test.example"
elapsed=$((($(date +%s%N) - start) / 1000000))
check "a second connection is served while a slow command runs" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && [ $elapsed -lt 2000 ] && kill -0 $slowpid 2>/dev/null"
wait $slowpid
check "the slow command's delivery completes too" grep -q "RESULT 0 2.0.0 delivered to command: sleep 3" "$T/out.slow"
# ... but no more at once than master.cf's process limit.
printf 'local unix - n n - 1 local\n' >"$T/etc/master.cf"
start_local
(deliver "$T/qf" --rcpt "slow@test.example"; cp "$T/out" "$T/out.slow") &
slowpid=$!
sleep 0.5
start=$(date +%s%N)
deliver "$T/qf" --rcpt "$BOB@test.example"
elapsed=$((($(date +%s%N) - start) / 1000000))
wait $slowpid
check "process limit 1: the second connection waits for the first" \
	bash -c "grep -q 'RESULT 0 2.0.0' '$T/out' && grep -q 'RESULT 0 2.0.0' '$T/out.slow' && [ $elapsed -ge 1500 ]"
printf 'local unix - n n - - local\n' >"$T/etc/master.cf"
start_local

# Only mail_owner may connect (even when the socket mode would let others).
chmod 666 "$T/q/private/local"
chmod 755 "$T/q/private"
timeout 20 python3 "$ROOT/tests/e2e/local_client.py" --proto "$ROOT/common/proto.h" \
	--socket "$T/q/private/local" --file "$T/qf" --uid "$(id -u "$BOB")" --rcpt "$ALICE@test.example" >"$T/out" 2>&1
check "connection from another uid refused" bash -c "grep -q '^EOF' '$T/out' && ! grep -q RESULT '$T/out'"
check "refused connection logged" logged "connection from uid $(id -u "$BOB") refused: only the queue manager"

stop_local
sanitizer_check
[ $failed = 0 ]
