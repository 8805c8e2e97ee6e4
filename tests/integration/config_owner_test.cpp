// Configuration files owned by another user are refused. Giving a file away
// needs root, hence this test's own binary (label root); the ownership rule
// itself is unit-tested in tests/unit/config_test.cpp.
#include "config/config.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace rustland::config {
namespace {

namespace fs = std::filesystem;

class ConfigOwner : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(::geteuid(), 0u) << "this test gives files away with chown: run it as root";
        std::string pattern = (fs::temp_directory_path() / "config_owner.XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        main_ = dir_ / "config.toml";
        dropins_ = dir_ / "config.d";
        fs::create_directory(dropins_);
        fs::permissions(dropins_, fs::perms(0755));
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void write(const fs::path& file, const std::string& text) {
        std::ofstream(file) << text;
        fs::permissions(file, fs::perms(0644));
    }
    std::string load_error() {
        try {
            load(main_, false, dropins_);
        } catch (const Error& e) {
            return e.what();
        }
        ADD_FAILURE() << "no config::Error thrown";
        return {};
    }
    fs::path dir_, main_, dropins_;
};

TEST_F(ConfigOwner, FileOrDropinDirectoryOwnedByAnotherUserIsRefused) {
    write(main_, "[scheduler]\nslice_us = 6000\n");
    ASSERT_EQ(::chown(main_.c_str(), 65534, 65534), 0);
    EXPECT_EQ(load_error(), main_.string() + ": owned by uid 65534, not by root");
    ASSERT_EQ(::chown(main_.c_str(), 0, 0), 0);
    write(dropins_ / "10.toml", "[scheduler]\nslice_us = 7000\n");
    ASSERT_EQ(::chown(dropins_.c_str(), 65534, 65534), 0);
    EXPECT_EQ(load_error(), dropins_.string() + ": owned by uid 65534, not by root");
}

}  // namespace
}  // namespace rustland::config
