#!/bin/bash
# smtp_relay.sh - the smtp delivery agent through the whole pipeline:
# master starts qmgr and smtp, "postern sendmail" submits, qmgr routes by
# relayhost and transport_maps.  Peers: Postfix's smtp-sink, and
# tests/e2e/smtp_peer.py scripted for the failure cases (per-recipient
# 4xx/5xx with the remote text in the bounce, 4xx deferred and retried,
# a peer that closes mid-DATA, a 1 MB reply line, 10000 continuation
# lines, a stall, a 5xx greeting, a peer without ESMTP); error: and
# discard: transports; dot-stuffing and bare LF on the wire; DSN and
# SMTPUTF8 parameters passed on.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
for n in master qmgr smtp; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done
SINK=/usr/sbin/smtp-sink
[ -x "$SINK" ] || { pt_skip "no smtp-sink (package postfix)"; exit 0; }

d=$PT_TMP/inst
pt_instance "$d"
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; pt_cleanup' EXIT

peer() { # name mode -> port in $PORT_name, files in $PT_TMP/name
	local name=$1 mode=$2 port
	port=$(pt_free_port) || return 1
	mkdir -p "$PT_TMP/$name"
	python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$port" "$mode" "$PT_TMP/$name" \
		>"$PT_TMP/$name.out" 2>&1 &
	BGP="$BGP $!"
	eval "PORT_$name=$port"
}
for p in ok:normal close:closedata long:longline many:manylines stall:stall \
	g554:greet554 helo:noesmtp bnc:normal; do
	peer "${p%%:*}" "${p#*:}" || { pt_fail "peer $p"; pt_done; }
done
SPORT=$(pt_free_port)
DEAD=$(pt_free_port) # nothing listens there
mkdir -p "$PT_TMP/sink"
"$SINK" -u nobody -d "$PT_TMP/sink/%M." "127.0.0.1:$SPORT" 10 >"$PT_TMP/sink.out" 2>&1 &
BGP="$BGP $!"
chmod 777 "$PT_TMP/sink"
for i in $(seq 1 300); do [ -e "$PT_TMP/bnc/ready" ] && break; sleep 0.1; done
pt_wait_port "$SPORT" || pt_fail "smtp-sink listens"

cat >"$d/transport" <<EOT
ok.test         smtp:[127.0.0.1]:$PORT_ok
close.test      smtp:[127.0.0.1]:$PORT_close
long.test       smtp:[127.0.0.1]:$PORT_long
many.test       smtp:[127.0.0.1]:$PORT_many
stall.test      smtp:[127.0.0.1]:$PORT_stall
g554.test       smtp:[127.0.0.1]:$PORT_g554
helo.test       smtp:[127.0.0.1]:$PORT_helo
bnc.test        :[127.0.0.1]:$PORT_bnc
err.test        error:5.7.1 mail for err.test is not accepted here
drop.test       discard:dropped by test policy
fb.test         tfb:[127.0.0.1]:$DEAD
sb.test         tsb:[127.0.0.1]:$PORT_ok
EOT
printf 'sdr@bnc.test [127.0.0.1]:%s\n' "$PORT_helo" >"$d/sdrelay"
cat >>"$d/main.cf" <<EOC
relayhost = [127.0.0.1]:$SPORT
transport_maps = texthash:$d/transport
smtp_helo_timeout = 3s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 1s
smtp_helo_name = client.postern.test
sender_dependent_relayhost_maps = texthash:$d/sdrelay
relay_domains = reldom.test
relay_transport = relay:[127.0.0.1]:$PORT_ok
EOC
echo "relay     unix  -       -       n       -       -       smtp" >>"$d/master.cf"
echo "tsb       unix  -       -       n       -       -       smtp -o soft_bounce=yes" >>"$d/master.cf"
echo "tfb       unix  -       -       n       -       -       smtp -o smtp_fallback_relay=[127.0.0.1]:$SPORT" >>"$d/master.cf"
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
LOG=$d/maillog

send() { # sender rcpt... < message
	local s=$1
	shift
	"$POSTERN" sendmail -c "$d" -f "$s" "$@"
}
waitlog() { # pattern [seconds]
	local i
	for i in $(seq 1 $((${2:-15} * 10))); do
		grep -qE "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no log line matching: $1"
	grep -E 'smtp|qmgr' "$LOG" | tail -n 8 | sed 's/^/#   | /'
	return 1
}

# 1. relayhost to Postfix's smtp-sink.
printf 'Subject: one\n\nhello sink\n' | send sender@bnc.test user@relay.test
pt_check "relayhost [127.0.0.1]:port to smtp-sink: sent" \
	waitlog "to=<user@relay.test>, relay=127.0.0.1\[127.0.0.1\]:$SPORT, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok"
pt_check "smtp-sink got the message" bash -c "grep -rqs 'hello sink' '$PT_TMP/sink'"

# 2. per-recipient results, dot-stuffing and bare LF, DSN parameters.
printf 'Subject: two\n\n.leading dot\nline\r\nlast\n' |
	"$POSTERN" sendmail -c "$d" -f sender@bnc.test -N success,failure -V envid+1 \
		good@ok.test hard1@ok.test soft1@ok.test 2>/dev/null ||
	printf 'Subject: two\n\n.leading dot\nline\r\nlast\n' | send sender@bnc.test good@ok.test hard1@ok.test soft1@ok.test
pt_check "accepted recipient sent" waitlog "to=<good@ok.test>, relay=127.0.0.1\[127.0.0.1\]:$PORT_ok, .*status=sent \(250 2\.0\.0 Ok: queued as PEER"
pt_check "5xx recipient bounced with the remote text" \
	waitlog "to=<hard1@ok.test>, relay=127.0.0.1\[127.0.0.1\]:$PORT_ok, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <hard1@ok\.test>: Recipient address rejected: User unknown in local recipient table \(in reply to RCPT TO command\)\)"
pt_check "4xx recipient deferred" \
	waitlog "to=<soft1@ok.test>, .*dsn=4\.2\.0, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0"
pt_check "4xx recipient retried" bash -c "for i in \$(seq 1 100); do [ \$(grep -c 'to=<soft1@ok.test>.*status=deferred' '$LOG') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
msg=$(grep -l 'good@ok.test' "$PT_TMP"/ok/msg.* 2>/dev/null | head -n 1)
pt_check "dot-stuffed on the wire" grep -q $'^\\.\\.leading dot\r$' "${msg:-/dev/null}"
pt_check "bare LF sent as CRLF" bash -c "! grep -q \$'[^\\r]\$' <(sed -n '/^\$/,\$p' '${msg:-/dev/null}' | tail -n +2)"
pt_check "PIPELINING: EHLO then MAIL" grep -q '^EHLO client.postern.test' "$PT_TMP/ok/commands"
pt_check "DSN: NOTIFY and ENVID passed on" bash -c "grep -q '^RCPT TO:<good@ok.test> NOTIFY=SUCCESS,FAILURE' '$PT_TMP/ok/commands' && grep -q '^MAIL FROM:<sender@bnc.test> SIZE=[0-9]* .*ENVID=envid+2B1' '$PT_TMP/ok/commands'"
pt_check "bounce to the sender carries the remote text" \
	bash -c "for i in \$(seq 1 100); do grep -qs 'User unknown in local recipient table' '$PT_TMP'/bnc/msg.* && exit 0; sleep 0.1; done; exit 1"
pt_check "NOTIFY=SUCCESS passed on to a DSN server: no success notice of ours" \
	bash -c "! grep -q 'sender delivery status notification' <(grep \"\$(grep -o '[0-9A-F]*: to=<good@ok.test>' '$LOG' | cut -d: -f1)\" '$LOG')"
pt_check "bounce is from the null sender" bash -c "grep -l 'User unknown' '$PT_TMP'/bnc/msg.* | xargs grep -q '^MAIL FROM:<>'"

printf 'Subject: 8\n\ncaf\xc3\xa9\n' | "$POSTERN" sendmail -c "$d" -B 8BITMIME -f e8@bnc.test e8@ok.test
pt_check "8BITMIME message: sent with BODY=8BITMIME" waitlog "to=<e8@ok.test>, .*status=sent"
pt_check "BODY=8BITMIME on the wire" grep -q '^MAIL FROM:<e8@bnc.test> SIZE=[0-9]* BODY=8BITMIME' "$PT_TMP/ok/commands"

# 3. session failures, each ends cleanly in a deferral.
printf 'Subject: c\n\n%s\n' "$(head -c 3000 /dev/zero | tr '\0' x)" | send s@bnc.test a@close.test
pt_check "peer closing mid-DATA: deferred" waitlog "to=<a@close.test>, .*dsn=4\.4\.2, status=deferred \(lost connection with 127\.0\.0\.1\[127\.0\.0\.1\] while (sending|receiving)"
printf 'Subject: l\n\nx\n' | send s@bnc.test a@long.test
pt_check "1 MB reply line: deferred, no crash" waitlog "to=<a@long.test>, .*dsn=4\.4\.2, status=deferred \(.*reply line too long"
printf 'Subject: m\n\nx\n' | send s@bnc.test a@many.test
pt_check "10000 continuation lines: deferred, no crash" waitlog "to=<a@many.test>, .*dsn=4\.4\.2, status=deferred \(.*too many reply lines"
printf 'Subject: s\n\nx\n' | send s@bnc.test a@stall.test
pt_check "stalled peer: timeout, deferred" waitlog "to=<a@stall.test>, .*status=deferred \(conversation with 127\.0\.0\.1\[127\.0\.0\.1\] timed out while receiving the EHLO reply" 20
printf 'Subject: g\n\nx\n' | send s@bnc.test a@g554.test
pt_check "5xx greeting skipped: deferred" waitlog "to=<a@g554.test>, .*dsn=4\.7\.1, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 554 5\.7\.1 go away \(in reply to initial server greeting\)"
printf 'Subject: h\n\nx\n' | send s@bnc.test a@helo.test
pt_check "EHLO refused: HELO fallback delivers" waitlog "to=<a@helo.test>, .*status=sent"
pt_check "HELO was sent" grep -q '^HELO client.postern.test' "$PT_TMP/helo/commands"

# 4. error: and discard: transports.
printf 'Subject: e\n\nx\n' | send s@bnc.test a@err.test
pt_check "error: transport bounces with its text" waitlog "to=<a@err.test>, relay=none, .*dsn=5\.7\.1, status=bounced \(mail for err\.test is not accepted here\)"
printf 'Subject: d\n\nx\n' | send s@bnc.test a@drop.test
pt_check "discard: transport drops with a log line" waitlog "to=<a@drop.test>, relay=none, .*dsn=2\.0\.0, status=sent \(dropped by test policy\)"

# 5. relay_domains/relay_transport, sender_dependent_relayhost_maps,
# smtp_fallback_relay.
printf 'Subject: r\n\nx\n' | send s@bnc.test a@sub.reldom.test
pt_check "relay_domains (a subdomain) -> relay_transport's next hop" waitlog "to=<a@sub.reldom.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT_ok, .*status=sent"
printf 'Subject: s\n\nx\n' | send sdr@bnc.test a@other.test
pt_check "sender_dependent_relayhost_maps overrides relayhost" waitlog "to=<a@other.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PORT_helo, .*status=sent"
printf 'Subject: f\n\nx\n' | send s@bnc.test a@fb.test
pt_check "next hop refuses: smtp_fallback_relay gets it" waitlog "to=<a@fb.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SPORT, .*status=sent"
pt_check "the refused connection was logged" waitlog "connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$DEAD: Connection refused"

printf 'Subject: sb\n\nx\n' | send s@bnc.test hard9@sb.test
pt_check "soft_bounce (as -o): 5xx logged SOFTBOUNCE" waitlog "to=<hard9@sb.test>, .*dsn=5\.1\.1, status=SOFTBOUNCE \(host 127\.0\.0\.1"
sbid=$(grep -o '[0-9A-F]*: to=<hard9@sb.test>' "$LOG" | head -n 1 | cut -d: -f1)
sleep 1
pt_check "soft_bounce: kept in the queue, no bounce" bash -c "[ -n '$sbid' ] && ! grep -q '$sbid: sender non-delivery notification' '$LOG' && \"$POSTERN\" queue -c '$d' -p | grep -q '$sbid'"

pt_check "no agent crashed" bash -c "! grep -qE 'smtp.*(signal|AddressSanitizer|runtime error)|exited with status [^0]' '$LOG'"
pt_done
