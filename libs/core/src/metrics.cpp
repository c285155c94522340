#include "cloister/core/metrics.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace cloister {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

std::string Metrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace cloister
