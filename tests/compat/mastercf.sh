#!/bin/bash
# mastercf.sh - "postern conf -M/-F/-P" (with -f, -h, -H) against
# Debian's postconf on every master.cf fixture in tests/fixtures/mastercf,
# the installed /usr/share/postfix/master.cf.dist and generated inputs.
# stdout must be identical.  Also checks that the golden files the unit
# test uses still are what postconf prints.
#   --regen   rewrite the golden files from postconf instead
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
POSTERN=${POSTERN:-$top/build/bin/postern}
PATH=$PATH:/usr/sbin
fixtures=$top/tests/fixtures/mastercf
forms="M Mf F Ff Fh Fhf FH P Pf Ph PH"
failed=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; failed=1; }

command -v postconf >/dev/null || { notok "postconf not found"; exit 1; }

work=$(mktemp -d /tmp/postern-mastercf.XXXXXX)
trap 'rm -rf "$work"' EXIT

# setup NAME FILE: a config directory with FILE as master.cf.
setup() {
	mkdir -p "$work/$1"
	cp "$2" "$work/$1/master.cf"
	: >"$work/$1/main.cf"
}

if [ "${1:-}" = "--regen" ]; then
	for f in "$fixtures"/*.cf; do
		b=$(basename "$f" .cf)
		setup "$b" "$f"
		for fl in $forms; do
			postconf -c "$work/$b" -"$fl" >"$fixtures/$b.$fl.golden" 2>/dev/null
		done
		ok "regenerated $b"
	done
	exit 0
fi

# Golden files still match what postconf prints.
for f in "$fixtures"/*.cf; do
	b=$(basename "$f" .cf)
	setup "$b" "$f"
	for fl in $forms; do
		if postconf -c "$work/$b" -"$fl" 2>/dev/null | cmp -s - "$fixtures/$b.$fl.golden"; then
			ok "golden $b.$fl matches postconf"
		else
			notok "golden $b.$fl differs from postconf -$fl"
		fi
	done
done

[ -x "$POSTERN" ] || { notok "postern binary $POSTERN not found"; exit 1; }

# Generated inputs: long lines, every option form, duplicates.
gen() {
	awk -v seed="$1" 'BEGIN {
		srand(seed)
		split("smtpd pipe abc x local qmgr", cmds, " ")
		split("-v -D -- -vo -o {} {_} -vD", odd, " ")
		for (j = 0; j < 6; j++) {
			name = (j % 3 == 0) ? "127.0.0.1:" (2500 + j % 2) : "svc" j % 4
			type = (j % 3 == 0) ? "inet" : "unix"
			line = name " " type " - n y " (j % 2 ? "60?" : "-") " - " cmds[1 + int(rand() * 6)]
			n = int(rand() * 14)
			for (i = 0; i < n; i++) {
				r = rand(); w = ""
				len = 1 + int(rand() * 40)
				for (k = 0; k < len; k++) w = w substr("abcdefgh$=./-", 1 + int(rand() * 13), 1)
				if (r < 0.3) a = "-o p" i "=" w
				else if (r < 0.4) a = "-o { q" i " = " w " " substr(w, 1, 7) " }"
				else if (r < 0.5) { a = odd[1 + int(rand() * 8)]; gsub("_", " ", a) }
				else if (r < 0.6) a = "{ " w "  x }"
				else a = w
				line = line ((rand() < 0.3) ? "\n\t" : " ") a
			}
			print line
		}
	}'
}
for s in 1 2 3 4 5 6 7 8 9 10 11 12; do
	gen "$s" >"$work/gen$s.cf"
done

for f in "$fixtures"/*.cf /usr/share/postfix/master.cf.dist "$work"/gen*.cf; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	setup "cmp-$b" "$f"
	bad=""
	for fl in $forms; do
		want=$(postconf -c "$work/cmp-$b" -"$fl" 2>/dev/null; echo x)
		got=$("$POSTERN" conf -c "$work/cmp-$b" -"$fl" 2>/dev/null; echo x)
		[ "$want" = "$got" ] || bad="$bad -$fl"
	done
	if [ -z "$bad" ]; then
		ok "postern conf matches postconf on $b ($forms)"
	else
		notok "postern conf differs from postconf on $b:$bad"
	fi
done

# Requests: selection, wildcards, file order, repeats.
setup req /usr/share/postfix/master.cf.dist
for args in "-M smtp" "-M relay/unix smtp/inet smtp/inet" "-M */inet" "-M smtp/" \
	"-F */*/chroot relay/unix/command" "-Fh pickup/unix/wakeup" \
	"-P relay" "-P */*/syslog_name" "-PH relay/unix"; do
	# shellcheck disable=SC2086
	want=$(postconf -c "$work/req" $args 2>/dev/null; echo "rc=$?")
	# shellcheck disable=SC2086
	got=$("$POSTERN" conf -c "$work/req" $args 2>/dev/null; echo "rc=$?")
	if [ "$want" = "$got" ]; then ok "conf $args"; else notok "conf $args differs"; fi
done

exit $failed
