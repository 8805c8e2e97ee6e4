#!/usr/bin/env bash
# fetch-kernel.sh - download a Debian kernel that has sched_ext built in and
# cache it for the VM tests.
#
# The host kernel has no sched_ext, so the tests boot a Debian trixie-backports
# kernel under qemu. We never install it: a private apt state directory (under
# the cache) reads only the trixie-backports suite, `apt-get download` fetches
# the .deb(s) (apt verifies them against the signed InRelease), and
# `dpkg-deb -x` unpacks them.
#
# Usage: tests/vm/fetch-kernel.sh [--refresh] [--list]
#   --refresh  ignore the cached kernel and select/download again
#   --list     print the candidate packages in preference order and exit
#
# Prints the path of kernel.env on stdout; everything else goes to stderr.
# kernel.env is sourceable shell: KERNEL_PACKAGE KERNEL_VERSION KERNEL_RELEASE
# VMLINUZ CONFIG MODULES (empty if the archive had no module tree) SHA256 (of
# the .deb holding vmlinuz) VMLINUZ_DEB DEBS (all packages,
# name_version=sha256) KERNEL_ROOT (the unpacked tree) KERNEL_SUITE
# KERNEL_MIRROR.
#
# Environment:
#   SCX_RUSTLAND_CACHE   cache root (default $HOME/.cache/scx-rustland)
#   SCX_KERNEL_PACKAGE   pin an exact package, e.g. linux-image-6.18.15+deb13-amd64
#   SCX_KERNEL_SERIES    preferred series, best first (default "6.18 6.17")
#   SCX_KERNEL_MIN       oldest acceptable series (default 6.12)
#   SCX_DEBIAN_MIRROR    archive URI (default: the one apt already uses)
#   SCX_DEBIAN_KEYRING   keyring for Signed-By (default debian-archive-keyring.gpg)
#   SCX_KERNEL_SUITE     suite (default trixie-backports)
#   SCX_KEEP_DEBS=1      keep the downloaded .debs in the cache
set -euo pipefail

log() { printf 'fetch-kernel: %s\n' "$*" >&2; }
die() { printf 'fetch-kernel: ERROR: %s\n' "$*" >&2; exit 1; }

refresh=0 list_only=0
for arg in "$@"; do
	case "$arg" in
	--refresh) refresh=1 ;;
	--list) list_only=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
	*) die "unknown argument: $arg (try --help)" ;;
	esac
done

CACHE_ROOT=${SCX_RUSTLAND_CACHE:-$HOME/.cache/scx-rustland}
KDIR=$CACHE_ROOT/kernel
ENV_FILE=$KDIR/kernel.env
SUITE=${SCX_KERNEL_SUITE:-trixie-backports}
SERIES=${SCX_KERNEL_SERIES:-6.18 6.17}
MIN_SERIES=${SCX_KERNEL_MIN:-6.12}
PIN=${SCX_KERNEL_PACKAGE:-}
ARCH=amd64

mkdir -p "$KDIR"

# Serialise concurrent callers (gen-vmlinux.sh and a test may start together).
exec 9>"$KDIR/.lock"
flock 9

# ---- Cache hit: no network at all. ---------------------------------------
cache_valid() {
	[[ -f $ENV_FILE ]] || return 1
	# Read in a subshell so a stale file cannot pollute our variables.
	(
		# shellcheck disable=SC1090
		. "$ENV_FILE"
		[[ -f ${VMLINUZ:-} && -f ${CONFIG:-} ]] || exit 1
		[[ -z $PIN || $PIN == "${KERNEL_PACKAGE:-}" ]] || exit 1
		grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$CONFIG" || exit 1
	)
}
if ((!refresh && !list_only)) && cache_valid; then
	# shellcheck disable=SC1090
	log "using cached kernel ($(. "$ENV_FILE"; echo "$KERNEL_PACKAGE $KERNEL_VERSION"))"
	echo "$ENV_FILE"
	exit 0
fi

# ---- Which archive? The one this machine already trusts. ------------------
# Look for the URI serving the host's own release (not -security) in the
# deb822 .sources files, then in one-line sources.list files.
detect_mirror() {
	local codename uri=""
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	if [[ -n $codename ]]; then
		uri=$(awk -v want="$codename" '
			BEGIN { RS = ""; FS = "\n" }
			{
				u = ""; s = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/)   { u = $i; sub(/^URIs:[ \t]*/, "", u) }
					if ($i ~ /^Suites:/) { s = " " $i " "; sub(/^ Suites:/, "", s) }
				}
				split(u, us, /[ \t]+/)
				if (s ~ ("[ \t]" want "[ \t]") && us[1] !~ /security/) { print us[1]; exit }
			}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
		if [[ -z $uri ]]; then
			uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
				sed -E 's/\[[^]]*\]//' |
				awk -v want="$codename" '$1 == "deb" && $3 == want && $2 !~ /security/ { print $2; exit }' || true)
		fi
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${SCX_DEBIAN_MIRROR:-$(detect_mirror)}
MIRROR=${MIRROR%/}
KEYRING=${SCX_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
[[ -r $KEYRING ]] || die "keyring $KEYRING not found: install debian-archive-keyring"
command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian-like host"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"

# ---- Private apt state: never touches the host's apt configuration. -------
APTDIR=$KDIR/apt
mkdir -p "$APTDIR"/{lists/partial,archives/partial,sources.list.d,preferences.d}
: >"$APTDIR/status"
cat >"$APTDIR/sources.list.d/scx-kernel.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE
Components: main
Architectures: $ARCH
Signed-By: $KEYRING
EOF
APT_OPTS=(
	-o "Dir::State=$APTDIR"
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::State::status=$APTDIR/status"
	-o "Dir::Cache=$APTDIR"
	-o "Dir::Cache::archives=$APTDIR/archives"
	-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
	-o "Dir::Etc::Preferences=/dev/null"
	-o "Dir::Etc::PreferencesParts=$APTDIR/preferences.d"
	-o "APT::Architecture=$ARCH"
	-o "APT::Architectures=$ARCH"
	-o "Acquire::Languages=none"
)
# As root apt drops to the _apt user, who cannot write into $HOME's cache.
if ((EUID == 0)); then APT_OPTS+=(-o "APT::Sandbox::User=root"); fi
apt_get() { apt-get -q "${APT_OPTS[@]}" "$@"; }
apt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

log "reading $SUITE from $MIRROR (keyring $KEYRING)"
upd_log=$APTDIR/update.log
if ! apt_get update >"$upd_log" 2>&1 || grep -qE '^(E:|W: GPG error)' "$upd_log"; then
	cat "$upd_log" >&2
	if grep -q NO_PUBKEY "$upd_log"; then
		die "the keyring does not know the $SUITE signing key; upgrade it with
  apt-get install -t ${SCX_HOST_UPDATES:-bookworm-updates} debian-archive-keyring   (>= 2023.3+deb12u2 has the trixie keys)
or point SCX_DEBIAN_KEYRING at a keyring that has it"
	fi
	die "apt-get update of $SUITE failed (see above)"
fi

# ---- Candidates -----------------------------------------------------------
# Generic flavour only: linux-image-<release>-amd64 where <release> is
# 6.18.15+deb13 (or the older 6.1.0-28 form). This excludes -cloud-, -rt-,
# -dbg and -unsigned packages by construction.
pkg_available() { [[ -n $(apt_cache show --no-all-versions "$1" 2>/dev/null) ]]; }
series_of() { sed -E 's/^linux-image-([0-9]+\.[0-9]+).*/\1/' <<<"$1"; }
ver_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]; }

mapfile -t all < <(apt_cache pkgnames linux-image- |
	grep -E "^linux-image-[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?(\+[a-z0-9.~]+)?-$ARCH\$" |
	sort -rV || true)
eligible=()
for p in "${all[@]}"; do
	if ver_ge "$(series_of "$p")" "$MIN_SERIES"; then eligible+=("$p"); fi
done
# Preferred series first (each newest first), then the rest newest first.
ordered=()
for s in $SERIES; do
	for p in "${eligible[@]}"; do
		if [[ $(series_of "$p") == "$s" ]]; then ordered+=("$p"); fi
	done
done
for p in "${eligible[@]}"; do
	[[ " ${ordered[*]} " == *" $p "* ]] || ordered+=("$p")
done
if [[ -n $PIN ]]; then
	pkg_available "$PIN" || die "SCX_KERNEL_PACKAGE=$PIN is not in $SUITE (available: ${ordered[*]:-none})"
	ordered=("$PIN")
fi
((${#ordered[@]})) || die "no linux-image-*-$ARCH >= $MIN_SERIES in $SUITE at $MIRROR"
if ((list_only)); then
	printf '%s\n' "${ordered[@]}"
	exit 0
fi

# ---- Download, unpack, verify --------------------------------------------
# Returns 0 and sets the result variables when the candidate is usable.
try_candidate() {
	local pkg=$1 rel deps=() d f deb_dir root
	rel=${pkg#linux-image-}
	pkg_available "$pkg" || { log "$pkg: not downloadable"; return 1; }

	# Since 6.19/7.x linux-image-* is a small meta package; vmlinuz, modules
	# and config live in linux-binary-/linux-modules-/linux-base-<release>.
	# Take every dependency named after this exact release.
	mapfile -t deps < <(apt_cache depends --no-recommends --no-suggests --no-breaks \
		--no-conflicts --no-replaces --no-enhances "$pkg" 2>/dev/null |
		sed -nE 's/^ *\|?(Pre)?Depends: <?([^ >]+)>?$/\2/p' |
		grep -F -- "-$rel" | grep -vx -- "$pkg" | sort -u || true)
	local want=("$pkg")
	for d in "${deps[@]}"; do
		if pkg_available "$d"; then
			want+=("$d")
		else
			# Seen in practice: the archive drops part of a set (e.g.
			# linux-base-6.18.15+deb13-amd64). vmlinuz/config may still be
			# complete; the checks below decide.
			log "$pkg: dependency $d is not in the archive, continuing without it"
		fi
	done

	deb_dir=$KDIR/debs
	rm -rf "$deb_dir"
	mkdir -p "$deb_dir"
	log "downloading ${want[*]}"
	(cd "$deb_dir" && apt_get download "${want[@]}" >&2) || { log "$pkg: download failed"; return 1; }

	root=$KDIR/root-$rel
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	for f in "$deb_dir"/*.deb; do
		log "unpacking $(basename "$f")"
		dpkg-deb -x "$f" "$root.tmp"
	done

	# Up to 6.18 the files are boot/vmlinuz-<rel> and boot/config-<rel>;
	# from the 6.19/7.x split on they are usr/lib/modules/<rel>/{vmlinuz,config}.
	local vmlinuz_rel="" config_rel="" c
	for c in boot/vmlinuz-$rel usr/lib/modules/$rel/vmlinuz lib/modules/$rel/vmlinuz; do
		if [[ -f $root.tmp/$c ]]; then vmlinuz_rel=$c; break; fi
	done
	for c in boot/config-$rel usr/lib/modules/$rel/config lib/modules/$rel/config; do
		if [[ -f $root.tmp/$c ]]; then config_rel=$c; break; fi
	done
	if [[ -z $vmlinuz_rel || -z $config_rel ]]; then
		log "$pkg: no vmlinuz or config for $rel inside (vmlinuz '${vmlinuz_rel:-none}', config '${config_rel:-none}'), skipping"
		rm -rf "$root.tmp"
		return 1
	fi
	if ! grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$root.tmp/$config_rel"; then
		log "$pkg: CONFIG_SCHED_CLASS_EXT is not =y in $config_rel, skipping"
		rm -rf "$root.tmp"
		return 1
	fi
	rm -rf "$root"
	mv "$root.tmp" "$root"

	R_PACKAGE=$pkg
	R_RELEASE=$rel
	R_VERSION=$(dpkg-deb -f "$deb_dir/${pkg}_"*.deb Version)
	R_VMLINUZ=$root/$vmlinuz_rel
	R_CONFIG=$root/$config_rel
	R_MODULES=""
	for d in "$root/usr/lib/modules/$rel" "$root/lib/modules/$rel"; do
		if [[ -d $d/kernel ]]; then R_MODULES=$d; break; fi
	done
	# SHA256 is for the .deb that carries vmlinuz (the image itself before
	# the split, linux-binary-* after it).
	R_SHA256="" R_DEBS="" R_VMLINUZ_DEB=""
	for f in "$deb_dir"/*.deb; do
		local sum name
		sum=$(sha256sum "$f" | cut -d' ' -f1)
		name=$(basename "$f" .deb)
		R_DEBS+="${R_DEBS:+ }$name=$sum"
		# No grep -q: it closes the pipe early and pipefail reports SIGPIPE.
		if dpkg-deb -c "$f" | awk '{ print $6 }' | grep -Fx "./$vmlinuz_rel" >/dev/null; then
			R_SHA256=$sum
			R_VMLINUZ_DEB=$name
		fi
	done
	return 0
}

tries=0
chosen=""
for p in "${ordered[@]}"; do
	((tries++ < 3)) || break # each try is ~100+ MB; don't walk the whole list
	log "trying $p"
	if try_candidate "$p"; then
		chosen=$p
		break
	fi
done
[[ -n $chosen ]] || die "no usable kernel among: ${ordered[*]:0:3}"
[[ -n $R_MODULES ]] || log "note: $chosen ships no module tree (fine for initramfs-only boots)"

# Drop roots of other releases left over from older selections.
for d in "$KDIR"/root-*; do
	if [[ -d $d && $d != "$KDIR/root-$R_RELEASE" ]]; then rm -rf "$d"; fi
done
if [[ ${SCX_KEEP_DEBS:-0} != 1 ]]; then rm -rf "$KDIR/debs"; fi

tmp=$ENV_FILE.tmp
{
	echo "# Written by tests/vm/fetch-kernel.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); sourceable shell."
	printf 'KERNEL_PACKAGE=%q\n' "$R_PACKAGE"
	printf 'KERNEL_VERSION=%q\n' "$R_VERSION"
	printf 'KERNEL_RELEASE=%q\n' "$R_RELEASE"
	printf 'KERNEL_SUITE=%q\n' "$SUITE"
	printf 'KERNEL_MIRROR=%q\n' "$MIRROR"
	printf 'KERNEL_ROOT=%q\n' "$KDIR/root-$R_RELEASE"
	printf 'VMLINUZ=%q\n' "$R_VMLINUZ"
	printf 'VMLINUZ_DEB=%q\n' "$R_VMLINUZ_DEB"
	printf 'CONFIG=%q\n' "$R_CONFIG"
	printf 'MODULES=%q\n' "$R_MODULES"
	printf 'SHA256=%q\n' "$R_SHA256"
	printf "DEBS='%s'\n" "$R_DEBS"
} >"$tmp"
mv "$tmp" "$ENV_FILE"
log "selected $R_PACKAGE $R_VERSION (uname -r $R_RELEASE)"
echo "$ENV_FILE"
