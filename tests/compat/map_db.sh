#!/bin/sh
# map_db.sh - postern map against Debian Postfix's postmap for hash: and
# btree: tables, in both directions: tables built by each are read by the
# other; -q answers and exit codes, -s listings (as sorted sets),
# duplicate warnings, -f/-N/-n, -d, -i and "-q -".  Skips when postmap is
# not installed.
set -u
POSTERN=${POSTERN:-build/bin/postern}
if ! command -v postmap >/dev/null 2>&1; then
	echo "ok - # SKIP postmap not installed"
	exit 0
fi
W=$(mktemp -d /tmp/postern-mapdb.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/pf"
: >"$W/pf/main.cf"
PM="postmap -c $W/pf"
PN="$POSTERN map -c $W/pf"
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

# Exit status and output of a command, as one string.
run() { out=$("$@" 2>/dev/null); echo "rc=$? $out"; }

cat >"$W/src" <<'SRC'
# test table
Foo		bar
foo		second value
KEY2 v a l
  continued here
x@Example.COM	OK
"a b"		quoted key
a\ b		escaped
onlykey
.example.org	REJECT no thanks
192.168.1	DUNNO
SRC

for type in hash btree; do
	for flags in "" -N -n -f; do
		tag="$type${flags:+ $flags}"
		cp "$W/src" "$W/pf_t"
		cp "$W/src" "$W/pn_t"
		$PM $flags "$type:$W/pf_t" 2>"$W/pf.err"
		pfrc=$?
		$PN $flags "$type:$W/pn_t" 2>"$W/pn.err"
		check "$tag: build exit status" "$pfrc" "$?"
		check "$tag: duplicate warnings" \
			"$(grep -o 'duplicate entry: .*' "$W/pf.err")" \
			"$(grep -o 'duplicate entry: .*' "$W/pn.err")"
		check "$tag: malformed-line warnings" \
			"$(grep -c 'expected format' "$W/pf.err")" \
			"$(grep -c 'expected format' "$W/pn.err")"
		# Each side lists the other's table as it lists its own.
		want=$($PM $flags -s "$type:$W/pf_t" | sort)
		check "$tag: postmap -s reads postern's table" "$want" \
			"$($PM $flags -s "$type:$W/pn_t" | sort)"
		check "$tag: postern -s reads postmap's table" "$want" \
			"$($PN $flags -s "$type:$W/pf_t" | sort)"
		for key in Foo foo FOO key2 KEY2 x@example.com '"a b"' '"A B"' \
		    'a\ b' .example.org 192.168.1 nope onlykey; do
			want=$(run $PM $flags -q "$key" "$type:$W/pf_t")
			check "$tag: -q '$key' on postmap's table" "$want" \
				"$(run $PN $flags -q "$key" "$type:$W/pf_t")"
			check "$tag: postmap -q '$key' on postern's table" "$want" \
				"$(run $PM $flags -q "$key" "$type:$W/pn_t")"
		done
		keys='foo
NOPE
x@example.com
192.168.1'
		check "$tag: -q - output" \
			"$(echo "$keys" | run $PM $flags -q - "$type:$W/pf_t")" \
			"$(echo "$keys" | run $PN $flags -q - "$type:$W/pn_t")"
		# Deleting and adding on each side's own table, read by the other.
		check "$tag: -d existing key" "$(run $PM $flags -d foo "$type:$W/pf_t")" \
			"$(run $PN $flags -d foo "$type:$W/pn_t")"
		check "$tag: -d missing key" "$(run $PM $flags -d nope "$type:$W/pf_t")" \
			"$(run $PN $flags -d nope "$type:$W/pn_t")"
		printf 'New1 one\nnew2 two\nkey2 dup\n' | $PM $flags -i "$type:$W/pf_t" 2>/dev/null
		printf 'New1 one\nnew2 two\nkey2 dup\n' | $PN $flags -i "$type:$W/pn_t" 2>/dev/null
		check "$tag: after -d and -i, cross-read" \
			"$($PM $flags -s "$type:$W/pf_t" | sort)" \
			"$($PM $flags -s "$type:$W/pn_t" | sort)"
	done
done

# -r replaces, -w keeps the first, both silently.
for opt in -r -w; do
	printf 'k 1\nk 2\n' >"$W/d_pf"
	cp "$W/d_pf" "$W/d_pn"
	$PM $opt "hash:$W/d_pf" 2>"$W/pf.err"
	$PN $opt "hash:$W/d_pn" 2>"$W/pn.err"
	check "$opt: value kept" "$($PM -q k "hash:$W/d_pf")" "$($PM -q k "hash:$W/d_pn")"
	check "$opt: no warning" "$(cat "$W/pf.err")" "$(cat "$W/pn.err")"
done

# Missing table: both fail with status 1.
check "missing .db: -q exit status" "$(run $PM -q x "hash:$W/none")" \
	"$(run $PN -q x "hash:$W/none")"
check "missing source: build exit status" "$(run $PM "hash:$W/none")" \
	"$(run $PN "hash:$W/none")"

# texthash: queried without a build, like postmap -q texthash:file.
for key in foo FOO key2 '"a b"' nope; do
	check "texthash -q '$key'" "$(run $PM -q "$key" "texthash:$W/src")" \
		"$(run $PN -q "$key" "texthash:$W/src")"
done

# A source we cannot hold (NUL byte) fails the build and leaves the old
# table answering; no temporary files are left behind.
printf 'good 1\n' >"$W/atomic"
$PN "hash:$W/atomic"
printf 'good 2\nbad \000 x\n' >"$W/atomic"
$PN "hash:$W/atomic" 2>"$W/pn.err"
rc=$?
check "bad source: build fails" "1" "$rc"
check "bad source: error names file:line" "1" \
	"$(grep -c "atomic:2: NUL byte" "$W/pn.err")"
check "bad source: old table intact" "1" "$($PN -q good "hash:$W/atomic")"
check "bad source: no temporary left" "atomic
atomic.db" "$(cd "$W" && ls atomic*)"

# Corrupt table: a clear error naming the file, no crash.
head -c 3000 "$W/pn_t.db" >"$W/corrupt.db"
$PN -q foo "hash:$W/corrupt" 2>"$W/pn.err"
rc=$?
check "corrupt .db: exit status 1" "1" "$rc"
check "corrupt .db: error names the file" "1" "$(grep -c 'corrupt.db' "$W/pn.err")"

exit $failed
