#pragma once
// Prometheus metrics: a registry per process (prometheus-cpp core), exposed by the HTTP library at
// /metrics in the text format. Metric families are created once at start-up and kept by reference.

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace cloister {

class Metrics {
 public:
  Metrics();
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  // The text exposition format (version 0.0.4).
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace cloister
