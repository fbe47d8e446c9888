#!/bin/sh
# alias.sh - postern alias against Debian Postfix's postalias: aliases(5)
# parsing and value normalisation, the extra "@" and YP_* entries,
# cross-reading of hash: and btree: alias databases, -q / -q - / -s output
# and exit codes, and newaliases mode (no arguments: alias_database).
# Skips when postalias is not installed.
set -u
POSTERN=${POSTERN:-build/bin/postern}
if ! command -v postalias >/dev/null 2>&1; then
	echo "ok - # SKIP postalias not installed"
	exit 0
fi
W=$(mktemp -d /tmp/postern-alias.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/pf"
: >"$W/pf/main.cf"
PA="postalias -c $W/pf"
PN="$POSTERN alias -c $W/pf"
failed=0

check() { # name want got
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		printf '#   postfix: %s\n#   postern: %s\n' "$2" "$3"
		failed=1
	fi
}
run() { out=$("$@" 2>/dev/null); echo "rc=$? $out"; }
# -s output without the timestamp entry, which differs by nature.
list() { "$@" | grep -v '^YP_LAST_MODIFIED:' | sort; }

cat >"$W/src" <<'SRC'
# aliases
MAILER-DAEMON:	postmaster
postmaster:	root
Root: Admin, bob
"a b": x
list: a ,b,, c,
	d@example.com (Dee)
prog: "|/usr/bin/prog -a", |/bin/cat
file: /var/log/x, :include:/etc/list
quoted: "x y"@example.com , <z@example.com>, Joe Smith<joe@x.com>
esc: \root, a\ b
foo : bar
foo: duplicate
nocolon value
x@y: not local
empty:
k:v:w
SRC

for type in hash btree; do
	for flags in "" -N -n -f; do
		tag="$type${flags:+ $flags}"
		cp "$W/src" "$W/pf_a"
		cp "$W/src" "$W/pn_a"
		$PA $flags "$type:$W/pf_a" 2>"$W/pf.err"
		pfrc=$?
		$PN $flags "$type:$W/pn_a" 2>"$W/pn.err"
		check "$tag: build exit status" "$pfrc" "$?"
		for w in 'duplicate entry: .*' 'need name:value pair' 'name must be local'; do
			check "$tag: warnings '$w'" \
				"$(grep -o "$w" "$W/pf.err")" "$(grep -o "$w" "$W/pn.err")"
		done
		want=$(list $PA $flags -s "$type:$W/pf_a")
		check "$tag: postalias -s reads postern's table" "$want" \
			"$(list $PA $flags -s "$type:$W/pn_a")"
		check "$tag: postern -s reads postalias's table" "$want" \
			"$(list $PN $flags -s "$type:$W/pf_a")"
		for key in root ROOT mailer-daemon 'a b' list prog file quoted esc foo \
		    @ nope k; do
			want=$(run $PA $flags -q "$key" "$type:$W/pf_a")
			check "$tag: -q '$key' on postalias's table" "$want" \
				"$(run $PN $flags -q "$key" "$type:$W/pf_a")"
			check "$tag: postalias -q '$key' on postern's table" "$want" \
				"$(run $PA $flags -q "$key" "$type:$W/pn_a")"
		done
		keys='root
nope
list'
		check "$tag: -q - output" \
			"$(echo "$keys" | run $PA $flags -q - "$type:$W/pf_a")" \
			"$(echo "$keys" | run $PN $flags -q - "$type:$W/pn_a")"
	done
done

# newaliases mode: no table arguments builds alias_database.
mkdir "$W/cf2"
cp "$W/src" "$W/na"
printf 'alias_database = hash:%s/na\n' "$W" >"$W/cf2/main.cf"
$POSTERN alias -c "$W/cf2" 2>/dev/null
check "no arguments: builds alias_database" "rc=0 Admin, bob" \
	"$(run $PA -c "$W/cf2" -q root "hash:$W/na")"
check "-q without a table is a usage error" "2" \
	"$($POSTERN alias -c "$W/cf2" -q root >/dev/null 2>&1; echo $?)"

exit $failed
