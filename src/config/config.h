// The configuration files: built-in defaults, then the main file, then the
// drop-ins of config.d in lexical order, then the command line. Each layer may
// set any subset of the keys; the last one wins. Everything is validated
// strictly; errors name the file, line, column and key.
//
// Pure C++ and file reading: nothing here touches the scheduler or BPF.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"

namespace rustland::config {

inline constexpr std::string_view kMainFile = "/etc/scx-rustland/config.toml";
inline constexpr std::string_view kDropinDir = "/etc/scx-rustland/config.d";

// Where a key's effective value came from.
struct Origin {
    enum class Kind { Default, File, CommandLine };
    Kind kind = Kind::Default;
    std::filesystem::path file;  // Kind::File only
    std::uint32_t line = 0;      // of the key, 1-based
    std::uint32_t column = 0;

    // "built-in default", "/etc/scx-rustland/config.toml:12:1", "command line"
    std::string str() const;

    bool operator==(const Origin&) const = default;
};

struct Loaded {
    Settings settings;
    std::map<std::string, Origin> origins;     // every key, by "section.key"
    std::vector<std::filesystem::path> files;  // the files read, in the order applied
};

// Every problem found, one line each: "file:line:col: key: what is wrong".
// None quotes a file's text (a Reload caller gets them): a problem names the
// key (escaped and shortened if unknown) and shows a value only as the number
// it was parsed to.
class Error : public std::runtime_error {
public:
    explicit Error(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

// The built-in defaults, every origin Origin::Kind::Default.
Loaded defaults();

// Reads main_file, then every *.toml file of dropin_dir in lexical order of
// file name. A missing main_file is fine unless main_required; a missing
// dropin_dir (or an empty path) is fine. Every file read must be a regular
// file (a FIFO or a device is refused without blocking), trusted as
// ownership_problem() says, and a drop-in must not be a symbolic link; so
// must dropin_dir be trusted. Reports every problem of every file at once.
// Throws Error.
Loaded load(const std::filesystem::path& main_file, bool main_required, const std::filesystem::path& dropin_dir);

// What load() does with one file's text, for text already in memory (the
// fuzz target): the defaults, then `text` as the file `name`, validated.
// Throws Error.
Loaded parse(std::string_view text, const std::filesystem::path& name);

// Why a configuration file or directory with this status must not be
// trusted, "" if it may: it must be owned by root, or by `reader` (the uid
// reading it, so that a user can check a file of their own), and be writable
// by its owner only. A file that someone else may write is their configuration.
std::string ownership_problem(const struct stat& status, uid_t reader);

// Puts the keys in `given` ("section.key") from `cli` on top of `loaded`, with
// origin "command line", and validates the result again. On error `loaded`
// is left unchanged. Throws Error.
void overlay(Loaded& loaded, const Settings& cli, const std::set<std::string>& given);

// Ranges of every key and the checks across keys (slice_us_min <= slice_us).
// load() and overlay() call it. Throws Error.
void validate(const Loaded& loaded);

// The effective configuration as TOML that loads back to the same Settings,
// each key followed by "# from <origin>".
std::string describe(const Loaded& loaded);

}  // namespace rustland::config
