// How the test fixtures report a failed system call: an exception that
// carries errno's reason, so the test that hit it fails saying why.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace rustland::test_support {

[[noreturn]] inline void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace rustland::test_support
