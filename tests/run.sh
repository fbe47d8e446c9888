#!/bin/bash
# run.sh - run every test: C unit tests (normal and ASan+UBSan builds),
# compatibility and end-to-end scripts (against both builds), and each
# fuzz target for a bounded time.  Prints one line per test program and
# a closing "N passed, N failed" line; exits 1 if anything failed.
set -u
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-5}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
passed=0
failed=0
failures=()
logdir=$(mktemp -d /tmp/postern-tests.XXXXXX)

count() { # name logfile status okpattern failpattern
	local name=$1 log=$2 status=$3 okp=$4 failp=$5 ok bad
	ok=$(grep -cE "$okp" "$log")
	bad=$(grep -cE "$failp" "$log")
	if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$bad" -gt 0 ]; then
		failures+=("$name (log: $log)")
		printf 'FAIL  %-50s %d passed, %d failed\n' "$name" "$ok" "$bad"
		grep -E "$failp" "$log" | head -20 | sed 's/^/      /'
		[ "$status" -ne 0 ] && tail -n 15 "$log" | sed 's/^/      | /'
	else
		printf 'ok    %-50s %d passed\n' "$name" "$ok"
	fi
}

for build in build build-san; do
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		log="$logdir/$(echo "$t" | tr / _).log"
		timeout 600 "$t" >"$log" 2>&1
		count "$t" "$log" $? '^\[ +OK +\]' '^\[ +FAILED +\] [a-z_]'
	done
done

for build in build build-san; do
	for t in tests/compat/*.sh tests/e2e/*.sh tests/security/*.sh; do
		[ -f "$t" ] || continue
		case $(basename "$t") in lib.sh | *_lib.sh) continue ;; esac
		log="$logdir/$build-$(basename "$t").log"
		POSTERN="$PWD/$build/bin/postern" BUILD="$build" timeout 900 bash "$t" >"$log" 2>&1
		count "$t [$build]" "$log" $? '^ok ' '^not ok '
	done
done

for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="tests/fuzz/corpus/$name"
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
	log="$logdir/$name.log"
	(cd "$work" && timeout $((FUZZ_SECONDS + 120)) "$OLDPWD/$f" \
		-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 . >"$log" 2>&1)
	st=$?
	if [ $st -eq 0 ]; then
		echo "ok fuzz $name" >>"$log"
	else
		echo "not ok fuzz $name (crash inputs kept in $work)" >>"$log"
		mkdir -p "tests/fuzz/crashes/$name"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "tests/fuzz/crashes/$name/" 2>/dev/null
	fi
	count "$f (${FUZZ_SECONDS}s)" "$log" $st '^ok fuzz' '^not ok fuzz'
	[ $st -eq 0 ] && rm -rf "$work"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
