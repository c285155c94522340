// cloister-infer: the diagnostic provider (docs/infer.md). An attested service that loads sealed
// ONNX models with keys released only to it, and runs them for attested callers on sealed bodies:
// the Open Inference Protocol v2 and image diagnosis (DICOM, PNG, JPEG), each answer with a receipt
// signed by its attested key.
#include "infer_service.h"
#include "model_registry.h"

#include "cloister/core/log.h"
#include "cloister/service/attested_service.h"
#include "cloister/service/key_release.h"

#include <iostream>
#include <thread>

using namespace cloister;

int main(int argc, char** argv) {
  service::AttestedService service(
      {"cloister-infer", "CLOISTER_INFER_", "Diagnostic provider: confidential inference for attested callers",
       infer::infer_options()},
      argc, argv);
  auto fatal = [](const std::string& what, const Error& error) {
    log::error(what, {{"code", error.name()}, {"detail", error.detail}});
    log::flush();
    std::cerr << "cloister-infer: " << what << ": " << error.to_string() << "\n";
    return 1;
  };
  const auto& config = service.config();
  auto registry_options = infer::registry_options_from(config);
  if (!registry_options) return fatal("configuration", registry_options.error());
  auto infer_options = infer::infer_options_from(config);
  if (!infer_options) return fatal("configuration", infer_options.error());
  auto admin =
      service::AdminCredentials::open_and_report(config.get("admin.credentials"), config.get_string("state_dir"));
  if (!admin) return fatal("admin credentials", admin.error());

  // Model keys come from cloister-keys, released to this TEE's attested identity only.
  const auto keys_url = config.get_string("keys.url");
  auto& identity = service.identity();
  infer::ModelRegistry registry(
      *registry_options,
      [&identity, keys_url](const std::string& name, std::uint64_t version) -> Result<Sensitive<crypto::Bytes>> {
        if (keys_url.empty()) return fail(ErrorCode::config_invalid, "keys.url is not set: model keys cannot be released");
        if (!identity.has_token()) return fail(ErrorCode::unavailable, "no attestation token yet");
        auto key = service::release_key(identity, keys_url, name, version);
        if (!key) return std::unexpected(key.error());
        if (key->type != "hpke-x25519") {
          crypto::cleanse(key->material.reveal());
          return fail(ErrorCode::model_integrity_failed, "model key '" + name + "' is not an hpke-x25519 key");
        }
        return std::move(key->material);
      },
      service.metrics().registry());

  infer::InferService api(registry, identity, service.tls().key, std::move(*admin), *infer_options,
                          service.metrics().registry());
  api.add_routes(service.router(), service.callers());

  // Models load once the service holds its token (the key service releases only to attested callers).
  std::jthread loader;
  if (config.get_string("registry.load") == "all") {
    loader = std::jthread([&registry, &identity](std::stop_token stop) {
      for (int attempt = 0; attempt < 1200 && !stop.stop_requested() && !identity.has_token(); ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!stop.stop_requested() && identity.has_token()) registry.load_all();
    });
  }
  return service.run();
}
