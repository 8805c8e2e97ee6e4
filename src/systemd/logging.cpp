#include "systemd/logging.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>  // after systemd_sink.h, which asks for no CODE_* fields

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace rustland::systemd {
namespace {

constexpr const char* kIdentifier = "scx-rustland";

std::atomic<bool> journal_mode{false};

int journal_priority(spdlog::level::level_enum level) {
    switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::info: return LOG_INFO;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    default: return LOG_INFO;
    }
}

bool valid_field_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '_')
        return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

// Parses one decimal number that ends at `end`; false on anything else.
bool parse_decimal(const char* begin, const char* end, unsigned long long& out) {
    if (begin == end)
        return false;
    const auto [ptr, ec] = std::from_chars(begin, end, out);
    return ec == std::errc{} && ptr == end;
}

}  // namespace

bool journal_stream_matches(const char* journal_stream, unsigned long long dev, unsigned long long inode) {
    if (journal_stream == nullptr)
        return false;
    const char* end = journal_stream + std::strlen(journal_stream);
    const char* colon = std::strchr(journal_stream, ':');
    if (colon == nullptr)
        return false;
    unsigned long long want_dev = 0, want_inode = 0;
    return parse_decimal(journal_stream, colon, want_dev) && parse_decimal(colon + 1, end, want_inode) &&
           want_dev == dev && want_inode == inode;
}

bool stderr_is_journal() {
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return journal_stream_matches(std::getenv("JOURNAL_STREAM"), static_cast<unsigned long long>(st.st_dev),
                                  static_cast<unsigned long long>(st.st_ino));
}

bool logging_to_journal() { return journal_mode.load(std::memory_order_relaxed); }

void setup_logging(bool verbose) {
    const bool journal = stderr_is_journal();
    spdlog::sink_ptr sink;
    if (journal) {
        // The message alone: the journal keeps the priority, identifier and time.
        sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(kIdentifier, false);
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        sink->set_pattern("%^%l%$: %v");
    }
    auto logger = std::make_shared<spdlog::logger>(kIdentifier, std::move(sink));
    logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
    journal_mode.store(journal, std::memory_order_relaxed);
}

void log_with_fields(spdlog::level::level_enum level, std::string_view message,
                     std::initializer_list<JournalField> fields) {
    if (!spdlog::should_log(level))
        return;
    if (!logging_to_journal()) {
        spdlog::log(level, "{}", message);
        return;
    }
    std::vector<std::string> lines;
    lines.reserve(3 + fields.size());
    lines.push_back("MESSAGE=" + std::string(message));
    lines.push_back("PRIORITY=" + std::to_string(journal_priority(level)));
    lines.push_back(std::string("SYSLOG_IDENTIFIER=") + kIdentifier);
    for (const auto& [name, value] : fields)
        if (valid_field_name(name))
            lines.push_back(std::string(name) + "=" + std::string(value));
    std::vector<iovec> iov;
    iov.reserve(lines.size());
    for (auto& line : lines)
        iov.push_back({line.data(), line.size()});
    // sd_journal_sendv copes with newlines in values (binary-safe framing).
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)                    // journald unreachable:
        std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());  // keep the message
}

}  // namespace rustland::systemd
