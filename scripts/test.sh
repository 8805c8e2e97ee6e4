#!/usr/bin/env bash
# Sets up a Debian 12 machine and runs every test: unit tests, then the
# end-to-end test on a real sched_ext kernel (booted under QEMU if the host
# has none). Extra arguments go to ctest (e.g. -L vm, -LE vm).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SCX_RUSTLAND_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure "$@"
