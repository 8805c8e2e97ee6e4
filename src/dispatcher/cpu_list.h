#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace rustland::dispatcher {

// Parses the kernel's CPU list format ("0-3,8,10-11") into CPU ids.
// Returns nullopt on malformed input.
std::optional<std::vector<unsigned>> parse_cpu_list(std::string_view text);

// The CPUs online now, from /sys/devices/system/cpu/online.
std::vector<unsigned> online_cpus();

}  // namespace rustland::dispatcher
