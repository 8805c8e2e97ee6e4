// The configuration parser on any text: one file through parsing and
// validation, as the daemon reads it at start and on every reload.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

using namespace rustland::config;

const std::filesystem::path kName = "/etc/scx-rustland/config.toml";

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "config_fuzz: %s\n", what);
    std::abort();
}

// A refused text: at least one problem, each on one line of printable text
// that starts with the file's name (a journal line, a D-Bus error message).
void check_problems(const Error& e) {
    if (e.problems().empty())
        fail("an Error without problems");
    for (const std::string& problem : e.problems()) {
        if (!problem.starts_with(kName.string() + ":"))
            fail("a problem that does not name the file");
        for (const char c : problem)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                fail("a problem with a control or non-ASCII byte");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Loaded loaded;
    try {
        loaded = parse(text, kName);
    } catch (const Error& e) {
        check_problems(e);
        return 0;
    }
    // An accepted text: what --check-config prints of it loads back to the same settings.
    try {
        if (!(parse(describe(loaded), "described").settings == loaded.settings))
            fail("describe() does not load back to the same settings");
    } catch (const Error&) {
        fail("describe() of a valid configuration does not load");
    }
    return 0;
}
