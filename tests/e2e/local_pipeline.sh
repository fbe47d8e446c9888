#!/bin/bash
# local_pipeline.sh - local delivery through the whole pipeline: master
# starts qmgr and local, "postern sendmail" submits, the queue manager
# hands the messages to the local agent, which writes mailboxes, expands
# aliases, bounces unknown users back to a local sender, and forwards to
# a remote address by submitting a new message to the queue manager.
# Skips cleanly where master, qmgr or postern sendmail are not built yet.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
POSTERN=${POSTERN:-$BUILD/bin/postern}
failed=0
ok() { echo "ok - $*"; }
nok() {
	echo "not ok - $*"
	[ -f "$d/maillog" ] && grep -E 'local|qmgr' "$d/maillog" | tail -n 6 | sed 's/^/#   log: /'
	failed=1
}
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else nok "$desc"; fi; }

for n in master qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then
		echo "ok - skipped: $n is not built in $BUILD/libexec yet"
		exit 0
	fi
done
if ! "$POSTERN" 2>&1 | grep -qw sendmail; then
	echo "ok - skipped: postern has no sendmail verb yet"
	exit 0
fi

T=$(mktemp -d /tmp/postern-lpipe.XXXXXX) || exit 1
[ -d "$T" ] || exit 1
chmod 755 "$T"
d=$T/inst
USERS=()
STARTED=
cleanup() {
	[ -n "$STARTED" ] && "$POSTERN" stop -c "$d" >/dev/null 2>&1
	for u in "${USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1; done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" = 0 ]; then
	sfx=$(printf '%04x' $((RANDOM)))
	OWNER=ppo$sfx NET=ppn$sfx ALICE=ppa$sfx BOB=ppb$sfx
	for u in $OWNER $NET $ALICE $BOB; do
		useradd -m -d "$T/home/$u" -s /bin/sh "$u" || { echo "not ok - useradd $u"; exit 1; }
		USERS+=("$u")
	done
else
	OWNER=$(id -un) NET=$(id -un) ALICE=$(id -un) BOB=$(id -un)
fi

mkdir -p "$d/mail"
chmod 755 "$d"
chmod 1777 "$d/mail"
{
	echo "queue_directory = $d/queue"
	echo "daemon_directory = $BUILD/libexec"
	echo "maillog_file = $d/maillog"
	echo "myhostname = pipe.example"
	echo "mydomain = example"
	echo "mydestination = pipe.example, localhost"
	echo "inet_interfaces = 127.0.0.1"
	echo "inet_protocols = ipv4"
	echo "import_environment = TZ LANG=C ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS"
	echo "mail_owner = $OWNER"
	echo "network_user = $NET"
	echo "mail_spool_directory = $d/mail"
	echo "alias_maps = hash:$d/aliases"
	echo "alias_database = hash:$d/aliases"
	echo "minimal_backoff_time = 2s"
	echo "maximal_backoff_time = 4s"
	echo "queue_run_delay = 1s"
} >"$d/main.cf"
{
	echo "qmgr      unix  n       -       n       300     1       qmgr"
	echo "local     unix  -       n       n       -       -       local"
} >"$d/master.cf"
{
	echo "postmaster: root"
	echo "team: $ALICE, $BOB"
	echo "far: someone@remote.example"
} >"$d/aliases"
"$POSTERN" alias -c "$d" "hash:$d/aliases"

out=$("$POSTERN" start -c "$d" 2>&1)
rc=$?
check "postern start with qmgr and local ($out)" test $rc -eq 0
[ $rc -eq 0 ] && STARTED=1

# wait_for PATTERN: until the mail log has a line matching it (20 s)
wait_for() {
	for _ in $(seq 1 200); do
		grep -qE -- "$1" "$d/maillog" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

printf 'Subject: pipeline\n\nFrom here\nbody\n' |
	"$POSTERN" sendmail -c "$d" -f "$BOB@pipe.example" "$ALICE@pipe.example"
check "sendmail to a local user exits 0" test $? -eq 0
check "local logs the delivery" wait_for "postern/local\[[0-9]+\]: [0-9A-Za-z]+: to=<$ALICE@pipe.example>, relay=local, .*status=sent \(delivered to mailbox\)"
id=$(grep -oE "postern/local\[[0-9]+\]: [0-9A-Za-z]+: to=<$ALICE@pipe.example>" "$d/maillog" | head -1 | sed -E 's/.*: ([0-9A-Za-z]+): to=.*/\1/')
check "the queue ID in local's line is qmgr's" grep -qE "postern/qmgr\[[0-9]+\]: $id: from=<$BOB@pipe.example>" "$d/maillog"
check "mailbox: From_ line, Return-Path, Delivered-To, quoted body" \
	bash -c "grep -q '^From $BOB@pipe.example  ' '$d/mail/$ALICE' && grep -qx 'Return-Path: <$BOB@pipe.example>' '$d/mail/$ALICE' && grep -qx 'Delivered-To: $ALICE@pipe.example' '$d/mail/$ALICE' && grep -qx '>From here' '$d/mail/$ALICE'"
[ "$(id -u)" = 0 ] && check "mailbox owned by the recipient" test "$(stat -c %U "$d/mail/$ALICE")" = "$ALICE"

printf 'Subject: to the team\n\nhi\n' | "$POSTERN" sendmail -c "$d" -f "$BOB@pipe.example" team
check "alias: each member's delivery logged with orig_to" \
	wait_for "to=<$BOB@pipe.example>, orig_to=<team@pipe.example>, relay=local, .*status=sent"

printf 'Subject: nobody\n\nhi\n' | "$POSTERN" sendmail -c "$d" -f "$ALICE@pipe.example" nosuchuser
check "unknown user bounced by local" wait_for 'to=<nosuchuser@pipe.example>, relay=local, .*dsn=5.1.1, status=bounced \(unknown user: "nosuchuser"\)'
check "the bounce reaches the local sender's mailbox" \
	bash -c "for i in \$(seq 1 200); do grep -q 'unknown user: \"nosuchuser\"' '$d/mail/$ALICE' 2>/dev/null && exit 0; sleep 0.1; done; exit 1"

printf 'Subject: far away\n\nhi\n' | "$POSTERN" sendmail -c "$d" -f "$BOB@pipe.example" far
check "forward: local submits a new message to qmgr" \
	wait_for "to=<far@pipe.example>, relay=local, .*status=sent \(forwarded as [0-9A-Za-z]+\)"
fid=$(grep -oE "forwarded as [0-9A-Za-z]+" "$d/maillog" | head -1 | awk '{print $3}')
check "forward: qmgr took the new message ($fid)" grep -qE "postern/qmgr\[[0-9]+\]: $fid: " "$d/maillog"

"$POSTERN" stop -c "$d" >/dev/null 2>&1
STARTED=
check "no sanitizer report or crash in the log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|panic:' '$d/maillog'"
[ $failed = 0 ]
