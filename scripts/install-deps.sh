#!/usr/bin/env bash
# Installs everything needed to build scx-rustland, run its tests and boot the
# sched_ext test VM, on Debian 12 (bookworm). Needs root (or sudo).
#
# libbpf-dev >= 1.4 and bpftool come from bookworm-backports: bookworm's own
# libbpf 1.1 cannot load the skeletons bpftool 7.x generates.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# libclang-rt-19-dev: clang's sanitizer and libFuzzer runtimes (test.sh's sanitizer pass).
# clang-format-19: the format_check test (.clang-format).
build_pkgs=(cmake g++ make pkg-config clang-19 clang-format-19 libelf-dev zlib1g-dev libseccomp-dev
	libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libsystemd-dev
	googletest libgtest-dev libgmock-dev libbenchmark-dev
	libsdbus-c++-dev libsdbus-c++-bin dbus-daemon scdoc nlohmann-json3-dev
	libclang-rt-19-dev)
# Packaging: the .deb and .rpm builds and their linters.
pkg_pkgs=(dpkg-dev lintian rpm rpmlint)
# debhelper >= 13.11.6 handles units in /usr/lib/systemd/system (debian/control).
# QEMU 10 runs the test VMs with multi-threaded TCG (bookworm's 7.2 crashes
# the guest now and then while sched_ext patches static keys).
backports_pkgs=(libbpf-dev bpftool debhelper qemu-system-x86)
# mmdebstrap: the bookworm and trixie roots of the system and trixie tests.
# gamemode: the benchmark's GameMode row copies gamemoded, gamemoderun and
# libgamemode into the VM.
vm_pkgs=(systemd mmdebstrap e2fsprogs busybox-static stress-ng rt-tests linux-perf zstd cpio
	debian-archive-keyring ca-certificates gnuplot-nox gamemode)

missing=()
for pkg in "${build_pkgs[@]}" "${pkg_pkgs[@]}" "${vm_pkgs[@]}" "${backports_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ] && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libbpf-dev)" ge 1:1.4 &&
	dpkg --compare-versions "$(dpkg-query -W -f='${Version}' debhelper)" ge 13.11.6~ &&
	dpkg --compare-versions "$(dpkg-query -W -f='${Version}' qemu-system-x86)" ge 1:10~; then
	exit 0
fi
echo "install-deps: installing ${missing[*]:-a newer libbpf-dev, debhelper or qemu-system-x86}" >&2

# Same mirror as the machine's bookworm entry, suite bookworm-backports.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	mirror=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
	[ -n "$mirror" ] || mirror=$(awk '/^deb .*bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "install-deps: adding bookworm-backports from $mirror" >&2
	$sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${build_pkgs[@]}" "${pkg_pkgs[@]}" "${vm_pkgs[@]}"
$sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports_pkgs[@]}"
