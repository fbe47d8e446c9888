# lib.sh - shared helpers for end-to-end tests (bash).  Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#   pt_init                         temp dir $PT_TMP (mode 0755, so daemons
#                                   that drop privileges can reach it), cleanup
#                                   trap, $POSTERN and $BUILD (absolute); as
#                                   root, creates the users (tools/mkusers.sh)
#   port=$(pt_free_port)            a free TCP port from 20000 up to the
#                                   kernel's ephemeral range
#   pt_instance DIR [PORT]          DIR/main.cf, DIR/master.cf (an smtpd on
#                                   127.0.0.1:PORT, qmgr, local, smtp),
#                                   queue in DIR/queue, log in DIR/maillog,
#                                   daemons from $BUILD/libexec; append to the
#                                   files to change them
#   pt_fake_daemons DIR             use tests/e2e/fake_daemon.c (built once per
#                                   run) as smtpd/qmgr/local/smtp for DIR
#   pt_start DIR / pt_stop DIR      postern start / stop -c DIR (stop is also
#                                   done by the cleanup trap for every DIR
#                                   started)
#   pt_wait_port PORT [SECONDS]     until 127.0.0.1:PORT accepts (default 10 s)
#   pt_banner PORT                  first line the server sends, CR removed
#   pt_master_pid DIR               pid from DIR/queue/pid/master.pid
#   pt_children PID NAME            pids of PID's children running NAME
#   pt_gone PID                     true once PID has exited
#   pt_ok TEXT / pt_fail TEXT       print "ok - TEXT" / "not ok - TEXT"
#   pt_check TEXT CMD...            ok or not ok by CMD's exit status
#   pt_skip TEXT                    "ok - skipped: TEXT"
#   pt_done                         exit 1 if anything failed
#
# Every wait is bounded; every instance started is stopped at exit.
set -u

PT_FAILED=0
PT_STARTED=""
PT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

pt_ok() { echo "ok - $*"; }
pt_fail() {
	echo "not ok - $*"
	PT_FAILED=$((PT_FAILED + 1))
}
pt_skip() { echo "ok - skipped: $*"; }
pt_check() {
	local text=$1
	shift
	if "$@"; then pt_ok "$text"; else pt_fail "$text"; fi
}
pt_done() {
	[ "$PT_FAILED" -eq 0 ] || exit 1
	exit 0
}

pt_cleanup() {
	local d pid
	for d in $PT_STARTED; do
		pid=$(pt_master_pid "$d" 2>/dev/null)
		"$POSTERN" stop -c "$d" >/dev/null 2>&1
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done
	if [ "${PT_KEEP:-}" = 1 ]; then
		echo "# kept $PT_TMP"
	else
		rm -rf "$PT_TMP"
	fi
}

pt_init() {
	BUILD=${BUILD:-build}
	case $BUILD in /*) ;; *) BUILD="$PT_ROOT/$BUILD" ;; esac
	POSTERN=${POSTERN:-$BUILD/bin/postern}
	export BUILD POSTERN
	# As root the daemons need their users (tools/mkusers.sh makes them).
	if [ "$(id -u)" = 0 ]; then
		"$PT_ROOT/tools/mkusers.sh" >/dev/null || return 1
	fi
	PT_TMP=$(mktemp -d /tmp/postern-e2e.XXXXXX)
	chmod 755 "$PT_TMP"
	trap pt_cleanup EXIT
	trap 'exit 1' INT TERM
}

# Below the kernel's ephemeral range (clients' local ports would make a
# bind to the wildcard address fail), and unused in any state.
pt_free_port() {
	local p i lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 21000 ] || lo=60000 # unusual range: fall back to 20000-60000
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % (lo - 20000)))
		case " ${PT_PORTS:-} " in *" $p "*) continue ;; esac
		if ! (exec 9<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			PT_PORTS="${PT_PORTS:-} $p"
			echo "$p"
			return 0
		fi
	done
	return 1
}

pt_instance() {
	local dir=$1 port=${2:-}
	# Stopped at exit even when started from a $(...) subshell, whose
	# own PT_STARTED is lost.
	PT_STARTED="$PT_STARTED $dir"
	mkdir -p "$dir"
	chmod 755 "$dir"
	cat >"$dir/main.cf" <<EOC
queue_directory = $dir/queue
daemon_directory = $BUILD/libexec
maillog_file = $dir/maillog
myhostname = postern-test.example
mydomain = example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
import_environment = TZ LANG=C FAKE_FAIL FAKE_JUNK ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
alias_maps =
alias_database =
EOC
	{
		[ -n "$port" ] && echo "127.0.0.1:$port inet n - n - - smtpd"
		echo "qmgr      unix  n       -       n       300     1       qmgr"
		echo "local     unix  -       n       n       -       -       local"
		echo "smtp      unix  -       -       n       -       -       smtp"
		echo "cleanup   unix  n       -       n       -       0       cleanup"
	} >"$dir/master.cf"
}

# The stand-in daemon, compiled against $BUILD's library with the same
# sanitizers, linked as each daemon name next to the real master.
pt_fake_daemons() {
	local dir=$1 bin="$PT_TMP/fake/fake_daemon" san="" n
	if [ ! -x "$bin" ]; then
		mkdir -p "$PT_TMP/fake"
		case $BUILD in *san*) san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;; esac
		# shellcheck disable=SC2046,SC2086
		${CC:-cc} -std=c11 -g -D_GNU_SOURCE $san -I"$PT_ROOT/common" -o "$bin" \
			"$PT_ROOT/tests/e2e/fake_daemon.c" "$BUILD/libpostern.a" \
			$(pkg-config --libs libtls libevent libpcre2-8) -lsasl2 -ldb || return 1
	fi
	mkdir -p "$dir/libexec"
	chmod 755 "$PT_TMP/fake" "$dir/libexec"
	ln -sf "$BUILD/libexec/master" "$dir/libexec/master"
	for n in smtpd qmgr local smtp; do ln -sf "$bin" "$dir/libexec/$n"; done
	sed -i "s|^daemon_directory = .*|daemon_directory = $dir/libexec|" "$dir/main.cf"
}

pt_start() {
	PT_STARTED="$PT_STARTED $1"
	"$POSTERN" start -c "$1"
}

pt_stop() {
	"$POSTERN" stop -c "$1"
}

pt_wait_port() {
	local port=$1 secs=${2:-10} i
	for i in $(seq 1 $((secs * 10))); do
		(exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

pt_banner() {
	local line=""
	exec 8<>"/dev/tcp/127.0.0.1/$1" || return 1
	IFS= read -r -t 10 line <&8
	exec 8<&-
	printf '%s\n' "${line%$'\r'}"
}

pt_master_pid() {
	local f="$1/queue/pid/master.pid"
	[ -f "$f" ] && tr -d ' \n' <"$f"
}

# Whether PID is gone (a zombie left for an init that does not reap
# counts as gone).
pt_gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [ "${st#Z}" != "$st" ]
}

pt_children() {
	ps --ppid "$1" -o pid=,comm= 2>/dev/null | awk -v n="$2" '$2 == n { print $1 }'
}
