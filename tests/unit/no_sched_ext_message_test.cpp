// The message behind exit status 3: what is missing, and what a Debian 13
// user installs to get it.
#include "dispatcher/bpf_dispatcher.h"

#include <gtest/gtest.h>

namespace {

using rustland::dispatcher::no_sched_ext_message;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << text;
}

TEST(NoSchedExtMessage, NamesTheRunningKernelAndTheMissingOption) {
    const std::string message = no_sched_ext_message("6.12.57+deb13-amd64");
    EXPECT_TRUE(contains(message, "This kernel (6.12.57+deb13-amd64) has no sched_ext support"));
    EXPECT_TRUE(contains(message, "CONFIG_SCHED_CLASS_EXT"));
    EXPECT_TRUE(contains(message, "/sys/kernel/sched_ext does not exist"));
    EXPECT_TRUE(contains(message, "Linux 6.12 or newer"));
}

TEST(NoSchedExtMessage, SaysWhatToInstallOnTrixie) {
    const std::string message = no_sched_ext_message("6.12.57+deb13-amd64");
    EXPECT_TRUE(contains(message, "apt install -t trixie-backports linux-image-amd64"));
    EXPECT_TRUE(contains(message, "reboot"));
}

}  // namespace
