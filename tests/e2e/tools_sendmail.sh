#!/bin/bash
# tools_sendmail.sh - postern sendmail against the real qmgr: the
# message as stored (Received: first, added From:/Date:/Message-Id:,
# CRLF to LF, Bcc: removed), recipients from the command line and -t,
# qualification with $myorigin, "." handling with and without -i/-oi,
# DSN flags, a 5 MB message, exit codes (64 without recipients, 75 when
# qmgr is down), a submission by an ordinary user (uid from SO_PEERCRED),
# the sendmail/mailq/newaliases program names, and -bs (SMTP on
# standard input: pipelining, dot-unstuffing, DSN parameters, limits).
. "$(dirname "$0")/tools_lib.inc"

write_conf
start_qmgr || { notok "qmgr starts"; finish; }

# 1. -t with To/Cc/Bcc, CRLF input, no From/Date/Message-ID.
printf 'Subject: hello\r\nTo: Bob <bob@test.example>, carol\r\nCc: "Dave, D." <dave@remote.example> (comment)\r\nBcc: eve@remote.example,\r\n frank\r\n\r\nline1\r\n..dots\r\nlast\r\n' |
	"$P" sendmail -c "$C" -t -F "Jo Q. Public" -f jo
check "sendmail -t exits 0" "0" "$?"
waitfor 50 settled
id=$(id_of jo@test.example)
check "-t: recipients from To/Cc/Bcc, qualified with myorigin" \
	"bob@test.example carol@test.example dave@remote.example eve@remote.example frank@test.example" \
	"$(rcpts_of jo@test.example | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
content "$id" >"$W/m1"
check "Received: is the first header, Postfix's local form" \
	"Received: by host.test.example (postern, from userid $(id -u))" "$(head -n 1 "$W/m1")"
check "Received: names the queue id" "1" "$(sed -n 2p "$W/m1" | grep -cE "^	id $id; [A-Z][a-z]{2}, [ 0-9]{2} [A-Z][a-z]{2} [0-9]{4} ")"
check "no CR stored" "0" "$(grep -c $'\r' "$W/m1")"
check "Bcc: removed under -t" "0" "$(grep -ci '^bcc:' "$W/m1")"
check "From: added with -F name" 'From: "Jo Q. Public" <jo@test.example>' "$(grep '^From:' "$W/m1")"
check "Date: added" "1" "$(grep -cE '^Date: [A-Z][a-z]{2}, ' "$W/m1")"
check "Message-Id: added" "1" "$(grep -cE "^Message-Id: <[0-9]{14}\.$id@host\.test\.example>$" "$W/m1")"
check "body kept, dots untouched" $'line1\n..dots\nlast' "$(sed '1,/^$/d' "$W/m1")"
check "empty line after the headers" "1" "$(grep -c '^$' "$W/m1")"

# 2. Command-line recipients, "." ends input without -i.
printf 'Subject: two\nFrom: me@elsewhere.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nbody\n.\nnot this\n' |
	"$P" sendmail -c "$C" -f two@test.example 'Some One <one@remote.example>, two' three@remote.example
check "sendmail with recipients exits 0" "0" "$?"
waitfor 50 settled
id=$(id_of two@test.example)
check "command-line recipients parsed and qualified" \
	"one@remote.example two@test.example three@remote.example" "$(rcpts_of two@test.example)"
content "$id" >"$W/m2"
check "a lone dot ends input" "body" "$(sed '1,/^$/d' "$W/m2")"
check "present From:/Date:/Message-ID: are not added again" "1 1 1" \
	"$(grep -ci '^from:' "$W/m2") $(grep -ci '^date:' "$W/m2") $(grep -ci '^message-id:' "$W/m2")"

# 3. -i and -oi: a lone dot is data.
for flag in -i -oi; do
	printf 'Subject: dot\n\nbefore\n.\nafter\n' | "$P" sendmail -c "$C" $flag -f "dot$flag@test.example" x@remote.example
	waitfor 50 settled
	check "$flag: a lone dot does not end input" $'before\n.\nafter' \
		"$(content "$(id_of "dot$flag@test.example")" | sed '1,/^$/d')"
done

# 4. The body starts without an empty line: one is put in.
printf 'Subject: nb\nthis is body\nmore\n' | "$P" sendmail -c "$C" -f nb@test.example x@remote.example
waitfor 50 settled
content "$(id_of nb@test.example)" >"$W/m4"
check "body without empty line gets one" $'this is body\nmore' "$(sed '1,/^$/d' "$W/m4")"

# 5. Null sender, DSN flags, envelope id, body type.
printf 'Subject: dsn\n\nx\n' | "$P" sendmail -c "$C" -f '<>' -N success,delay -R hdrs -V env-42 -B 8BITMIME dsn@remote.example
check "sendmail with DSN flags exits 0" "0" "$?"
waitfor 50 settled
id=$(id_of MAILER-DAEMON)
check "null sender listed as MAILER-DAEMON" "dsn@remote.example" "$(rcpts_of MAILER-DAEMON)"
check "RET kept" "HDRS" "$(record "$id" r)"
check "ENVID kept" "env-42" "$(record "$id" e)"
check "BODY kept" "8BITMIME" "$(record "$id" b)"
check "NOTIFY kept" "$((2 | 8))" "$(record "$id" N)"

# 6. A 5 MB message with long lines goes through intact (LF ends).
python3 - "$W/big" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\r\n\r\n")
    for i in range(500):
        f.write(b"%06d " % i + b"x" * 10000 + b"\r\n")
    f.write(b"y" * 100000)  # last line without a line end
PY
"$P" sendmail -c "$C" -f big@test.example x@remote.example <"$W/big"
check "5 MB message accepted" "0" "$?"
waitfor 50 settled
content "$(id_of big@test.example)" | sed '1,/^$/d' >"$W/big.out"
python3 - "$W/big" "$W/big.out" <<'PY' && ok "5 MB body stored exactly, CRLF as LF" || notok "5 MB body stored exactly, CRLF as LF"
import sys
src = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n") + b"\n"
sys.exit(0 if open(sys.argv[2], "rb").read() == src else 1)
PY

# 7. Errors: no recipients; -t without any; bad -N.
printf 'Subject: x\n\nx\n' | "$P" sendmail -c "$C" 2>"$W/err"
check "no recipients: exit 64" "64" "$?"
check "no recipients: message" "1" "$(grep -c 'Recipient addresses must be specified' "$W/err")"
printf 'Subject: x\n\nx\n' | "$P" sendmail -c "$C" -t 2>"$W/err"
check "-t, no recipient headers: exit 64" "64" "$?"
printf 'x\n' | "$P" sendmail -c "$C" -N sometimes x@y 2>/dev/null
check "bad -N: exit 64" "64" "$?"

# 7b. Command lines real programs use: cron, mailx, PHP's mail().
printf 'Subject: cron\n\nout\n' | "$P" sendmail -c "$C" -FCronDaemon -i -B8BITMIME -oem -f cron@test.example croncheck
check "cron's command line" "0" "$?"
printf 'To: php@remote.example\nSubject: php\n\nbody\n' | "$P" sendmail -c "$C" -t -i -f php@test.example
check "PHP mail()'s command line" "0" "$?"
printf 'Subject: mailx\n\nbody\n' | "$P" sendmail -c "$C" -i -f mailx@test.example -- mx@remote.example
check "mailx's command line (--)" "0" "$?"
waitfor 50 settled
check "cron: -F name in From:" 'From: CronDaemon <cron@test.example>' "$(content "$(id_of cron@test.example)" | grep '^From:')"
check "cron: unqualified recipient" "croncheck@test.example" "$(rcpts_of cron@test.example)"

# 7c. A header block past header_size_limit: the rest is body, nothing lost.
python3 -c '
import sys
sys.stdout.write("Subject: big headers\n")
for i in range(3000): sys.stdout.write("X-Filler-%d: %s\n" % (i, "y" * 50))
sys.stdout.write("\nbody end\n")' | "$P" sendmail -c "$C" -f bighead@test.example bh@remote.example
check "oversized header block accepted" "0" "$?"
waitfor 50 settled
content "$(id_of bighead@test.example)" >"$W/bh"
check "oversized header block: every line kept" "3000 1" \
	"$(grep -c '^X-Filler-' "$W/bh") $(grep -c '^body end$' "$W/bh")"

# 8. Program names: sendmail, mailq, newaliases.
mkdir "$W/bin"
for n in sendmail mailq newaliases; do ln -s "$P" "$W/bin/$n"; done
printf 'Subject: name\n\nx\n' | "$W/bin/sendmail" -C "$C" -oi -f byname@test.example y@remote.example
check "invoked as sendmail" "0" "$?"
waitfor 50 settled
"$W/bin/mailq" -c "$C" >"$W/mailq.out"
"$P" queue -c "$C" -p >"$W/queue.out"
check "mailq = postern queue -p" "" "$(diff "$W/mailq.out" "$W/queue.out")"
check "sendmail -bp = postern queue -p" "" "$("$W/bin/sendmail" -C "$C" -bp | diff - "$W/queue.out")"
printf 'postmaster: root\n' >"$W/aliases"
printf 'alias_database = hash:%s\n' "$W/aliases" >>"$C/main.cf"
"$W/bin/newaliases" -c "$C"
check "invoked as newaliases builds alias_database" "0" "$?"
[ -s "$W/aliases.db" ] && ok "newaliases wrote aliases.db" || notok "newaliases wrote aliases.db"

# 9. An ordinary user: the uid comes from the socket, not the command.
if [ "$(id -u)" = 0 ]; then
	printf 'Subject: user\n\nx\n' | as_user daemon "$P" sendmail -c "$C" u@remote.example
	check "ordinary user can submit" "0" "$?"
	waitfor 50 settled
	id=$(id_of daemon@test.example)
	check "sender is the user's login" "u@remote.example" "$(rcpts_of daemon@test.example)"
	check "Received: names the user's uid" "Received: by host.test.example (postern, from userid 1)" \
		"$(content "$id" | head -n 1)"
	check "queue file records the peer uid" "1" "$(record "$id" U)"
else
	ok "skipped: ordinary-user submission needs root to switch users"
fi

# 10. -bs: SMTP on standard input, pipelined, with DSN parameters.
long=$(head -c 3000 /dev/zero | tr '\0' x)
printf 'EHLO me\r\nMAIL FROM:<bs@test.example> BODY=8BITMIME RET=HDRS ENVID=a+2Bb\r\nRCPT TO:<x@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;X+40remote.example\r\nRCPT TO:<y>\r\nDATA\r\nSubject: bs\r\n\r\n..leading dot\r\nline\r\n.\r\nMAIL FROM:<>\r\nDATA\r\nRCPT TO:<z@remote.example> NOTIFY=BOGUS\r\nNOOP %s\r\nRSET\r\nVRFY root\r\nQUIT\r\n' "$long" |
	"$P" sendmail -c "$C" -bs >"$W/bs.out"
check "-bs exits 0" "0" "$?"
tr -d '\r' <"$W/bs.out" | sed -E 's/queued as [0-9A-F]+/queued as ID/' >"$W/bs.txt"
check "-bs replies" "220 host.test.example ESMTP postern
250-host.test.example
250-PIPELINING
250-SIZE 30000000
250-8BITMIME
250-ENHANCEDSTATUSCODES
250 DSN
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
250 2.1.0 Ok
554 5.5.1 Error: no valid recipients
501 5.5.4 Error: Bad NOTIFY parameter syntax
500 5.5.2 Error: line too long
250 2.0.0 Ok
502 5.5.1 VRFY command is disabled
221 2.0.0 Bye" "$(cat "$W/bs.txt")"
check "-bs: every reply ends in CRLF" "0" "$(grep -vc $'\r$' "$W/bs.out")"
waitfor 50 settled
id=$(sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$W/bs.out" | tr -d '\r')
check "-bs: the queue id in the reply is the queued message" "$id" "$(id_of bs@test.example)"
check "-bs: recipients, qualified" "x@remote.example y@test.example" "$(rcpts_of bs@test.example)"
check "-bs: dot-unstuffed data, CRLF as LF" $'.leading dot\nline' "$(content "$id" | sed '1,/^$/d')"
check "-bs: RET, ENVID (xtext-decoded), BODY" "HDRS a+b 8BITMIME" "$(record "$id" r) $(record "$id" e) $(record "$id" b)"
check "-bs: ORCPT (xtext-decoded) and NOTIFY per recipient" "rfc822;X@remote.example rfc822;y@test.example $((2 | 4))" \
	"$(record "$id" O | tr '\n' ' ')$(record "$id" N | head -n 1)"

# A DATA cut short by the end of input queues nothing.
before=$(ids | wc -l)
printf 'HELO me\r\nMAIL FROM:<cut@test.example>\r\nRCPT TO:<x@remote.example>\r\nDATA\r\nSubject: cut\r\n\r\nno end' |
	"$P" sendmail -c "$C" -bs >"$W/bs.out"
waitfor 20 settled
check "-bs: data without its ending dot is not queued" "$before" "$(ids | wc -l)"
check "-bs: ... and is refused" "1" "$(grep -c '^451 4.3.0 Error: end of input within the message' "$W/bs.out")"

# 11. qmgr down: 75 and a message, nothing left behind.
stop_qmgr
printf 'Subject: x\n\nx\n' | "$P" sendmail -c "$C" x@remote.example 2>"$W/err"
check "qmgr down: exit 75 (EX_TEMPFAIL)" "75" "$?"
check "qmgr down: says so" "1" "$(grep -c 'is postern running' "$W/err")"
printf 'HELO me\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n' |
	"$P" sendmail -c "$C" -bs | tr -d '\r' >"$W/bs.out"
check "-bs with qmgr down: 451 after DATA, session goes on" "451 4.3.0 Error: connect to|250 2.0.0 Ok|221 2.0.0 Bye" \
	"$(grep -o '^451 4.3.0 Error: connect to' "$W/bs.out")|$(tail -n 2 "$W/bs.out" | paste -sd '|')"
finish
