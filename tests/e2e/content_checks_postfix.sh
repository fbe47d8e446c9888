#!/bin/bash
# content_checks_postfix.sh - Postfix as the oracle for header/body
# checks: a private Postfix and postern's smtpd get the same
# header_checks, mime_header_checks, nested_header_checks and
# body_checks tables and the same messages (every action, folded
# headers, MIME parts, an attached message, the strict_* options); the
# replies after the final dot must be equal, and so must the log lines
# of the actions (queue ids and prefixes removed).  Needs root and
# Debian's postfix.
set -u
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMTPD="$TOP/$BUILD/libexec/smtpd"
if [ "$(id -u)" != 0 ]; then echo "ok - skipped: a private Postfix needs root"; exit 0; fi
if ! command -v postfix >/dev/null || ! getent passwd postfix >/dev/null; then
	echo "ok - skipped: postfix is not installed"; exit 0
fi
T=$(mktemp -d /tmp/postern-hbcpf.XXXXXX)
[ -n "$T" ] || exit 1
chmod 755 "$T"
pids=()
cleanup() {
	postfix -c "$T/pf" stop >/dev/null 2>&1
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(free_port); PS=$(free_port)

cat >"$T/header_checks" <<'M'
/^To: .*<>/ REJECT
/name=".*\.(exe|bat)"/ REDIRECT postmaster@mx.example
/^Subject: reject-me/ REJECT bad subject
/^Subject: dsn-me/ REJECT 4.7.2 try later
/^Subject: dsn5-me/ REJECT 5.7.9 custom
/^Subject: warn-me/ WARN warned
/^Subject: info-me/ INFO
/^Subject: hold-me/ HOLD held text
/^Subject: discard-me/ DISCARD
/^Subject: redirect-me/ REDIRECT other@mx.example
/^Subject: bcc-me/ BCC copy@mx.example
/^Subject: filter-me/ FILTER smtp:[127.0.0.1]:10025
/^Subject: prepend-me/ PREPEND X-Prepended: yes
/^Subject: replace-me/ REPLACE X-Replaced: yes
/^Subject: strip-me/ STRIP stripped
/^Subject: pass-me/ PASS passing
/^Subject: dunno-me/ DUNNO
/^Subject: dunno-me/ WARN not reached
/^Subject: subst (\w+)/ WARN got $1
/^Subject: long/ WARN long header
/^X-Fold: a/ WARN fold seen
/^X-Ign:/ IGNORE
/^Subject: badprep/ PREPEND no header label
/^Subject: badrepl/ REPLACE no header label
/^Subject: dir-me/ DEFER_IF_REJECT listed in the seed article
/^Subject: numeric-me/ 550 5.7.0 numeric
M
cat >"$T/mime_checks" <<'M'
/^Content-Type: text/ WARN mime header
/^X-Part:/ WARN part header
M
cat >"$T/nested_checks" <<'M'
/^X-Nested:/ WARN nested header
/^Subject: nested-reject/ REJECT nested refused
M
cat >"$T/body_checks" <<'M'
/^body-reject/ REJECT body bad
/^body-warn/ WARN
/^--BOUND/ WARN boundary line
/^body-replace/ REPLACE replaced body
/^xxxxx/ WARN chunk
M
chmod 644 "$T"/*_checks

settings="compatibility_level = 3.6
myhostname = mx.example
mydomain = example
mydestination = \$myhostname, localhost
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
defer_transports = local, smtp, error
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP
smtpd_error_sleep_time = 0
header_checks = regexp:$T/header_checks
mime_header_checks = regexp:$T/mime_checks
nested_header_checks = regexp:$T/nested_checks
body_checks = regexp:$T/body_checks
strict_7bit_headers = yes
strict_mime_encoding_domain = yes
mime_nesting_limit = 2"

. "$HERE/pf_pair.inc"
pf_pair_start

python3 - "$PP" "$PS" <<'PY'
import socket, sys
PP, PS = int(sys.argv[1]), int(sys.argv[2])

def send(port, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    def reply():
        out = []
        while True:
            l = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            out.append(l)
            if len(l) < 4 or l[3] != "-":
                return " | ".join(out)
    reply()
    for c in ("EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<u@mx.example>", "DATA"):
        s.sendall(c.encode() + b"\r\n")
        reply()
    s.sendall(body.replace(b"\n", b"\r\n") + b".\r\n")
    r = reply()
    s.sendall(b"QUIT\r\n")
    s.close()
    return r.split(" queued as")[0]

mp = (b"Subject: mime\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUND\"\n\npre\n"
      b"--BOUND\nContent-Type: text/plain\nX-Part: 1\n\nbody-warn in part\nbody-replace x\n"
      b"--BOUND\nContent-Type: message/rfc822\n\nX-Nested: yes\nSubject: inner\n\nbody-warn inner\n"
      b"--BOUND\nContent-Type: application/octet-stream; name=\"evil.exe\"\n\nAAAA\nbody-warn after redirect\n--BOUND--\nepi\n")
def deep(n):
    return (b"Subject: deep\nMIME-Version: 1.0\n" +
            b"".join(b"Content-Type: multipart/mixed; boundary=\"L%d\"\n\n--L%d\n" % (k, k) for k in range(n)) + b"\nx\n")
subjects = ["reject-me now", "dsn-me", "dsn5-me", "warn-me", "info-me", "hold-me", "discard-me",
            "redirect-me", "bcc-me", "filter-me", "prepend-me", "replace-me", "strip-me", "pass-me",
            "dunno-me", "subst word", "long " + "y" * 400, "badprep", "badrepl", "dir-me", "numeric-me"]
cases = [b"Subject: %s\nX-Ign: 1\nX-Fold: a\n b\n\tc\n\nbody-warn\n" % s.encode() for s in subjects]
cases += [b"To: Mail Delivery System <>\nSubject: t\n\nx\n", mp,
          mp.replace(b"Subject: inner", b"Subject: nested-reject"),
          b"Subject: b\n\nline\nbody-reject now\n", b"Subject: 8bit \xc3\xa4\n\nx\n",
          b"Subject: e\nMIME-Version: 1.0\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nS: x\n\ny\n",
          deep(4), deep(5),
          b"Subject: nobreak\nnot a header line\nbody-warn\n",
          b"Subject: digest\nMIME-Version: 1.0\nContent-Type: multipart/digest; boundary=\"D\"\n\n--D\n\n"
          b"X-Nested: in digest\n\nbody-warn d\n--D\nContent-Type: message/partial; id=1\n\nX-Nested: partial\n--D--\n",
          b"Subject: longline\n\nbody-warn" + b"x" * 5000 + b"\n"]
failed = 0
for i, body in enumerate(cases):
    a, b = send(PP, body), send(PS, body)
    name = body.split(b"\n")[0][:40].decode("utf-8", "replace")
    if a == b:
        print("ok - reply after the dot as Postfix's: %s (%s)" % (name, a))
    else:
        failed += 1
        print("not ok - reply differs from Postfix: %s\n#   postfix: %s\n#   smtpd:   %s" % (name, a, b))
sys.exit(1 if failed else 0)
PY
rc=$?
sleep 1
# The action log lines (not our Received: header's), ids and prefixes removed.
norm() {
	grep -E ': (reject|warning|info|hold|discard|redirect|bcc|filter|prepend|replace|strip|pass): (header|body|mime-error) |unknown command in|bad (PREPEND|REPLACE) header' "$1" |
		sed -E -e 's/^.*: [0-9A-Za-z]{6,}: (reject|warning|info|hold|discard|redirect|bcc|filter|prepend|replace|strip|pass): /QID: \1: /' \
			-e 's/^.*(warning: unknown command|warning: bad (PREPEND|REPLACE))/\1/'
}
norm "$T/pf.log" >"$T/pf.lines"
norm "$T/smtpd.log" >"$T/sc.lines"
if [ -s "$T/pf.lines" ] && diff "$T/pf.lines" "$T/sc.lines" >"$T/diff"; then
	echo "ok - header/body checks log lines as Postfix's ($(wc -l <"$T/pf.lines") lines)"
else
	echo "not ok - log lines differ from Postfix's"; sed 's/^/#   /' "$T/diff"; rc=1
fi
exit $rc
