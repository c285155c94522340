#include "cloister/crypto/base64.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

TEST(Base64, Rfc4648Section10) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(to_string(*decoded), plain);
  }
}

TEST(Base64Url, Rfc4648Section10Unpadded) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(as_bytes(plain)), encoded);
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(to_string(*decoded), plain);
  }
}

TEST(Base64, AlphabetsDiffer) {
  const Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64url_encode(data), "-_-_");
  EXPECT_EQ(base64_decode("+/+/").value(), data);
  EXPECT_EQ(base64url_decode("-_-_").value(), data);
}

TEST(Base64, RoundTripAllLengths) {
  Bytes data;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(data)).value(), data);
    EXPECT_EQ(base64url_decode(base64url_encode(data)).value(), data);
    data.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  }
}

void expect_bad(const Result<Bytes>& result, std::string_view input) {
  ASSERT_FALSE(result.has_value()) << "accepted: \"" << input << "\"";
  EXPECT_EQ(result.error().code, ErrorCode::bad_encoding) << input;
}

TEST(Base64, StrictDecoding) {
  for (std::string_view bad : {
           "Zg",         // padding required
           "Zg=",        // incomplete padding
           "Zm9",        // length not a multiple of 4
           "Zg==\n",     // trailing newline
           " Zg==",      // leading space
           "Zm 9v",      // embedded space
           "Zm9v\r\nYmFy",
           "Zg==Zg==",   // padding in the middle
           "Z===",       // three padding characters
           "====",
           "Zh==",       // non-zero trailing bits ("Zg==" is canonical)
           "Zm9=",       // non-zero trailing bits ("Zm8=" is canonical)
           "Zm9v-_==",   // base64url characters
           "Zm9v!A==",
           "Zm9vYmFy=",  // padding where none belongs
       }) {
    expect_bad(base64_decode(bad), bad);
  }
}

TEST(Base64Url, StrictDecoding) {
  for (std::string_view bad : {
           "Zg==",    // padding refused
           "Zm8=",
           "+/+/",    // standard alphabet refused
           "Zm9v/A",
           "Z",       // impossible length (≡ 1 mod 4)
           "Zm9vY",
           "Zh",      // non-zero trailing bits
           "Zm9",
           "Zm9v Yg",
           "Zm9v\n",
           "Zm9v.",
       }) {
    expect_bad(base64url_decode(bad), bad);
  }
  std::string with_nul("Zm9v\0Yg", 7);
  expect_bad(base64url_decode(with_nul), "embedded NUL");
}

}  // namespace
}  // namespace cloister::crypto
