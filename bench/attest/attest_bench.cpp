// bench/attest: how close cloister-attest and the relying-party verifier come to the cryptography
// they cannot avoid, measured in the same run:
//   - attestations per second: POST /attest/{format} over HTTPS keep-alive against the real service
//     (in-process: the same router, HTTP server and TLS as cloister-attest) for an SGX quote v3 with
//     cached collateral (sent with each request, as an attester that caches PCS collateral does),
//     against `openssl speed ecdsap256` for the P-256 verifications a quote needs plus the token
//     signature;
//   - relying-party token verifications per second (TokenVerifier, JWKS cached), against one P-256
//     verification.
// Usage: cloister-bench-attest [--seconds S] [--connections C] [--format sgx|sim]
#include "attestation_service.h"
#include "keep_alive_client.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/attestation/token_verifier.h"
#include "cloister/core/log.h"
#include "cloister/core/metrics.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/http/server.h"
#include "formats/sim/sim_attester.h"
#include "dcap_test_platform.h"

#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

using namespace cloister;

namespace {

struct Options {
  int seconds = 3;
  int connections = 1;
  std::string format;  // empty: sgx when available, else sim
};

struct Speed {
  double sign = 0;
  double verify = 0;
};

// `openssl speed` for ECDSA P-256: sign/s and verify/s (aggregate over `processes`).
Speed openssl_speed(int seconds, int processes) {
  std::string command = "openssl speed -seconds " + std::to_string(seconds) + " -elapsed";
  if (processes > 1) command += " -multi " + std::to_string(processes);
  command += " ecdsap256 2>/dev/null";
  Speed speed;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return speed;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    if (text.find("nistp256)") == std::string::npos) continue;
    // "... sign_time verify_time sign/s verify/s": the last two numbers.
    std::istringstream words(text);
    std::vector<std::string> tokens;
    for (std::string word; words >> word;) tokens.push_back(word);
    if (tokens.size() >= 2) {
      speed.sign = std::atof(tokens[tokens.size() - 2].c_str());
      speed.verify = std::atof(tokens[tokens.size() - 1].c_str());
    }
  }
  ::pclose(pipe);
  return speed;
}

// Runs `work` on `threads` threads for `seconds`; returns completed operations per second.
template <class Make>
double measure(int threads, int seconds, Make make_worker) {
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      try {
        auto work = make_worker();
        std::uint64_t count = 0;
        while (std::chrono::steady_clock::now() < deadline) {
          if (!work()) {
            failed = true;
            return;
          }
          ++count;
        }
        done += count;
      } catch (const std::exception& error) {
        std::cerr << "worker failed: " << error.what() << "\n";
        failed = true;
      }
    });
  }
  for (auto& thread : pool) thread.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) return -1;
  return static_cast<double>(done) / elapsed;
}

struct TlsMaterial {
  std::string ca_pem;
  std::string chain_pem;
  Sensitive<std::string> key_pem;
};

TlsMaterial make_tls() {
  auto ca_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto now = SystemClock::instance().unix_seconds();
  crypto::CertificateOptions ca_options;
  ca_options.common_name = "bench CA";
  ca_options.is_ca = true;
  ca_options.not_before_unix = now - 3600;
  ca_options.not_after_unix = now + 86400;
  auto ca = crypto::issue_certificate(ca_key.public_key(), ca_options, ca_key, nullptr).value();
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions leaf_options;
  leaf_options.common_name = "cloister-attest";
  leaf_options.ip_addresses = {"127.0.0.1"};
  leaf_options.not_before_unix = now - 3600;
  leaf_options.not_after_unix = now + 86400;
  auto leaf = crypto::issue_certificate(key.public_key(), leaf_options, ca_key, &ca).value();
  return TlsMaterial{ca.pem(), leaf.pem(), key.pem()};
}

std::string fixed(double value, int precision = 1) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << value;
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--connections" && i + 1 < argc) {
      options.connections = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--format" && i + 1 < argc) {
      options.format = argv[++i];
    } else {
      std::cerr << "usage: cloister-bench-attest [--seconds S] [--connections C] [--format sgx|sim]\n";
      return 2;
    }
  }
  log::configure("cloister-bench-attest", log::Level::error);

  std::string note;
  if (options.format.empty()) options.format = "sgx";
  if (options.format != "sgx" && options.format != "sim") {
    std::cerr << "--format must be sgx or sim\n";
    return 2;
  }

  const auto root = std::filesystem::temp_directory_path() / ("cloister-bench-attest-" + crypto::random_hex(6));
  std::filesystem::create_directories(root);
  std::filesystem::permissions(root, std::filesystem::perms::owner_all);

  // The evidence, its collateral and the verifier configuration.
  attest::AttestationServiceOptions service_options;
  service_options.state_dir = root / "attest";
  service_options.rate_limit.requests_per_minute = 0;  // a benchmark is one client hammering on purpose
  service_options.seed_policy.tcb_statuses = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                              "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                              "OutOfDateConfigurationNeeded"};
  auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto hpke = crypto::hpke::generate_key_pair();
  const auto runtime_data = attestation::make_runtime_data(tls_key.public_key(), hpke.public_key);
  nlohmann::json request = {{"runtime_data", crypto::base64url_encode(runtime_data)}};
  std::int64_t now = SystemClock::instance().unix_seconds();
  int verifies_per_attestation = 1;
  std::string breakdown;
  if (options.format == "sgx") {
    attestation::test::DcapTestPlatform platform(attestation::test::DcapTestPlatform::Tee::sgx, 3);
    service_options.formats.dcap = platform.options();
    request["evidence"] = crypto::base64url_encode(platform.quote(attestation::report_data_for(runtime_data)));
    request["collateral"] = platform.collateral().documents;
    now = attestation::test::DcapTestPlatform::kNow;
    verifies_per_attestation = 10;
    breakdown = "10 P-256 verify (quote, QE report, PCK leaf, PCK CA, root CRL, PCK CRL, TCB signing cert x2, "
                "TCB info, QE identity) + 1 P-256 sign (token)";
    note = "SGX quote v3 from the DCAP test platform (test root pinned in-process); collateral cached by the "
           "attester and sent with each request";
  } else {
    attestation::sim::SimAttesterOptions sim;
    sim.platform_key_path = root / "sim-platform-key.pem";
    service_options.formats.sim_platform_keys.push_back(
        attestation::sim::load_or_create_platform_key(sim.platform_key_path).value());
    service_options.seed_policy.allow_simulated = true;
    auto attester = attestation::sim::SimAttester::create(sim).value();
    request["evidence"] = crypto::base64url_encode(attester.evidence(attestation::report_data_for(runtime_data)).value());
    breakdown = "1 P-256 verify (sim report) + 1 P-256 sign (token)";
    note = "sim report (development TEE)";
  }
  ManualClock clock = ManualClock::at_unix(now);

  // The service behind a real HTTPS server on loopback.
  auto metrics = std::make_shared<Metrics>();
  auto service = attest::AttestationService::create(service_options, clock, metrics->registry());
  if (!service) {
    std::cerr << "cannot create the service: " << service.error().to_string() << "\n";
    return 1;
  }
  http::Router router;
  (*service)->add_routes(router);
  auto tls = make_tls();
  http::ServerOptions server_options;
  server_options.host = "127.0.0.1";
  server_options.port = 0;
  server_options.tls.certificate_chain_pem = tls.chain_pem;
  server_options.tls.private_key_pem = tls.key_pem;
  server_options.threads = 2;
  server_options.handler_threads = std::max(2, options.connections);
  server_options.service_name = "cloister-bench-attest";
  http::Server server(server_options, std::move(router), metrics);
  if (auto started = server.start(); !started) {
    std::cerr << "cannot start the server: " << started.error().to_string() << "\n";
    return 1;
  }
  const std::string issuer = "https://127.0.0.1:" + std::to_string(server.port());
  (*service)->set_issuer(issuer);
  const std::string target = "/attest/" + options.format;
  const std::string body = request.dump();

  // One attestation first: it must succeed, and its token is what the relying party verifies.
  std::string token;
  {
    bench::KeepAliveClient client("127.0.0.1", server.port(), tls.ca_pem);
    auto response = client.post_json(target, body);
    if (response.status != 200) {
      std::cerr << "the first attestation failed: HTTP " << response.status << " " << response.body << "\n";
      return 1;
    }
    token = nlohmann::json::parse(response.body)["token"];
  }

  std::cout << "cloister bench/attest: " << options.seconds << " s per figure, " << options.connections
            << " connection(s)/thread(s); openssl speed with -multi " << options.connections << "\n"
            << "evidence: " << note << "\n";
  const Speed speed = openssl_speed(options.seconds, options.connections);
  if (speed.sign <= 0 || speed.verify <= 0) {
    std::cerr << "could not run or parse `openssl speed ecdsap256`\n";
    return 1;
  }

  const double attestations = measure(options.connections, options.seconds, [&] {
    auto client = std::make_shared<bench::KeepAliveClient>("127.0.0.1", server.port(), tls.ca_pem);
    return [client, &target, &body] { return client->post_json(target, body).status == 200; };
  });

  // For reference: the same connection with no cryptography in the handler.
  const double round_trips = measure(options.connections, options.seconds, [&] {
    auto client = std::make_shared<bench::KeepAliveClient>("127.0.0.1", server.port(), tls.ca_pem);
    return [client] { return client->get("/.well-known/jwks.json").status == 200; };
  });

  attestation::TokenVerifierOptions verifier_options;
  verifier_options.issuer = issuer;
  verifier_options.policy = service_options.seed_policy;
  auto jwks = std::make_shared<attestation::StaticJwksSource>((*service)->keys().jwks());
  attestation::TokenVerifier verifier(jwks, verifier_options, clock);
  if (auto checked = verifier.verify(token); !checked) {
    std::cerr << "the token does not verify: " << checked.error().to_string() << "\n";
    return 1;
  }
  const double verifications = measure(options.connections, options.seconds, [&] {
    return [&verifier, &token] { return verifier.verify(token).has_value(); };
  });
  server.stop(std::chrono::milliseconds(1000));
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  if (attestations < 0 || verifications < 0 || round_trips < 0) {
    std::cerr << "a request or verification failed during the run\n";
    return 1;
  }

  const double attest_limit = 1.0 / (verifies_per_attestation / speed.verify + 1.0 / speed.sign);
  const double verify_limit = speed.verify;
  std::cout << "openssl speed ecdsap256: " << fixed(speed.sign) << " sign/s, " << fixed(speed.verify) << " verify/s\n\n"
            << "| operation | measured /s | crypto limit /s | ratio | crypto per operation |\n"
            << "|---|---:|---:|---:|---|\n"
            << "| attestation, POST " << target << " over HTTPS keep-alive | " << fixed(attestations) << " | "
            << fixed(attest_limit) << " | " << fixed(attestations / attest_limit, 3) << " | " << breakdown << " |\n"
            << "| token verification (relying party, JWKS cached) | " << fixed(verifications) << " | "
            << fixed(verify_limit) << " | " << fixed(verifications / verify_limit, 3) << " | 1 P-256 verify |\n"
            << "| (reference) GET /.well-known/jwks.json over the same HTTPS keep-alive | " << fixed(round_trips)
            << " | – | – | none: the HTTP, TLS and handler-pool floor |\n";
  return 0;
}
