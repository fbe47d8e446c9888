#!/bin/bash
# seeds.sh - every configuration line of the five seed articles
# (tests/fixtures/seeds/*/, see README.md there) must load in postern:
#  1. "postern check" reports nothing but the accepted kinds of finding
#     (parameters postern does not implement yet, master.cf services it
#     provides internally or does not support);
#  2. "postern conf -n", "-nx", "-h"/"-hx" for the parameters a fixture
#     sets, and the master.cf views -M, -Mf, -F, -P print exactly what
#     Debian's postconf prints for the same directory (stdout only;
#     stderr texts may differ);
#  3. every key of the fixture's indexed tables, and the sample inputs in
#     NAME.queries for its pattern tables, give the answers postmap -q
#     gives.
# Tables are built with Postfix's own postmap/postalias so a bug in our
# builder cannot hide a bug in our reader.  Needs postconf, postmap,
# postalias and openssl; never touches /etc.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
POSTERN=${POSTERN:-$top/build/bin/postern}
FIXTURES=${FIXTURES:-$top/tests/fixtures/seeds}
failed=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; failed=1; }
# Print offending lines indented under a "not ok".
show() { sed 's/^/#   /'; }

for tool in postconf postmap postalias openssl; do
	if ! command -v "$tool" >/dev/null 2>&1 &&
	   ! [ -x "/usr/sbin/$tool" ]; then
		notok "required tool $tool not found (install postfix / openssl)"
		exit 1
	fi
done
PATH=$PATH:/usr/sbin
if ! [ -x "$POSTERN" ]; then
	notok "postern binary $POSTERN not found (make BUILD=...; POSTERN=...)"
	exit 1
fi

work=$(mktemp -d /tmp/postern-seeds.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One throwaway certificate and key, copied wherever a fixture names one.
if ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1; then
	notok "openssl could not make a test certificate"
	exit 1
fi

# Copy fixture $1 to $work/$1 with @DIR@ replaced; build its tables.
prepare() {
	local name=$1 dir=$work/$1 f path spec aliases built=0
	mkdir -p "$dir"
	cp -R "$FIXTURES/$name/." "$dir/"
	for f in "$dir"/*; do
		[ -f "$f" ] && sed -i "s|@DIR@|$dir|g" "$f"
	done
	if grep -rq '@DIR@' "$dir"; then
		notok "$name: @DIR@ left after substitution"
		return 1
	fi
	# Certificates and keys named by *_cert_file / *_key_file.
	sed -n 's/^[a-z_]*_cert_file *= *//p' "$dir/main.cf" | while read -r path; do
		cp "$work/cert.pem" "$path"
	done
	sed -n 's/^[a-z_]*_key_file *= *//p' "$dir/main.cf" | while read -r path; do
		cp "$work/key.pem" "$path"
		chmod 600 "$path"
	done
	# Indexed tables inside the fixture: aliases with postalias, the
	# rest with postmap, as an admin following the seeds would.
	aliases=" $(postconf -c "$dir" -hx alias_maps alias_database 2>/dev/null |
		tr ',\n' '  ') "
	for spec in $(cat "$dir/main.cf" "$dir/master.cf" |
	              grep -oE '(hash|btree):'"$dir"'/[A-Za-z0-9_.-]+' | sort -u); do
		path=${spec#*:}
		case "$aliases" in
		*" $spec "*) postalias -c "$dir" "$spec" ;;
		*) postmap -c "$dir" "$spec" ;;
		esac || { notok "$name: building $spec with Postfix failed"; return 1; }
		[ -f "$path.db" ] || { notok "$name: $path.db not built"; return 1; }
		built=$((built + 1))
	done
	[ $built -gt 0 ] && ok "$name: $built indexed tables built by Postfix"
	return 0
}

# Keys of a Postfix table source: first field of each entry line.
keys_of() {
	sed -e '/^[ \t]*#/d' -e '/^[ \t]*$/d' -e '/^[ \t]/d' "$1" |
		awk '{ k = $1; if ($0 ~ /^[^ \t]+:/) sub(/:$/, "", k); print k }'
}

# Query one key both ways; echo a diff line when the answers differ.
query_both() {
	local dir=$1 pspec=$2 ospec=$3 key=$4 want got
	want=$(postmap -c "$dir" -q "$key" "$pspec" 2>/dev/null)
	got=$("$POSTERN" map -c "$dir" -q "$key" "$ospec" 2>/dev/null)
	[ "$want" = "$got" ] ||
		printf '%s: key "%s": postmap "%s", postern "%s"\n' "$ospec" "$key" "$want" "$got"
}

# Every table the fixture names gives postern the answers Postfix gives:
# all keys of indexed tables, and the sample inputs in NAME.queries for
# pattern tables.
check_tables() {
	local name=$1 dir=$work/$1 spec type path bad="" n=0 key pspec r
	for spec in $(cat "$dir/main.cf" "$dir/master.cf" |
	              grep -oE '(hash|btree|regexp|regex|pcre|cidr):'"$dir"'/[A-Za-z0-9_.-]+' |
	              sort -u); do
		type=${spec%%:*}
		path=${spec#*:}
		case $type in
		hash|btree)
			while read -r key; do
				r=$(query_both "$dir" "$spec" "$spec" "$key")
				[ -n "$r" ] && bad="$bad$r"$'\n'
				n=$((n + 1))
			done < <(keys_of "$path")
			;;
		*)
			# Postfix has no regex: type; its regexp: is the same table.
			pspec=$spec
			[ "$type" = regex ] && pspec=regexp:$path
			[ -f "$path.queries" ] || {
				bad="$bad$spec: no $path.queries with sample inputs
"
				continue
			}
			while IFS= read -r key; do
				r=$(query_both "$dir" "$pspec" "$spec" "$key")
				[ -n "$r" ] && bad="$bad$r"$'\n'
				n=$((n + 1))
			done <"$path.queries"
			;;
		esac
	done
	[ $n -eq 0 ] && [ -z "$bad" ] && return
	if [ -z "$bad" ]; then
		ok "$name: $n table lookups give Postfix's answers"
	else
		notok "$name: table lookups differ from Postfix"
		printf '%s' "$bad" | show
	fi
}

# Findings postern check may report for a seed configuration.
accepted_re=': (warning|notice): [A-Za-z0-9_.-]+: not yet implemented by postern |: (warning|notice): service [^ /]+/[^ :]+: '

check_fixture() {
	local name=$1 dir=$work/$1 out rc bad n
	out=$("$POSTERN" check -c "$dir" 2>&1)
	rc=$?
	if [ $rc -gt 1 ]; then
		notok "$name: postern check exited $rc"
		printf '%s\n' "$out" | show
		return
	fi
	bad=$(printf '%s\n' "$out" | grep -v '^$' | grep -vE "$accepted_re")
	n=$(printf '%s\n' "$out" | grep -cE "$accepted_re")
	if [ -n "$bad" ]; then
		notok "$name: postern check has findings of unaccepted kinds"
		printf '%s\n' "$bad" | show
	elif [ $rc -ne 0 ] && [ "$n" -eq 0 ]; then
		notok "$name: postern check exited $rc without findings"
	else
		ok "$name: postern check: only accepted findings ($n)"
	fi
}

# Compare stdout of "postern conf ARGS" with "postconf ARGS".
compare() {
	local name=$1 what=$2 dir=$work/$1 want got
	shift 2
	want=$(postconf -c "$dir" "$@" 2>/dev/null)
	got=$("$POSTERN" conf -c "$dir" "$@" 2>/dev/null)
	if [ "$want" = "$got" ]; then
		ok "$name: conf $what matches postconf"
	else
		notok "$name: conf $what differs from postconf (- postconf, + postern)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' |
			sed 's/^</-/; s/^>/+/' | show
	fi
}

# Names set in main.cf, plus defaults the seeds talk about.
names_of() {
	sed -n 's/^\([A-Za-z0-9_-][A-Za-z0-9_.-]*\)[ \t]*=.*/\1/p' "$work/$1/main.cf" |
		sort -u
	printf '%s\n' mime_header_checks nested_header_checks \
		smtpd_relay_restrictions smtpd_tls_security_level smtpd_sasl_type \
		milter_macro_daemon_name body_checks_size_limit
}

fixtures=$(cd "$FIXTURES" && for d in */; do [ -f "$d/main.cf" ] && echo "${d%/}"; done)
[ -n "$fixtures" ] || { notok "no fixtures under $FIXTURES"; exit 1; }

for name in $fixtures; do
	prepare "$name" || continue
	# The oracle must accept the fixture too, or it is not a real config.
	warn=$(postconf -c "$work/$name" -n 2>&1 >/dev/null; \
	       postconf -c "$work/$name" -M 2>&1 >/dev/null)
	if [ -n "$warn" ]; then
		notok "$name: Postfix's postconf warns about the fixture itself"
		printf '%s\n' "$warn" | show
	fi
	check_fixture "$name"
	check_tables "$name"
	compare "$name" "-n" -n
	compare "$name" "-nx" -nx
	# master.cf as postconf shows it: services, folded, fields, -o params.
	compare "$name" "-M" -M
	compare "$name" "-Mf" -Mf
	compare "$name" "-F" -F
	compare "$name" "-P" -P
	# shellcheck disable=SC2046
	compare "$name" "-h NAMES" -h $(names_of "$name")
	# shellcheck disable=SC2046
	compare "$name" "-hx NAMES" -hx $(names_of "$name")
	# shellcheck disable=SC2046
	compare "$name" "NAMES" $(names_of "$name")
done

exit $failed
