#include "cloister/core/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cloister {
namespace {

Config make() {
  return Config({{"listen.port", 8443, "port"}, {"listen.host", "127.0.0.1", "host"}, {"tls.required", true, "tls"},
                 {"peers", nlohmann::json::array(), "peers"}},
                "CLOISTER_TEST_");
}

TEST(Config, DefaultsThenFileThenEnvironmentThenOverrides) {
  auto config = make();
  EXPECT_EQ(config.get_int("listen.port"), 8443);
  std::string path = ::testing::TempDir() + "/cloister_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"listen": {"port": 9000, "host": "0.0.0.0"}})";
  }
  std::string env_port = "CLOISTER_TEST_LISTEN__PORT=9100";
  std::string env_other = "UNRELATED=1";
  char* environment[] = {env_port.data(), env_other.data(), nullptr};
  ASSERT_TRUE(config.load_file(path));
  EXPECT_EQ(config.get_int("listen.port"), 9000);
  EXPECT_EQ(config.get_string("listen.host"), "0.0.0.0");
  ASSERT_TRUE(config.load_environment(environment));
  EXPECT_EQ(config.get_int("listen.port"), 9100);
  ASSERT_TRUE(config.set("listen.port", "9200"));
  ASSERT_TRUE(config.set("peers", R"(["a","b"])"));
  EXPECT_EQ(config.get_int("listen.port"), 9200);
  EXPECT_EQ(config.get_strings("peers"), (std::vector<std::string>{"a", "b"}));
  std::remove(path.c_str());
}

TEST(Config, RejectsUnknownKeysAndWrongTypes) {
  auto config = make();
  auto unknown = config.set("listen.prot", "1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::config_invalid);
  EXPECT_NE(unknown.error().detail.find("listen.prot"), std::string::npos);
  EXPECT_FALSE(config.set("listen.port", "eighty"));
  EXPECT_FALSE(config.set("tls.required", "\"yes\""));
  std::string env_typo = "CLOISTER_TEST_LISTEN__PROT=1";
  char* environment[] = {env_typo.data(), nullptr};
  EXPECT_FALSE(config.load_environment(environment));
  EXPECT_EQ(config.get_int("listen.port"), 8443);  // nothing changed
}

TEST(Config, EnvironmentNamesAndDocs) {
  auto config = make();
  EXPECT_EQ(config.env_name("listen.port"), "CLOISTER_TEST_LISTEN__PORT");
  auto doc = config.describe_markdown();
  EXPECT_NE(doc.find("`CLOISTER_TEST_TLS__REQUIRED`"), std::string::npos);
}

}  // namespace
}  // namespace cloister
