#!/bin/bash
# content_checks_seeds.sh - the seed article's header/body checks as
# written (tests/fixtures/seeds/course-server/{header,body}_checks, and
# course-warn's "regex:" spelling of the map type) on a real instance
# (master, smtpd, qmgr, local): every line of the tables fires on the
# message it was written for, with the reply, the log line and the
# delivery (or none) checked.  Needs root (local delivery to test users).
set -u
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then pt_skip "local delivery to test users needs root"; exit 0; fi
pt_init || { echo "not ok - pt_init"; exit 1; }
[ -n "${PT_TMP:-}" ] || exit 1
for n in master smtpd qmgr local; do
	if [ ! -x "$BUILD/libexec/$n" ]; then pt_skip "$n is not built"; exit 0; fi
done
FIX=$PT_ROOT/tests/fixtures/seeds

d=$PT_TMP/inst
USERS=()
cleanup_users() { for u in "${USERS[@]}"; do userdel -f -r "$u" >/dev/null 2>&1; done; }
trap 'pt_cleanup; cleanup_users' EXIT
sfx=$(printf '%04x' $((RANDOM)))
RCPT=csr$sfx PM=csp$sfx
for u in $RCPT $PM; do
	useradd -m -d "$PT_TMP/home/$u" -s /bin/sh "$u" || { echo "not ok - useradd $u"; exit 1; }
	USERS+=("$u")
done

P1=$(pt_free_port) P2=$(pt_free_port)
pt_instance "$d" "$P1"
mkdir -p "$d/mail" "$d/server" "$d/warn"
chmod 1777 "$d/mail"
cp "$FIX/course-server/header_checks" "$FIX/course-server/body_checks" "$d/server/"
cp "$FIX/course-warn/header_checks" "$d/warn/"
chmod 755 "$d/server" "$d/warn"
chmod 644 "$d"/server/* "$d"/warn/*
sed -i -e '/^myhostname = /d' -e '/^alias_maps =/d' -e '/^alias_database =/d' "$d/main.cf"
cat >>"$d/main.cf" <<EOC
myhostname = postfix2.example.org
mydestination = postfix2.example.org, localhost
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
mail_spool_directory = $d/mail
alias_maps = hash:$d/aliases
alias_database = hash:$d/aliases
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 1s
# As in tests/fixtures/seeds/course-server/main.cf (seed 003 2.5):
header_checks = regexp:$d/server/header_checks
body_checks = regexp:$d/server/body_checks
body_checks_size_limit = 51200
EOC
# course-warn spells the map type "regex:", as the seed article does.
echo "127.0.0.1:$P2 inet n - n - - smtpd -o header_checks=regex:$d/warn/header_checks" >>"$d/master.cf"
echo "postmaster: $PM" >"$d/aliases"
"$POSTERN" alias -c "$d" "hash:$d/aliases" 2>/dev/null

out=$(pt_start "$d" 2>&1)
pt_check "postern start ($out)" test $? -eq 0
pt_wait_port "$P1" && pt_wait_port "$P2" || pt_fail "smtpd listens"

python3 - "$d" "$P1" "$P2" "$RCPT" "$PM" <<'PY'
import os, re, socket, sys, time
d, P1, P2, RCPT, PM = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
failed = 0
def ok(c, name, detail=""):
    global failed
    print(("ok - " if c else "not ok - ") + name + ("" if c else " (%s)" % str(detail)[:600]))
    failed += not c

def send(body, port=P1):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    def reply():
        out = []
        while True:
            l = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            out.append(l)
            if len(l) < 4 or l[3] != "-":
                return "\n".join(out)
    reply()
    for c in ("EHLO client.example", "MAIL FROM:<sender@client.example>",
              "RCPT TO:<%s@postfix2.example.org>" % RCPT, "DATA"):
        s.sendall(c.encode() + b"\r\n")
        reply()
    s.sendall(body.encode().replace(b"\n", b"\r\n") + b".\r\n")
    r = reply()
    s.sendall(b"QUIT\r\n")
    s.close()
    return r

def log():
    with open(os.path.join(d, "maillog"), errors="replace") as f:
        return f.read()

def wait_log(pat, secs=15):
    for _ in range(secs * 10):
        if re.search(pat, log(), re.M):
            return True
        time.sleep(0.1)
    return False

def qid(rep):
    m = re.search(r"queued as (\w+)", rep)
    return m.group(1) if m else "none"

def delivered(i, user):
    return wait_log(r"%s: to=<%s@postfix2\.example\.org>.*status=sent" % (i, user))

def mbox(u):
    try:
        with open(os.path.join(d, "mail", u), errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def attachment(header):
    return ("Subject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"S\"\n\n"
            "--S\nContent-Type: text/plain\n\nsee attached\n--S\n%s\n\nAAAA\n--S--\n" % header)

for port, table in ((P1, "regexp:"), (P2, "regex:")):
    for to in ("To: <>", 'To: "Mail Delivery System" <>'):
        rep = send("%s\nSubject: t\n\nx\n" % to, port)
        ok(rep == "550 5.7.1 mail to the mailer daemon", "%s seed table: %s rejected" % (table, to), rep)
    for hdr in ('Content-Type: application/octet-stream; name="setup.exe"',
                'Content-Disposition: attachment; name="run.bat"'):
        rep = send(attachment(hdr), port)
        i = qid(rep)
        ok(re.search(r"%s: redirect: header %s from .*: postmaster@postfix2\.example\.org$" % (i, re.escape(hdr)), log(), re.M),
           "%s seed table: %s redirected" % (table, hdr))
        ok(delivered(i, PM), "%s seed table: ... delivered to postmaster" % table)
    rep = send(attachment('Content-Type: text/plain; name="notes.txt"'), port)
    ok(delivered(qid(rep), RCPT), "%s seed table: notes.txt delivered to the recipient" % table)

# The other course-server header lines.
rep = send("Subject: hi\nX-Course-Drop: yes\nX-Mailer: bulkmail 2.0\n\nx\n")
i = qid(rep)
ok(delivered(i, RCPT), "IGNORE/PREPEND message delivered")
mb = mbox(RCPT)
ok("X-Course-Drop" not in mb, "X-Course-Drop: IGNOREd")
ok(re.search(r"X-Course-Note: bulk mailer\nX-Mailer: bulkmail 2\.0\n", mb), "X-Mailer: bulkmail: PREPEND X-Course-Note", mb[-400:])
rep = send("Subject: you won the lottery\n\nx\n")
ok(re.search(r"%s: warning: header Subject: you won the lottery from .*helo=<client\.example>$" % qid(rep), log(), re.M), "Subject lottery: WARN")
rep = send("Subject: hello\nX-Spam-Flag: YES\n\nx\n")
i = qid(rep)
ok(rep.startswith("250") and re.search(r"%s: discard: header X-Spam-Flag: YES" % i, log()), "X-Spam-Flag: YES: DISCARD", rep)
time.sleep(1)
ok(not re.search(r"%s: to=" % i, log()), "... nothing delivered")
rep = send("Subject: hello\nX-Mailer: mutt\n\nbegin 644 photo.jpg\nan ordinary line\n")
ok(delivered(qid(rep), RCPT), "Subject: hello (DUNNO), mutt, photo.jpg: delivered")
# course-server body_checks.
rep = send("Subject: uu\n\nbegin 644 virus.exe\nM9&%T80``\n")
ok(rep == "550 5.7.1 uuencoded executable", "body: uuencoded .exe rejected", rep)
rep = send("Subject: news\n\nplease click here to unsubscribe\n")
ok(re.search(r"%s: warning: body please click here to unsubscribe from " % qid(rep), log()), "body: unsubscribe WARN")
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || PT_FAILED=$((PT_FAILED + 1))
pt_done
