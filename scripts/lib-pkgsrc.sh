# lib-pkgsrc.sh - sourced by build-deb.sh and build-rpm.sh.
# shellcheck shell=bash
#
# copy_clean_source SRC DEST: copy the source tree SRC to DEST without build
# directories or VCS data. In a git checkout: the tracked files plus the
# untracked ones git does not ignore (so uncommitted edits are packaged, build
# output is not); otherwise everything but .git and build*/.
copy_clean_source() {
	local src=$1 dest=$2
	mkdir -p "$dest"
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$src" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
			tar --null -T - -cf -) | tar -C "$dest" -xf -
	else
		tar -C "$src" --exclude=.git --exclude='./build*' --exclude=.cache -cf - . | tar -C "$dest" -xf -
	fi
}
