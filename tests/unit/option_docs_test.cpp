// The manuals, the packaged config.toml and the shell completions describe
// the options of the key table (config/settings.cpp): exactly its keys and
// flags, with its ranges and Settings{}'s defaults. A key added to the table
// and not to them, or removed from them, fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/settings.h"

namespace rustland::config {
namespace {

namespace fs = std::filesystem;

// From the build system, not __FILE__ (distribution builds remap source paths).
const fs::path kSourceDir(RUSTLAND_SOURCE_DIR);

// The options that are not keys, as the man page spells them.
const std::multiset<std::string> kOptionsOutsideTheTable{"--config PATH", "--check-config", "-V, --version",
                                                         "-h, --help"};

std::string read(const fs::path& relative) {
    std::ifstream in(kSourceDir / relative);
    EXPECT_TRUE(in.good()) << relative;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The manuals and comments wrap anywhere: compare texts with every run of
// blanks as one space.
std::string unwrapped(const std::string& text) { return std::regex_replace(text, std::regex(R"(\s+)"), " "); }

bool has_option(const Key& key) { return !key.flags.empty(); }

// "-s" for "-s,--slice-us": the name the manuals cite the option by.
std::string first_flag(const Key& key) { return std::string(key.flags.substr(0, key.flags.find(','))); }

// As the man page writes the option, markup aside: "-s, --slice-us N".
std::string spelled(const Key& key) {
    std::string text = std::regex_replace(std::string(key.flags), std::regex(","), ", ");
    if (!key.value_name.empty())
        text += " " + std::string(key.value_name);
    return text;
}

std::multiset<std::string> table_keys() {
    std::multiset<std::string> names;
    for (const Key& key : keys())
        names.emplace(key.name);
    return names;
}

// Every option as the man page spells it: the table's, then the others.
std::multiset<std::string> every_option() {
    std::multiset<std::string> options = kOptionsOutsideTheTable;
    for (const Key& key : keys())
        if (has_option(key))
            options.insert(spelled(key));
    return options;
}

// What is documented, by name ("section.key" or a spelled option), with its text unwrapped.
using Documented = std::multimap<std::string, std::string>;

std::multiset<std::string> names_of(const Documented& documented) {
    std::multiset<std::string> names;
    for (const auto& [name, text] : documented)
        names.insert(name);
    return names;
}

// The text documenting `name`, "" if there is none (the listing tests report that).
std::string text_of(const Documented& documented, const std::string& name) {
    const auto it = documented.find(name);
    return it == documented.end() ? std::string() : it->second;
}

// One entry of an scdoc page: a line of markup at the start of a line, then
// its description, indented by tabs, up to the first line that is not.
struct ScdEntry {
    std::string heading;  // the "# ..." heading the entry is under
    std::string header;   // "*-s, --slice-us* _N_"
    std::string body;     // unwrapped
};

std::vector<ScdEntry> scd_entries(const std::string& page) {
    std::vector<ScdEntry> entries;
    std::string heading;
    bool in_entry = false;
    for (const std::string& line : lines_of(page)) {
        const bool starts = line.starts_with("*");
        const bool continues = in_entry && line.starts_with("\t");
        if (line.starts_with("# "))
            heading = line;
        else if (starts)
            entries.push_back({heading, line, ""});
        else if (continues)
            entries.back().body += line + "\n";
        in_entry = starts || continues;
    }
    for (ScdEntry& entry : entries)
        entry.body = unwrapped(entry.body);
    return entries;
}

// scx-rustland(8)'s OPTIONS, by spelling without markup: "--ordering deadline|vruntime".
Documented man_options() {
    Documented options;
    for (const ScdEntry& entry : scd_entries(read("man/scx-rustland.8.scd")))
        if (entry.heading == "# OPTIONS" && entry.header.starts_with("*-"))
            options.emplace(std::regex_replace(entry.header, std::regex("[*_]"), ""), entry.body);
    return options;
}

// scx-rustland.toml(5)'s "*leaf* = _type_" entries under "# [section] SECTION", by "section.leaf".
Documented man_keys() {
    Documented documented;
    const std::regex section(R"(# \[([a-z]+)\] SECTION)");
    const std::regex key(R"(\*([a-z_]+)\* = _[a-z]+_)");
    std::smatch in_section, is_key;
    for (const ScdEntry& entry : scd_entries(read("man/scx-rustland.toml.5.scd")))
        if (std::regex_match(entry.heading, in_section, section) && std::regex_match(entry.header, is_key, key))
            documented.emplace(in_section.str(1) + "." + is_key.str(1), entry.body);
    return documented;
}

// A "#leaf = value" line of the packaged config.toml and the comment above it.
struct Commented {
    std::string value;
    std::string comment;  // unwrapped, without the '#'s
};

std::multimap<std::string, Commented> packaged_keys() {
    std::multimap<std::string, Commented> commented;
    const std::regex section(R"(\[([a-z]+)\])");
    const std::regex key(R"(#([a-z_]+) = (.*))");
    std::string current_section, comment;
    std::smatch match;
    for (const std::string& line : lines_of(read("etc/scx-rustland/config.toml"))) {
        if (std::regex_match(line, match, section)) {
            current_section = match.str(1);
            comment.clear();
        } else if (std::regex_match(line, match, key)) {
            commented.emplace(current_section + "." + match.str(1), Commented{match.str(2), unwrapped(comment)});
            comment.clear();
        } else if (line.starts_with("#")) {
            comment += line.substr(1) + "\n";
        } else {
            comment.clear();  // a blank line ends a comment
        }
    }
    return commented;
}

Documented packaged_comments() {
    Documented comments;
    for (const auto& [name, commented] : packaged_keys())
        comments.emplace(name, commented.comment);
    return comments;
}

// Where `text` documents `key`, it says whether a change applies live.
void expect_reload_kind(const Key& key, const std::string& text) {
    const std::string says = key.live ? "Live." : "Reattach.";
    const std::string denies = key.live ? "Reattach." : "Live.";
    EXPECT_NE(text.find(says), std::string::npos) << key.name << " should say " << says;
    EXPECT_EQ(text.find(denies), std::string::npos) << key.name << " should not say " << denies;
}

void expect_range(const Key& key, const std::string& text) {
    if (key.max > key.min) {  // numeric
        EXPECT_NE(text.find(key.range()), std::string::npos) << key.name << " should give " << key.range();
    }
}

// What `documented` says of `key`, checked to give its range and whether a change applies live.
std::string checked_text(const Documented& documented, const Key& key) {
    const std::string text = text_of(documented, std::string(key.name));
    expect_range(key, text);
    expect_reload_kind(key, text);
    return text;
}

TEST(OptionDocs, PackagedConfigListsEveryKeyOnce) { EXPECT_EQ(names_of(packaged_comments()), table_keys()); }

TEST(OptionDocs, PackagedConfigCommentsOutTheBuiltInDefaults) {
    const auto packaged = packaged_keys();
    for (const Key& key : keys()) {
        const auto it = packaged.find(std::string(key.name));
        ASSERT_NE(it, packaged.end()) << key.name;
        EXPECT_EQ(it->second.value, to_toml(Settings{}, key)) << key.name;
    }
}

TEST(OptionDocs, PackagedConfigCommentsGiveRangeOptionAndReloadKind) {
    const Documented comments = packaged_comments();
    for (const Key& key : keys()) {
        const std::string comment = checked_text(comments, key);
        if (has_option(key)) {
            EXPECT_NE(comment.find("(" + first_flag(key) + ")"), std::string::npos) << key.name;
        }
    }
}

TEST(OptionDocs, TomlManPageListsEveryKeyOnce) { EXPECT_EQ(names_of(man_keys()), table_keys()); }

TEST(OptionDocs, TomlManPageGivesRangeDefaultOptionAndReloadKind) {
    const Documented documented = man_keys();
    for (const Key& key : keys()) {
        const std::string text = checked_text(documented, key);
        EXPECT_NE(text.find("Default " + to_toml(Settings{}, key) + "."), std::string::npos) << key.name;
        const std::string option = has_option(key) ? "Option *" + first_flag(key) + "*" : "Option *";
        EXPECT_EQ(text.find(option) != std::string::npos, has_option(key)) << key.name;
    }
}

TEST(OptionDocs, ManPageListsEveryOptionOnceWithItsValueName) { EXPECT_EQ(names_of(man_options()), every_option()); }

TEST(OptionDocs, ManPageGivesEveryOptionsRange) {
    const Documented options = man_options();
    for (const Key& key : keys())
        if (has_option(key))
            expect_range(key, text_of(options, spelled(key)));
}

// Same name as upstream scx_rustland's option, another meaning: every
// description of it says so.
TEST(OptionDocs, BuiltinIdleSaysWhereItDiffersFromUpstream) {
    const Key& key = *find_key("scheduler.builtin_idle");
    for (const std::string& text :
         {std::string(key.help), text_of(man_options(), spelled(key)), text_of(man_keys(), std::string(key.name)),
          text_of(packaged_comments(), std::string(key.name))})
        EXPECT_NE(text.find("upstream scx_rustland"), std::string::npos) << text;
}

std::set<std::string> matches(const std::string& text, const std::string& pattern) {
    std::set<std::string> found;
    const std::regex regex(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), regex); it != std::sregex_iterator(); ++it)
        found.insert(it->str(1));
    return found;
}

// The long names of the options, of those spelled with a value if `with_value_only`.
std::set<std::string> long_names(bool with_value_only) {
    std::string options;
    for (const std::string& option : every_option())
        if (!with_value_only || std::regex_search(option, std::regex("--[a-z-]+ ")))
            options += option + "\n";
    return matches(options, "(--[a-z][a-z-]*)");
}

TEST(OptionDocs, BashCompletesEveryOption) {
    EXPECT_EQ(matches(read("completions/bash/scx-rustland"), "(--[a-z][a-z-]*)"), long_names(false));
}

// After an option that takes a value, or ends the command line, bash offers no option.
TEST(OptionDocs, BashKnowsWhichOptionsTakeAValue) {
    std::string case_patterns;
    for (const std::string& line : lines_of(read("completions/bash/scx-rustland")))
        if (std::regex_match(line, std::regex(R"(\s*-[^)]*\))")))
            case_patterns += line + "\n";
    std::set<std::string> expected = long_names(true);
    expected.insert({"--help", "--version"});
    EXPECT_EQ(matches(case_patterns, "(--[a-z][a-z-]*)"), expected);
}

// zsh writes "{-s+,--slice-us=}" or "'--ordering=[": a trailing '=' takes a value.
TEST(OptionDocs, ZshCompletesEveryOptionAndItsValue) {
    const std::string script = read("completions/zsh/_scx-rustland");
    std::set<std::string> found;
    for (const std::string& pair : matches(script, R"(\{(-[A-Za-z]\+?,--[a-z-]+=?)\})"))
        found.insert(std::regex_replace(pair, std::regex(R"(\+?,)"), ", "));
    const std::set<std::string> long_only = matches(script, R"('(--[a-z-]+=?)\[)");
    found.insert(long_only.begin(), long_only.end());

    std::set<std::string> expected;
    for (const std::string& option : every_option())
        expected.insert(std::regex_replace(option, std::regex("(--[a-z-]+) .+"), "$1="));
    EXPECT_EQ(found, expected);
}

}  // namespace
}  // namespace rustland::config
