#include "cloister/core/private_files.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "cloister/core/ids.h"

namespace cloister {
namespace {

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("cloister_private_files_" + new_request_id());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static unsigned mode_of(const std::filesystem::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return info.st_mode & 0777;
  }

  std::filesystem::path dir_;
};

TEST_F(PrivateFiles, DirectoryIsCreatedOwnerOnlyAndWideDirectoriesAreRefused) {
  ASSERT_TRUE(ensure_private_directory(dir_ / "state"));
  EXPECT_EQ(mode_of(dir_ / "state"), 0700u);
  ASSERT_TRUE(ensure_private_directory(dir_ / "state"));  // idempotent

  std::filesystem::create_directories(dir_ / "wide");
  ::chmod((dir_ / "wide").c_str(), 0755);
  EXPECT_EQ(ensure_private_directory(dir_ / "wide").error().code, ErrorCode::config_invalid);
}

TEST_F(PrivateFiles, WriteReplacesAtomicallyWithMode0600AndLeavesNoTemporaries) {
  ASSERT_TRUE(ensure_private_directory(dir_));
  const auto path = dir_ / "key.pem";
  ASSERT_TRUE(write_private_file(path, "first"));
  ASSERT_TRUE(write_private_file(path, "second"));
  EXPECT_EQ(read_file(path, 100).value(), "second");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_TRUE(check_private_mode(path));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 1);
}

TEST_F(PrivateFiles, CreateNeverReplacesAnExistingFile) {
  ASSERT_TRUE(ensure_private_directory(dir_));
  const auto path = dir_ / "policy-v1.json";
  ASSERT_TRUE(create_private_file(path, "v1"));
  auto again = create_private_file(path, "other");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(read_file(path, 100).value(), "v1");
}

TEST_F(PrivateFiles, AppendAddsLines) {
  ASSERT_TRUE(ensure_private_directory(dir_));
  const auto path = dir_ / "journal";
  ASSERT_TRUE(append_private_line(path, "one"));
  ASSERT_TRUE(append_private_line(path, "two"));
  EXPECT_EQ(read_file(path, 100).value(), "one\ntwo\n");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST_F(PrivateFiles, ReadsAreBoundedAndWideModesAreReported) {
  ASSERT_TRUE(ensure_private_directory(dir_));
  const auto path = dir_ / "big";
  ASSERT_TRUE(write_private_file(path, std::string(5000, 'x')));
  EXPECT_EQ(read_file(path, 5000).value().size(), 5000u);
  EXPECT_EQ(read_file(path, 4999).error().code, ErrorCode::io_error);
  EXPECT_EQ(read_file(dir_ / "absent", 10).error().code, ErrorCode::io_error);
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(check_private_mode(path).error().code, ErrorCode::config_invalid);
}

}  // namespace
}  // namespace cloister
