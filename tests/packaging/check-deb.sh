#!/usr/bin/env bash
# shellcheck disable=SC2015 # pass/fail always succeed: A && pass || fail is if/else
# check-deb.sh - the built .deb: its files (dpkg -c), conffile, dependencies
# and maintainer scripts.
#
# Usage: tests/packaging/check-deb.sh DEB_DIR   (from build-deb.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/packaging/check-lib.sh
. "$here/check-lib.sh"

(($# == 1)) || { echo "usage: $0 DEB_DIR" >&2; exit 2; }
shopt -s nullglob
debs=("$1"/scx-rustland_*.deb)
((${#debs[@]} == 1)) || { echo "expected one scx-rustland_*.deb in $1, found ${#debs[@]}" >&2; exit 1; }
deb=${debs[0]}
echo "checking $deb"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "./usr/sbin/x" -> "/usr/sbin/x"; symlinks lose their " -> target".
dpkg-deb -c "$deb" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); sub(/ -> .*/, ""); sub(/^\./, ""); sub(/\/$/, ""); print }' >"$tmp/listing"
expect_paths "$tmp/listing" "$here/expected-files.txt"
expect_paths "$tmp/listing" <(printf '%s\n' '/usr/share/doc/scx-rustland/copyright')
perm=$(dpkg-deb -c "$deb" | awk '$6 == "./usr/sbin/scx-rustland" { print $1 }')
[[ $perm == -rwxr-xr-x ]] && pass "daemon is 0755" || fail "daemon mode is '$perm'"

dpkg-deb -e "$deb" "$tmp/control"
if grep -qx /etc/scx-rustland/config.toml "$tmp/control/conffiles" 2>/dev/null; then
	pass "/etc/scx-rustland/config.toml is a conffile"
else
	fail "/etc/scx-rustland/config.toml is not in conffiles"
fi

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Exactly one libbpf1 relation, the one that rules out bookworm's 1.1.
[[ $depends =~ (^|, )libbpf1\ \(\>=\ 1:1\.4[^,]*\)(,|$) ]] && pass "Depends on libbpf1 >= 1:1.4" ||
	fail "Depends lacks libbpf1 (>= 1:1.4...)"
(($(grep -o 'libbpf1' <<<"$depends" | wc -l) == 1)) && pass "one libbpf1 relation (shlibs merged)" ||
	fail "several libbpf1 relations: $depends"
[[ $depends == *libc6* ]] && pass "shlibs dependencies present (libc6)" || fail "no \${shlibs:Depends} in Depends"
recommends=$(dpkg-deb -f "$deb" Recommends)
[[ $recommends == *dbus* && $recommends == *polkitd* ]] && pass "Recommends dbus and polkitd" ||
	fail "Recommends is '$recommends'"

# Maintainer scripts: outside debhelper's generated sections, no systemctl
# (or deb-systemd-*) call of our own.
for script in preinst postinst prerm postrm; do
	[[ -f $tmp/control/$script ]] || continue
	own=$(awk '/^# Automatically added by dh_/ { skip = 1 } !skip { print } /^# End automatically added section/ { skip = 0 }' \
		"$tmp/control/$script" | grep -E 'systemctl|deb-systemd-(helper|invoke)' || true)
	[[ -z $own ]] && pass "$script: no own systemctl calls" || fail "$script calls systemctl itself: $own"
done
# dh_installsystemd wrote the unit handling (daemon-reload, purge of its state).
grep -q 'deb-systemd-helper purge' "$tmp/control/postrm" && pass "postrm: dh_installsystemd purge section" ||
	fail "postrm has no dh_installsystemd section (unit not seen by dh_installsystemd?)"
grep -q 'rmdir --ignore-fail-on-non-empty /etc/scx-rustland/config.d' "$tmp/control/postrm" &&
	pass "postrm purge removes an empty config.d" || fail "postrm does not remove config.d"
# --no-enable: debhelper enables only a unit it had installed before (the
# debian-installed guard), never on a first installation.
grep -q 'deb-systemd-helper debian-installed' "$tmp/control/postinst" &&
	pass "postinst does not enable the unit on installation" || fail "postinst enables the unit on installation"
grep -q 'deb-systemd-invoke stop' "$tmp/control/prerm" 2>/dev/null && pass "prerm stops the unit on removal" ||
	fail "prerm does not stop the unit"
grep -q 'deb-systemd-invoke $_dh_action' "$tmp/control/postinst" && pass "postinst restarts the unit on upgrade" ||
	fail "postinst does not restart the unit on upgrade"
finish
