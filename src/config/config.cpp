#include "config/config.h"

#include <fmt/core.h>

// The tomlplusplus::tomlplusplus target sets TOML_HEADER_ONLY=0 and
// TOML_SHARED_LIB=1: Debian ships toml++ compiled, as a shared library.
#include <toml++/toml.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/unique_fd.h"

namespace rustland::config {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) {
        if (!out.empty())
            out += '\n';
        out += line;
    }
    return out;
}

std::string at(const fs::path& file, const toml::source_region& region) {
    return fmt::format("{}:{}:{}", file.string(), region.begin.line, region.begin.column);
}

std::string_view type_name(toml::node_type type) {
    switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    }
    return "an unknown type";
}

// "" if `value` is acceptable for `key`, else why not. `shown` is the value as written.
std::string range_problem(const Key& key, double value, std::string_view shown) {
    if (key.zero_is_off && value == 0)
        return {};
    if (value >= key.min && value <= key.max)  // false for NaN
        return {};
    return fmt::format("{} is out of range ({}{})", shown, key.zero_is_off ? "0 = off, or " : "", key.range());
}

// The value of a numeric key as a double (for the range check); nullopt otherwise.
std::optional<double> numeric_value(const Settings& s, const Key& key) {
    struct Get {
        const Settings& s;
        std::optional<double> operator()(std::uint64_t Settings::* m) const { return static_cast<double>(s.*m); }
        std::optional<double> operator()(std::uint32_t Settings::* m) const { return static_cast<double>(s.*m); }
        std::optional<double> operator()(double Settings::* m) const { return s.*m; }
        std::optional<double> operator()(bool Settings::*) const { return std::nullopt; }
        std::optional<double> operator()(policy::Ordering Settings::*) const { return std::nullopt; }
    };
    return std::visit(Get{s}, key.field);
}

// Stores a TOML value into the key's field; "" on success, else what is wrong
// with it (the field is then left unchanged).
struct Assign {
    Settings& s;
    const Key& key;
    const toml::node& node;

    std::string expected(std::string_view what) const {
        return fmt::format("expected {}, got {}", what, type_name(node.type()));
    }

    template <class T>
    std::string integer(T Settings::* m) const {
        const auto* v = node.as_integer();
        if (!v)
            return expected("an integer");
        const std::int64_t x = v->get();
        if (auto problem = range_problem(key, static_cast<double>(x), fmt::format("{}", x)); !problem.empty())
            return problem;
        s.*m = static_cast<T>(x);
        return {};
    }

    std::string operator()(std::uint64_t Settings::* m) const { return integer(m); }
    std::string operator()(std::uint32_t Settings::* m) const { return integer(m); }

    std::string operator()(bool Settings::* m) const {
        const auto* v = node.as_boolean();
        if (!v)
            return expected("a boolean");
        s.*m = v->get();
        return {};
    }

    std::string operator()(double Settings::* m) const {
        double x = 0;
        if (const auto* f = node.as_floating_point())
            x = f->get();
        else if (const auto* i = node.as_integer())
            x = static_cast<double>(i->get());
        else
            return expected("a number");
        if (auto problem = range_problem(key, x, fmt::format("{}", x)); !problem.empty())
            return problem;
        s.*m = x;
        return {};
    }

    std::string operator()(policy::Ordering Settings::* m) const {
        const auto* v = node.as_string();
        if (!v)
            return expected("a string");
        const auto ordering = parse_ordering(v->get());
        if (!ordering)
            return "expected \"deadline\" or \"vruntime\"";
        s.*m = *ordering;
        return {};
    }
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

// " (did you mean 'scheduler.slice_us'?)" for a misspelt or misplaced key, else "".
std::string suggestion(std::string_view unknown) {
    const std::string_view leaf = unknown.substr(unknown.find('.') + 1);
    const Key* best = nullptr;
    std::size_t best_distance = 3;  // suggest only close names
    for (const Key& key : keys()) {
        const std::size_t d = key.leaf() == leaf ? 0 : edit_distance(unknown, key.name);
        if (d < best_distance) {
            best = &key;
            best_distance = d;
        }
    }
    return best ? fmt::format(" (did you mean '{}'?)", best->name) : std::string{};
}

// A name from a file (an unknown key or section) as it may appear in a
// message: printable ASCII, anything else escaped, at most 64 bytes of it, so
// that it can neither break the message's line nor carry a file's text.
std::string shown(std::string_view name) {
    constexpr std::size_t kMaxShown = 64;
    std::string out;
    for (const char c : name.substr(0, kMaxShown)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '\\')
            out += c;
        else
            out += fmt::format("\\x{:02x}", byte);
    }
    return name.size() > kMaxShown ? out + "..." : out;
}

// The key assigned on line `line` (1-based) of `text`, if it is one of ours
// (as "section.key" or, leaves being unique, as its leaf).
const Key* key_on_line(std::string_view text, std::uint32_t line) {
    for (std::uint32_t n = 1; n < line && !text.empty(); ++n) {
        const auto eol = text.find('\n');
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    }
    text.remove_prefix(std::min(text.size(), text.find_first_not_of(" \t")));
    const auto bare = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    };
    const std::string_view name(text.begin(), std::find_if_not(text.begin(), text.end(), bare));
    if (const Key* key = find_key(name))
        return key;
    const auto all = keys();
    const auto it = std::find_if(all.begin(), all.end(), [&](const Key& k) { return k.leaf() == name; });
    return it == all.end() ? nullptr : &*it;
}

// A TOML syntax error, without the file's text: toml++'s descriptions quote
// what they saw ("saw 'tru'", "'x' could not be interpreted", key names), so
// only what it was parsing and what it expected are kept, with the key of that
// line when it is one of ours.
std::string syntax_problem(const fs::path& file, std::string_view text, const toml::parse_error& e) {
    constexpr std::string_view kPrefix = "Error while parsing ";
    std::string what = "invalid TOML";
    if (std::string_view d = e.description(); d.starts_with(kPrefix)) {
        d.remove_prefix(kPrefix.size());
        const auto colon = d.find(": ");
        const std::string_view scope = d.substr(0, colon);
        std::string_view reason = colon == std::string_view::npos ? std::string_view{} : d.substr(colon + 2);
        // "expected X, saw Y": X is toml++'s own text, Y the file's.
        reason = reason.substr(0, reason.find(", saw"));
        if (!reason.starts_with("expected "))
            reason = reason.substr(0, reason.find('\''));
        reason = reason.substr(0, reason.find_last_not_of(' ') + 1);
        what = fmt::format("invalid TOML ({}){}{}", shown(scope), reason.empty() ? "" : ": ", shown(reason));
    }
    const Key* key = key_on_line(text, e.source().begin.line);
    return fmt::format("{}: {}{}", at(file, e.source()), what,
                       key ? fmt::format(" (key '{}')", key->name) : std::string{});
}

bool is_section(std::string_view name) {
    const auto all = keys();
    return std::any_of(all.begin(), all.end(), [&](const Key& k) { return k.section() == name; });
}

// For `#` comments: a file name with a line break must not end the comment.
std::string one_line(std::string text) {
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, '?');
    return text;
}

enum class ReadStatus { Ok, Missing, Failed };

// Far above any real configuration; stops `--config /dev/zero` from eating memory.
constexpr std::size_t kMaxFileSize = 1 << 20;

std::string_view kind_of(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "a special file";
}

// A file to read: `name`, relative to the open directory `dir` (AT_FDCWD for
// a path), `path` in messages. Drop-ins must not be symbolic links: what
// config.d lists is then exactly what is applied, and its trusted owner alone
// decides that (a link could apply a file outside it that nobody meant as
// configuration, and report its text's errors to a Reload caller).
struct FileRef {
    int dir;
    fs::path name;
    fs::path path;
    bool dropin;
};

// What is checked is the file opened (fstat on its descriptor), not the path,
// so nothing can be swapped in between. O_NONBLOCK: opening a FIFO or a
// device must not block the control thread; it is refused before any read.
ReadStatus read_text(const FileRef& file, std::string& text, std::string& error) {
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (file.dropin ? O_NOFOLLOW : 0);
    const UniqueFd fd(::openat(file.dir, file.name.c_str(), flags));
    if (!fd) {
        if (errno == ENOENT)
            return ReadStatus::Missing;
        error = file.dropin && errno == ELOOP
                    ? "is a symbolic link; a drop-in must be a regular file (copy it here instead)"
                    : fmt::format("cannot open: {}", std::strerror(errno));
        return ReadStatus::Failed;
    }
    struct stat status{};
    if (::fstat(fd.get(), &status) != 0) {
        error = fmt::format("cannot stat: {}", std::strerror(errno));
        return ReadStatus::Failed;
    }
    if (!S_ISREG(status.st_mode)) {
        error = fmt::format("is {}, not a regular file", kind_of(status.st_mode));
        return ReadStatus::Failed;
    }
    if (error = ownership_problem(status, ::geteuid()); !error.empty())
        return ReadStatus::Failed;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0)
            return ReadStatus::Ok;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error = fmt::format("cannot read: {}", std::strerror(errno));
            return ReadStatus::Failed;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxFileSize) {
            error = fmt::format("cannot read: larger than {} bytes", kMaxFileSize);
            return ReadStatus::Failed;
        }
    }
}

// Problems of one file, reported in the order of their position in it (toml++
// iterates tables in key order).
class FileProblems {
public:
    explicit FileProblems(const fs::path& file) : file_(file) {}

    void add(const toml::source_region& where, std::string_view what) {
        found_.push_back({where.begin, fmt::format("{}: {}", at(file_, where), what)});
    }

    void move_to(std::vector<std::string>& problems) {
        std::stable_sort(found_.begin(), found_.end(), [](const Found& a, const Found& b) {
            return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
        });
        for (auto& f : found_)
            problems.push_back(std::move(f.text));
    }

private:
    struct Found {
        toml::source_position pos;
        std::string text;
    };
    const fs::path& file_;
    std::vector<Found> found_;
};

// Applies one parsed file on top of `out`, recording every problem.
void apply(Loaded& out, const fs::path& file, const toml::table& root, FileProblems& problems) {
    for (auto&& [section_key, section_node] : root) {
        const std::string section(section_key.str());
        if (!section_node.is_table()) {
            if (is_section(section)) {
                const auto type = type_name(section_node.type());
                problems.add(section_node.source(), fmt::format("{}: expected a table, got {}", section, type));
            } else {
                std::string hint = suggestion(section);
                if (hint.empty())
                    hint = " (keys belong in [scheduler], [logging] or [dbus])";
                problems.add(section_key.source(), fmt::format("unknown key '{}'{}", shown(section), hint));
            }
            continue;
        }
        if (!is_section(section)) {
            std::string hint;
            for (const Key& key : keys())
                if (hint.empty() && edit_distance(section, key.section()) <= 2)
                    hint = fmt::format(" (did you mean '[{}]'?)", key.section());
            problems.add(section_key.source(), fmt::format("unknown section '[{}]'{}", shown(section), hint));
            continue;
        }
        for (auto&& [key_name, node] : *section_node.as_table()) {
            const std::string name = section + "." + std::string(key_name.str());
            const Key* key = find_key(name);
            if (!key) {
                problems.add(key_name.source(), fmt::format("unknown key '{}'{}", shown(name), suggestion(name)));
                continue;
            }
            if (auto problem = std::visit(Assign{out.settings, *key, node}, key->field); !problem.empty()) {
                problems.add(node.source(), fmt::format("{}: {}", name, problem));
                continue;
            }
            out.origins[name] =
                Origin{Origin::Kind::File, file, key_name.source().begin.line, key_name.source().begin.column};
        }
    }
}

// The length of the well-formed non-ASCII UTF-8 character `text` starts
// with; 0 if it starts with anything else.
std::size_t non_ascii_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    std::size_t length = 0;
    unsigned char low = 0x80;  // bounds of the second byte (no overlong forms, no surrogates)
    unsigned char high = 0xBF;
    if (byte(0) >= 0xC2 && byte(0) <= 0xDF) {
        length = 2;
    } else if (byte(0) >= 0xE0 && byte(0) <= 0xEF) {
        length = 3;
        low = byte(0) == 0xE0 ? 0xA0 : low;
        high = byte(0) == 0xED ? 0x9F : high;
    } else if (byte(0) >= 0xF0 && byte(0) <= 0xF4) {
        length = 4;
        low = byte(0) == 0xF0 ? 0x90 : low;
        high = byte(0) == 0xF4 ? 0x8F : high;
    }
    if (length == 0 || text.size() < length || byte(1) < low || byte(1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF)
            return 0;
    return length;
}

// toml++ 3.3.0 (Debian 12's) reaches __builtin_unreachable() on some non-ASCII
// characters where whitespace may come (upstream issues #190 and #295; found
// by tests/fuzz), so it is given none: each well-formed non-ASCII character
// becomes '?', which TOML accepts exactly where it accepts those (comments,
// strings) and which keeps every line and column number. No value of ours
// can hold one. Malformed UTF-8 is left for toml++ to refuse.
std::string without_non_ascii(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t length = static_cast<unsigned char>(text[0]) < 0x80 ? 0 : non_ascii_length(text);
        out += length ? '?' : text[0];
        text.remove_prefix(length ? length : 1);
    }
    return out;
}

void parse_into(Loaded& out, const fs::path& file, std::string_view original, std::vector<std::string>& problems) {
    const std::string text = without_non_ascii(original);
    toml::table root;
    try {
        root = toml::parse(text, file.string());
    } catch (const toml::parse_error& e) {
        problems.push_back(syntax_problem(file, text, e));
        return;
    }
    out.files.push_back(file);
    FileProblems found(file);
    apply(out, file, root, found);
    found.move_to(problems);
}

void load_file(Loaded& out, const FileRef& file, bool required, std::vector<std::string>& problems) {
    std::string text;
    std::string error;
    switch (read_text(file, text, error)) {
    case ReadStatus::Missing:
        if (required)
            problems.push_back(fmt::format("{}: no such file", file.path.string()));
        return;
    case ReadStatus::Failed: problems.push_back(fmt::format("{}: {}", file.path.string(), error)); return;
    case ReadStatus::Ok: break;
    }
    parse_into(out, file.path, text, problems);
}

struct Dropins {
    UniqueFd dir;                    // the drop-ins are opened relative to it
    std::vector<std::string> names;  // of the *.toml entries, sorted
};

// The *.toml entries of `dir`, if it is trusted (checked on the directory
// opened, like the files).
Dropins dropins(const fs::path& dir, std::vector<std::string>& problems) {
    Dropins out;
    out.dir = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!out.dir) {
        if (errno != ENOENT)
            problems.push_back(fmt::format("{}: cannot list: {}", dir.string(), std::strerror(errno)));
        return out;
    }
    struct stat status{};
    if (::fstat(out.dir.get(), &status) != 0) {
        problems.push_back(fmt::format("{}: cannot stat: {}", dir.string(), std::strerror(errno)));
        return out;
    }
    if (auto problem = ownership_problem(status, ::geteuid()); !problem.empty()) {
        problems.push_back(fmt::format("{}: {}", dir.string(), problem));
        return out;
    }
    // The listing owns a copy of the descriptor; the original stays for openat().
    const int copy = ::fcntl(out.dir.get(), F_DUPFD_CLOEXEC, 0);
    std::unique_ptr<DIR, int (*)(DIR*)> listing(copy < 0 ? nullptr : ::fdopendir(copy), &::closedir);
    if (!listing) {
        const int error = errno;
        if (copy >= 0)
            ::close(copy);
        problems.push_back(fmt::format("{}: cannot list: {}", dir.string(), std::strerror(error)));
        return out;
    }
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(listing.get());
        if (!entry)
            break;
        if (fs::path(entry->d_name).extension() == ".toml")
            out.names.emplace_back(entry->d_name);
    }
    if (errno != 0)
        problems.push_back(fmt::format("{}: cannot list: {}", dir.string(), std::strerror(errno)));
    std::sort(out.names.begin(), out.names.end());
    return out;
}

}  // namespace

std::string Origin::str() const {
    switch (kind) {
    case Kind::Default: return "built-in default";
    case Kind::CommandLine: return "command line";
    case Kind::File: return fmt::format("{}:{}:{}", file.string(), line, column);
    }
    return "unknown";
}

Error::Error(std::vector<std::string> problems) : std::runtime_error(join(problems)), problems_(std::move(problems)) {}

Loaded defaults() {
    Loaded out;
    for (const Key& key : keys())
        out.origins[std::string(key.name)] = Origin{};
    return out;
}

void validate(const Loaded& loaded) {
    const Settings& s = loaded.settings;
    const auto origin = [&](std::string_view name) {
        const auto it = loaded.origins.find(std::string(name));
        return it == loaded.origins.end() ? Origin{} : it->second;
    };
    std::vector<std::string> problems;
    for (const Key& key : keys()) {
        const auto value = numeric_value(s, key);
        if (!value)
            continue;
        if (auto problem = range_problem(key, *value, to_toml(s, key)); !problem.empty())
            problems.push_back(fmt::format("{}: {}: {}", origin(key.name).str(), key.name, problem));
    }
    // Across keys, once each value is in range (else the range problem says it all).
    // The line leads with the key that was set: a slice set below the default
    // floor is the slice's line to fix, and a default names no file.
    const Origin min_from = origin("scheduler.slice_us_min");
    const Origin slice_from = origin("scheduler.slice_us");
    if (problems.empty() && s.slice_us_min > s.slice_us) {
        if (min_from.kind == Origin::Kind::Default && slice_from.kind != Origin::Kind::Default)
            problems.push_back(
                fmt::format("{}: scheduler.slice_us = {} must not be below scheduler.slice_us_min = {} (from {})",
                            slice_from.str(), s.slice_us, s.slice_us_min, min_from.str()));
        else
            problems.push_back(
                fmt::format("{}: scheduler.slice_us_min = {} must not exceed scheduler.slice_us = {} (from {})",
                            min_from.str(), s.slice_us_min, s.slice_us, slice_from.str()));
    }
    if (!problems.empty())
        throw Error(std::move(problems));
}

Loaded load(const fs::path& main_file, bool main_required, const fs::path& dropin_dir) {
    Loaded out = defaults();
    std::vector<std::string> problems;
    if (!main_file.empty())
        load_file(out, FileRef{AT_FDCWD, main_file, main_file, false}, main_required, problems);
    else if (main_required)
        problems.emplace_back("no configuration file given");
    if (!dropin_dir.empty()) {
        const Dropins found = dropins(dropin_dir, problems);
        for (const auto& name : found.names)
            load_file(out, FileRef{found.dir.get(), name, dropin_dir / name, true}, true, problems);
    }
    if (!problems.empty())
        throw Error(std::move(problems));
    validate(out);
    return out;
}

Loaded parse(std::string_view text, const fs::path& name) {
    Loaded out = defaults();
    std::vector<std::string> problems;
    parse_into(out, name, text, problems);
    if (!problems.empty())
        throw Error(std::move(problems));
    validate(out);
    return out;
}

std::string ownership_problem(const struct stat& status, uid_t reader) {
    if (status.st_uid != 0 && status.st_uid != reader)
        return fmt::format("owned by uid {}, not by root", status.st_uid);
    const bool by_group = status.st_mode & S_IWGRP;
    const bool by_others = status.st_mode & S_IWOTH;
    if (!by_group && !by_others)
        return {};
    return fmt::format("writable by {} (mode {:04o}); only its owner may write it",
                       by_group && by_others ? "its group and others"
                       : by_group            ? "its group"
                                             : "others",
                       status.st_mode & 07777);
}

void overlay(Loaded& loaded, const Settings& cli, const std::set<std::string>& given) {
    Loaded next = loaded;
    for (const auto& name : given) {
        const Key* key = find_key(name);
        if (!key)
            throw Error({fmt::format("command line: unknown key '{}'", name)});
        std::visit([&](auto member) { next.settings.*member = cli.*member; }, key->field);
        next.origins[name] = Origin{Origin::Kind::CommandLine, {}, 0, 0};
    }
    validate(next);
    loaded = std::move(next);
}

std::string describe(const Loaded& loaded) {
    std::string out = "# scx-rustland: effective configuration, each value followed by where it came from.\n";
    if (loaded.files.empty()) {
        out += "# No configuration file was read.\n";
    } else {
        out += "# Files read, in order:\n";
        for (const auto& file : loaded.files)
            out += fmt::format("#   {}\n", one_line(file.string()));
    }
    std::size_t width = 0;
    for (const Key& key : keys())
        width = std::max(width, key.leaf().size() + 3 + to_toml(loaded.settings, key).size());
    std::string_view section;
    for (const Key& key : keys()) {
        if (key.section() != section) {
            section = key.section();
            out += fmt::format("\n[{}]\n", section);
        }
        const auto it = loaded.origins.find(std::string(key.name));
        const std::string origin = one_line(it == loaded.origins.end() ? Origin{}.str() : it->second.str());
        const std::string assignment = fmt::format("{} = {}", key.leaf(), to_toml(loaded.settings, key));
        out += fmt::format("{:<{}}  # from {}\n", assignment, width, origin);
    }
    return out;
}

}  // namespace rustland::config
