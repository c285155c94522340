// The test support itself: a TLS-only redis-server with the default user off, reachable with
// redis-cli, persistence and ACL SAVE working, and everything gone after the destructor.

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include "cloister/core/private_files.h"
#include "cloister/core/process.h"
#include "cloister/redis/testing/redis_test_server.h"

namespace cloister::redis::testing {
namespace {

using namespace std::chrono_literals;

// Runs /usr/bin/redis-cli with `arguments` (bounded wait); returns its output.
std::string run_cli(std::vector<std::string> arguments, const std::string& output, bool expect_success = true) {
  ProcessOptions options;
  options.arguments = {"/usr/bin/redis-cli"};
  for (auto& argument : arguments) options.arguments.push_back(std::move(argument));
  options.output_file = output;
  auto process = ChildProcess::spawn(options);
  EXPECT_TRUE(process.has_value());
  if (!process) return {};
  auto status = process->wait_for(10s);
  EXPECT_TRUE(status.has_value());
  if (expect_success) {
    EXPECT_EQ(status, std::optional<int>(0));
  }
  return read_file(output, 1 << 20).value_or("");
}

TEST(RedisTestServerTest, StartsTlsOnlyWithAdminAndCleansUp) {
  std::filesystem::path directory;
  pid_t pid = -1;
  {
    auto started = RedisTestServer::start();
    ASSERT_TRUE(started.has_value()) << started.error().to_string();
    auto& server = **started;
    directory = server.directory();
    pid = server.pid();
    EXPECT_GT(server.port(), 0);
    EXPECT_EQ(server.admin_username(), "admin");
    EXPECT_GE(server.admin_password().size(), 32u);
    EXPECT_NE(server.ca_pem().find("BEGIN CERTIFICATE"), std::string::npos);

    auto cli = server.cli_arguments();
    cli.push_back("PING");
    EXPECT_EQ(run_cli(cli, (directory / "cli-ping.txt").string()), "PONG\n");

    // The admin may do everything, persistence and the ACL file included.
    auto client = Client::create(server.admin_options());
    ASSERT_TRUE(client.has_value()) << client.error().to_string();
    ASSERT_TRUE((*client)->command({"ACL", "SETUSER", "saved", "on", ">pw", "~s:*", "+get"}).has_value());
    auto save = (*client)->command({"ACL", "SAVE"});
    ASSERT_TRUE(save.has_value()) << save.error().to_string();
    auto acl = read_file(directory / "users.acl", 1 << 20);
    ASSERT_TRUE(acl.has_value());
    EXPECT_NE(acl->find("user saved"), std::string::npos);
    EXPECT_EQ(acl->find(server.admin_password()), std::string::npos);  // hashed, never in clear
    ASSERT_TRUE((*client)->command({"SET", "persisted", "1"}).has_value());
    ASSERT_TRUE((*client)->command({"SAVE"}).has_value());
    EXPECT_TRUE(std::filesystem::exists(directory / "data" / "dump.rdb"));

    // The default user is off: an unauthenticated redis-cli gets no PONG.
    std::vector<std::string> anonymous = {"--tls", "--cacert", (directory / "ca.crt").string(), "-h", "127.0.0.1",
                                          "-p", std::to_string(server.port()), "PING"};
    EXPECT_EQ(run_cli(anonymous, (directory / "cli-anonymous.txt").string(), false).find("PONG"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_EQ(::kill(pid, 0), -1);  // stopped and reaped
  EXPECT_EQ(errno, ESRCH);
}

TEST(RedisTestServerTest, TwoServersRunSideBySide) {
  auto first = RedisTestServer::start();
  auto second = RedisTestServer::start();
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  EXPECT_NE((*first)->port(), (*second)->port());
  EXPECT_NE((*first)->ca_pem(), (*second)->ca_pem());
  // Each server's credentials and CA are its own.
  auto options = (*second)->admin_options();
  options.ca_pem = (*first)->ca_pem();
  options.max_retries = 0;
  EXPECT_EQ(Client::create(options).error().code, ErrorCode::redis_unavailable);
}

}  // namespace
}  // namespace cloister::redis::testing
