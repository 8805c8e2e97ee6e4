#!/usr/bin/env bash
# Fails, naming each file, if a C++ file of src/, tests/, bench/ or dbus/
# differs from what clang-format-19 makes of it under .clang-format.
# `scripts/check-format.sh --fix` reformats them instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format-19}
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'bench/*.h' 'dbus/*.h')
if [ "${1:-}" = --fix ]; then
	exec "$clang_format" -i "${files[@]}"
fi
bad=0
for f in "${files[@]}"; do
	if ! "$clang_format" --dry-run --Werror "$f" 2>/dev/null; then
		echo "not formatted: $f (scripts/check-format.sh --fix)"
		bad=1
	fi
done
exit $bad
