#!/bin/bash
# master_reload.sh - postern reload replaces every daemon without
# closing a listener (connections made during the reload are served),
# picks up master.cf changes (a new service listens, a removed one
# stops), and refuses a configuration with errors while the running
# one continues.
. "$(dirname "$0")/lib.sh"
pt_init

port=$(pt_free_port)
d=$PT_TMP/a
pt_instance "$d" "$port"
pt_fake_daemons "$d" || { pt_fail "build the stand-in daemon"; pt_done; }
pt_check "start" pt_start "$d" 2>/dev/null
mpid=$(pt_master_pid "$d")
old_smtpd=$(pt_children "$mpid" smtpd)
old_qmgr=$(pt_children "$mpid" qmgr)

# Connect over and over while reloading; every connection must get a
# banner.
python3 - "$port" >"$PT_TMP/conn.out" 2>&1 <<'EOP' &
import socket, sys, time
port = int(sys.argv[1])
ok = bad = 0
end = time.time() + 4
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.settimeout(10)
        line = s.recv(100)
        s.close()
        if line.startswith(b"220 fake smtpd"):
            ok += 1
        else:
            bad += 1
    except OSError as e:
        print("error:", e)
        bad += 1
    time.sleep(0.01)
print("ok", ok, "bad", bad)
EOP
cpid=$!
sleep 1
pt_check "postern reload exits 0" "$POSTERN" reload -c "$d"
sleep 0.5
pt_check "a second reload at once exits 0" "$POSTERN" reload -c "$d"
wait "$cpid"
res=$(tail -n 1 "$PT_TMP/conn.out")
pt_check "connections during the reload all served ($res)" grep -Eq "^ok [1-9][0-9]* bad 0$" <<<"$res"
pt_check "master pid unchanged" test "$(pt_master_pid "$d")" = "$mpid"
new_smtpd=$(pt_children "$mpid" smtpd)
new_qmgr=$(pt_children "$mpid" qmgr)
pt_check "smtpd replaced ($old_smtpd -> $new_smtpd)" \
	test -n "$new_smtpd" -a "$new_smtpd" != "$old_smtpd"
pt_check "qmgr replaced ($old_qmgr -> $new_qmgr)" \
	test -n "$new_qmgr" -a "$new_qmgr" != "$old_qmgr"
pt_check "exactly one qmgr" test "$(pt_children "$mpid" qmgr | wc -l)" -eq 1
pt_check "reload logged" grep -q "postern/master\[$mpid\]: reload -- version" "$d/maillog"
pt_check "replaced daemons were not reported as failures" \
	bash -c "! grep -q 'warning: process' '$d/maillog'"

# A new inet service in master.cf listens after a reload; the old one
# keeps its socket.
port2=$(pt_free_port)
echo "127.0.0.1:$port2 inet n - n - - smtpd" >>"$d/master.cf"
"$POSTERN" reload -c "$d" 2>/dev/null
pt_check "new service listens after reload" pt_wait_port "$port2" 10
b=$(pt_banner "$port2")
pt_check "... served by its own smtpd ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port2"
b=$(pt_banner "$port")
pt_check "... first service still served ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"
pt_check "two smtpd now" test "$(pt_children "$mpid" smtpd | wc -l)" -eq 2

sed -i "/^127.0.0.1:$port2 /d" "$d/master.cf"
"$POSTERN" reload -c "$d" 2>/dev/null
closed=no
for i in $(seq 1 50); do
	if ! (exec 9<>"/dev/tcp/127.0.0.1/$port2") 2>/dev/null; then closed=yes; break; fi
	sleep 0.1
done
pt_check "removed service's port closed after reload" test $closed = yes

# A broken configuration is refused; everything keeps running.
cp "$d/main.cf" "$PT_TMP/main.cf.good"
echo "smtpd_helo_required = perhaps" >>"$d/main.cf"
out=$("$POSTERN" reload -c "$d" 2>&1)
pt_check "reload with a configuration error refused ($out)" test $? -ne 0
pt_check "... saying so" grep -q "not reloading" <<<"$out"
cp "$d/master.cf" "$PT_TMP/master.cf.good"
echo "broken inet n" >>"$d/master.cf"
kill -HUP "$mpid" # master itself checks what it parses
sleep 1
pt_check "master refuses it too" grep -q "reload: the configuration has errors; keeping the running one" "$d/maillog"
b=$(pt_banner "$port")
pt_check "... and still serves ($b)" test "$b" = "220 fake smtpd 127.0.0.1:$port"
cp "$PT_TMP/main.cf.good" "$d/main.cf"
cp "$PT_TMP/master.cf.good" "$d/master.cf"

pt_check "stop" pt_stop "$d" 2>/dev/null
pt_done
