#!/bin/sh
# install.sh - make install, install-compat and uninstall.  Every file,
# link, directory and user it creates is written to a manifest so that
# uninstall removes exactly those and nothing else.
#
#   tools/install.sh install     binaries, daemons, configuration (never
#                                overwriting an existing one), man pages,
#                                systemd unit, examples, queue directory;
#                                as root with DESTDIR empty also the users
#   tools/install.sh compat      sendmail, mailq, newaliases links
#   tools/install.sh uninstall   what the manifest lists
#   tools/install.sh stage       everything into DESTDIR without a manifest
#                                and without users (debian/rules)
#
# Variables (the Makefile passes them): DESTDIR PREFIX SYSCONFDIR SPOOLDIR
# BINDIR LIBEXECDIR MANDIR UNITDIR DATADIR BUILD DAEMONS.
set -eu
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc/postern}
SPOOLDIR=${SPOOLDIR:-/var/spool/postern}
BINDIR=${BINDIR:-$PREFIX/sbin}
UBINDIR=${UBINDIR:-$PREFIX/bin}
LIBEXECDIR=${LIBEXECDIR:-$PREFIX/libexec/postern}
MANDIR=${MANDIR:-$PREFIX/share/man}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
DATADIR=${DATADIR:-$PREFIX/share/postern}
BUILD=${BUILD:-build}
DAEMONS=${DAEMONS:-master smtpd qmgr local smtp spawn}
MANIFEST=${MANIFEST:-$DATADIR/install-manifest}

mode=${1:-}
D=$DESTDIR

note() { echo "install.sh: $*"; }
REC=$(mktemp) # the manifest being written, moved into place at the end
trap 'rm -f "$REC"' EXIT
record() { [ "$mode" = stage ] || printf '%s\n' "$*" >>"$REC"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

# mkdirs DIR: creates DIR and its missing parents, recording each one
# created, outermost first (uninstall removes them innermost first).
mkdirs() {
	_dir=$1 _todo=""
	while [ ! -d "$D$_dir" ]; do
		_todo="$_dir $_todo"
		_dir=$(dirname "$_dir")
	done
	for _d in $_todo; do
		install -d -m 755 "$D$_d"
		record "d $_d"
	done
}

# put MODE SRC DST: installs a file, replacing ours.
put() {
	mkdirs "$(dirname "$3")"
	install -m "$1" "$2" "$D$3"
	record "f $3 $(sum "$D$3")"
}

# conffile SRC DST: never overwrites; an existing different file makes
# us install ours beside it as DST.dist.
conffile() {
	mkdirs "$(dirname "$2")"
	if [ -e "$D$2" ] && ! cmp -s "$1" "$D$2"; then
		install -m 644 "$1" "$D$2.dist"
		record "f $2.dist $(sum "$D$2.dist")"
		note "kept the existing $D$2; the shipped one is $D$2.dist"
	elif [ -e "$D$2" ]; then
		note "$D$2 is already the shipped file; left as it is"
	else
		install -m 644 "$1" "$D$2"
		record "c $2 $(sum "$D$2")"
	fi
}

# the systemd unit and other files that name installed paths
subst() {
	sed -e "s|/usr/sbin/postern|$BINDIR/postern|g" \
		-e "s|/var/spool/postern|$SPOOLDIR|g" \
		-e "s|/etc/postern|$SYSCONFDIR|g" "$1"
}

do_install() {
	[ -x "$BUILD/bin/postern" ] || {
		echo "install.sh: $BUILD/bin/postern is not built; run make" >&2
		exit 1
	}
	# the daemon directory is compiled in: a build for another PREFIX
	# would look for its daemons where none are installed
	if ! grep -qaF "$LIBEXECDIR" "$BUILD/bin/postern"; then
		echo "install.sh: $BUILD/bin/postern was built for another daemon directory than $LIBEXECDIR;" >&2
		echo "  rebuild with the same PREFIX: make clean && make PREFIX=$PREFIX" >&2
		exit 1
	fi
	# a reinstall: the old manifest's entries are still ours
	[ "$mode" = stage ] || [ ! -e "$D$MANIFEST" ] || cat "$D$MANIFEST" >>"$REC"
	mkdirs "$DATADIR"
	put 755 "$BUILD/bin/postern" "$BINDIR/postern"
	for p in $DAEMONS; do
		[ -x "$BUILD/libexec/$p" ] || continue
		put 755 "$BUILD/libexec/$p" "$LIBEXECDIR/$p"
	done
	# lmtp is the smtp program under another name (master runs it so)
	conffile conf/main.cf "$SYSCONFDIR/main.cf"
	conffile conf/master.cf "$SYSCONFDIR/master.cf"
	put 644 man/postern.1 "$MANDIR/man1/postern.1"
	put 644 man/postern.conf.5 "$MANDIR/man5/postern.conf.5"
	tmp=$(mktemp)
	subst conf/postern.service >"$tmp"
	put 644 "$tmp" "$UNITDIR/postern.service"
	rm -f "$tmp"
	put 644 conf/logrotate.d/postern "$DATADIR/examples/logrotate.d/postern"
	put 644 conf/fail2ban/filter.d/postern.conf "$DATADIR/examples/fail2ban/filter.d/postern.conf"
	put 644 conf/fail2ban/jail.d/postern.conf "$DATADIR/examples/fail2ban/jail.d/postern.conf"
	put 644 conf/aliases "$DATADIR/examples/aliases"
	# The queue directory: master creates its subdirectories at start.
	mkdirs "$SPOOLDIR"
	if [ "$mode" != stage ] && [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ]; then
		for u in "${MAIL_OWNER:-postern}" "${NETWORK_USER:-postern-net}"; do
			getent passwd "$u" >/dev/null || echo "$u"
		done >"$REC.users"
		tools/mkusers.sh
		while read -r u; do
			if getent passwd "$u" >/dev/null; then record "u $u"; fi
		done <"$REC.users"
		rm -f "$REC.users"
	fi
	if [ "$mode" != stage ]; then
		# one line per entry, first occurrence wins (a reinstall keeps
		# the original "d" and "c" lines)
		awk '!seen[$1 " " $2]++' "$REC" >"$D$MANIFEST"
		note "installed; the list of what was installed is $D$MANIFEST"
	fi
}

do_compat() {
	[ -e "$D$MANIFEST" ] || {
		echo "install.sh: no $D$MANIFEST; run make install first" >&2
		exit 1
	}
	cat "$D$MANIFEST" >"$REC"
	for l in "$BINDIR/sendmail" "$UBINDIR/mailq" "$UBINDIR/newaliases"; do
		if [ -e "$D$l" ] || [ -L "$D$l" ]; then
			if [ "$(readlink "$D$l")" = "$BINDIR/postern" ]; then
				continue
			fi
			echo "install.sh: $D$l exists and is not ours (another MTA?); not replaced" >&2
			exit 1
		fi
		mkdirs "$(dirname "$l")"
		ln -s "$BINDIR/postern" "$D$l"
		record "l $l"
	done
	cat "$REC" >"$D$MANIFEST"
	note "sendmail, mailq, newaliases link to $BINDIR/postern"
}

do_uninstall() {
	[ -e "$D$MANIFEST" ] || {
		echo "install.sh: no $D$MANIFEST: nothing was installed here" >&2
		exit 1
	}
	# files and links first, then users, then directories innermost first
	while read -r kind path hash; do
		case $kind in
		f)
			if [ -f "$D$path" ] && [ "$(sum "$D$path")" != "$hash" ]; then
				note "$D$path was changed after install; removed anyway"
			fi
			rm -f "$D$path"
			;;
		c)
			if [ -f "$D$path" ] && [ "$(sum "$D$path")" = "$hash" ]; then
				rm -f "$D$path"
			elif [ -e "$D$path" ]; then
				note "kept $D$path: you changed it (remove it yourself)"
			fi
			;;
		l)
			[ "$(readlink "$D$path" 2>/dev/null)" = "$BINDIR/postern" ] && rm -f "$D$path"
			;;
		esac
	done <"$D$MANIFEST"
	while read -r kind name _; do
		[ "$kind" = u ] || continue
		if [ -n "$DESTDIR" ]; then continue; fi
		if pgrep -u "$name" >/dev/null 2>&1; then
			note "kept user $name: it has running processes (postern stop first)"
			continue
		fi
		userdel "$name" && note "removed user $name"
		if getent group "$name" >/dev/null; then groupdel "$name" 2>/dev/null || :; fi
	done <"$D$MANIFEST"
	rm -f "$D$MANIFEST"
}

case $mode in
install | stage) do_install ;;
compat) do_compat ;;
uninstall)
	# keep a copy for the directory pass (the manifest itself lives in
	# one of the directories)
	MANIFEST_COPY=$(mktemp)
	cp "$D$MANIFEST" "$MANIFEST_COPY" 2>/dev/null || :
	do_uninstall
	for d in $(awk '$1 == "d" { print $2 }' "$MANIFEST_COPY" | tac); do
		if [ "$d" = "$SPOOLDIR" ] && [ -n "$(ls -A "$D$d" 2>/dev/null)" ]; then
			note "kept the queue directory $D$d (it holds the queue; remove it yourself)"
			continue
		fi
		rmdir "$D$d" 2>/dev/null || [ ! -d "$D$d" ] ||
			note "kept $D$d: not empty"
	done
	rm -f "$MANIFEST_COPY"
	note "uninstalled"
	;;
*)
	echo "usage: tools/install.sh install|compat|uninstall|stage" >&2
	exit 2
	;;
esac
