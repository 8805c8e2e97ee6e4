#!/usr/bin/env bash
# Sets up a Debian 12 machine and runs every test: unit tests, then the
# end-to-end test on a real sched_ext kernel (booted under QEMU if the host
# has none). Extra arguments go to ctest (e.g. -L vm, -LE vm).
#
# Then the sanitizer pass, in a second tree built with clang, ASan and UBSan:
# the unit and integration tests again, and each fuzz target for a bounded
# time (labels unit, integration, fuzz; the same extra arguments select
# among them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SCX_RUSTLAND_BUILD_DIR:-$root/build}
asan_build=${SCX_RUSTLAND_ASAN_BUILD_DIR:-$root/build-asan}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure "$@"

cmake -S "$root" -B "$asan_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DSCX_RUSTLAND_FUZZ=ON
cmake --build "$asan_build" -j"$(nproc)" --target sanitized_tests
# Several -L select the tests that match all of them.
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$asan_build" --output-on-failure \
	-L '^(unit|integration|fuzz)$' "$@"
