#!/bin/bash
# pkg_man.sh - the man pages render without a warning from man/groff
# (man --warnings), name what they must, and the verbs of "postern"'s
# usage are each documented in postern(1).
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] || exit 1
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	pt_skip "man or groff missing (sh tools/deps.sh)"
	pt_done
fi
for f in "$PT_ROOT"/man/*.[1-8]; do
	n=$(basename "$f")
	err=$(MANWIDTH=80 man --warnings -l -Tutf8 "$f" 2>&1 >"$PT_TMP/$n.raw")
	col -b <"$PT_TMP/$n.raw" >"$PT_TMP/$n.txt"
	pt_check "$n: man --warnings prints nothing on stderr ($err)" test -z "$err"
	pt_check "$n: renders to text" test -s "$PT_TMP/$n.txt"
done
verbs=$("$POSTERN" 2>&1 | awk '/^verbs:/ { v = 1; next } v && NF { print $1 }')
pt_check "postern prints its verbs" test -n "$verbs"
for v in $verbs; do
	pt_check "postern(1) documents the verb $v" grep -q "^ *$v\b" "$PT_TMP/postern.1.txt"
done
pt_check "postern.conf(5) documents network_user" grep -q "network_user" "$PT_TMP/postern.conf.5.txt"
# every extension parameter of params.def (a name postconf -d does not
# know) is in postern.conf(5)
if command -v postconf >/dev/null; then
	ext=$(comm -13 <(postconf -d 2>/dev/null | awk '{print $1}' | sort) \
		<("$POSTERN" conf -d | awk '{print $1}' | sort))
	for p in $ext; do
		pt_check "postern.conf(5) documents the extension parameter $p" grep -q "$p" "$PT_TMP/postern.conf.5.txt"
	done
fi
pt_done
