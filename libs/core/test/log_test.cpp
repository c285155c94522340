#include "cloister/core/log.h"
#include "cloister/core/sensitive.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace cloister {
namespace {

TEST(Log, RendersOneJsonObjectWithFields) {
  log::configure("test-service");
  auto line = log::render(log::Level::warn, "request done", {{"request_id", "abc123"}, {"status", 200}});
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_EQ(parsed["service"], "test-service");
  EXPECT_EQ(parsed["msg"], "request done");
  EXPECT_EQ(parsed["request_id"], "abc123");
  EXPECT_EQ(parsed["status"], 200);
  EXPECT_TRUE(parsed.contains("ts"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Log, FieldsCannotOverrideReservedKeys) {
  auto parsed = nlohmann::json::parse(log::render(log::Level::info, "m", {{"level", "fake"}}));
  EXPECT_EQ(parsed["level"], "info");
}

TEST(Sensitive, NeverPrintsInClear) {
  Sensitive<std::string> secret("patient: Jane Doe");
  std::ostringstream out;
  out << secret;
  EXPECT_EQ(out.str(), "[redacted]");
  EXPECT_EQ(fmt::format("{}", secret), "[redacted]");
  EXPECT_EQ(fmt::format("value={:>12}", secret), "value=  [redacted]");
  EXPECT_EQ(secret.reveal(), "patient: Jane Doe");
  // Sensitive has no to_json: nlohmann::json j = secret; does not compile.
  static_assert(!std::is_convertible_v<Sensitive<std::string>, nlohmann::json>);
}

}  // namespace
}  // namespace cloister
