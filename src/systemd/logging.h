// Where the daemon's log goes: the systemd journal (native protocol, with a
// priority per message) when systemd connected our stderr to it, plain stderr
// otherwise.
#pragma once

#include <spdlog/common.h>

#include <initializer_list>
#include <string_view>
#include <utility>

namespace rustland::systemd {

// Makes spdlog's default logger write to the journal when stderr_is_journal(),
// else to stderr as "<level>: <message>" (colored on a terminal). Debug
// messages only when verbose. Call once, early, before other threads log.
void setup_logging(bool verbose);

// True when JOURNAL_STREAM names stderr's device and inode: systemd set it
// and stderr was not redirected since (systemd.exec(5), "$JOURNAL_STREAM").
bool stderr_is_journal();

// The same test on given values: `journal_stream` is "<dev>:<inode>" in decimal.
bool journal_stream_matches(const char* journal_stream, unsigned long long dev, unsigned long long inode);

// Whether setup_logging() chose the journal.
bool logging_to_journal();

// One journal field: name (upper case letters, digits, '_'; not starting
// with '_') and value.
using JournalField = std::pair<std::string_view, std::string_view>;

// Logs `message` at `level` with extra journal fields (e.g. SCX_EXIT_REASON=)
// when logging to the journal; elsewhere the fields are dropped and the
// message goes through spdlog as usual.
void log_with_fields(spdlog::level::level_enum level, std::string_view message,
                     std::initializer_list<JournalField> fields);

}  // namespace rustland::systemd
