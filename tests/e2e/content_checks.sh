#!/bin/bash
# content_checks.sh - header_checks, mime_header_checks,
# nested_header_checks and body_checks in smtpd on a real instance
# (master, smtpd, qmgr, local): each action on primary, MIME part and
# attached-message headers and on body lines, over DATA and BDAT, with
# the replies, the log lines and what is (or is not) queued and
# delivered checked.  The two checks of the seed article work as
# written (mail to the daemon itself rejected, .exe/.bat attachments
# redirected to postmaster), receive_override_options =
# no_header_body_checks turns the checks off on one service, and the
# strict_* MIME options reject with Postfix's texts.  Needs root (local
# delivery to test users).
set -u
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then pt_skip "local delivery to test users needs root"; exit 0; fi
pt_init || { echo "not ok - pt_init"; exit 1; }
[ -n "${PT_TMP:-}" ] || exit 1
for n in master smtpd qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then pt_skip "$n is not built"; exit 0; fi
done

d=$PT_TMP/inst
USERS=()
cleanup_users() { for u in "${USERS[@]}"; do userdel -f -r "$u" >/dev/null 2>&1; done; }
trap 'pt_cleanup; cleanup_users' EXIT
sfx=$(printf '%04x' $((RANDOM)))
RCPT=ccr$sfx PM=ccp$sfx COPY=ccc$sfx
for u in $RCPT $PM $COPY; do
	useradd -m -d "$PT_TMP/home/$u" -s /bin/sh "$u" || { echo "not ok - useradd $u"; exit 1; }
	USERS+=("$u")
done

P1=$(pt_free_port) P2=$(pt_free_port) P3=$(pt_free_port)
pt_instance "$d" "$P1"
mkdir -p "$d/mail"
chmod 1777 "$d/mail"
sed -i -e '/^myhostname = /d' -e '/^alias_maps =/d' -e '/^alias_database =/d' "$d/main.cf"
cat >>"$d/main.cf" <<EOC
myhostname = ct.example
mydestination = ct.example, localhost
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
mail_spool_directory = $d/mail
alias_maps = hash:$d/aliases
alias_database = hash:$d/aliases
header_checks = regexp:$d/header_checks
nested_header_checks = regexp:$d/nested_checks
body_checks = pcre:$d/body_checks
body_checks_size_limit = 400
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 1s
EOC
{
	echo "127.0.0.1:$P2 inet n - n - - smtpd -o receive_override_options=no_header_body_checks"
	echo "127.0.0.1:$P3 inet n - n - - smtpd -o strict_8bitmime=yes -o strict_mime_encoding_domain=yes -o mime_nesting_limit=1 -o header_checks= -o body_checks="
} >>"$d/master.cf"
echo "postmaster: $PM" >"$d/aliases"
"$POSTERN" alias -c "$d" "hash:$d/aliases"

# The seed article's two checks, as written there, and one line per action.
cat >"$d/header_checks" <<'EOT'
/^To: .*<>/ REJECT
/name=".*\.(exe|bat)"/ REDIRECT postmaster@ct.example
/^Subject: reject-me/ REJECT bad subject
/^Subject: dsn-me/ REJECT 4.7.2 try later
/^Subject: warn-me/ WARN warned
/^Subject: info-me/ INFO
/^Subject: hold-me/ HOLD held text
/^Subject: discard-me/ DISCARD
/^Subject: redirect-me/ REDIRECT COPY@ct.example
/^Subject: bcc-me/ BCC COPY@ct.example
/^Subject: filter-me/ FILTER smtp:[127.0.0.1]:10025
/^Subject: prepend-me/ PREPEND X-Prepended: yes
/^Subject: replace-me/ REPLACE Subject: replaced
/^Subject: dunno-me/ DUNNO
/^Subject: dunno-me/ REJECT not reached
/^Subject: numeric-me/ 550 5.7.0 numeric forms are not header_checks actions
/^Subject: subst (\w+)/ WARN got $1
/^X-Drop-Me:/ IGNORE
/^X-Part-Header:/ WARN mime part header
/^X-Fold: one[[:space:]]+two$/ WARN folded header seen
/^Received: from client\.example .*by ct\.example/ INFO our Received header
EOT
sed -i "s/COPY/$COPY/" "$d/header_checks"
cat >"$d/nested_checks" <<'EOT'
/^Subject: nested-reject/ REJECT nested message refused
/^X-Nested:/ WARN nested header
EOT
cat >"$d/body_checks" <<'EOT'
/^body-reject/ REJECT body refused
/^body-drop/ IGNORE
/^body-replace/ REPLACE body replaced
/^body-warn/ WARN
/^late-line/ REJECT late line checked
EOT
chmod 644 "$d"/*_checks

out=$(pt_start "$d" 2>&1)
pt_check "postern start ($out)" test $? -eq 0
pt_wait_port "$P1" && pt_wait_port "$P2" && pt_wait_port "$P3" || pt_fail "smtpd listens"

python3 - "$d" "$P1" "$P2" "$P3" "$RCPT" "$PM" "$COPY" <<'PY'
import os, re, socket, sys, time
sys.path.insert(0, os.path.join(os.environ["PT_ROOT"] if "PT_ROOT" in os.environ else ".", "tests/e2e"))
d, P1, P2, P3, RCPT, PM, COPY = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
failed = 0
def ok(c, name, detail=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % str(detail)[:600]))
    failed += not c

class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                x = self.s.recv(65536)
                if not x:
                    raise EOFError(self.buf)
                self.buf += x
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)
    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()

def send(body, rcpts=None, port=P1, sender="sender@client.example", bdat=False):
    """Send one message; the final reply."""
    rcpts = rcpts or ["%s@ct.example" % RCPT]
    c = Raw(port)
    c.reply()
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<%s>" % sender)
    for r in rcpts:
        c.cmd("RCPT TO:<%s>" % r)
    if isinstance(body, str):
        body = body.encode()
    body = body.replace(b"\n", b"\r\n")
    if bdat:
        half = len(body) // 2
        c.s.sendall(b"BDAT %d\r\n" % half + body[:half])
        c.reply()
        c.s.sendall(b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
        rep = c.reply()
    else:
        c.cmd("DATA")
        c.s.sendall(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        rep = c.reply()
    c.cmd("QUIT")
    return rep

def log():
    with open(os.path.join(d, "maillog"), errors="replace") as f:
        return f.read()

def wait_log(pat, secs=15):
    for _ in range(secs * 10):
        if re.search(pat, log(), re.M):
            return True
        time.sleep(0.1)
    return False

def mbox(u):
    try:
        with open(os.path.join(d, "mail", u), errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def qid(rep):
    m = re.search(r"queued as (\w+)", rep)
    return m.group(1) if m else None

def in_queue(i):
    return [q for q in ("incoming", "active", "deferred", "hold") if os.path.exists(os.path.join(d, "queue", q, i))]

TAIL = r" from unknown\[127\.0\.0\.1\]; from=<sender@client\.example> to=<%s@ct\.example> proto=ESMTP helo=<client\.example>" % RCPT

# --- REJECT on a primary header: 5xx after the dot, logged, nothing queued.
rep = send("Subject: reject-me now\nFrom: a@client.example\n\nbody\n")
ok(rep == "550 5.7.1 bad subject", "REJECT: 550 5.7.1 text after the final dot", rep)
m = re.search(r"postern/cleanup\[\d+\]: (\w+): reject: header Subject: reject-me now" + TAIL + r": 5\.7\.1 bad subject$", log(), re.M)
ok(m, "REJECT: logged as Postfix's cleanup logs it", log()[-800:])
if m:
    time.sleep(0.5)
    ok(not in_queue(m.group(1)) and not re.search(r"qmgr\[\d+\]: %s: from=" % m.group(1), log()), "REJECT: nothing queued")
rep = send("Subject: dsn-me\n\nx\n")
ok(rep == "451 4.7.2 try later", "REJECT 4.x.x text: 451 reply", rep)
# The seed article: mail to the daemon itself.
rep = send("To: Mail Delivery System <>\nSubject: t\n\nx\n")
ok(rep == "550 5.7.1 message content rejected", "seed: To: .*<> REJECT (generic text)", rep)
ok(re.search(r"reject: header To: Mail Delivery System <>" + TAIL + r": 5\.7\.1 message content rejected$", log(), re.M), "seed: the To: reject is logged")
# BDAT: the same reject after BDAT LAST.
rep = send("Subject: reject-me by bdat\n\nbody\n", bdat=True)
ok(rep == "550 5.7.1 bad subject", "REJECT over BDAT", rep)
# Body line reject, found after the header.
rep = send("Subject: b\n\nline one\nbody-reject here\n")
ok(rep == "550 5.7.1 body refused", "body_checks REJECT", rep)
ok(re.search(r"reject: body body-reject here" + TAIL + r": 5\.7\.1 body refused$", log(), re.M), "body REJECT logged with 'body'")

# --- Actions that let the message through.
rep = send("Subject: warn-me\nX-Drop-Me: secret\nX-Fold: one\n\ttwo\nSubject: subst word\n\nbody-drop this\nbody-replace that\nbody-warn\nkept line\n")
i = qid(rep)
ok(i, "WARN/IGNORE/REPLACE: queued", rep)
ok(re.search(r"%s: warning: header Subject: warn-me%s: warned$" % (i, TAIL), log(), re.M), "WARN logged with its text")
ok(re.search(r"%s: warning: header X-Fold: one\?\?two%s: folded header seen$" % (i, TAIL), log(), re.M), "a folded header is matched as one logical header (newline kept), logged with '?'")
ok(re.search(r"%s: warning: header Subject: subst word%s: got word$" % (i, TAIL), log(), re.M), "$1 substitution in the action text")
ok(re.search(r"%s: warning: body body-warn%s$" % (i, TAIL), log(), re.M), "WARN without text")
ok(re.search(r"%s: info: header Received: from client\.example" % i, log(), re.M), "header_checks see our own Received: header, as Postfix's")
ok(wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (i, RCPT)), "delivered")
mb = mbox(RCPT)
ok("X-Drop-Me" not in mb and "body-drop" not in mb, "IGNORE removes the header and the body line", mb[-600:])
ok("body replaced\n" in mb and "body-replace that" not in mb and "kept line\n" in mb, "REPLACE of a body line", mb[-600:])
ok("X-Fold: one\n\ttwo\n" in mb, "folding kept in the queued header")

rep = send("Subject: prepend-me\n\nx\n")
rep2 = send("Subject: replace-me\n\ny\n")
ok(wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (qid(rep), RCPT)) and wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (qid(rep2), RCPT)), "PREPEND/REPLACE delivered")
mb = mbox(RCPT)
ok(re.search(r"X-Prepended: yes\nSubject: prepend-me\n", mb), "PREPEND puts the line above the header", mb[-600:])
ok("Subject: replaced\n" in mb and "Subject: replace-me" not in mb, "REPLACE of a header")
ok(re.search(r"%s: prepend: header Subject: prepend-me%s: X-Prepended: yes$" % (qid(rep), TAIL), log(), re.M), "PREPEND logged")
ok(re.search(r"%s: replace: header Subject: replace-me%s: Subject: replaced$" % (qid(rep2), TAIL), log(), re.M), "REPLACE logged")

rep = send("Subject: dunno-me\n\nx\n")
ok(rep.startswith("250"), "DUNNO ends the table search (the later REJECT does not fire)", rep)
rep = send("Subject: numeric-me\n\nx\n")
ok(rep.startswith("250") and re.search(r"warning: unknown command in header_checks map: 550 5\.7\.0", log()), "a numeric reply is no header_checks action: warned, as Postfix", rep)
rep = send("Subject: info-me\n\nx\n")
ok(re.search(r"%s: info: header Subject: info-me%s$" % (qid(rep), TAIL), log(), re.M), "INFO logged")
rep = send("Subject: filter-me\n\nx\n")
ok(re.search(r"%s: filter: header Subject: filter-me%s: smtp:\[127\.0\.0\.1\]:10025$" % (qid(rep), TAIL), log(), re.M), "FILTER logged")

# HOLD: the message lands in hold/.
rep = send("Subject: hold-me\n\nx\n")
i = qid(rep)
ok(i and re.search(r"%s: hold: header Subject: hold-me%s: held text$" % (i, TAIL), log(), re.M), "HOLD logged", rep)
time.sleep(1)
ok(i and in_queue(i) == ["hold"], "HOLD: the message is in the hold queue", i and in_queue(i))

# DISCARD: 250, nothing delivered or queued.
rep = send("Subject: discard-me\n\nx\n")
i = qid(rep)
ok(rep.startswith("250 2.0.0 Ok: queued as"), "DISCARD claims delivery", rep)
ok(re.search(r"%s: discard: header Subject: discard-me%s$" % (i, TAIL), log(), re.M), "DISCARD logged")
time.sleep(1)
ok(not in_queue(i) and not re.search(r"%s: to=" % i, log()), "DISCARD: nothing queued or delivered")

# REDIRECT and BCC.
rep = send("Subject: redirect-me\n\nredirected body\n")
i = qid(rep)
ok(wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (i, COPY)), "REDIRECT delivered to the new address")
ok(not re.search(r"%s: to=<%s@" % (i, RCPT), log()), "REDIRECT: not to the original recipient")
rep = send("Subject: bcc-me\n\nbcc body\n")
i = qid(rep)
ok(wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (i, COPY)) and wait_log(r"%s: to=<%s@ct\.example>.*status=sent" % (i, RCPT)), "BCC delivered to both")

# The seed article: .exe/.bat attachments redirected to postmaster by a
# MIME part header; only header_checks is set, mime_header_checks
# defaults to it.
for ext in ("exe", "bat"):
    msg = ("Subject: invoice\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XYZ\"\n\n"
           "preamble\n--XYZ\nContent-Type: text/plain\nX-Part-Header: 1\n\nsee attached\n"
           "--XYZ\nContent-Type: application/octet-stream; name=\"invoice.%s\"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--XYZ--\n" % ext)
    rep = send(msg)
    i = qid(rep)
    ok(re.search(r'%s: redirect: header Content-Type: application/octet-stream; name="invoice\.%s"%s: postmaster@ct\.example$' % (i, ext, TAIL), log(), re.M), "seed: .%s attachment redirected (logged)" % ext)
    ok(wait_log(r"%s: to=<%s@ct\.example>, orig_to=<postmaster@ct\.example>.*status=sent" % (i, PM)), "seed: .%s attachment delivered to postmaster" % ext)
    ok(re.search(r"%s: warning: header X-Part-Header: 1%s: mime part header$" % (i, TAIL), log(), re.M), "MIME part headers: mime_header_checks (default $header_checks, as the seed article says)")
    ok(not re.search(r"%s: to=<%s@" % (i, RCPT), log()), "seed: .%s not delivered to the recipient" % ext)

# Attached message: nested_header_checks on its header, body_checks on its body.
msg = ("Subject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B1\"\n\n--B1\n"
       "Content-Type: message/rfc822\n\nX-Nested: inner\nSubject: inner\n\nbody-warn inner\n--B1--\n")
rep = send(msg)
i = qid(rep)
ok(re.search(r"%s: warning: header X-Nested: inner%s: nested header$" % (i, TAIL), log(), re.M), "nested_header_checks on an attached message's header")
ok(re.search(r"%s: warning: body body-warn inner%s$" % (i, TAIL), log(), re.M), "body_checks on an attached message's body")
rep = send(msg.replace("Subject: inner", "Subject: nested-reject"))
ok(rep == "550 5.7.1 nested message refused", "REJECT from nested_header_checks", rep)

# body_checks_size_limit: lines past the limit are not checked.
rep = send("Subject: big\n\n" + ("x" * 70 + "\n") * 10 + "late-line\n")
ok(rep.startswith("250"), "body_checks_size_limit: a line past it is not checked", rep)
rep = send("Subject: small\n\nlate-line\n")
ok(rep.startswith("550 5.7.1 late line checked"), "... and checked before it", rep)

# receive_override_options = no_header_body_checks on the second service.
rep = send("Subject: reject-me\n\nbody-reject\n", port=P2)
ok(rep.startswith("250"), "no_header_body_checks: no checks on that service", rep)

# strict_* options (third service): Postfix's replies and log lines.
rep = send(b"Subject: 8bit \xc3\xa4\n\nx\n", port=P3)
ok(rep == "550 5.6.0 improper use of 8-bit data in message header", "strict_8bitmime: 8-bit header", rep)
ok(re.search(r"reject: mime-error improper use of 8-bit data in message header: Subject: 8bit \S+ from unknown\[127\.0\.0\.1\]; from=<sender@client\.example> to=<%s@ct\.example>$" % RCPT, log(), re.M), "mime-error logged as Postfix")
rep = send(b"Subject: b\n\nx \xc3\xa4\n", port=P3)
ok(rep == "550 5.6.0 improper use of 8-bit data in message body", "strict_8bitmime: 8-bit body without 8-bit encoding", rep)
rep = send(b"Subject: b\nMIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\nContent-Type: text/plain\n\nx \xc3\xa4\n", port=P3)
ok(rep.startswith("250"), "strict_8bitmime: 8-bit body declared 8bit passes", rep)
rep = send("Subject: e\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\ny\n--x--\n", port=P3)
ok(rep == "550 5.6.0 invalid message/* or multipart/* encoding domain", "strict_mime_encoding_domain", rep)
def deep(n):
    return "Subject: deep\nMIME-Version: 1.0\n" + "".join("Content-Type: multipart/mixed; boundary=\"L%d\"\n\n--L%d\n" % (k, k) for k in range(n)) + "\nx\n"
rep = send(deep(4), port=P3)
ok(rep == "550 5.6.0 MIME nesting exceeds safety limit", "mime_nesting_limit (1): 4 multipart levels refused, as Postfix", rep)
rep = send(deep(3), port=P3)
ok(rep.startswith("250"), "mime_nesting_limit (1): 3 levels pass, as Postfix", rep)
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || PT_FAILED=$((PT_FAILED + 1))

# The check lines are logged as postern/cleanup, so pflogsumm counts them
# as it counts Postfix's cleanup lines.
if command -v pflogsumm >/dev/null; then
	rep=$(pflogsumm --syslog-name=postern "$d/maillog" 2>&1)
	total() { printf '%s\n' "$rep" | awk -v w="$1" '$2 == w { print $1; exit }'; }
	pt_check "pflogsumm counts the HOLD ($(total held)) and the DISCARD ($(total discarded))" \
		test "$(total held)" = 1 -a "$(total discarded)" = 1
	pt_check "pflogsumm counts the header/body REJECTs ($(total rejected))" test "$(total rejected)" -ge 7
fi
pt_done
