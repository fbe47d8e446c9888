#!/bin/bash
# pkg_check_postfix.sh - "postern check" on real Postfix configurations,
# as an admin switching over would run it: Debian's stock main.cf (with
# what Debian's postinst and main.cf.tls add) and master.cf, and each
# seed configuration.  It must run, exit 1 (there are findings) without
# an error finding, and -s must sort the settings and services into
# same / different / not supported, consistently with the findings.
. "$(dirname "$0")/lib.sh"
pt_init
[ -n "$PT_TMP" ] || exit 1

stock=/usr/share/postfix
if [ ! -f "$stock/main.cf.debian" ] || [ ! -f "$stock/master.cf.dist" ]; then
	pt_skip "Debian's postfix package is not installed (sh tools/deps.sh)"
	pt_done
fi
d=$PT_TMP/debian
mkdir -p "$d"
cp "$stock/master.cf.dist" "$d/master.cf"
{
	cat "$stock/main.cf.debian"
	cat "$stock/main.cf.tls" 2>/dev/null
	# what Debian's postinst adds for "Internet Site"
	cat <<'EOC'
myhostname = mail.example.org
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = /etc/mailname
mydestination = $myhostname, example.org, localhost.localdomain, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
EOC
} >"$d/main.cf"

# one group line of the -s summary: "KIND (N): what: items"
group() { grep -E "^$1 \\([0-9]+\\): $2" <<<"$3"; }
export -f group
count() { group "$@" | sed -E 's/^[a-z ]+ \(([0-9]+)\).*/\1/'; }

check_dir() {
	local name=$1 dir=$2 out rc n_none n_warn n_svc n_svcwarn
	out=$("$POSTERN" check -s -c "$dir" 2>&1)
	rc=$?
	pt_check "$name: postern check -s exits 1 (findings, as documented; got $rc)" test $rc -eq 1
	pt_check "$name: no error finding" bash -c "! grep -q ': error: ' <<<\"\$1\"" _ "$out"
	pt_check "$name: no crash or sanitizer report" bash -c "! grep -qiE 'AddressSanitizer|runtime error|Segmentation' <<<\"\$1\"" _ "$out"
	for g in "same parameters" "same master.cf services" "different master.cf services" \
		"different defaults" "not supported settings" "not supported master.cf"; do
		set -- $g
		local kind=$1
		[ "$kind" = not ] && kind="not supported" && shift
		shift
		pt_check "$name: summary has '$kind ... $*'" test -n "$(group "$kind" "$*" "$out")"
	done
	n_none=$(count "not supported" "settings" "$out")
	n_warn=$(grep -c ': warning: .*: not yet implemented by postern' <<<"$out")
	pt_check "$name: 'not supported' settings ($n_none) = 'not yet implemented' warnings ($n_warn)" \
		test "$n_none" = "$n_warn"
	n_svc=$(count "not supported" "master.cf" "$out")
	n_svcwarn=$(grep -cE ': warning: service [^ ]+: ' <<<"$out")
	pt_check "$name: services not started ($n_svc) = service warnings ($n_svcwarn)" \
		test "$n_svc" = "$n_svcwarn"
	printf '%s\n' "$out" >"$PT_TMP/$name.out"
}

check_dir debian "$d"
out=$(cat "$PT_TMP/debian.out")
pt_check "debian: biff has no effect" bash -c "group 'not supported' settings \"\$1\" | grep -qw biff" _ "$out"
pt_check "debian: smtp/inet and local/unix run as in Postfix" \
	bash -c "group same 'master.cf services' \"\$1\" | grep -q 'smtp/inet.*local/unix'" _ "$out"
pt_check "debian: pickup and cleanup are done inside postern" \
	bash -c "group different 'master.cf services' \"\$1\" | grep -q 'pickup/unix, cleanup/unix'" _ "$out"
pt_check "debian: virtual and maildrop are not started" \
	bash -c "group 'not supported' 'master.cf' \"\$1\" | grep -q 'virtual/unix.*maildrop/unix'" _ "$out"
pt_check "debian: the queue differs (queue_directory = /var/spool/postern)" \
	bash -c "group different defaults \"\$1\" | grep -q 'queue_directory = /var/spool/postern'" _ "$out"
pt_check "debian: mydestination is acted on" \
	bash -c "group same parameters \"\$1\" | grep -qw mydestination" _ "$out"
pt_check "without -s, no summary (output unchanged for scripts)" \
	bash -c "! '$POSTERN' check -c '$d' 2>&1 | grep -q '^summary:'"

for s in "$PT_ROOT"/tests/fixtures/seeds/*/; do
	[ -f "$s/main.cf" ] || continue
	n=$(basename "$s")
	mkdir -p "$PT_TMP/seed-$n"
	for f in "$s"/*; do
		[ -f "$f" ] && sed "s|@DIR@|$PT_TMP/seed-$n|g" "$f" >"$PT_TMP/seed-$n/$(basename "$f")"
	done
	check_dir "seed $n" "$PT_TMP/seed-$n"
done
pt_done
