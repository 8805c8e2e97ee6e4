#!/usr/bin/env bash
# shellcheck disable=SC2015 # pass/fail always succeed: A && pass || fail is if/else
# check-rpm.sh - the built .rpm: its files (rpm -qlp), config file, scriptlets,
# dependencies, and rpmlint (no errors).
#
# Usage: tests/packaging/check-rpm.sh RPM_DIR   (from build-rpm.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/packaging/check-lib.sh
. "$here/check-lib.sh"

(($# == 1)) || { echo "usage: $0 RPM_DIR" >&2; exit 2; }
shopt -s nullglob
rpms=("$1"/scx-rustland-[0-9]*.rpm)
((${#rpms[@]} == 1)) || { echo "expected one scx-rustland-*.rpm in $1, found ${#rpms[@]}" >&2; exit 1; }
pkg=${rpms[0]}
echo "checking $pkg"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rpm -qlp "$pkg" >"$tmp/listing"
expect_paths "$tmp/listing" "$here/expected-files.txt"
expect_paths "$tmp/listing" <(printf '%s\n' '/usr/share/licenses/scx-rustland/LICENSE')

rpm -qcp "$pkg" | grep -qx /etc/scx-rustland/config.toml && pass "config.toml is %config" ||
	fail "/etc/scx-rustland/config.toml is not a config file"
# %config(noreplace): rpm's file flag 16 (RPMFILE_NOREPLACE) besides 1 (CONFIG).
flags=$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS}\n]' "$pkg" | awk '$1 == "/etc/scx-rustland/config.toml" { print $2 }')
((flags & 16)) && pass "config.toml is noreplace (flags $flags)" || fail "config.toml flags $flags lack noreplace"

scripts=$(rpm -qp --scripts "$pkg")
for step in 'postinstall scriptlet' 'preuninstall scriptlet' 'postuninstall scriptlet'; do
	grep -q "$step" <<<"$scripts" && pass "has a $step" || fail "no $step"
done
grep -q 'try-restart scx-rustland.service' <<<"$scripts" && pass "upgrade restarts the unit (try-restart)" ||
	fail "no try-restart of scx-rustland.service in the scriptlets"

requires=$(rpm -qp --requires "$pkg")
grep -Eq '^libbpf(\(x86-64\))? >= 2:1\.4$' <<<"$requires" && pass "Requires libbpf >= 2:1.4" ||
	fail "no libbpf >= 2:1.4 requirement"
grep -q '^libbpf\.so\.1()(64bit)' <<<"$requires" && pass "automatic soname requirements present" ||
	fail "no libbpf.so.1 soname requirement"

echo "--- rpmlint (with Fedora's settings: rpm/rpmlint.toml)"
if rpmlint -c "$here/../../rpm/rpmlint.toml" "$pkg"; then pass "rpmlint: no errors"; else fail "rpmlint reported errors"; fi

finish
