#!/bin/sh
# map_pattern.sh - regexp:, pcre: and cidr: tables answer "postern map -q"
# exactly as Postfix's "postmap -q" does: same output, same found /
# not-found exit status, for tables that use every syntax feature and
# for tables full of mistakes (which both skip rule by rule).  Also the
# "-q -" batch form.  Skips when postmap is missing.
POSTERN=${POSTERN:-build/bin/postern}
POSTMAP=${POSTMAP:-postmap}

if ! command -v "$POSTMAP" >/dev/null 2>&1; then
	echo "ok - # SKIP postmap not installed"
	exit 0
fi
if [ ! -x "$POSTERN" ]; then
	echo "not ok - $POSTERN not built"
	exit 1
fi

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
: >"$work/main.cf"
: >"$work/master.cf"

cat >"$work/access.re" <<'EOF'
# regexp_table(5) examples and every feature
/[%!@].*[%!@]/          550 Sender-specified routing rejected
/^postmaster@/          OK
if !/^owner-/
/^(.*)-outgoing@(.*)$/  550 Use ${1}@${2} instead
endif
/^CaseSensitive$/i      exact-case
/^(a)(b)?c$/            [$1][$2][$(1)]$$
|^pipe/delim$|          pipe-delimited
/^esc\/aped$/           escaped-delimiter
!/@/                    no-at-sign
/^x/!/y/                x-without-y
/^m/!!/n/               m-with-n
/^basic+$/x             basic-syntax
/^multi$/m              multiline
IF /^nest/
if /one/
/two/                   nest-one-two
endif
/./                     nest-any
ENDIF
/^(x)(x)(x)(x)(x)(x)(x)(x)(x)(y)@/ ${10} $1
/^long@/
  continued result
  over lines
/@/                     default $$ at
EOF

cat >"$work/bad.re" <<'EOF'
/(/                     bad-regex
/a/q                    bad-flag
/(a)/ x$2               out-of-range
/(a)/ x$y               non-numeric
!/(a)/ $1               negative-subst
/a                      unterminated
word                    unrecognized
endif
if /nomatch/ extra
/^z/                    inside-if
endif extra
/^e/
/^e/                    shadowed
if /^i/
/^iq/                   open-if
EOF

cat >"$work/access.pcre" <<'EOF'
/^(?!owner-)(.*)-outgoing@(.*)/ 550 Use ${1}@${2} instead
/^(friend@(?!my\.domain$).*)$/  550 Stick this in your pipe $1
/^noddy@my\.domain$/
 550 This user is a funny one.
/^CaseSensitive$/i      exact-case
/^(a)|(b)$/             [$1][$2]
/^dot.all$/s            dot-not-all
/^spa ced$/x            extended
/b/A                    anchored
/^(u+)/U                ungreedy $1
/^end$/E                dollar-endonly
/^obsolete$/X           obsolete-flag
/^(?<name>n)(m)?$/      named [$1][$2]
/^(\w+\s?)*$/           catastrophic
/(!+)$/                 bangs $1
if !/\d/
/^nodigit/              no-digit
endif
!/@/                    no-at-sign
/@/                     default
EOF

cat >"$work/bad.pcre" <<'EOF'
/(/                     bad-regex
/a/!/b/                 no-second-pattern
/a/Z                    bad-flag
/(a)|(b)/ $3            out-of-range
/^q/
/^q/                    shadowed
if /^i/
/^iq/                   open-if
EOF

cat >"$work/client.cidr" <<'EOF'
# cidr_table(5) example and every feature
192.168.1.1             OK
192.168.0.0/16          REJECT
2001:db8::1             OK6
2001:db8::/32           REJECT6
[10.1.1.1]              bracketed
[10.2.0.0]/16           bracketed-net
[10.3.0.0/16]           bracketed-inside
[::2]/128               bracketed6
10.4.0.0/0000016        leading-zeros
!10.0.0.0/8             not-ten
if 10.5.0.0/16
if !10.5.5.0/24
10.0.0.0/8              in-5-not-55
endif
10.5.5.5                five
endif
::ffff:1.2.3.4          mapped
!!10.6.0.0/16           double-negation
10.7.0.0/16
  multi line
  result
::/0                    any6
EOF

cat >"$work/bad.cidr" <<'EOF'
1.2.3.4/24              host-bits
1.2.3.0/33              bad-length
1.2.3.0/x               bad-mask
foo                     bad-address
foo/24                  bad-network
[1.2.3.4                missing-bracket
[[1.2.3.4]]             garbage
1.2.3.4
endif
endif extra
if 1.2.0.0/16 extra
1.2.9.9                 after-bad-if
if 1.3.0.0/16
1.3.3.3                 open-if
0.0.0.0/0               any
EOF

fail=0
n=0
check() { # key spec
	n=$((n + 1))
	want=$("$POSTMAP" -c "$work" -q "$1" "$2" 2>/dev/null)
	wrc=$?
	got=$("$POSTERN" map -c "$work" -q "$1" "$2" 2>/dev/null)
	grc=$?
	[ "$wrc" -ne 0 ] && wrc=1
	[ "$grc" -ne 0 ] && grc=1
	if [ "$want" = "$got" ] && [ "$wrc" = "$grc" ]; then
		echo "ok $n - -q '$1' $2"
	else
		echo "not ok $n - -q '$1' $2: postmap [$wrc] '$want', postern [$grc] '$got'"
		fail=1
	fi
}

# One case per line: table|key.
while IFS='|' read -r table key; do
	[ -z "$table" ] && continue
	case $table in
	*.re) type=regexp ;;
	*.pcre) type=pcre ;;
	*.cidr) type=cidr ;;
	esac
	check "$key" "$type:$work/$table"
done <<'EOF'
access.re|user%host@example.com
access.re|postmaster@example.com
access.re|POSTMASTER@example.com
access.re|list-outgoing@example.org
access.re|owner-list-outgoing@example.org
access.re|CaseSensitive
access.re|casesensitive
access.re|ac
access.re|abc
access.re|pipe/delim
access.re|esc/aped
access.re|escaped
access.re|x
access.re|xy
access.re|mn
access.re|m
access.re|basic+
access.re|basicc
access.re|multi
access.re|nestonetwo
access.re|nestone
access.re|nest
access.re|xxxxxxxxxy@a
access.re|long@x
access.re|user@example.com
access.re|
bad.re|a
bad.re|b@c
bad.re|z
bad.re|e
bad.re|iq
bad.re|i
access.pcre|list-outgoing@example.org
access.pcre|owner-list-outgoing@example.org
access.pcre|friend@example.com
access.pcre|friend@my.domain
access.pcre|noddy@my.domain
access.pcre|NODDY@MY.DOMAIN
access.pcre|CaseSensitive
access.pcre|casesensitive
access.pcre|a
access.pcre|b
access.pcre|dotxall
access.pcre|spaced
access.pcre|spa ced
access.pcre|ab
access.pcre|ba
access.pcre|uuu
access.pcre|end
access.pcre|obsolete
access.pcre|n
access.pcre|nm
access.pcre|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!
access.pcre|nodigit
access.pcre|nodigit1
access.pcre|x@y
access.pcre|
bad.pcre|a
bad.pcre|ab
bad.pcre|q
bad.pcre|iq
client.cidr|192.168.1.1
client.cidr|192.168.1.2
client.cidr|192.168.255.255
client.cidr|2001:db8::1
client.cidr|2001:DB8:0::1
client.cidr|2001:db8::2
client.cidr|10.1.1.1
client.cidr|10.2.3.4
client.cidr|10.3.3.4
client.cidr|::2
client.cidr|10.4.0.1
client.cidr|11.0.0.1
client.cidr|10.5.1.1
client.cidr|10.5.5.1
client.cidr|10.5.5.5
client.cidr|::ffff:1.2.3.4
client.cidr|10.6.1.1
client.cidr|10.7.1.1
client.cidr|10.8.1.1
client.cidr|::1
client.cidr|[192.168.1.1]
client.cidr|01.2.3.4
client.cidr|foo
client.cidr|
client.cidr|fe80::1%eth0
bad.cidr|1.2.3.4
bad.cidr|1.2.9.9
bad.cidr|1.3.3.3
bad.cidr|1.4.4.4
EOF

# The batch form prints "key<TAB>value" for each key found.
for spec in "regexp:$work/access.re" "pcre:$work/access.pcre" "cidr:$work/client.cidr"; do
	n=$((n + 1))
	keys='postmaster@example.com
list-outgoing@example.org
friend@example.com
nest
192.168.1.2
10.5.5.1
2001:db8::2
nothing'
	want=$(printf '%s\n' "$keys" | "$POSTMAP" -c "$work" -q - "$spec" 2>/dev/null)
	wrc=$?
	got=$(printf '%s\n' "$keys" | "$POSTERN" map -c "$work" -q - "$spec" 2>/dev/null)
	grc=$?
	[ "$wrc" -ne 0 ] && wrc=1
	[ "$grc" -ne 0 ] && grc=1
	if [ "$want" = "$got" ] && [ "$wrc" = "$grc" ]; then
		echo "ok $n - -q - $spec"
	else
		echo "not ok $n - -q - $spec: postmap [$wrc] '$want', postern [$grc] '$got'"
		fail=1
	fi
done

# Inline tables (Postfix 3.7) and a missing file.
check "b" "regexp:{ {/a/ r1}, { /(b)/ r2 \$1 } }"
check "z" "regexp:{ {/a/ r1}, { /(b)/ r2 \$1 } }"
check "b" "pcre:{ {/(b)/ \$1\$1}, {/(/ bad} }"
check "1.2.3.4" "cidr:{ {1.2.3.4 one}, {!1.2.3.0/24 other} }"
check "9.9.9.9" "cidr:{ {1.2.3.4 one}, {!1.2.3.0/24 other} }"
check "a" "regexp:{ /a/ r1 }"
check "a" "regexp:$work/no-such-table"
check "1.2.3.4" "cidr:$work/no-such-table"

exit $fail
