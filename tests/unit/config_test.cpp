#include "config/config.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace rustland::config {
namespace {

namespace fs = std::filesystem;

// The packaged default file, in the source tree.
// From the build system, not __FILE__: distribution builds remap source paths
// (-ffile-prefix-map), which makes __FILE__ relative.
const fs::path kPackagedFile = fs::path(RUSTLAND_SOURCE_DIR) / "etc/scx-rustland/config.toml";

// The spec of every numeric key (the command line's ranges where there is an option), written out here
// independently of the key table so that a wrong table entry fails.
struct NumericSpec {
    const char* name;
    double min;
    double max;
};
// clang-format off
const NumericSpec kNumeric[] = {
    {"scheduler.slice_us", 100, 1'000'000},
    {"scheduler.slice_us_min", 10, 1'000'000},
    {"scheduler.slice_boost", 0, 10'000},
    {"scheduler.exit_dump_len", 0, 1 << 24},
    {"scheduler.max_tasks", 1024, 1 << 22},
    {"logging.stats_interval", 0.1, 3600},
    {"dbus.max_holds_per_user", 1, 4096},
    {"dbus.hold_rate_burst", 1, 10'000},
    {"dbus.hold_rate_per_second", 0.01, 1000},
    {"dbus.call_burst", 1, 100'000},
    {"dbus.call_rate_per_second", 0.01, 100'000},
    {"dbus.max_pending_authorizations_per_user", 1, 64},
};
// clang-format on
const std::set<std::string> kLiveKeys{
    "scheduler.slice_us",      "scheduler.slice_us_min",    "scheduler.slice_boost",
    "scheduler.builtin_idle",  "scheduler.no_preemption",   "scheduler.ordering",
    "logging.verbose",         "logging.stats_interval",    "dbus.enabled",
    "dbus.max_holds_per_user", "dbus.hold_rate_burst",      "dbus.hold_rate_per_second",
    "dbus.call_burst",         "dbus.call_rate_per_second", "dbus.max_pending_authorizations_per_user"};
const std::set<std::string> kReattachKeys{"scheduler.full_user", "scheduler.partial", "scheduler.exit_dump_len",
                                          "scheduler.max_tasks", "logging.debug"};

class Config : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "config_test.XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        main_ = dir_ / "config.toml";
        dropins_ = dir_ / "config.d";
        fs::create_directory(dropins_);
        fs::permissions(dropins_, fs::perms(0755));  // whatever the umask
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // 0644 whatever the umask: writable by its owner only, as the loader requires.
    fs::path write(const fs::path& file, const std::string& text) {
        std::ofstream(file) << text;
        fs::permissions(file, fs::perms(0644));
        return file;
    }
    fs::path dropin(const std::string& name, const std::string& text) { return write(dropins_ / name, text); }

    Loaded load_all() { return load(main_, false, dropins_); }

    // The message of the Error that `fn` throws; a test failure if it throws none.
    static std::string error_of(const std::function<void()>& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return e.what();
        }
        ADD_FAILURE() << "no config::Error thrown";
        return {};
    }
    std::string load_error() {
        return error_of([&] { load_all(); });
    }

    fs::path dir_, main_, dropins_;
};

Origin file_origin(const fs::path& file, std::uint32_t line, std::uint32_t column) {
    return Origin{Origin::Kind::File, file, line, column};
}

// Changes one key's value to something different (not necessarily valid).
void change(Settings& s, const Key& key) {
    struct Change {
        Settings& s;
        void operator()(std::uint64_t Settings::* m) const { s.*m += 1; }
        void operator()(std::uint32_t Settings::* m) const { s.*m += 1; }
        void operator()(bool Settings::* m) const { s.*m = !(s.*m); }
        void operator()(double Settings::* m) const { s.*m += 1.5; }
        void operator()(policy::Ordering Settings::* m) const {
            s.*m = s.*m == policy::Ordering::Deadline ? policy::Ordering::Vruntime : policy::Ordering::Deadline;
        }
    };
    std::visit(Change{s}, key.field);
}

TEST(ConfigKeys, EveryOptionHasOneKeyInAKnownSection) {
    std::set<std::string> names;
    for (const Key& key : keys()) {
        EXPECT_TRUE(key.section() == "scheduler" || key.section() == "logging" || key.section() == "dbus") << key.name;
        EXPECT_TRUE(names.insert(std::string(key.name)).second) << "duplicate " << key.name;
        EXPECT_EQ(find_key(key.name), &key);
        EXPECT_EQ(std::string(key.section()) + "." + std::string(key.leaf()), key.name);
    }
    EXPECT_EQ(names.size(), 20u);
    std::set<std::string> all = kLiveKeys;
    all.insert(kReattachKeys.begin(), kReattachKeys.end());
    EXPECT_EQ(names, all);
    EXPECT_EQ(find_key("scheduler.slise_us"), nullptr);
    EXPECT_EQ(find_key("slice_us"), nullptr);
}

TEST(ConfigKeys, NumericRangesMatchTheCommandLine) {
    std::set<std::string> numeric;
    for (const Key& key : keys())
        if (!std::holds_alternative<bool Settings::*>(key.field) &&
            !std::holds_alternative<policy::Ordering Settings::*>(key.field))
            numeric.insert(std::string(key.name));
    std::set<std::string> spec;
    for (const auto& n : kNumeric) {
        spec.insert(n.name);
        const Key* key = find_key(n.name);
        ASSERT_NE(key, nullptr) << n.name;
        EXPECT_DOUBLE_EQ(key->min, n.min) << n.name;
        EXPECT_DOUBLE_EQ(key->max, n.max) << n.name;
    }
    EXPECT_EQ(numeric, spec);
}

// As errors, --help and the manuals write it: integers in full, floats as short as they read back.
TEST(ConfigKeys, RangeIsWrittenAsMinDotDotMax) {
    EXPECT_EQ(find_key("scheduler.slice_us")->range(), "100..1000000");
    EXPECT_EQ(find_key("scheduler.exit_dump_len")->range(), "0..16777216");
    EXPECT_EQ(find_key("logging.stats_interval")->range(), "0.1..3600");
    EXPECT_EQ(find_key("dbus.call_rate_per_second")->range(), "0.01..100000");
}

TEST(ConfigSettings, DefaultsAreTheCommandLineDefaults) {
    const Settings s;
    EXPECT_EQ(s.slice_us, 5000u);
    EXPECT_EQ(s.slice_us_min, 500u);
    EXPECT_EQ(s.slice_boost, 100u);
    EXPECT_FALSE(s.builtin_idle);
    EXPECT_FALSE(s.no_preemption);
    EXPECT_FALSE(s.full_user);
    EXPECT_FALSE(s.partial);
    EXPECT_EQ(s.ordering, policy::Ordering::Deadline);
    EXPECT_EQ(s.exit_dump_len, 0u);
    EXPECT_EQ(s.max_tasks, 16384u);
    EXPECT_FALSE(s.verbose);
    EXPECT_FALSE(s.debug);
    EXPECT_EQ(s.stats_interval_s, 0.0);
    EXPECT_TRUE(s.dbus_enabled);
    EXPECT_EQ(s.max_holds_per_user, 32u);
    EXPECT_EQ(s.hold_rate_burst, 20u);
    EXPECT_EQ(s.hold_rate_per_second, 2.0);
    EXPECT_EQ(s.call_burst, 200u);
    EXPECT_EQ(s.call_rate_per_second, 100.0);
    EXPECT_EQ(s.max_pending_authorizations_per_user, 2u);

    const auto p = s.policy_settings();
    const policy::Settings policy_defaults;
    EXPECT_EQ(p.slice_ns, policy_defaults.slice_ns);
    EXPECT_EQ(p.slice_min_ns, policy_defaults.slice_min_ns);
    EXPECT_EQ(p.slice_boost, policy_defaults.slice_boost);
    EXPECT_EQ(p.per_cpu_dispatch, policy_defaults.per_cpu_dispatch);
    EXPECT_EQ(p.preemption, policy_defaults.preemption);
    EXPECT_EQ(p.ordering, policy_defaults.ordering);
}

TEST(ConfigSettings, PolicySettingsMapEveryPolicyKey) {
    Settings s;
    s.slice_us = 8000;
    s.slice_us_min = 200;
    s.slice_boost = 50;
    s.builtin_idle = true;
    s.no_preemption = true;
    s.ordering = policy::Ordering::Vruntime;
    const auto p = s.policy_settings();
    EXPECT_EQ(p.slice_ns, 8'000'000u);
    EXPECT_EQ(p.slice_min_ns, 200'000u);
    EXPECT_EQ(p.slice_boost, 50u);
    EXPECT_TRUE(p.per_cpu_dispatch);
    EXPECT_FALSE(p.preemption);
    EXPECT_EQ(p.ordering, policy::Ordering::Vruntime);
}

TEST(ConfigSettings, CompareSaysNothingChanged) {
    const auto d = compare(Settings{}, Settings{});
    EXPECT_EQ(d.change, Change::None);
    EXPECT_TRUE(d.live.empty());
    EXPECT_TRUE(d.reattach.empty());
}

TEST(ConfigSettings, CompareClassifiesEveryKey) {
    for (const Key& key : keys()) {
        Settings after;
        change(after, key);
        const auto d = compare(Settings{}, after);
        const std::vector<std::string> just_this{std::string(key.name)};
        if (kLiveKeys.count(std::string(key.name))) {
            EXPECT_EQ(d.change, Change::Live) << key.name;
            EXPECT_EQ(d.live, just_this);
            EXPECT_TRUE(d.reattach.empty()) << key.name;
        } else {
            ASSERT_TRUE(kReattachKeys.count(std::string(key.name))) << key.name;
            EXPECT_EQ(d.change, Change::Reattach) << key.name;
            EXPECT_EQ(d.reattach, just_this);
            EXPECT_TRUE(d.live.empty()) << key.name;
        }
    }
}

TEST(ConfigSettings, CompareReattachWinsAndListsBoth) {
    Settings after;
    after.slice_us = 8000;
    after.stats_interval_s = 2;
    after.partial = true;
    after.max_tasks = 2048;
    const auto d = compare(Settings{}, after);
    EXPECT_EQ(d.change, Change::Reattach);
    EXPECT_EQ(d.live, (std::vector<std::string>{"scheduler.slice_us", "logging.stats_interval"}));
    EXPECT_EQ(d.reattach, (std::vector<std::string>{"scheduler.partial", "scheduler.max_tasks"}));
}

TEST(ConfigSettings, ToTomlWritesTomlLiterals) {
    Settings s;
    s.stats_interval_s = 2;
    EXPECT_EQ(to_toml(s, *find_key("scheduler.slice_us")), "5000");
    EXPECT_EQ(to_toml(s, *find_key("scheduler.partial")), "false");
    EXPECT_EQ(to_toml(s, *find_key("scheduler.ordering")), "\"deadline\"");
    EXPECT_EQ(to_toml(s, *find_key("logging.stats_interval")), "2.0");
    s.stats_interval_s = 0.25;
    EXPECT_EQ(to_toml(s, *find_key("logging.stats_interval")), "0.25");
}

TEST_F(Config, BuiltInDefaults) {
    const Loaded l = defaults();
    EXPECT_EQ(l.settings, Settings{});
    EXPECT_TRUE(l.files.empty());
    ASSERT_EQ(l.origins.size(), keys().size());
    for (const Key& key : keys()) {
        ASSERT_TRUE(l.origins.count(std::string(key.name))) << key.name;
        EXPECT_EQ(l.origins.at(std::string(key.name)).kind, Origin::Kind::Default);
    }
    EXPECT_EQ(Origin{}.str(), "built-in default");
}

TEST_F(Config, PackagedFileYieldsTheDefaults) {
    ASSERT_TRUE(fs::exists(kPackagedFile)) << kPackagedFile;
    // A copy: the checkout's owner and mode need not be those of the installed file.
    std::ifstream in(kPackagedFile);
    std::stringstream text;
    text << in.rdbuf();
    write(main_, text.str());
    const Loaded l = load(main_, true, {});
    EXPECT_EQ(l.settings, Settings{});
    EXPECT_EQ(l.files, std::vector<fs::path>{main_});
}

// Uncommenting every "#key = value" line of the packaged file must set every
// key, each to its built-in default.
TEST_F(Config, PackagedFileListsEveryKeyWithItsDefault) {
    std::ifstream in(kPackagedFile);
    std::stringstream text;
    text << in.rdbuf();
    const std::regex commented("^#([a-z_]+ = .*)$", std::regex::multiline);
    const std::string uncommented = std::regex_replace(text.str(), commented, "$1");
    ASSERT_NE(uncommented, text.str());
    write(main_, uncommented);

    const Loaded l = load(main_, true, {});
    EXPECT_EQ(l.settings, Settings{});
    for (const Key& key : keys())
        EXPECT_EQ(l.origins.at(std::string(key.name)).kind, Origin::Kind::File) << key.name << " is missing";
}

TEST_F(Config, MainFileThenDropinsInLexicalOrder) {
    write(main_, "[scheduler]\nslice_us = 6000\nslice_boost = 50\n");
    // Created out of order, so that directory order cannot pass for lexical order.
    const auto b = dropin("20-b.toml", "[scheduler]\nslice_us = 7000\n");
    const auto c = dropin("9-c.toml", "[logging]\n  stats_interval = 2\n");
    const auto a = dropin("10-a.toml", "[scheduler]\nslice_us = 8000\n[logging]\nverbose = true\n");

    const Loaded l = load_all();
    EXPECT_EQ(l.files, (std::vector<fs::path>{main_, a, b, c}));
    EXPECT_EQ(l.settings.slice_us, 7000u);
    EXPECT_EQ(l.settings.slice_boost, 50u);
    EXPECT_TRUE(l.settings.verbose);
    EXPECT_EQ(l.settings.stats_interval_s, 2.0);
    EXPECT_EQ(l.settings.slice_us_min, 500u);
    EXPECT_EQ(l.origins.at("scheduler.slice_us"), file_origin(b, 2, 1));
    EXPECT_EQ(l.origins.at("scheduler.slice_boost"), file_origin(main_, 3, 1));
    EXPECT_EQ(l.origins.at("logging.verbose"), file_origin(a, 4, 1));
    EXPECT_EQ(l.origins.at("logging.stats_interval"), file_origin(c, 2, 3));
    EXPECT_EQ(l.origins.at("scheduler.slice_us_min").kind, Origin::Kind::Default);
    EXPECT_EQ(l.origins.at("scheduler.slice_us").str(), b.string() + ":2:1");
}

TEST_F(Config, DottedKeysAndInlineTablesWork) {
    write(main_, "scheduler.slice_us = 6000\nlogging = { verbose = true, stats_interval = 0.5 }\n");
    const Loaded l = load_all();
    EXPECT_EQ(l.settings.slice_us, 6000u);
    EXPECT_TRUE(l.settings.verbose);
    EXPECT_EQ(l.settings.stats_interval_s, 0.5);
}

TEST_F(Config, OnlyTomlFilesOfConfigDAreRead) {
    const auto good = dropin("10-good.toml", "[scheduler]\nslice_boost = 7\n");
    dropin("20-bad.toml.bak", "[scheduler]\nslice_boost = 8\n");
    dropin("30-bad.conf", "not toml at all [[[\n");
    dropin("README", "bogus = 1\n");
    dropin("toml", "bogus = 1\n");
    fs::create_symlink(good, dropins_ / "40-link.conf");

    const Loaded l = load_all();
    EXPECT_EQ(l.settings.slice_boost, 7u);
    EXPECT_EQ(l.files, std::vector<fs::path>{good});
}

TEST_F(Config, SymbolicLinkInConfigDIsRefused) {
    dropin("10-good.toml", "[scheduler]\nslice_boost = 7\n");
    const auto target = write(dir_ / "elsewhere.toml", "[scheduler]\npartial = true\n");
    fs::create_symlink(target, dropins_ / "60-link.toml");
    fs::create_symlink(dir_ / "nowhere.toml", dropins_ / "70-dangling.toml");
    try {
        load_all();
        FAIL() << "a linked drop-in was applied";
    } catch (const Error& e) {
        const std::string refused = ": is a symbolic link; a drop-in must be a regular file (copy it here instead)";
        EXPECT_EQ(e.problems(), (std::vector<std::string>{(dropins_ / "60-link.toml").string() + refused,
                                                          (dropins_ / "70-dangling.toml").string() + refused}));
    }
}

TEST_F(Config, DropinThatIsNotARegularFileIsAnError) {
    fs::create_directories(dropins_ / "40-dir.toml");
    write(dropins_ / "40-dir.toml" / "50-nested.toml", "[scheduler]\nslice_boost = 9\n");
    ASSERT_EQ(mkfifo((dropins_ / "50-fifo.toml").c_str(), 0644), 0);
    try {
        load_all();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.problems(), (std::vector<std::string>{
                                    (dropins_ / "40-dir.toml").string() + ": is a directory, not a regular file",
                                    (dropins_ / "50-fifo.toml").string() + ": is a FIFO, not a regular file"}));
    }
}

// Opening a FIFO for reading waits for a writer: the control thread would hang
// in a reload. The load must answer at once; the timeout only bounds a failure
// (the writer opened then lets a blocked load return).
TEST_F(Config, FifoAsMainFileIsRefusedWithoutBlocking) {
    ASSERT_EQ(mkfifo(main_.c_str(), 0644), 0);
    auto message = std::async(std::launch::async, [&] { return load_error(); });
    if (message.wait_for(std::chrono::seconds(30)) == std::future_status::timeout) {
        ADD_FAILURE() << "load() blocked on a FIFO";
        ::close(::open(main_.c_str(), O_WRONLY));
    }
    EXPECT_EQ(message.get(), main_.string() + ": is a FIFO, not a regular file");
}

TEST_F(Config, FileOrDropinDirWritableByOthersIsRefused) {
    write(main_, "[scheduler]\nslice_us = 6000\n");
    fs::permissions(main_, fs::perms(0664));
    EXPECT_EQ(load_error(), main_.string() + ": writable by its group (mode 0664); only its owner may write it");
    fs::permissions(main_, fs::perms(0646));
    EXPECT_EQ(load_error(), main_.string() + ": writable by others (mode 0646); only its owner may write it");
    fs::permissions(main_, fs::perms(0644));

    const auto d = dropin("10.toml", "[scheduler]\nslice_us = 7000\n");
    fs::permissions(d, fs::perms(0666));
    EXPECT_EQ(load_error(), d.string() + ": writable by its group and others (mode 0666); only its owner may write it");
    fs::permissions(d, fs::perms(0644));
    EXPECT_EQ(load_all().settings.slice_us, 7000u);

    // Whoever may write config.d may add drop-ins: none of it is read.
    fs::permissions(dropins_, fs::perms(01777));
    EXPECT_EQ(load_error(),
              dropins_.string() + ": writable by its group and others (mode 1777); only its owner may write it");
}

// Giving a file away needs root: that case is tests/integration/config_owner_test.cpp
// (label root); the rule itself is tested here.
TEST(ConfigOwnership, RootOrTheReaderMayOwnAFileOnlyItsOwnerMayWrite) {
    const auto status = [](uid_t owner, mode_t mode) {
        struct stat st{};
        st.st_uid = owner;
        st.st_mode = S_IFREG | mode;
        return st;
    };
    EXPECT_EQ(ownership_problem(status(0, 0644), 0), "");
    EXPECT_EQ(ownership_problem(status(0, 0600), 1000), "");
    EXPECT_EQ(ownership_problem(status(1000, 0644), 1000), "");
    EXPECT_EQ(ownership_problem(status(1000, 0644), 0), "owned by uid 1000, not by root");
    EXPECT_EQ(ownership_problem(status(1001, 0644), 1000), "owned by uid 1001, not by root");
    EXPECT_EQ(ownership_problem(status(0, 0664), 0), "writable by its group (mode 0664); only its owner may write it");
    EXPECT_EQ(ownership_problem(status(0, 0602), 0), "writable by others (mode 0602); only its owner may write it");
    EXPECT_EQ(ownership_problem(status(1000, 02777), 1000),
              "writable by its group and others (mode 2777); only its owner may write it");
}

TEST_F(Config, MissingMainFileIsFineUnlessRequired) {
    const Loaded l = load(main_, false, dropins_);
    EXPECT_EQ(l.settings, Settings{});
    EXPECT_TRUE(l.files.empty());

    const auto message = error_of([&] { load(main_, true, dropins_); });
    EXPECT_NE(message.find(main_.string() + ": no such file"), std::string::npos) << message;
}

TEST_F(Config, DropinsApplyWithoutAMainFile) {
    dropin("10.toml", "[scheduler]\nslice_us = 9000\n");
    EXPECT_EQ(load_all().settings.slice_us, 9000u);
    EXPECT_EQ(load({}, false, dropins_).settings.slice_us, 9000u);
    EXPECT_EQ(load(main_, false, {}).settings.slice_us, 5000u);
}

TEST_F(Config, UnreadableMainFileOrDropinDirIsAnError) {
    fs::create_directories(main_);
    auto message = error_of([&] { load(main_, false, {}); });
    EXPECT_EQ(message, main_.string() + ": is a directory, not a regular file");

    write(dir_ / "file", "");
    message = error_of([&] { load({}, false, dir_ / "file"); });
    EXPECT_NE(message.find((dir_ / "file").string() + ": cannot list"), std::string::npos) << message;

    write(dir_ / "huge.toml", "[scheduler]\n" + std::string(2 << 20, '#') + "\n");
    message = error_of([&] { load(dir_ / "huge.toml", true, {}); });
    EXPECT_NE(message.find("huge.toml: cannot read: larger than"), std::string::npos) << message;
}

TEST_F(Config, UnknownKeyNamesFileLineColumnAndKey) {
    write(main_, "[scheduler]\nslice_us = 6000\n  slise_us = 10\n");
    EXPECT_EQ(load_error(),
              main_.string() + ":3:3: unknown key 'scheduler.slise_us' (did you mean 'scheduler.slice_us'?)");
    write(main_, "[logging]\nslice_us = 6000\n");
    EXPECT_EQ(load_error(),
              main_.string() + ":2:1: unknown key 'logging.slice_us' (did you mean 'scheduler.slice_us'?)");
    write(main_, "[scheduler]\ncolour = 1\n");
    EXPECT_EQ(load_error(), main_.string() + ":2:1: unknown key 'scheduler.colour'");
}

TEST_F(Config, UnknownSectionIsAnError) {
    write(main_, "# comment\n[schedulr]\nslice_us = 6000\n");
    const auto message = load_error();
    EXPECT_EQ(message.rfind(main_.string() + ":2:", 0), 0u) << message;
    EXPECT_NE(message.find("unknown section '[schedulr]' (did you mean '[scheduler]'?)"), std::string::npos) << message;
    write(main_, "[colours]\nred = 1\n");
    EXPECT_NE(load_error().find(":1:2: unknown section '[colours]'"), std::string::npos);
}

TEST_F(Config, KeyOutsideASectionIsAnError) {
    write(main_, "slice_us = 6000\n");
    const auto message = load_error();
    EXPECT_EQ(message, main_.string() + ":1:1: unknown key 'slice_us' (did you mean 'scheduler.slice_us'?)");
    write(main_, "colour = 1\n");
    EXPECT_EQ(load_error(),
              main_.string() + ":1:1: unknown key 'colour' (keys belong in [scheduler], [logging] or [dbus])");
}

TEST_F(Config, NestedTableInASectionIsAnUnknownKey) {
    write(main_, "[scheduler.extra]\nx = 1\n");
    const auto message = load_error();
    EXPECT_NE(message.find("unknown key 'scheduler.extra'"), std::string::npos) << message;
    EXPECT_EQ(message.rfind(main_.string() + ":1:", 0), 0u) << message;
}

struct TypeCase {
    const char* name;      // for the test's name
    const char* toml;      // the value in question is on the last line
    const char* expected;  // the message after "file:line:col: "
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << c.name; }

class ConfigType : public Config, public ::testing::WithParamInterface<TypeCase> {};

TEST_P(ConfigType, WrongTypeNamesFileLineColumnKeyAndTypes) {
    const std::string text = std::string("# comment\n") + GetParam().toml + "\n";
    write(main_, text);
    const auto last_line = std::count(text.begin(), text.end(), '\n');
    const auto message = load_error();
    const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    const std::string escaped = std::regex_replace(main_.string(), special, R"(\$&)");
    const std::regex located("^" + escaped + ":" + std::to_string(last_line) + ":[0-9]+: (.*)$");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(message, m, located)) << message;
    EXPECT_EQ(m[1].str(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    EveryType, ConfigType,
    ::testing::Values(
        TypeCase{"partial_string", "[scheduler]\npartial = \"yes\"",
                 "scheduler.partial: expected a boolean, got a string"},
        TypeCase{"slice_us_float", "[scheduler]\nslice_us = 5000.0",
                 "scheduler.slice_us: expected an integer, got a floating-point number"},
        TypeCase{"max_tasks_bool", "[scheduler]\nmax_tasks = true",
                 "scheduler.max_tasks: expected an integer, got a boolean"},
        TypeCase{"ordering_integer", "[scheduler]\nordering = 1",
                 "scheduler.ordering: expected a string, got an integer"},
        TypeCase{"slice_boost_array", "[scheduler]\nslice_boost = [1]",
                 "scheduler.slice_boost: expected an integer, got an array"},
        TypeCase{"stats_interval_string", "[logging]\nstats_interval = \"2\"",
                 "logging.stats_interval: expected a number, got a string"},
        TypeCase{"verbose_date", "[logging]\nverbose = 1979-05-27", "logging.verbose: expected a boolean, got a date"},
        TypeCase{"debug_table", "[logging]\ndebug = { on = true }", "logging.debug: expected a boolean, got a table"},
        TypeCase{"ordering_fifo", "[scheduler]\nordering = \"fifo\"",
                 "scheduler.ordering: expected \"deadline\" or \"vruntime\""},
        TypeCase{"ordering_capitalised", "[scheduler]\nordering = \"Deadline\"",
                 "scheduler.ordering: expected \"deadline\" or \"vruntime\""},
        TypeCase{"section_integer", "scheduler = 5", "scheduler: expected a table, got an integer"}),
    [](const ::testing::TestParamInfo<TypeCase>& p) { return std::string(p.param.name); });

std::string literal(const Key& key, double value) {
    if (std::holds_alternative<double Settings::*>(key.field)) {
        // Shortest form that reads back as `value` (a stream's 6 digits would round 100000.01).
        const std::string text = fmt::format("{}", value);
        return text.find_first_of(".e") == std::string::npos ? text + ".0" : text;
    }
    return std::to_string(static_cast<long long>(value));
}

// "[section]\nleaf = value\n"
std::string assignment(const Key& key, const std::string& value) {
    return "[" + std::string(key.section()) + "]\n" + std::string(key.leaf()) + " = " + value + "\n";
}

TEST_F(Config, OutOfRangeNamesFileLineColumnKeyAndRange) {
    for (const auto& spec : kNumeric) {
        const Key& key = *find_key(spec.name);
        const bool integer = !std::holds_alternative<double Settings::*>(key.field);
        const double step = integer ? 1 : 0.01;
        std::vector<double> bad{spec.max + step, -1};
        if (spec.min > 0)
            bad.push_back(spec.min - step);
        for (double value : bad) {
            write(main_, assignment(key, literal(key, value)));
            const auto number = [](double v) {
                return std::regex_replace(fmt::format("{}", v), std::regex("\\."), "\\.");
            };
            const std::string range =
                (key.zero_is_off ? "0 = off, or " : "") + number(spec.min) + "\\.\\." + number(spec.max);
            const std::regex expected(".*/config\\.toml:2:[0-9]+: " + std::string(spec.name) +
                                      ": -?[0-9.]+ is out of range \\(" + range + "\\)");
            const auto message = load_error();
            EXPECT_EQ(message.rfind(main_.string() + ":2:", 0), 0u) << message;
            EXPECT_TRUE(std::regex_match(message, expected)) << message;
        }
        // Both bounds are accepted.
        for (double value : {spec.min, spec.max}) {
            // Keep slice_us_min <= slice_us while testing either.
            std::string other;
            if (std::string(spec.name) == "scheduler.slice_us_min")
                other = "slice_us = 1000000\n";
            if (std::string(spec.name) == "scheduler.slice_us")
                other = "slice_us_min = 10\n";
            write(main_, assignment(key, literal(key, value)) + other);
            EXPECT_NO_THROW(load_all()) << spec.name << " = " << value;
        }
    }
}

TEST_F(Config, OutOfRangeMessageIsExact) {
    write(main_, "[scheduler]\nslice_us = 50\n");
    EXPECT_EQ(load_error(), main_.string() + ":2:12: scheduler.slice_us: 50 is out of range (100..1000000)");
}

TEST_F(Config, StatsIntervalZeroMeansOff) {
    write(main_, "[logging]\nstats_interval = 0\n");
    EXPECT_EQ(load_all().settings.stats_interval_s, 0.0);
    write(main_, "[logging]\nstats_interval = 0.05\n");
    EXPECT_NE(load_error().find("logging.stats_interval: 0.05 is out of range (0 = off, or 0.1..3600)"),
              std::string::npos);
    write(main_, "[logging]\nstats_interval = nan\n");
    EXPECT_NE(load_error().find("logging.stats_interval: nan is out of range"), std::string::npos);
    write(main_, "[logging]\nstats_interval = inf\n");
    EXPECT_NE(load_error().find("logging.stats_interval: inf is out of range"), std::string::npos);
}

TEST_F(Config, BrokenTomlNamesFileLineColumnAndKey) {
    write(main_, "[scheduler]\nslice_us = 6000\n  slice_boost = \n");
    EXPECT_EQ(load_error(),
              main_.string() + ":3:17: invalid TOML (key-value pair): expected value (key 'scheduler.slice_boost')");

    write(main_, "[scheduler\n");
    EXPECT_EQ(load_error(), main_.string() + ":1:11: invalid TOML (table header): expected ']'");

    // A key set twice in one file is a TOML error too.
    write(main_, "[scheduler]\nslice_us = 6000\nslice_us = 7000\n");
    EXPECT_EQ(load_error(), main_.string() +
                                ":3:12: invalid TOML (key-value pair): cannot redefine existing "
                                "integer (key 'scheduler.slice_us')");
}

// Errors reach whoever reads the journal and a Reload caller: they must not
// show what a file holds (it may not even be a configuration file).
TEST_F(Config, ErrorsDoNotQuoteTheFilesText) {
    const std::vector<std::string> secret_texts{
        "[scheduler]\nslice_boost = tru_secret\n",
        "[scheduler]\nordering = \"secret\"\n",
        "root:$y$secret:19000:0:99999:7:::\n",
        "[logging]\nverbose = \"a\\qsecret\"\n",
        "[logging]\nstats_interval = 1979-05-27Tsecret\n",
        "secret = 1\nsecret = 2\n",
        "[scheduler]\nslice_us = 0xsecret\n",
    };
    for (const auto& text : secret_texts) {
        write(main_, text);
        const auto message = load_error();
        EXPECT_EQ(message.find("secret"), std::string::npos) << message;
        EXPECT_EQ(message.rfind(main_.string() + ":", 0), 0u) << message;
    }
    write(main_, "[scheduler]\nslice_boost = tru_secret\n");
    EXPECT_EQ(load_error(), main_.string() +
                                ":2:18: invalid TOML (boolean): expected 'true' "
                                "(key 'scheduler.slice_boost')");
}

// toml++ 3.3.0 reaches __builtin_unreachable() on some of these where
// whitespace may come; the sanitizer build (fuzz) catches that.
TEST_F(Config, NonAsciiCharactersWorkInCommentsAndAreErrorsElsewhere) {
    write(main_, "# Réglages\n[scheduler]\nslice_us = 6000 # für Spiele — 6 ms\n");
    EXPECT_EQ(load_all().settings.slice_us, 6000u);

    write(main_, "[scheduler]\nslice_us = 6000 \xd1\xb0\n");
    EXPECT_EQ(load_error(), main_.string() +
                                ":2:17: invalid TOML (key-value pair): expected a comment or whitespace "
                                "(key 'scheduler.slice_us')");
    write(main_, "[scheduler]\nslice_us\xd1\xb0 = 6000\n");
    EXPECT_EQ(load_error(), main_.string() +
                                ":2:9: invalid TOML (key-value pair): expected '=' "
                                "(key 'scheduler.slice_us')");
    write(main_, "[scheduler]\nordering = \"déadline\"\n");
    EXPECT_EQ(load_error(), main_.string() + ":2:12: scheduler.ordering: expected \"deadline\" or \"vruntime\"");
    // Malformed UTF-8 is toml++'s to refuse.
    write(main_, "# \xff\n");
    EXPECT_EQ(load_error(), main_.string() + ":1:2: invalid TOML");
}

TEST_F(Config, UnknownKeyIsShownOnOneLineAndShortened) {
    write(main_, "[scheduler]\n\"bad\\nkey\\u001b[31m\" = 1\n\"" + std::string(100, 'k') + "\" = 2\n");
    try {
        load_all();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.problems(), (std::vector<std::string>{
                                    main_.string() + ":2:1: unknown key 'scheduler.bad\\x0akey\\x1b[31m'",
                                    main_.string() + ":3:1: unknown key 'scheduler." + std::string(54, 'k') + "...'"}));
    }
}

TEST_F(Config, BrokenDropinNamesTheDropin) {
    write(main_, "[scheduler]\nslice_us = 6000\n");
    const auto bad = dropin("50-bad.toml", "[logging]\nverbose = tru\n");
    const auto message = load_error();
    EXPECT_EQ(message.rfind(bad.string() + ":2:", 0), 0u) << message;
}

TEST_F(Config, EveryProblemOfEveryFileIsReported) {
    write(main_, "[scheduler]\nslise_us = 1\npartial = 3\n");
    dropin("10.toml", "[logging]\nverbose = \"no\"\n");
    dropin("20.toml", "[[[\n");
    try {
        load_all();
        FAIL() << "no error";
    } catch (const Error& e) {
        ASSERT_EQ(e.problems().size(), 4u) << e.what();
        EXPECT_NE(e.problems()[0].find("scheduler.slise_us"), std::string::npos);
        EXPECT_NE(e.problems()[1].find("scheduler.partial"), std::string::npos);
        EXPECT_NE(e.problems()[2].find("logging.verbose"), std::string::npos);
        EXPECT_EQ(e.problems()[3].rfind((dropins_ / "20.toml").string() + ":1:", 0), 0u);
    }
}

TEST_F(Config, SliceMinAboveSliceAcrossFilesNamesBothKeysAndOrigins) {
    write(main_, "[scheduler]\nslice_us_min = 3000\n");
    const auto d = dropin("10-small.toml", "\n[scheduler]\nslice_us = 2000\n");
    EXPECT_EQ(load_error(), main_.string() + ":2:1: scheduler.slice_us_min = 3000 must not exceed " +
                                "scheduler.slice_us = 2000 (from " + d.string() + ":3:1)");
}

TEST_F(Config, SliceMinAboveDefaultSliceIsAnError) {
    write(main_, "[scheduler]\nslice_us_min = 6000\n");
    const auto message = load_error();
    EXPECT_NE(message.find("scheduler.slice_us = 5000 (from built-in default)"), std::string::npos) << message;
}

// Found by fuzz_config: the line named the built-in default, not the file.
TEST_F(Config, SliceBelowTheDefaultMinimumNamesTheSlicesLine) {
    write(main_, "[scheduler]\nslice_us = 237\n");
    EXPECT_EQ(load_error(), main_.string() + ":2:1: scheduler.slice_us = 237 must not be below " +
                                "scheduler.slice_us_min = 500 (from built-in default)");
}

TEST_F(Config, CommandLineWinsOverFiles) {
    write(main_, "[scheduler]\nslice_us = 6000\nslice_boost = 20\n");
    Loaded l = load_all();
    Settings cli;
    cli.slice_us = 9000;
    cli.partial = true;
    cli.slice_boost = 1;  // not given: the file's value stays
    overlay(l, cli, {"scheduler.slice_us", "scheduler.partial"});
    EXPECT_EQ(l.settings.slice_us, 9000u);
    EXPECT_TRUE(l.settings.partial);
    EXPECT_EQ(l.settings.slice_boost, 20u);
    EXPECT_EQ(l.origins.at("scheduler.slice_us").kind, Origin::Kind::CommandLine);
    EXPECT_EQ(l.origins.at("scheduler.slice_us").str(), "command line");
    EXPECT_EQ(l.origins.at("scheduler.slice_boost"), file_origin(main_, 3, 1));
    EXPECT_EQ(l.files, std::vector<fs::path>{main_});
}

TEST_F(Config, OverlayValidatesAgainAndLeavesTheConfigOnError) {
    write(main_, "[scheduler]\nslice_us_min = 3000\n");
    Loaded l = load_all();
    const Loaded before = l;
    Settings cli;
    cli.slice_us = 2000;
    const auto message = error_of([&] { overlay(l, cli, {"scheduler.slice_us"}); });
    EXPECT_EQ(message, main_.string() + ":2:1: scheduler.slice_us_min = 3000 must not exceed " +
                           "scheduler.slice_us = 2000 (from command line)");
    EXPECT_EQ(l.settings, before.settings);
    EXPECT_EQ(l.origins, before.origins);

    cli.slice_us = 50;
    EXPECT_EQ(error_of([&] { overlay(l, cli, {"scheduler.slice_us"}); }),
              "command line: scheduler.slice_us: 50 is out of range (100..1000000)");
    EXPECT_NE(error_of([&] { overlay(l, cli, {"scheduler.nope"}); }).find("unknown key 'scheduler.nope'"),
              std::string::npos);
    EXPECT_EQ(l.settings, before.settings);
}

TEST_F(Config, DescribeParsesBackToTheSameSettings) {
    // Every key away from its default, from a file, a drop-in and the command line.
    write(main_,
          "[scheduler]\nslice_us = 8000\nslice_us_min = 700\nslice_boost = 3\nbuiltin_idle = true\n"
          "no_preemption = true\nfull_user = true\n");
    dropin("10.toml",
           "[scheduler]\npartial = true\nordering = \"vruntime\"\nexit_dump_len = 4096\n"
           "[logging]\nverbose = true\ndebug = true\n"
           "[dbus]\nenabled = false\nmax_holds_per_user = 4\nhold_rate_burst = 5\n"
           "hold_rate_per_second = 0.5\ncall_burst = 50\ncall_rate_per_second = 12.5\n"
           "max_pending_authorizations_per_user = 1\n");
    Loaded l = load_all();
    Settings cli;
    cli.max_tasks = 2048;
    cli.stats_interval_s = 0.25;
    overlay(l, cli, {"scheduler.max_tasks", "logging.stats_interval"});
    for (const Key& key : keys())
        EXPECT_NE(to_toml(l.settings, key), to_toml(Settings{}, key)) << key.name;

    const std::string text = describe(l);
    EXPECT_NE(text.find("# from command line"), std::string::npos) << text;
    EXPECT_NE(text.find("# from " + main_.string() + ":2:1"), std::string::npos) << text;
    EXPECT_NE(text.find("# from " + (dropins_ / "10.toml").string() + ":3:1"), std::string::npos) << text;
    const std::regex ordering_line("\nordering = \"vruntime\" +# from [^\n]*10\\.toml:3:1\n");
    EXPECT_TRUE(std::regex_search(text, ordering_line)) << text;

    const auto copy = write(dir_ / "described.toml", text);
    const Loaded back = load(copy, true, {});
    EXPECT_EQ(back.settings, l.settings);
}

TEST_F(Config, DescribeOfDefaultsSaysSo) {
    const std::string text = describe(defaults());
    for (const Key& key : keys())
        EXPECT_NE(text.find(std::string(key.leaf()) + " = " + to_toml(Settings{}, key)), std::string::npos) << key.name;
    EXPECT_NE(text.find("# from built-in default"), std::string::npos);
    write(main_, text);
    const Loaded back = load(main_, true, {});
    EXPECT_EQ(back.settings, Settings{});
}

}  // namespace
}  // namespace rustland::config
