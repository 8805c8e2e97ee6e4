#include "dispatcher/cpu_list.h"

#include <charconv>
#include <fstream>
#include <string>

#include "dispatcher/bpf_dispatcher.h"

namespace rustland::dispatcher {
namespace {

std::optional<unsigned> parse_number(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

}  // namespace

std::optional<std::vector<unsigned>> parse_cpu_list(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    std::vector<unsigned> cpus;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);

        const auto dash = item.find('-');
        const auto first = parse_number(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_number(item.substr(dash + 1));
        if (!first || !last || *last < *first || *last >= RL_MAX_CPUS)
            return std::nullopt;
        for (unsigned cpu = *first; cpu <= *last; ++cpu)
            cpus.push_back(cpu);
    }
    return cpus;
}

std::vector<unsigned> online_cpus() {
    std::ifstream in("/sys/devices/system/cpu/online");
    std::string line;
    std::getline(in, line);
    auto cpus = parse_cpu_list(line);
    if (!cpus || cpus->empty())
        throw Error(Error::Kind::Failure, "Cannot read the online CPUs from /sys/devices/system/cpu/online.");
    return *cpus;
}

}  // namespace rustland::dispatcher
