#pragma once
// cloister-infer's HTTP API (docs/infer.md): the Open Inference Protocol v2 (KServe / Triton), the
// image-diagnosis endpoint, and the model admin API. Inference bodies are sealed to the provider's
// attested HPKE key (sealed_http.h) and come only from attested callers (CallerAuth: mutual TLS,
// Attestation token, channel binding, policy.*); every inference answer carries a signed receipt.

#include "model_registry.h"
#include "receipt.h"

#include "cloister/core/config.h"
#include "cloister/http/router.h"
#include "cloister/service/admin_credentials.h"
#include "cloister/service/attested_service.h"

#include <chrono>
#include <functional>
#include <memory>

namespace prometheus {
class Registry;
}

namespace cloister::infer {

struct InferOptions {
  std::chrono::milliseconds default_timeout{30000};
  std::chrono::milliseconds max_timeout{300000};
  std::size_t max_tensor_elements = std::size_t{64} << 20;
};

// The infer service's own options (docs/configuration.md): registry.*, keys.*, engine.*, batching.*,
// infer.*, admin.credentials.
std::vector<ConfigOption> infer_options();
Result<InferOptions> infer_options_from(const Config& config);
Result<RegistryOptions> registry_options_from(const Config& config);

class InferService {
 public:
  // tls_key: the service's attested TLS key (TlsIdentity::key), which signs receipts.
  InferService(ModelRegistry& registry, service::AttestedIdentity& identity, const crypto::PrivateKey& tls_key,
               service::AdminCredentials admin, InferOptions options, prometheus::Registry& metrics);
  ~InferService();
  void add_routes(http::Router& router, const service::CallerAuth& callers);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cloister::infer
