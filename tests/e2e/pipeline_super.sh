#!/bin/bash
# pipeline_super.sh - "postern super -s" (structure check and repair) on
# a running postern, and the same check at the queue manager's start:
# stale tmp/ files removed (fresh ones kept), entries that are not queue
# ids, symlinks and unparseable files moved to corrupt/, a second copy
# of a message moved to corrupt/, wrong file and directory modes set
# back, defer logs of vanished messages removed; a second run finds
# nothing; an ordinary user is refused.
. "$(dirname "$0")/lib.sh"
pt_init
. "$(dirname "$0")/pipeline_lib.inc"

for n in master qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then
		pt_skip "$n is not built in $BUILD/libexec"
		pt_done
	fi
done
port=$(pt_free_port)
pl_instance "$port"
# No queue run during the test: deferred/ stays as the test leaves it.
sed -i 's/^queue_run_delay = .*/queue_run_delay = 600s/; s/^minimal_backoff_time = .*/minimal_backoff_time = 600s/; s/^maximal_backoff_time = .*/maximal_backoff_time = 1200s/' "$D/main.cf"
out=$(pt_start "$D" 2>&1)
pt_check "postern start ($out)" test $? -eq 0
Q=$D/queue
owner=$(stat -c %U "$Q/hold")

# Two messages for a destination without a transport (no smtp in
# master.cf): deferred, then put on hold, where nothing moves them.
for i in 1 2; do
	printf 'Subject: super %s\n\nx\n' "$i" | "$POSTERN" sendmail -c "$D" -f a@localhost "r$i@far.example"
done
deferred2() { [ "$(ls "$Q/deferred" | wc -l)" = 2 ]; }
pt_check "two messages deferred" pl_wait 20 deferred2
"$POSTERN" super -c "$D" -h ALL 2>/dev/null
A=$(ls "$Q/hold" | sort | head -1)
B=$(ls "$Q/hold" | sort | tail -1)
pt_check "both on hold ($A $B)" test -n "$A" -a "$A" != "$B"

# The damage.
FAKE=0000000000001 LOG=0000000000002 LINK=0000000000003
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
as_owner touch "$Q/tmp/fresh"
as_owner touch -d '3 hours ago' "$Q/tmp/stale"
as_owner sh -c "echo not-a-queue-file >'$Q/incoming/not-an-id'"
as_owner sh -c "echo garbage >'$Q/hold/$FAKE'"
as_owner ln -s /etc/passwd "$Q/hold/$LINK"
as_owner sh -c "echo log >'$Q/defer/$LOG'"
as_owner cp -p "$Q/hold/$B" "$Q/deferred/$B"
chmod 0644 "$Q/hold/$A"
chmod 0755 "$Q/hold"

out=$("$POSTERN" super -c "$D" -s 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
pt_check "super -s exits 0" test $rc -eq 0
has() { grep -qF -- "$1" <<<"$out"; }
pt_check "stale tmp/ file removed, fresh one kept" \
	test ! -e "$Q/tmp/stale" -a -e "$Q/tmp/fresh"
pt_check "... and reported" has "tmp/stale: stale file removed"
pt_check "an entry that is not a queue id moved to corrupt/" \
	test -e "$Q/corrupt/not-an-id" -a ! -e "$Q/incoming/not-an-id"
pt_check "an unparseable queue file moved to corrupt/" \
	test -e "$Q/corrupt/$FAKE" -a ! -e "$Q/hold/$FAKE"
pt_check "a symlink in the queue moved to corrupt/ (not followed)" \
	test -L "$Q/corrupt/$LINK" -a ! -e "$Q/hold/$LINK"
pt_check "the second copy of a message moved to corrupt/, the first kept" \
	test -e "$Q/corrupt/$B" -a -e "$Q/deferred/$B" -a ! -e "$Q/hold/$B"
pt_check "a wrong file mode set back to 0600" test "$(stat -c %a "$Q/hold/$A")" = 600
pt_check "a wrong directory mode set back to 0700" test "$(stat -c %a "$Q/hold")" = 700
pt_check "the defer log of a vanished message removed" test ! -e "$Q/defer/$LOG"
pt_check "the count of repairs printed" has "Structure check: 8 problems repaired"
pt_check "the problems are in the mail log" grep -q "structure check: $FAKE: corrupt queue file" "$D/maillog"
out=$("$POSTERN" super -c "$D" -s 2>&1)
pt_check "a second run finds nothing ($out)" has "Structure check: 0 problems repaired"
if [ "$(id -u)" = 0 ]; then
	out=$(runuser -u nobody -- "$POSTERN" super -c "$D" -s 2>&1)
	pt_check "an ordinary user may not run super -s ($out)" test $? -ne 0
fi

# At start: the queue manager checks before it schedules anything.
pt_stop "$D" >/dev/null 2>&1
as_owner sh -c "echo garbage >'$Q/hold/$FAKE'"
out=$(pt_start "$D" 2>&1)
pt_check "restart ($out)" test $? -eq 0
pt_check "the check at start moved a bad file to corrupt/" \
	pl_wait 10 test -e "$Q/corrupt/$FAKE.1" -a ! -e "$Q/hold/$FAKE"
pt_check "stop" pt_stop "$D"
pt_done
