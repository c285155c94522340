#include "cloister/core/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace cloister {
namespace {

TEST(Metrics, SerializesTextFormat) {
  Metrics metrics;
  auto& family = prometheus::BuildCounter().Name("cloister_test_total").Help("Test counter").Register(metrics.registry());
  family.Add({{"outcome", "ok"}}).Increment(3);
  auto text = metrics.serialize();
  EXPECT_NE(text.find("# TYPE cloister_test_total counter"), std::string::npos);
  EXPECT_NE(text.find("cloister_test_total{outcome=\"ok\"} 3"), std::string::npos);
}

}  // namespace
}  // namespace cloister
