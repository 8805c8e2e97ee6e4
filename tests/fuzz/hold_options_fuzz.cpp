// The options dictionary (a{sv}) of Hold and HoldPid, as parse_hold_options()
// gets it from sdbus-c++. The bus's own unmarshalling (sd-bus) is not fuzzed
// here: the input describes the dictionary's values, which are built with
// sdbus-c++ the way a received message would hold them.
//
// Input: entries of
//   key '\0' type value
// where type is a D-Bus type code and value is
//   'b' 'y': 1 byte; 'n' 'q': 2; 'i' 'u': 4; 'x' 't' 'd': 8 (little endian);
//   's' 'o' 'g': text up to '\0'; 'v': a nested type and value (in an
//   array of variants, av: sdbus-c++ has no variant of a variant);
//   'a': count byte, then that many strings; 'e': a nested dictionary of
//   count byte entries; '(': a struct of a boolean and a string.
// Values sd-bus would refuse to send (bad UTF-8, object paths, signatures)
// end the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Types.h>

#include "service/authorization.h"
#include "service/errors.h"

namespace {

using namespace rustland::service;
using Options = std::map<std::string, sdbus::Variant>;

// Nesting deeper than this ends the input (a bus message nests at most 64).
constexpr int kMaxDepth = 32;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "hold_options_fuzz: %s\n", what);
    std::abort();
}

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

    bool empty() const { return rest_.empty(); }

    std::optional<std::string> text() {
        const auto end = rest_.find('\0');
        if (end == std::string_view::npos)
            return std::nullopt;
        std::string out(rest_.substr(0, end));
        rest_.remove_prefix(end + 1);
        return out;
    }

    template <class T>
    std::optional<T> number() {
        if (rest_.size() < sizeof(T))
            return std::nullopt;
        T out;
        std::memcpy(&out, rest_.data(), sizeof(T));
        rest_.remove_prefix(sizeof(T));
        return out;
    }

    std::optional<Options> dictionary(std::size_t entries, int depth) {
        Options out;
        for (std::size_t i = 0; i < entries; ++i) {
            auto key = text();
            if (!key)
                return std::nullopt;
            auto value = variant(depth);
            if (!value)
                return std::nullopt;
            out.insert_or_assign(std::move(*key), std::move(*value));
        }
        return out;
    }

    // One value of the type code read first; nullopt at the end of the input.
    std::optional<sdbus::Variant> variant(int depth) {
        if (depth > kMaxDepth)
            return std::nullopt;
        const auto type = number<char>();
        if (!type)
            return std::nullopt;
        switch (*type) {
        case 'b': return wrap(number<std::uint8_t>(), [](std::uint8_t v) { return v != 0; });
        case 'y': return wrap(number<std::uint8_t>());
        case 'n': return wrap(number<std::int16_t>());
        case 'q': return wrap(number<std::uint16_t>());
        case 'i': return wrap(number<std::int32_t>());
        case 'u': return wrap(number<std::uint32_t>());
        case 'x': return wrap(number<std::int64_t>());
        case 't': return wrap(number<std::uint64_t>());
        case 'd': return wrap(number<double>());
        case 's': return wrap(text());
        case 'o': return wrap(text(), [](const std::string& v) { return sdbus::ObjectPath(v); });
        case 'g': return wrap(text(), [](const std::string& v) { return sdbus::Signature(v); });
        case 'v': {
            auto inner = variant(depth + 1);
            return inner ? wrap(std::optional(std::vector<sdbus::Variant>{std::move(*inner)})) : std::nullopt;
        }
        case 'a': {
            const auto count = number<std::uint8_t>();
            std::vector<std::string> items;
            for (std::size_t i = 0; count && i < *count; ++i) {
                auto item = text();
                if (!item)
                    return std::nullopt;
                items.push_back(std::move(*item));
            }
            return count ? wrap(std::optional(items)) : std::nullopt;
        }
        case 'e': {
            const auto count = number<std::uint8_t>();
            auto inner = count ? dictionary(*count, depth + 1) : std::nullopt;
            return inner ? wrap(inner) : std::nullopt;
        }
        case '(': {
            const auto flag = number<std::uint8_t>();
            auto name = text();
            if (!flag || !name)
                return std::nullopt;
            return wrap(std::optional(sdbus::Struct<bool, std::string>(*flag != 0, *name)));
        }
        default: return std::nullopt;
        }
    }

private:
    // The value as a Variant; nullopt if missing or if sd-bus refuses it
    // (then no caller could have sent it).
    template <class T, class Convert = std::identity>
    static std::optional<sdbus::Variant> wrap(const std::optional<T>& value, Convert convert = {}) {
        if (!value)
            return std::nullopt;
        try {
            return sdbus::Variant(convert(*value));
        } catch (const sdbus::Error&) {
            return std::nullopt;
        }
    }

    std::string_view rest_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader reader(data, size);
    Options options;
    while (!reader.empty()) {
        auto entry = reader.dictionary(1, 0);
        if (!entry)
            break;
        options.merge(*entry);
    }
    const auto persistent = options.find("persistent");
    const bool given_as_bool = persistent != options.end() && persistent->second.containsValueOfType<bool>();
    try {
        const HoldOptions parsed = parse_hold_options(options);
        if (persistent != options.end() && !given_as_bool)
            fail("a non-boolean \"persistent\" was accepted");
        if (parsed.persistent != (given_as_bool && persistent->second.get<bool>()))
            fail("\"persistent\" does not follow the option");
    } catch (const Refusal& refusal) {
        if (refusal.code() != ErrorCode::InvalidArgument)
            fail("refused with another error than InvalidArgument");
        if (std::string_view(refusal.what()).empty())
            fail("refused without a message");
    }
    return 0;
}
