# check-lib.sh - sourced by the packaging tests: assertions with a count of
# failures, and the check of a package's file list against expected-files.txt.
# shellcheck shell=bash

failures=0
checks=0
pass() { checks=$((checks + 1)); printf 'PASS: %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL: %s\n' "$*"; }

# expect_paths LISTING_FILE [REGEX_FILE...]: every regex (anchored) matches a
# line of LISTING_FILE (one absolute path per line).
expect_paths() {
	local listing=$1 patterns re
	shift
	for patterns in "$@"; do
		while IFS= read -r re; do
			[[ -n $re && $re != \#* ]] || continue
			if grep -Eq "^${re}\$" "$listing"; then
				pass "contains ${re//\\/}"
			else
				fail "missing ${re//\\/}"
			fi
		done <"$patterns"
	done
}

# finish: summary, and the exit status (no check run is a failure too).
finish() {
	printf '%d checks, %d failed\n' "$checks" "$failures"
	((checks > 0 && failures == 0))
}
