#include "cloister/attestation/token_verifier.h"

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "cloister/attestation/claims.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/jwk.h"
#include "cloister/crypto/jwt.h"

namespace cloister::attestation {
namespace {

// A JWKS larger than this is cut off (bounds the work a hostile or broken source can cause).
constexpr std::size_t kMaxJwksKeys = 64;

using KeyMap = std::unordered_map<std::string, crypto::PublicKey>;

// The ES256 verification keys of a JWK Set, by kid. Keys of other types, without a kid, with an
// alg other than ES256, a use other than "sig" or with private members are skipped.
Result<KeyMap> es256_keys(const nlohmann::json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks.at("keys").is_array()) {
    return fail(ErrorCode::jwks_unavailable, "the JWKS is not a JWK Set");
  }
  KeyMap keys;
  std::vector<std::string> ambiguous;
  std::size_t seen = 0;
  for (const auto& jwk : jwks.at("keys")) {
    if (++seen > kMaxJwksKeys) break;
    if (!jwk.is_object() || jwk.contains("d")) continue;
    auto kid = jwk.find(header::kKeyId);
    if (kid == jwk.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) continue;
    // Comparisons with a JSON value never throw, whatever the member's type.
    if (!jwk.contains("kty") || jwk.at("kty") != "EC" || !jwk.contains("crv") || jwk.at("crv") != "P-256") continue;
    if (jwk.contains("alg") && jwk.at("alg") != "ES256") continue;
    if (jwk.contains("use") && jwk.at("use") != "sig") continue;
    auto key = crypto::jwk_to_public_key(jwk);
    if (!key || key->type() != crypto::KeyType::ec_p256) continue;
    if (!keys.emplace(kid->get<std::string>(), std::move(*key)).second) ambiguous.push_back(kid->get<std::string>());
  }
  // A kid published twice names no key.
  for (const auto& kid : ambiguous) keys.erase(kid);
  return keys;
}

const nlohmann::json* typed_member(const nlohmann::json& claims, std::string_view name, nlohmann::json::value_t type) {
  auto it = claims.find(name);
  if (it == claims.end()) return nullptr;
  if (type == nlohmann::json::value_t::number_integer) return it->is_number_integer() ? &*it : nullptr;
  return it->type() == type ? &*it : nullptr;
}

}  // namespace

JwksSource::~JwksSource() = default;

StaticJwksSource::StaticJwksSource(nlohmann::json jwks) : jwks_(std::move(jwks)) {}

Result<nlohmann::json> StaticJwksSource::fetch() { return jwks_; }

struct TokenVerifier::State {
  State(std::shared_ptr<JwksSource> source_in, TokenVerifierOptions options_in, const Clock& clock_in)
      : source(std::move(source_in)), options(std::move(options_in)), clock(clock_in) {}

  std::shared_ptr<JwksSource> source;
  TokenVerifierOptions options;
  const Clock& clock;

  mutable std::shared_mutex keys_mutex;
  std::shared_ptr<const KeyMap> keys = std::make_shared<const KeyMap>();

  mutable std::mutex refresh_mutex;  // one fetch at a time; guards the two members below
  std::optional<Clock::time_point> last_fetch;
  bool have_jwks = false;
  std::atomic<std::uint64_t> fetches{0};

  std::shared_ptr<const KeyMap> snapshot() const {
    std::shared_lock lock(keys_mutex);
    return keys;
  }

  // The key for `kid`, refreshing the JWKS on a miss at most once per min_refresh_interval.
  Result<crypto::PublicKey> resolve(const std::string& kid) {
    if (auto current = snapshot(); current->contains(kid)) return current->at(kid);

    std::lock_guard refresh(refresh_mutex);
    // Another thread may have refreshed while this one waited.
    if (auto current = snapshot(); current->contains(kid)) return current->at(kid);
    const auto now = clock.now();
    if (last_fetch && now - *last_fetch < options.min_refresh_interval) {
      if (!have_jwks) return fail(ErrorCode::jwks_unavailable, "the JWKS could not be fetched; retry later");
      return fail(ErrorCode::jose_unknown_kid, "unknown kid (JWKS refreshed recently)");
    }
    last_fetch = now;
    fetches.fetch_add(1, std::memory_order_relaxed);
    auto jwks = source->fetch();
    if (!jwks) {
      if (!have_jwks) return fail(ErrorCode::jwks_unavailable, jwks.error().detail);
      return fail(ErrorCode::jose_unknown_kid, "unknown kid (JWKS refresh failed: " + jwks.error().detail + ")");
    }
    auto fresh = es256_keys(*jwks);
    if (!fresh) {
      if (!have_jwks) return std::unexpected(fresh.error());
      return fail(ErrorCode::jose_unknown_kid, "unknown kid (JWKS refresh gave no JWK Set)");
    }
    have_jwks = true;
    auto published = std::make_shared<const KeyMap>(std::move(*fresh));
    {
      std::unique_lock lock(keys_mutex);
      keys = published;
    }
    if (published->contains(kid)) return published->at(kid);
    return fail(ErrorCode::jose_unknown_kid, "unknown kid");
  }
};

TokenVerifier::TokenVerifier(std::shared_ptr<JwksSource> jwks, TokenVerifierOptions options, const Clock& clock) {
  // Fail closed on a configuration that would skip a check.
  if (!jwks) throw std::invalid_argument("TokenVerifier needs a JWKS source");
  if (options.issuer.empty()) throw std::invalid_argument("TokenVerifier needs the issuer to pin");
  state_ = std::make_unique<State>(std::move(jwks), std::move(options), clock);
}

TokenVerifier::~TokenVerifier() = default;

std::uint64_t TokenVerifier::jwks_fetches() const { return state_->fetches.load(); }

Result<VerifiedToken> TokenVerifier::verify(std::string_view token) const {
  State& state = *state_;
  crypto::JwtVerifyOptions jwt_options{
      .allowed_algorithms = {crypto::JwsAlgorithm::es256},
      .issuer = state.options.issuer,
      .audience = state.options.audience,
      .clock = &state.clock,
      .skew = state.options.skew,
      .require_exp = true,
  };
  auto resolver = [&state](const nlohmann::json& header) -> Result<crypto::PublicKey> {
    auto kid = header.find(header::kKeyId);
    if (kid == header.end() || !kid->is_string()) return fail(ErrorCode::jose_unknown_kid, "the token has no kid");
    return state.resolve(kid->get<std::string>());
  };
  auto verified = crypto::jwt_verify(token, resolver, jwt_options);
  if (!verified) return std::unexpected(verified.error());
  nlohmann::json& claims = verified->claims;

  using Type = nlohmann::json::value_t;
  const auto* jti = typed_member(claims, claim::kJwtId, Type::string);
  const auto* tee_claim = typed_member(claims, claim::kTee, Type::string);
  const auto* exp = typed_member(claims, claim::kExpiresAt, Type::number_integer);
  const auto* simulated = typed_member(claims, claim::kSimulated, Type::boolean);
  const auto* runtime = typed_member(claims, claim::kRuntime, Type::object);
  if (jti == nullptr || tee_claim == nullptr || exp == nullptr || simulated == nullptr || runtime == nullptr) {
    return fail(ErrorCode::token_claims_invalid, "jti, tee, exp, x-cloister-simulated or runtime missing or mistyped");
  }
  if (auto allowed = state.options.policy.check(claims); !allowed) return std::unexpected(allowed.error());
  auto keys = parse_runtime_document(*runtime);
  if (!keys) return std::unexpected(keys.error());

  // Read every typed member before the claims are moved into the result.
  std::string jti_value = jti->get<std::string>();
  std::string tee_type = tee_claim->get<std::string>();
  const bool is_simulated = simulated->get<bool>() || tee_type == tee::kSim;
  const std::int64_t expires_at = exp->get<std::int64_t>();
  return VerifiedToken{.claims = std::move(claims),
                       .jti = std::move(jti_value),
                       .tee = std::move(tee_type),
                       .simulated = is_simulated,
                       .expires_at = expires_at,
                       .tls_key = std::move(keys->tls),
                       .hpke_public_key = std::move(keys->hpke_public)};
}

Status check_channel_binding(const VerifiedToken& token, crypto::BytesView client_certificate_spki_der) {
  const crypto::Bytes attested = token.tls_key.spki_der();
  if (!crypto::equal_constant_time(attested, client_certificate_spki_der)) {
    return fail(ErrorCode::channel_binding_mismatch, "the client certificate key is not the attested TLS key");
  }
  return {};
}

}  // namespace cloister::attestation
