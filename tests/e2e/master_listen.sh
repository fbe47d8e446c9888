#!/bin/bash
# master_listen.sh - which addresses master binds: inet_interfaces
# (loopback-only, a list), inet_protocols (ipv4, ipv6, all), the
# service forms host:port, [ipv6]:port and port; a service name that
# does not resolve is a clear start-up error.
. "$(dirname "$0")/lib.sh"
pt_init

# Listening addresses of PID, sorted, one "addr:port" per line.
listening() {
	ss -Hltnp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { print $4 }' | sort
}
have_v6=no
python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have_v6=yes

run_case() { # name, main.cf lines, master.cf service, expected addresses
	local name=$1 extra=$2 svc=$3 want=$4 d mpid got
	d=$PT_TMP/$name
	pt_instance "$d"
	pt_fake_daemons "$d"
	sed -i '/^inet_interfaces\|^inet_protocols/d' "$d/main.cf"
	printf '%s\n' "$extra" >>"$d/main.cf"
	echo "$svc inet n - n - - smtpd" >>"$d/master.cf"
	if ! pt_start "$d" 2>"$PT_TMP/err"; then
		pt_fail "$name: start ($(cat "$PT_TMP/err"))"
		return
	fi
	mpid=$(pt_master_pid "$d")
	got=$(listening "$mpid" | tr '\n' ' ')
	pt_check "$name: listens on $want(got $got)" test "$got" = "$want"
	pt_stop "$d" 2>/dev/null
}

p=$(pt_free_port)
run_case port-v4 "inet_interfaces = 127.0.0.1
inet_protocols = ipv4" "$p" "127.0.0.1:$p "
p=$(pt_free_port)
run_case list "inet_interfaces = 127.0.0.1, 127.0.0.2
inet_protocols = ipv4" "$p" "127.0.0.1:$p 127.0.0.2:$p "
p=$(pt_free_port)
run_case host-port "inet_interfaces = all
inet_protocols = ipv4" "127.0.0.3:$p" "127.0.0.3:$p "
p=$(pt_free_port)
run_case all-v4 "inet_interfaces = all
inet_protocols = ipv4" "$p" "0.0.0.0:$p "
if [ $have_v6 = yes ]; then
	p=$(pt_free_port)
	run_case loopback-all "inet_interfaces = loopback-only
inet_protocols = all" "$p" "127.0.0.1:$p [::1]:$p "
	p=$(pt_free_port)
	run_case v6-host "inet_protocols = all" "[::1]:$p" "[::1]:$p "
	p=$(pt_free_port)
	run_case v6-only "inet_interfaces = loopback-only
inet_protocols = ipv6" "$p" "[::1]:$p "
	p=$(pt_free_port)
	run_case all-both "inet_interfaces = all
inet_protocols = ipv4, ipv6" "$p" "0.0.0.0:$p [::]:$p "
else
	pt_skip "IPv6 cases (no IPv6 on this host)"
fi

d=$PT_TMP/badname
pt_instance "$d"
pt_fake_daemons "$d"
echo "no-such-service-name inet n - n - - smtpd" >>"$d/master.cf"
out=$(pt_start "$d" 2>&1)
st=$?
pt_check "unknown service name: start fails (exit $st)" test $st -ne 0
pt_check "... saying so ($out)" grep -q "cannot resolve .*port no-such-service-name" <<<"$out"
pt_done
