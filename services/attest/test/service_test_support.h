#pragma once
// Helpers for cloister-attest's unit tests: temporary directories, a sim platform and its evidence,
// and requests handed to the router directly (no sockets: hermetic, injected clock).

#include "cloister/attestation/runtime_data.h"
#include "cloister/core/temp_dir.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/random.h"
#include "cloister/http/router.h"
#include "formats/sim/sim_attester.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace cloister::attest::test {

using cloister::TempDir;

// A sim platform key and an attester measuring the test binary.
struct SimPlatform {
  TempDir directory;
  crypto::PublicKey public_key;
  std::unique_ptr<attestation::sim::SimAttester> attester;

  explicit SimPlatform(bool debuggable = false, std::uint32_t svn = 3, std::uint32_t product_id = 7)
      : public_key(attestation::sim::load_or_create_platform_key(directory.path() / "platform.pem").value()) {
    attestation::sim::SimAttesterOptions options;
    options.platform_key_path = directory.path() / "platform.pem";
    options.debuggable = debuggable;
    options.svn = svn;
    options.product_id = product_id;
    attester = std::make_unique<attestation::sim::SimAttester>(attestation::sim::SimAttester::create(options).value());
  }

  // Runtime data (fresh keys, optional nonce) and evidence binding it.
  struct Submission {
    crypto::Bytes runtime_data;
    crypto::Bytes evidence;
  };
  Submission submit(std::optional<std::string> nonce = std::nullopt) const {
    auto tls = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    auto hpke = crypto::hpke::generate_key_pair();
    Submission out;
    out.runtime_data = attestation::make_runtime_data(tls.public_key(), hpke.public_key, std::move(nonce));
    out.evidence = attester->evidence(attestation::report_data_for(out.runtime_data)).value();
    return out;
  }
};

// Hands a request to the router as the server would.
inline http::Response call(const http::Router& router, std::string method, std::string path, std::string body = {},
                           http::Headers headers = {}, std::string client = "192.0.2.1") {
  http::Request request;
  request.method = std::move(method);
  request.target = path;
  request.path = std::move(path);
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.remote_address = std::move(client);
  request.request_id = "test-request";
  return router.handle(request);
}

inline nlohmann::json body_of(const http::Response& response) {
  return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace cloister::attest::test
