#!/bin/bash
# smtpd_check_postfix.sh - Postfix as the oracle for the restriction
# chain: a private Postfix and smtpd with the same restriction lists and
# access tables (helo_checks, a sender table with classes and lists,
# roleaccount_exceptions, warn_if_reject, reject_multi_recipient_bounce,
# DEFER_IF_PERMIT, WARN, ETRN and smtpd_etrn_restrictions) get the same dialogues from a client outside
# mynetworks; replies must be equal line for line, and so must the
# reject / reject_warning / warn log lines.  Needs root and Debian's postfix.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
if [ "$(id -u)" != 0 ]; then echo "ok - skipped: a private Postfix needs root"; exit 0; fi
if ! command -v postfix >/dev/null || ! getent passwd postfix >/dev/null; then
	echo "ok - skipped: postfix is not installed"; exit 0
fi
T=$(mktemp -d /tmp/postern-chkpf.XXXXXX)
[ -n "$T" ] || exit 1
chmod 755 "$T"
pids=()
cleanup() {
	postfix -c "$T/pf" stop >/dev/null 2>&1
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(free_port); PS=$(free_port)

cat >"$T/helo_checks" <<'M'
my.host.name 550 Don't use my hostname
bad.example REJECT go away
warn.example WARN suspicious helo
M
cat >"$T/sender_access" <<'M'
spammer@bad.example REJECT
bad.example 553 5.7.2 no thanks
class.example restrictive
list.example permit_mynetworks, reject
ok.example OK
dip.example DEFER_IF_PERMIT not now
deferred.example DEFER
dip2.example DEFER_IF_PERMIT
dsn.example REJECT 5.7.2 custom text
num.example 421 4.7.0 busy now
dis.example DISCARD
red.example REDIRECT postmaster@mx.example
M
cat >"$T/roleaccount_exceptions" <<'M'
postmaster@ OK
abuse@ OK
blocked@mx.example 550 5.1.1 gone away
M
chmod 644 "$T"/helo_checks "$T"/sender_access "$T"/roleaccount_exceptions

settings="compatibility_level = 3.6
myhostname = mx.example
mydomain = example
mydestination = \$myhostname, localhost
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP
smtpd_error_sleep_time = 0
recipient_delimiter = +
smtpd_restriction_classes = restrictive
restrictive = reject
smtpd_helo_restrictions = permit_mynetworks, check_helo_access texthash:$T/helo_checks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = check_sender_access texthash:$T/sender_access, warn_if_reject reject_non_fqdn_sender
smtpd_recipient_restrictions = check_recipient_access texthash:$T/roleaccount_exceptions, reject_non_fqdn_recipient, permit_mynetworks, reject_unauth_destination
smtpd_data_restrictions = reject_multi_recipient_bounce
relay_domains = relay.example
smtpd_etrn_restrictions = check_helo_access texthash:$T/helo_checks"

. "$HERE/pf_pair.inc"
pf_pair_start

python3 - "$PP" "$PS" <<'PY'
import socket, sys
PP, PS = int(sys.argv[1]), int(sys.argv[2])

def talk(port, src, lines):
    s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=20)
    f = s.makefile("rb")
    def reply():
        out = []
        while True:
            l = f.readline().decode().rstrip("\r\n")
            out.append(l)
            if len(l) < 4 or l[3] != "-":
                return out
    out = [reply()]
    for l in lines:
        s.sendall(l.encode() + b"\r\n")
        out.append(reply())
    s.close()
    return out

H = "mx.example"
R = "RCPT TO:<root@%s>" % H
cases = [
    ["EHLO my.host.name", "MAIL FROM:<a@b.example>", R, "QUIT"],
    ["EHLO bad_name!", "MAIL FROM:<a@b.example>", R, "QUIT"],
    ["EHLO shortname", "MAIL FROM:<a@b.example>", R, "QUIT"],
    ["EHLO bad.example", "MAIL FROM:<a@b.example>", R, "QUIT"],
    ["EHLO warn.example", "MAIL FROM:<a@b.example>", R, "QUIT"],
    ["EHLO client.example", "MAIL FROM:<spammer@bad.example>", R, "RSET",
     "MAIL FROM:<x@bad.example>", R, "RSET", "MAIL FROM:<x@class.example>", R, "RSET",
     "MAIL FROM:<x@list.example>", R, "RSET", "MAIL FROM:<x@dip.example>", R, "RSET",
     "MAIL FROM:<x@deferred.example>", R, "RSET", "MAIL FROM:<user>", R, "RSET",
     "MAIL FROM:<x@dip2.example>", R, "RSET", "MAIL FROM:<x@dsn.example>", R, "RSET",
     "MAIL FROM:<x@dis.example>", R, "RSET", "MAIL FROM:<x@red.example>", R, "QUIT"],
    ["EHLO client.example", "MAIL FROM:<x@num.example>", R],
    ["EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<postmaster@elsewhere.example>",
     "RCPT TO:<x@elsewhere.example>", "RCPT TO:<blocked@%s>" % H, "RCPT TO:<root>",
     "RCPT TO:<abuse@%s>" % H, "RCPT TO:<x%%elsewhere.example@%s>" % H, "QUIT"],
    ["EHLO client.example", "MAIL FROM:<>", R, "RCPT TO:<postmaster@%s>" % H, "DATA", "QUIT"],
    ["ETRN relay.example", "EHLO client.example", "ETRN", "ETRN relay.example",
     "ETRN unknown.example", "ETRN %s" % H, "ETRN bad..name", "ETRN relay.example extra",
     "ETRN @relay.example", "ETRN #relay.example", "ETRN RELAY.EXAMPLE.", "ETRN [127.0.0.1]",
     "ETRN relay.example.x", "ETRN a_b.relay.example", "ETRN 1.2.3.4", "ETRN [1.2.3.4",
     "ETRN -x.example",
     "MAIL FROM:<a@b.example>", "ETRN relay.example", "RSET", "QUIT"],
    ["EHLO bad.example", "ETRN relay.example", "QUIT"],
    ["HELO my.host.name", "ETRN relay.example", "QUIT"],
]
failed = 0
for lines in cases:
    a, b = talk(PP, "127.0.0.2", lines), talk(PS, "127.0.0.2", lines)
    for i, (ra, rb) in enumerate(zip(a, b)):
        cmd = "banner" if i == 0 else lines[i - 1]
        if cmd.startswith("EHLO") and len(ra) > 1:
            ra, rb = ra[:1], rb[:1]
        if ra == rb:
            print("ok - restriction reply as Postfix's: %s" % cmd)
        else:
            failed += 1
            print("not ok - reply differs from Postfix: %s\n#   postfix: %s\n#   smtpd:   %s"
                  % (cmd, " | ".join(ra), " | ".join(rb)))
sys.exit(1 if failed else 0)
PY
rc=$?
sleep 1
# The log lines, queue ids and prefixes removed.
norm() { grep -E ': (reject|reject_warning|warn|discard|redirect): ' "$1" | grep -v 'warning:' |
	sed -E 's/^.*(NOQUEUE|[0-9A-Za-z]{6,}): (reject|reject_warning|warn|discard|redirect): /QID: \2: /'; }
norm "$T/pf.log" >"$T/pf.lines"
norm "$T/smtpd.log" >"$T/sc.lines"
if [ -s "$T/pf.lines" ] && diff "$T/pf.lines" "$T/sc.lines" >"$T/diff"; then
	echo "ok - reject, reject_warning and warn log lines as Postfix's ($(wc -l <"$T/pf.lines") lines)"
else
	echo "not ok - log lines differ from Postfix's"; sed 's/^/#   /' "$T/diff"; rc=1
fi
exit $rc
