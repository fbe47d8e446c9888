#!/bin/bash
# smtpd_etrn.sh - ETRN (RFC 1985) end to end: mail for two relay domains
# is deferred (their next hop is down; backoff and queue_run_delay are an
# hour, so only ETRN can bring it back), the peer comes up, "ETRN
# relay.example" gets "250 Queuing started" and that domain's message is
# delivered while the other domain's stays deferred until its own ETRN
# ("@other.example").  Also: EHLO offers ETRN; fast_flush_domains
# (default $relay_domains) refusal "459 <dom>: service unavailable" with
# Postfix's warning; syntax replies; 503 inside a transaction;
# smtpd_etrn_restrictions rejections and their log lines.
. "$(dirname "$0")/lib.sh"
pt_init || exit 1
[ -n "$PT_TMP" ] || exit 1
for n in master smtpd qmgr smtp; do
	[ -x "$BUILD/libexec/$n" ] || { pt_skip "$n is not built"; exit 0; }
done

d=$PT_TMP/inst
SPORT=$(pt_free_port)
PEER=$(pt_free_port) # nothing listens there yet
HPORT=$(pt_free_port)
pt_instance "$d" "$SPORT"
BGP=""
trap 'for p in $BGP; do kill "$p" 2>/dev/null; done; pt_cleanup' EXIT
printf 'relay.example smtp:[127.0.0.1]:%s\nother.example smtp:[127.0.0.1]:%s\n' "$PEER" "$PEER" >"$d/transport"
cat >>"$d/main.cf" <<EOC
mynetworks = 127.0.0.0/8
relay_domains = relay.example, other.example
transport_maps = texthash:$d/transport
minimal_backoff_time = 3600s
maximal_backoff_time = 7200s
queue_run_delay = 3600s
smtp_connect_timeout = 2s
smtpd_etrn_restrictions = check_helo_access inline:{bad.example=REJECT, { rej.example = reject_unauth_pipelining reject } }, permit
EOC
echo "127.0.0.1:$HPORT inet n - n - - smtpd -o smtpd_helo_required=yes" >>"$d/master.cf"
pt_start "$d" || { pt_fail "instance starts"; pt_done; }
pt_wait_port "$SPORT" || { pt_fail "smtpd listens"; pt_done; }
LOG=$d/maillog

smtp() { # commands... ; prints "CMD -> REPLY" per command
	python3 - "${TO_PORT:-$SPORT}" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
def rd():
    out = []
    while True:
        l = f.readline().decode().rstrip("\r\n")
        out.append(l)
        if len(l) < 4 or l[3] != "-":
            return " | ".join(out)
rd()
for c in sys.argv[2:]:
    s.sendall(c.replace("\\n", "\r\n").encode() + b"\r\n")
    print("%s -> %s" % (c.split("\\n")[0], rd()))
s.sendall(b"QUIT\r\n"); rd()
PY
}

smtp "EHLO c.example" "MAIL FROM:<s@c.example>" "RCPT TO:<u@relay.example>" "DATA" \
	'Subject: one\n\nfor relay.example\n.' >"$PT_TMP/send1" 2>&1
smtp "EHLO c.example" "MAIL FROM:<s@c.example>" "RCPT TO:<v@other.example>" "DATA" \
	'Subject: two\n\nfor other.example\n.' >"$PT_TMP/send2" 2>&1
sed 's/^/# /' "$PT_TMP/send1" "$PT_TMP/send2"
ndeferred() { find "$d/queue/deferred" -type f | wc -l; }
two_deferred() { [ "$(ndeferred)" -eq 2 ]; }
for i in $(seq 1 100); do two_deferred && break; sleep 0.2; done
pt_check "both messages deferred while the next hop is down" two_deferred

python3 "$PT_ROOT/tests/e2e/smtp_peer.py" "$PEER" normal "$PT_TMP/peer" >"$PT_TMP/peer.out" 2>&1 &
BGP="$BGP $!"
mkdir -p "$PT_TMP/peer"
pt_wait_port "$PEER" || pt_fail "peer listens"

smtp "ETRN relay.example" "EHLO c.example" "ETRN" "ETRN relay.example" "ETRN unknown.example" \
	"ETRN bad..name" "ETRN relay.example. " "ETRN RELAY.EXAMPLE." "MAIL FROM:<a@c.example>" \
	"ETRN relay.example" "RSET" "ETRN [127.0.0.1]" >"$PT_TMP/etrn1" 2>&1
sed 's/^/# /' "$PT_TMP/etrn1"
has() { grep -qxF -- "$1" "$PT_TMP/etrn1"; }
pt_check "ETRN before EHLO is served (smtpd_helo_required = no)" has "ETRN relay.example -> 250 Queuing started"
pt_check "EHLO offers ETRN" grep -q '^EHLO c.example -> .*| 250-ETRN |' "$PT_TMP/etrn1"
pt_check "ETRN without a domain: 500 Syntax: ETRN domain" has "ETRN -> 500 Syntax: ETRN domain"
pt_check "ETRN outside fast_flush_domains: 459" has "ETRN unknown.example -> 459 <unknown.example>: service unavailable"
pt_check "... with Postfix's warning" grep -q 'warning: reject: ETRN unknown.example\.\.\. from [^ ]*\[127.0.0.1\]' "$LOG"
pt_check "bad domain syntax: 501" has "ETRN bad..name -> 501 Error: invalid parameter syntax"
pt_check "trailing dot: 501" has "ETRN RELAY.EXAMPLE. -> 501 Error: invalid parameter syntax"
pt_check "inside a mail transaction: 503" has "ETRN relay.example -> 503 Error: MAIL transaction in progress"
pt_check "an address literal is not a fast flush domain: 459" has "ETRN [127.0.0.1] -> 459 <[127.0.0.1]>: service unavailable"

sent_to() { grep -q "to=<$1>, relay=.*status=sent" "$LOG"; }
for i in $(seq 1 100); do sent_to u@relay.example && break; sleep 0.2; done
pt_check "ETRN relay.example: its deferred message is delivered now" sent_to u@relay.example
pt_check "qmgr logged the flush" grep -q 'qmgr.*ETRN relay.example: 1 deferred message scheduled' "$LOG"
sleep 1
pt_check "the other domain's message is still deferred" sh -c "[ $(ndeferred) -eq 1 ] && ! grep -q 'to=<v@other.example>, relay=.*status=sent' '$LOG'"
smtp "EHLO c.example" "ETRN @other.example" >"$PT_TMP/etrn2" 2>&1
pt_check "ETRN @other.example: 250 Queuing started" grep -qxF "ETRN @other.example -> 250 Queuing started" "$PT_TMP/etrn2"
for i in $(seq 1 100); do sent_to v@other.example && break; sleep 0.2; done
pt_check "... and other.example's message is delivered" sent_to v@other.example
pt_check "the peer got both" sh -c "grep -l 'for relay.example' '$PT_TMP/peer'/msg.* >/dev/null && grep -l 'for other.example' '$PT_TMP/peer'/msg.* >/dev/null"

smtp "HELO bad.example" "ETRN relay.example" >"$PT_TMP/etrn3" 2>&1
smtp "EHLO rej.example" "ETRN relay.example" >>"$PT_TMP/etrn3" 2>&1
sed 's/^/# /' "$PT_TMP/etrn3"
pt_check "smtpd_etrn_restrictions: an access table REJECT" \
	grep -qxF "ETRN relay.example -> 554 5.7.1 <bad.example>: Helo command rejected: Access denied" "$PT_TMP/etrn3"
pt_check "smtpd_etrn_restrictions: reject" \
	grep -qxF "ETRN relay.example -> 554 5.7.1 <relay.example>: Etrn command rejected: Access denied" "$PT_TMP/etrn3"
pt_check "rejection logged as Postfix" \
	grep -q 'NOQUEUE: reject: ETRN from [^ ]*\[127.0.0.1\]: 554 5.7.1 <relay.example>: Etrn command rejected: Access denied; proto=ESMTP helo=<rej.example>$' "$LOG"
pt_check "rejection logged as Postfix (SMTP)" \
	grep -q 'NOQUEUE: reject: ETRN from [^ ]*\[127.0.0.1\]: 554 5.7.1 <bad.example>: Helo command rejected: Access denied; proto=SMTP helo=<bad.example>$' "$LOG"
pt_wait_port "$HPORT" || pt_fail "second smtpd listens"
TO_PORT=$HPORT smtp "ETRN relay.example" "HELO c.example" "ETRN relay.example" >"$PT_TMP/etrn4" 2>&1
sed 's/^/# /' "$PT_TMP/etrn4"
pt_check "smtpd_helo_required = yes: 503 before HELO" grep -qxF "ETRN relay.example -> 503 Error: send HELO/EHLO first" "$PT_TMP/etrn4"
pt_check "... and 250 after it" grep -qxF "ETRN relay.example -> 250 Queuing started" "$PT_TMP/etrn4"
pt_done
