#!/bin/bash
# conf.sh - "postern conf" against Debian's postconf on hand-made
# configurations: main.cf syntax (comments, continuation lines,
# duplicates), every expansion form ($name, ${name}, $(name),
# ${name?x}, ${name:x}, ${name?{x}:{y}}, relational ${{a} op {b} ? ..}),
# which user-defined parameters count as used (referenced from main.cf,
# from master.cf -o values, smtpd_restriction_classes members,
# per-transport names), and lookups of single names.  stdout must be
# identical; stderr (warning texts) may differ.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
POSTERN=${POSTERN:-$top/build/bin/postern}
PATH=$PATH:/usr/sbin
failed=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; failed=1; }

command -v postconf >/dev/null || { notok "postconf not found"; exit 1; }
[ -x "$POSTERN" ] || { notok "postern binary $POSTERN not found"; exit 1; }

work=$(mktemp -d /tmp/postern-conf.XXXXXX)
trap 'rm -rf "$work"' EXIT

# newcase NAME: main.cf from stdin, empty master.cf unless one follows.
newcase() {
	mkdir -p "$work/$1"
	cat >"$work/$1/main.cf"
	: >"$work/$1/master.cf"
}

# same CASE ARGS...: stdout of postconf and postern conf must match.
same() {
	local name=$1 want got wrc grc
	shift
	want=$(postconf -c "$work/$name" "$@" 2>/dev/null)
	wrc=$?
	got=$("$POSTERN" conf -c "$work/$name" "$@" 2>/dev/null)
	grc=$?
	if [ "$want" = "$got" ]; then
		ok "$name: conf $* matches postconf"
	else
		notok "$name: conf $* differs from postconf (- postconf, + postern)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' |
			sed 's/^</#   -/; s/^>/#   +/'
	fi
	if [ $wrc -ne $grc ]; then
		notok "$name: conf $* exit status $grc, postconf $wrc"
	fi
}

# warns CASE PATTERN ARGS...: postern conf warns on stderr (any wording
# that contains PATTERN, case-insensitive) like postconf does.
warns() {
	local name=$1 pat=$2 err
	shift 2
	err=$("$POSTERN" conf -c "$work/$name" "$@" 2>&1 >/dev/null)
	if printf '%s\n' "$err" | grep -qi -- "$pat"; then
		ok "$name: conf $* warns about $pat"
	else
		notok "$name: conf $* gives no warning matching \"$pat\""
		printf '%s\n' "$err" | sed 's/^/#   /'
	fi
}

# --- main.cf syntax -------------------------------------------------------
newcase syntax <<'EOF'
# a comment line
   # an indented comment line is a comment too
myhostname = host.example.org
mydomain=example.org
relayhost =   [relay.example.org]:587   
smtpd_client_restrictions =
	permit_mynetworks,
    reject_unknown_client_hostname

# comment and blank line inside a continued value

  reject_rbl_client zen.spamhaus.org
myorigin = $mydomain # not a comment: part of the value
smtpd_banner =
delay_warning_time=4h
smtp_helo_name = a
smtp_helo_name = b
smtp_helo_name = c
    continued after duplicate
EOF
for args in "-n" "-nx" "-h relayhost" "smtpd_client_restrictions" \
	"-x myorigin" "-h smtpd_banner" "smtp_helo_name" "delay_warning_time"; do
	# shellcheck disable=SC2086
	same syntax $args
done
warns syntax "smtp_helo_name" -n

# --- expansion --------------------------------------------------------------
newcase expand <<'EOF'
myhostname = host.example.org
mydomain = example.org
empty =
a1 = $mydomain ${mydomain} $(mydomain) x$mydomain.y ${mydomain}z
a2 = ${mydomain?set} ${empty?set} ${nothere?set}
a3 = ${mydomain:unset} ${empty:unset} ${nothere:unset}
a4 = ${mydomain?{x y}:{z w}} ${empty?{x y}:{z w}} ${nothere?{x y} : {z w}}
a5 = ${mydomain?$myhostname} ${empty:$myhostname} ${mydomain?{${myhostname}}:{no}}
a6 = ${{1} == {1} ? {eq} : {ne}} ${{1} == {2} ? {eq} : {ne}} ${{ab} != {ab} ? {ne} : {eq}} ${{ab} != {ac} ? {ne} : {eq}}
a7 = ${{1} < {2} ? {lt} : {ge}} ${{10} < {9} ? {lt} : {ge}} ${{2} <= {2} ? {le} : {gt}} ${{3} <= {2} ? {le} : {gt}}
a8 = ${{3} > {2} ? {gt} : {le}} ${{2} > {2} ? {gt} : {le}} ${{2} >= {3} ? {ge} : {lt}} ${{3} >= {3} ? {ge} : {lt}}
a9 = ${{3.7} <level {3.10} ? {older} : {newer}} ${{3.10} <level {3.7} ? {older} : {newer}} ${{2} <=level {2} ? {le} : {gt}} ${{3.1} >level {3.0} ? {gt} : {le}} ${{1} >=level {2} ? {ge} : {lt}}
a10 = ${{$mydomain} == {example.org} ? {same} : {other}} ${{$empty} == {} ? {isempty} : {notempty}}
a11 = $$literal cost $$5 ${mydomain}$$
smtpd_client_restrictions = $a1 $a2 $a3 $a4 $a5 $a6 $a7 $a8 $a9 $a10 $a11 $empty
EOF
same expand -n
same expand -nx
for i in 1 2 3 4 5 6 7 8 9 10 11; do
	same expand -hx "a$i"
	same expand "a$i"
done
same expand -x smtpd_client_restrictions
warns expand "nothere" -nx

newcase expand2 <<'EOF'
myhostname = host.example.org
mydomain = example.org
n1 = ${mydomain?${myhostname?{deep}:{x}}}
n2 = ${{${mydomain}} == {${mydomain}} ? {nested-eq} : {ne}}
n3 = $mydomain-x $mydomain.x $mydomain/x ${mydomain}_x $mydomain_x
n4 = ${{ 1 } == {1} ? {spaces} : {nospaces}}
n5 = ${{1}=={1}?{tight}:{loose}}
n6 = ${mydomain?{a}} ${mydomain:{b}} ${nothere:{c}} ${mydomain?a b}
n7 = ${{1} == {1} ? {only-true}} ${{1} == {2} ? {only-true}}
n8 = ${{abc} < {abd} ? {strlt} : {strge}} ${{a} < {1} ? {lt} : {ge}}
n9 = ${{01} == {1} ? {eq} : {ne}} ${{-1} < {1} ? {lt} : {ge}} ${{} == {} ? {e} : {n}}
r1 = ${{1} == {1}}
r2 = ${{1} == {2}}
r3 = a ${{1} != {2}} b
r4 = ${{3.7} <level {3.10}}
smtpd_client_restrictions = $n1 $n2 $n3 $n4 $n5 $n6 $n7 $n8 $n9 $r1 $r2 $r3 $r4
EOF
same expand2 -nx
for n in n1 n2 n3 n4 n5 n6 n7 n8 n9 r1 r2 r3 r4; do
	same expand2 -hx "$n"
done

# Syntax errors and loops: postconf gives up (fatal, nothing on stdout).
newcase badmacro <<'EOF'
v = ${mydomain
smtpd_client_restrictions = $v
EOF
same badmacro -n
same badmacro -nx
same badmacro -hx v
newcase loop <<'EOF'
a = $b
b = $a
smtpd_helo_restrictions = $a
EOF
same loop -n
same loop -nx

# --- which user-defined parameters are used ---------------------------------
newcase used <<'EOF'
myhostname = host.example.org
unused_one = hidden from -n
unused_two = $unused_one
referenced = used by main.cf
smtpd_sender_restrictions = $referenced, permit
from_master = used by a master.cf -o value
also_master = ${from_master}
smtpd_restriction_classes = strict, relaxed
strict = reject_unverified_sender
relaxed = permit
not_a_class = permit
amavisfeed_destination_concurrency_limit = 2
amavisfeed_destination_recipient_limit = 1
notatransport_destination_concurrency_limit = 3
local_destination_concurrency_limit = 5
gpg_time_limit = 600s
policy_time_limit = 3600
EOF
cat >"$work/used/master.cf" <<'EOF'
smtp      inet  n       -       y       -       -       smtpd
  -o smtpd_client_restrictions=$also_master
amavisfeed unix -       -       n       -       2       smtp
  -o smtp_data_done_timeout=1200
local     unix  -       n       n       -       -       local
gpg       unix  -       n       n       -       -       pipe
  flags=Rq user=nobody argv=/bin/cat
policy    unix  -       n       n       -       0       spawn
  user=nobody argv=/bin/true
EOF
same used -n
same used -nx
for n in unused_one unused_two referenced from_master also_master strict \
	relaxed not_a_class amavisfeed_destination_concurrency_limit \
	amavisfeed_destination_recipient_limit \
	notatransport_destination_concurrency_limit \
	local_destination_concurrency_limit gpg_time_limit policy_time_limit; do
	same used "$n"
	same used -h "$n"
done
same used -x also_master strict relaxed
warns used "unused_one" -n

# Per-service parameter names: only delivery agents fed by the queue
# manager take NAME_destination_concurrency_limit and friends, only pipe
# and spawn services take NAME_time_limit.
newcase pertransport <<'EOF'
amavisfeed_time_limit = 1
submission_time_limit = 1
submission_destination_concurrency_limit = 1
policy_time_limit = 1
policy_destination_concurrency_limit = 1
gpg_time_limit = 1
gpg_destination_concurrency_limit = 1
myqmgr_time_limit = 1
cleanup2_time_limit = 1
amavisfeed_delivery_slot_cost = 1
amavisfeed_destination_rate_delay = 1
amavisfeed_initial_destination_concurrency = 1
amavisfeed_transport_rate_delay = 1
amavisfeed_recipient_refill_limit = 1
EOF
cat >"$work/pertransport/master.cf" <<'EOF'
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
amavisfeed unix -       -       n       -       2       smtp
policy    unix  -       n       n       -       0       spawn
  user=nobody argv=/bin/true
gpg       unix  -       n       n       -       -       pipe
  flags=Rq user=nobody argv=/bin/cat
myqmgr    unix  n       -       n       300     1       qmgr
cleanup2  unix  n       -       y       -       0       cleanup
EOF
same pertransport -n
same pertransport -h policy_time_limit amavisfeed_time_limit gpg_time_limit

# --- single names -------------------------------------------------------------
newcase names <<'EOF'
myhostname = host.example.org
mynetworks = 127.0.0.0/8
EOF
same names no_such_parameter
same names mynetworks no_such_parameter mynetworks_style
same names -h mynetworks_style smtpd_relay_restrictions mynetworks
same names -n mynetworks smtpd_relay_restrictions
same names -d mynetworks_style smtpd_relay_restrictions mime_header_checks
same names -dh smtpd_tls_security_level
warns names "no_such_parameter" no_such_parameter

# --- computed mynetworks (this host's interfaces, link-local included) --------
for style in host subnet class; do
	for proto in all ipv4 ipv6 "ipv4, ipv6"; do
		c="mynet-$style-${proto//[ ,]/}"
		printf 'mynetworks_style = %s\ninet_protocols = %s\n' "$style" "$proto" | newcase "$c"
		same "$c" mynetworks
	done
done

# --- postern's own defaults -----------------------------------------------------
# Run from a build tree, the daemons are found in its libexec/.
want=$(cd "$(dirname "$POSTERN")/.." && pwd)/libexec
got=$("$POSTERN" conf -c "$work/names" -h daemon_directory 2>/dev/null)
if [ "$got" = "$want" ]; then ok "daemon_directory is the build tree's libexec"
else notok "daemon_directory: want $want, got $got"; fi

exit $failed
