#include "cloister/crypto/random.h"

#include <gtest/gtest.h>

#include <set>

namespace cloister::crypto {
namespace {

TEST(Random, SizesAndDistinctness) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_EQ(random_bytes(33).size(), 33u);
  std::set<Bytes> seen;
  for (int i = 0; i < 64; ++i) seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 64u);  // a collision of 128-bit values would mean a broken generator
  std::string hex = random_hex(12);
  EXPECT_EQ(hex.size(), 24u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace cloister::crypto
