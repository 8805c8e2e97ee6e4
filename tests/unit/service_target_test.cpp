// Parsing /proc/<pid>/status and a pidfd's fdinfo for the service.
#include <gtest/gtest.h>

#include "service/target.h"

namespace rustland::service {
namespace {

TEST(ProcStatus, ReadsTgidAndRealEffectiveAndSavedUid) {
    const auto status = parse_proc_status(
        "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\n"
        "PPid:\t1\nUid:\t1000\t0\t1000\t1000\nGid:\t100\t100\t100\t100\n");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->tgid, 4242);
    EXPECT_EQ(status->uids.real, 1000u);
    EXPECT_EQ(status->uids.effective, 0u);
    EXPECT_EQ(status->uids.saved, 1000u);
}

TEST(ProcStatus, MissingOrMalformedFieldsAreRejected) {
    EXPECT_FALSE(parse_proc_status("Uid:\t1\t1\t1\t1\n"));
    EXPECT_FALSE(parse_proc_status("Tgid:\t5\n"));
    EXPECT_FALSE(parse_proc_status("Tgid:\tx\nUid:\t1\t1\t1\t1\n"));
    EXPECT_FALSE(parse_proc_status("Tgid:\t5\nUid:\t1\n"));
    EXPECT_FALSE(parse_proc_status("Tgid:\t0\nUid:\t1\t1\t1\t1\n"));
    // "TgidX:" is not "Tgid:".
    EXPECT_FALSE(parse_proc_status("TgidX:\t5\nUid:\t1\t1\t1\t1\n"));
}

TEST(FdinfoPid, FindsThePidLine) {
    EXPECT_EQ(parse_fdinfo_pid("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1055\nPid:\t812\nNSpid:\t812\n"), 812);
    EXPECT_EQ(parse_fdinfo_pid("pos:\t0\nPid:\t-1\nNSpid:\t-1\n"), -1);
    EXPECT_EQ(parse_fdinfo_pid("pos:\t0\nPid:\t0\n"), 0);
}

TEST(FdinfoPid, OtherFdsHaveNone) {
    EXPECT_EQ(parse_fdinfo_pid("pos:\t0\nflags:\t0100002\nmnt_id:\t27\nino:\t6\n"), std::nullopt);
    EXPECT_EQ(parse_fdinfo_pid("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1055\neventfd-count:\t0\n"), std::nullopt);
    // "NSpid:" alone is not "Pid:".
    EXPECT_EQ(parse_fdinfo_pid("NSpid:\t12\n"), std::nullopt);
}

}  // namespace
}  // namespace rustland::service
