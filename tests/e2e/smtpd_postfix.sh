#!/bin/bash
# smtpd_postfix.sh - Postfix as the oracle for smtpd's replies: a private
# Postfix instance (own config and queue directories, loopback port) and
# smtpd with the same main.cf settings get the same command lines, from a
# client inside and one outside mynetworks; the replies must be equal,
# line for line.  Needs root (Postfix's master) and Debian's postfix.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
if [ "$(id -u)" != 0 ]; then echo "ok - skipped: a private Postfix needs root"; exit 0; fi
if ! command -v postfix >/dev/null || ! getent passwd postfix >/dev/null; then
	echo "ok - skipped: postfix is not installed"; exit 0
fi
T=$(mktemp -d /tmp/postern-smtpdpf.XXXXXX)
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
recipient_delimiter = +"

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
cases = [
    ("127.0.0.1", ["HELO client.example", "MAIL FROM:<a@b.example>", "MAIL FROM:<a@b.example>",
                   "RCPT TO:<nosuch@%s>" % H, "RCPT TO:<root@%s>" % H, "RCPT TO:<root+ext@%s>" % H,
                   "RCPT TO:<root@%s.>" % H, "RCPT TO:<postmaster>", "RCPT TO:<root@localhost>",
                   "RCPT TO:<x@elsewhere.example>", "RCPT TO:<>", "RCPT TO:<root@%s> FOO=bar" % H,
                   "RCPT TO:<root@%s> NOTIFY=NEVER,SUCCESS" % H, "RCPT TO:<root@%s> ORCPT=foo" % H,
                   "RCPT TO:<root@%s> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;root+40x" % H,
                   "RCPT TO:<@a.example,@b.example:root@%s>" % H, "RCPT TO:<root@[127.0.0.1]>",
                   "RCPT TO:<root@-bad->", "RCPT TO:<root@a..b>", "RCPT TO:<root@[999.1.1.1]>",
                   "RSET", "NOOP", "VRFY root", "VRFY nosuch", "QUIT"]),
    ("127.0.0.1", ["EHLO client.example", "DATA", "RCPT TO:<root@%s>" % H, "MAIL FROM <a@b>",
                   "MAIL", "MAIL FROM:<a b@c>", "MAIL FROM:<a@b", "MAIL FROM:<a@b> BODY=FOO",
                   "MAIL FROM:<a@b> SIZE=99999999", "MAIL FROM:<a@b> <c@d>",
                   "MAIL FROM:<\"a b\"@c> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=x+2Bx SMTPUTF8",
                   "DATA", "RCPT TO:<nosuch@%s>" % H, "DATA", "HELO", "EHLO", "QUIT"]),
    ("127.0.0.2", ["EHLO outside.example", "MAIL FROM:<a@b.example>",
                   "RCPT TO:<x@elsewhere.example>", "RCPT TO:<x%%elsewhere.example@%s>" % H,
                   "RCPT TO:<@%s:x@elsewhere.example>" % H, "RCPT TO:<elsewhere.example!x@%s>" % H,
                   "RCPT TO:<\"x@elsewhere.example\"@%s>" % H, "RCPT TO:<x@elsewhere.example.>",
                   "RCPT TO:<root@[192.0.2.1]>", "RCPT TO:<root@[127.0.0.1]>",
                   "RCPT TO:<root@%s>" % H, "QUIT"]),
]
failed = 0
for src, lines in cases:
    a, b = talk(PP, src, lines), talk(PS, src, lines)
    for i, (ra, rb) in enumerate(zip(a, b)):
        cmd = "banner" if i == 0 else lines[i - 1]
        if cmd.startswith("EHLO") and len(ra) > 1:
            # Keywords differ by design (no ETRN; no STARTTLS/AUTH yet).
            ra, rb = ra[:1], rb[:1]
        if ra == rb:
            print("ok - same reply as Postfix from %s: %s" % (src, cmd))
        else:
            failed += 1
            print("not ok - reply differs from Postfix from %s: %s\n#   postfix: %s\n#   smtpd:   %s"
                  % (src, cmd, " | ".join(ra), " | ".join(rb)))
sys.exit(1 if failed else 0)
PY
