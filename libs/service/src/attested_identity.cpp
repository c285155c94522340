#include "cloister/service/attested_identity.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/core/log.h"
#include "cloister/crypto/base64.h"

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cloister::service {

struct AttestedIdentity::State {
  std::string format;
  std::string attestation_url;
  crypto::Bytes runtime_data;
  crypto::Bytes hpke_public;
  Sensitive<crypto::Bytes> hpke_private;
  std::unique_ptr<attestation::Attester> attester;
  http::ClientOptions client_options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::string token;        // guarded by mutex
  crypto::Bytes evidence;   // the evidence behind `token`
  std::int64_t expires_at = 0;
  std::int64_t issued_at = 0;
  std::thread thread;

  prometheus::Family<prometheus::Counter>* refreshes = nullptr;
  prometheus::Gauge* expiry = nullptr;
};

AttestedIdentity::AttestedIdentity() : state_(std::make_unique<State>()) {}

AttestedIdentity::~AttestedIdentity() { stop(); }

Result<std::unique_ptr<AttestedIdentity>> AttestedIdentity::create(const Config& config, const TlsIdentity& tls,
                                                                   prometheus::Registry& registry) {
  std::unique_ptr<AttestedIdentity> identity(new AttestedIdentity());
  auto& state = *identity->state_;
  state.format = config.get_string("tee.format");
  state.attestation_url = config.get_string("attestation.url");
  while (!state.attestation_url.empty() && state.attestation_url.back() == '/') state.attestation_url.pop_back();
  if (state.attestation_url.empty()) return fail(ErrorCode::config_invalid, "attestation.url is required");

  auto hpke = crypto::hpke::generate_key_pair();
  state.hpke_public = hpke.public_key;
  state.hpke_private = std::move(hpke.private_key);
  state.runtime_data = attestation::make_runtime_data(tls.key.public_key(), state.hpke_public);

  attestation::AttesterConfig attester_config;
  attester_config.sim.platform_key_path = config.get_string("tee.sim.platform_key_file");
  attester_config.gramine.root = config.get_string("tee.gramine.root");
  attester_config.tsm.root = config.get_string("tee.tsm.root");
  auto attester = attestation::make_attester(state.format, attester_config);
  if (!attester) return std::unexpected(attester.error());
  state.attester = std::move(*attester);

  state.client_options.ca_pem = tls.trusted_ca_pem;
  state.client_options.client_certificate_pem = tls.certificate_chain_pem;
  state.client_options.client_private_key_pem = tls.private_key_pem();
  state.client_options.request_timeout = std::chrono::milliseconds(10000);

  state.refreshes = &prometheus::BuildCounter()
                         .Name("cloister_attestation_token_refreshes_total")
                         .Help("Attempts to obtain an attestation token for this service, by outcome")
                         .Register(registry);
  state.expiry = &prometheus::BuildGauge()
                      .Name("cloister_attestation_token_expiry_timestamp_seconds")
                      .Help("Expiry (Unix time) of this service's current attestation token; 0 before the first")
                      .Register(registry)
                      .Add({});
  return identity;
}

namespace {

// exp and iat of our own token (it was just issued to us over TLS by the attestation service; the
// relying parties are the ones who verify it).
std::pair<std::int64_t, std::int64_t> token_times(const std::string& token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos) return {0, 0};
  auto payload = crypto::base64url_decode(std::string_view(token).substr(first + 1, second - first - 1));
  if (!payload) return {0, 0};
  auto claims = nlohmann::json::parse(payload->begin(), payload->end(), nullptr, false);
  if (!claims.is_object()) return {0, 0};
  return {claims.value("exp", std::int64_t{0}), claims.value("iat", std::int64_t{0})};
}

std::int64_t unix_now() { return SystemClock::instance().unix_seconds(); }

}  // namespace

Status AttestedIdentity::refresh() {
  auto& state = *state_;
  auto evidence = state.attester->evidence(attestation::report_data_for(state.runtime_data));
  if (!evidence) {
    state.refreshes->Add({{"outcome", std::string(evidence.error().name())}}).Increment();
    return std::unexpected(evidence.error());
  }
  nlohmann::json body = {{"evidence", crypto::base64url_encode(*evidence)},
                         {"runtime_data", crypto::base64url_encode(state.runtime_data)}};
  http::Client client(state.client_options);
  auto response = client.post_json(state.attestation_url + "/attest/" + state.format, body);
  auto outcome = [&](const Error& error) -> Status {
    state.refreshes->Add({{"outcome", std::string(error.name())}}).Increment();
    return std::unexpected(error);
  };
  if (!response) return outcome(response.error());
  auto document = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200) {
    std::string code = document.is_object() ? document.value("code", std::string("upstream_failed")) : "upstream_failed";
    return outcome(Error{ErrorCode::upstream_failed, "attestation refused: " + code});
  }
  if (!document.is_object() || !document.contains("token") || !document["token"].is_string()) {
    return outcome(Error{ErrorCode::upstream_failed, "attestation service answered without a token"});
  }
  std::string token = document["token"].get<std::string>();
  auto [expires_at, issued_at] = token_times(token);
  if (expires_at <= unix_now()) return outcome(Error{ErrorCode::upstream_failed, "token already expired"});
  {
    std::lock_guard lock(state.mutex);
    state.token = std::move(token);
    state.evidence = std::move(*evidence);
    state.expires_at = expires_at;
    state.issued_at = issued_at;
  }
  state.expiry->Set(static_cast<double>(expires_at));
  state.refreshes->Add({{"outcome", "ok"}}).Increment();
  log::info("attestation token obtained", {{"format", state.format}, {"expires_at", expires_at}});
  return {};
}

void AttestedIdentity::start(std::function<void(bool)> on_ready) {
  state_->thread = std::thread([this, on_ready = std::move(on_ready)] {
    auto& state = *state_;
    std::chrono::milliseconds backoff(200);
    constexpr std::chrono::milliseconds kMaxBackoff(30000);
    bool ready = false;
    while (true) {
      auto status = refresh();
      std::chrono::milliseconds wait;
      if (status) {
        backoff = std::chrono::milliseconds(200);
        std::lock_guard lock(state.mutex);
        auto lifetime = std::max<std::int64_t>(state.expires_at - state.issued_at, 3);
        auto renew_at = state.issued_at + lifetime * 2 / 3;
        wait = std::chrono::milliseconds(std::max<std::int64_t>(renew_at - unix_now(), 1) * 1000);
      } else {
        log::warn("attestation token refresh failed",
                  {{"code", status.error().name()}, {"detail", status.error().detail}, {"retry_ms", backoff.count()}});
        wait = backoff;
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
      bool now_ready = has_token();
      if (now_ready != ready && on_ready) on_ready(now_ready);
      ready = now_ready;
      std::unique_lock lock(state.mutex);
      // Wake early enough to notice expiry while retrying.
      if (state.wake.wait_for(lock, wait, [&] { return state.stopping; })) return;
    }
  });
}

void AttestedIdentity::stop() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

bool AttestedIdentity::has_token() const {
  std::lock_guard lock(state_->mutex);
  return !state_->token.empty() && state_->expires_at > unix_now();
}

Sensitive<std::string> AttestedIdentity::token() const {
  std::lock_guard lock(state_->mutex);
  return Sensitive<std::string>(state_->token);
}

const crypto::Bytes& AttestedIdentity::runtime_data() const { return state_->runtime_data; }
const crypto::Bytes& AttestedIdentity::hpke_public_key() const { return state_->hpke_public; }
const Sensitive<crypto::Bytes>& AttestedIdentity::hpke_private_key() const { return state_->hpke_private; }
std::string AttestedIdentity::format() const { return state_->format; }

nlohmann::json AttestedIdentity::document() const {
  std::lock_guard lock(state_->mutex);
  return {{"format", state_->format},
          {"evidence", crypto::base64url_encode(state_->evidence)},
          {"runtime_data", crypto::base64url_encode(state_->runtime_data)},
          {"runtime", nlohmann::json::parse(state_->runtime_data.begin(), state_->runtime_data.end())},
          {"token", state_->token},
          {"expires_at", state_->expires_at},
          {"simulated", state_->format == "sim"}};
}

http::Handler AttestedIdentity::attestation_handler() const {
  return [this](const http::Request&) -> Result<http::Response> {
    if (!has_token()) return fail(ErrorCode::unavailable, "no attestation token yet");
    return http::json_response(200, document());
  };
}

void AttestedIdentity::add_routes(http::Router& router, const std::string& alias) {
  auto handler = attestation_handler();
  router.add("GET", "/attestation", handler, "This service's evidence, runtime data and current attestation token");
  if (!alias.empty()) router.add("GET", alias, handler, "Same as GET /attestation");
}

http::Client AttestedIdentity::make_client() const { return http::Client(state_->client_options); }

http::Client AttestedIdentity::make_client_pinned(std::vector<std::string> pins) const {
  auto options = state_->client_options;
  options.pinned_spki_sha256_hex = std::move(pins);
  return http::Client(std::move(options));
}

std::pair<std::string, std::string> AttestedIdentity::authorization_header() const {
  return {"Authorization", "Attestation " + token().reveal()};
}

}  // namespace cloister::service
