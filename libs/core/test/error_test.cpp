#include "cloister/core/error.h"

#include <gtest/gtest.h>

#include <set>

namespace cloister {
namespace {

TEST(ErrorTable, NamesAreUniqueAndStatusesAreHttpErrors) {
  std::set<std::string_view> names;
  for (const auto& info : all_error_codes()) {
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate code " << info.name;
    EXPECT_GE(info.http_status, 400) << info.name;
    EXPECT_LT(info.http_status, 600) << info.name;
    EXPECT_FALSE(info.description.empty()) << info.name;
  }
  EXPECT_GT(names.size(), 40u);
}

TEST(ErrorTable, LookupRoundTrips) {
  EXPECT_EQ(error_name(ErrorCode::token_expired), "token_expired");
  EXPECT_EQ(http_status(ErrorCode::token_expired), 401);
  EXPECT_EQ(http_status(ErrorCode::policy_debug_not_allowed), 403);
  EXPECT_EQ(http_status(ErrorCode::payload_too_large), 413);
  const auto* info = find_error_code("channel_binding_mismatch");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->code, ErrorCode::channel_binding_mismatch);
  EXPECT_EQ(find_error_code("no_such_code"), nullptr);
}

TEST(ErrorTable, ResultCarriesError) {
  auto parse = [](int x) -> Result<int> {
    if (x < 0) return fail(ErrorCode::invalid_argument, "negative");
    return x * 2;
  };
  EXPECT_EQ(parse(2).value(), 4);
  auto bad = parse(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(bad.error().to_string(), "invalid_argument: negative");
}

}  // namespace
}  // namespace cloister
