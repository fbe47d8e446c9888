#!/bin/sh
# mkdeb.sh - "make deb": build the Debian package from the working tree.
# The tree (without build outputs and .git) is copied to
# build/deb/postern-VERSION and built there with dpkg-buildpackage, so the
# .deb lands in build/deb/.  Needs the packages of PKGS_PACKAGING in
# tools/deps.sh (debhelper, devscripts) and the build dependencies.
set -eu
cd "$(dirname "$0")/.."
version=$(dpkg-parsechangelog -S Version)
out=build/deb
src=$out/postern-$version
rm -rf "$out"
mkdir -p "$src"
tar -cf - --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
	--exclude=./.git --exclude=./run . | tar -xf - -C "$src"
cd "$src"
# a build of the tree for tests (BUILD, SANITIZE in the environment) must
# not leak into the package
unset BUILD POSTERN SANITIZE MAKEFLAGS MFLAGS MAKELEVEL
DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b -j"${JOBS:-2}" >../build.log 2>&1 || {
	tail -n 40 ../build.log >&2
	echo "mkdeb.sh: dpkg-buildpackage failed; log: $out/build.log" >&2
	exit 1
}
cd ../../..
ls "$out"/postern_"$version"_*.deb
