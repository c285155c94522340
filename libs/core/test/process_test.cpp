#include "cloister/core/process.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

namespace cloister {
namespace {

TEST(ChildProcess, ReportsExitStatus) {
  auto child = ChildProcess::spawn({{"/bin/sh", "-c", "exit 7"}});
  ASSERT_TRUE(child) << child.error().to_string();
  EXPECT_EQ(child->wait_for(std::chrono::seconds(10)), 7);
}

TEST(ChildProcess, StopsByPidWithTermThenKill) {
  // A child that ignores SIGTERM must still be stopped (SIGKILL after the grace period). It says
  // when the trap is in place, so SIGTERM cannot arrive before it.
  auto dir = std::filesystem::path(::testing::TempDir()) / "cloister_stop_test";
  std::filesystem::create_directories(dir);
  auto ready = (dir / "ready").string();
  std::filesystem::remove(ready);
  auto child = ChildProcess::spawn(
      {{"/bin/sh", "-c", "trap '' TERM; echo 1 > '" + ready + "'; while :; do sleep 1; done"}});
  ASSERT_TRUE(child);
  ASSERT_TRUE(wait_for_port_file(ready, std::chrono::seconds(10), &*child));
  EXPECT_TRUE(child->running());
  int status = child->stop(std::chrono::milliseconds(300));
  EXPECT_EQ(status, 128 + SIGKILL);
  EXPECT_FALSE(child->running());
}

TEST(ChildProcess, ExtraEnvironmentReplacesTheParentsValue) {
  ::setenv("CLOISTER_PROCESS_TEST", "parent", 1);
  auto child = ChildProcess::spawn(
      {{"/bin/sh", "-c", "test \"$CLOISTER_PROCESS_TEST\" = child"}, "", {"CLOISTER_PROCESS_TEST=child"}});
  ASSERT_TRUE(child);
  EXPECT_EQ(child->wait_for(std::chrono::seconds(10)), 0);
  ::unsetenv("CLOISTER_PROCESS_TEST");
}

TEST(ChildProcess, MissingExecutableIsAnError) {
  auto child = ChildProcess::spawn({{"/nonexistent/cloister-binary"}});
  // posix_spawn may report the failure itself or through the child's exit status 127.
  if (child) {
    EXPECT_EQ(child->wait_for(std::chrono::seconds(10)), 127);
  } else {
    EXPECT_EQ(child.error().code, ErrorCode::io_error);
  }
}

TEST(ChildProcess, PortFileWaitIsBoundedAndNoticesExit) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "cloister_port_test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "port").string();
  std::filesystem::remove(path);
  auto child = ChildProcess::spawn({{"/bin/sh", "-c", "exit 3"}});
  ASSERT_TRUE(child);
  auto port = wait_for_port_file(path, std::chrono::seconds(5), &*child);
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().code, ErrorCode::unavailable);
  auto writer = ChildProcess::spawn({{"/bin/sh", "-c", "echo 4321 > '" + path + "'"}});
  ASSERT_TRUE(writer);
  auto found = wait_for_port_file(path, std::chrono::seconds(5));
  ASSERT_TRUE(found) << found.error().to_string();
  EXPECT_EQ(*found, 4321);
}

}  // namespace
}  // namespace cloister
