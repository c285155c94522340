#include "cloister/attestation/runtime_data.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/jwk.h"

namespace cloister::attestation {
namespace {

namespace jwk_member {
constexpr std::string_view kKty = "kty";
constexpr std::string_view kCrv = "crv";
constexpr std::string_view kX = "x";
constexpr std::string_view kY = "y";
constexpr std::string_view kKid = "kid";
constexpr std::string_view kUse = "use";
constexpr std::string_view kAlg = "alg";
}  // namespace jwk_member

constexpr std::size_t kX25519Size = 32;

bool is_valid_nonce(std::string_view nonce) {
  if (nonce.empty() || nonce.size() > runtime_data::kMaxNonceSize) return false;
  return std::all_of(nonce.begin(), nonce.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Status invalid(std::string detail) { return fail(ErrorCode::runtime_data_invalid, std::move(detail)); }

// Members of `object` must be among `allowed`.
Status only_members(const nlohmann::json& object, std::initializer_list<std::string_view> allowed,
                    std::string_view what) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return invalid(std::string(what) + " has an unexpected member");
    }
  }
  return {};
}

// The string member `name`, or nullptr.
const std::string* string_member(const nlohmann::json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

Status expect_member(const nlohmann::json& key, std::string_view name, std::string_view value, std::string_view what) {
  const auto* text = string_member(key, name);
  if (text == nullptr || *text != value) {
    return invalid(std::string(what) + " key needs " + std::string(name) + " \"" + std::string(value) + "\"");
  }
  return {};
}

Result<crypto::PublicKey> parse_tls_key(const nlohmann::json& key) {
  using namespace jwk_member;
  if (auto ok = only_members(key, {kKty, kCrv, kX, kY, kKid, kUse, kAlg}, "the tls key"); !ok) {
    return std::unexpected(ok.error());
  }
  for (auto [name, value] : {std::pair{kKty, std::string_view("EC")}, std::pair{kCrv, std::string_view("P-256")},
                             std::pair{kUse, std::string_view("sig")}, std::pair{kAlg, runtime_data::kTlsAlgorithm}}) {
    if (auto ok = expect_member(key, name, value, "the tls"); !ok) return std::unexpected(ok.error());
  }
  nlohmann::json bare = {{kKty, key.at(kKty)}, {kCrv, key.at(kCrv)}};
  if (key.contains(kX)) bare[kX] = key.at(kX);
  if (key.contains(kY)) bare[kY] = key.at(kY);
  auto public_key = crypto::jwk_to_public_key(bare);
  if (!public_key) return fail(ErrorCode::runtime_data_invalid, "the tls key: " + public_key.error().to_string());
  if (public_key->type() != crypto::KeyType::ec_p256) {
    return fail(ErrorCode::runtime_data_invalid, "the tls key is not P-256");
  }
  return std::move(*public_key);
}

Result<Bytes> parse_hpke_key(const nlohmann::json& key) {
  using namespace jwk_member;
  if (auto ok = only_members(key, {kKty, kCrv, kX, kKid, kUse, kAlg}, "the hpke key"); !ok) {
    return std::unexpected(ok.error());
  }
  for (auto [name, value] : {std::pair{kKty, std::string_view("OKP")}, std::pair{kCrv, std::string_view("X25519")},
                             std::pair{kUse, std::string_view("enc")}, std::pair{kAlg, runtime_data::kHpkeAlgorithm}}) {
    if (auto ok = expect_member(key, name, value, "the hpke"); !ok) return std::unexpected(ok.error());
  }
  const auto* x = string_member(key, kX);
  if (x == nullptr) return fail(ErrorCode::runtime_data_invalid, "the hpke key lacks x");
  auto raw = crypto::base64url_decode(*x);
  if (!raw || raw->size() != kX25519Size) {
    return fail(ErrorCode::runtime_data_invalid, "the hpke key's x is not 32 bytes of base64url");
  }
  return std::move(*raw);
}

}  // namespace

Bytes make_runtime_data(const crypto::PublicKey& tls, BytesView hpke_public, std::optional<std::string> nonce) {
  if (tls.type() != crypto::KeyType::ec_p256) throw std::invalid_argument("runtime data: the TLS key must be P-256");
  if (hpke_public.size() != kX25519Size) throw std::invalid_argument("runtime data: the HPKE key must be 32 bytes");
  if (nonce && !is_valid_nonce(*nonce)) throw std::invalid_argument("runtime data: invalid nonce");

  auto converted = crypto::public_key_to_jwk(tls);
  if (!converted) throw std::invalid_argument("runtime data: " + converted.error().to_string());
  nlohmann::json tls_jwk = std::move(*converted);
  tls_jwk[jwk_member::kKid] = runtime_data::kTlsKeyId;
  tls_jwk[jwk_member::kUse] = "sig";
  tls_jwk[jwk_member::kAlg] = runtime_data::kTlsAlgorithm;
  nlohmann::json hpke_jwk = {{jwk_member::kKty, "OKP"},
                             {jwk_member::kCrv, "X25519"},
                             {jwk_member::kX, crypto::base64url_encode(hpke_public)},
                             {jwk_member::kKid, runtime_data::kHpkeKeyId},
                             {jwk_member::kUse, "enc"},
                             {jwk_member::kAlg, runtime_data::kHpkeAlgorithm}};
  nlohmann::json document = nlohmann::json::object();
  document[runtime_data::kKeys] = nlohmann::json::array({std::move(tls_jwk), std::move(hpke_jwk)});
  if (nonce) document[runtime_data::kNonce] = *nonce;
  // Objects keep members sorted and dump() is compact: the serialization is deterministic.
  return crypto::to_bytes(document.dump());
}

Result<AttestedKeys> parse_runtime_data(BytesView runtime_data) {
  if (runtime_data.empty()) return fail(ErrorCode::runtime_data_invalid, "empty runtime data");
  if (runtime_data.size() > runtime_data::kMaxSize) {
    return fail(ErrorCode::runtime_data_invalid, "runtime data too large");
  }
  // JSON allows duplicate member names and parsers disagree on which one wins: refuse them.
  std::vector<std::vector<std::string>> open_objects;
  bool duplicate = false;
  nlohmann::json::parser_callback_t detect_duplicates = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                                                            nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end && !open_objects.empty()) {
      open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty()) {
      auto& names = open_objects.back();
      const auto& name = parsed.get_ref<const std::string&>();
      if (std::find(names.begin(), names.end(), name) != names.end()) duplicate = true;
      names.push_back(name);
    }
    return true;
  };
  auto document =
      nlohmann::json::parse(runtime_data.begin(), runtime_data.end(), detect_duplicates, /*allow_exceptions=*/false);
  if (document.is_discarded()) return fail(ErrorCode::runtime_data_invalid, "runtime data is not JSON");
  if (duplicate) return fail(ErrorCode::runtime_data_invalid, "runtime data repeats a member name");
  return parse_runtime_document(document);
}

Result<AttestedKeys> parse_runtime_document(const nlohmann::json& document) {
  if (!document.is_object()) return fail(ErrorCode::runtime_data_invalid, "runtime data is not a JSON object");
  if (auto ok = only_members(document, {runtime_data::kKeys, runtime_data::kNonce}, "runtime data"); !ok) {
    return std::unexpected(ok.error());
  }
  auto keys = document.find(runtime_data::kKeys);
  if (keys == document.end() || !keys->is_array() || keys->size() != 2) {
    return fail(ErrorCode::runtime_data_invalid, "runtime data needs exactly two keys (tls, hpke)");
  }
  const nlohmann::json* tls = nullptr;
  const nlohmann::json* hpke = nullptr;
  for (const auto& key : *keys) {
    if (!key.is_object()) return fail(ErrorCode::runtime_data_invalid, "a key is not a JSON object");
    const auto* kid = string_member(key, jwk_member::kKid);
    if (kid != nullptr && *kid == runtime_data::kTlsKeyId && tls == nullptr) {
      tls = &key;
    } else if (kid != nullptr && *kid == runtime_data::kHpkeKeyId && hpke == nullptr) {
      hpke = &key;
    } else {
      return fail(ErrorCode::runtime_data_invalid, "keys must be one \"tls\" and one \"hpke\" key");
    }
  }
  auto tls_key = parse_tls_key(*tls);
  if (!tls_key) return std::unexpected(tls_key.error());
  auto hpke_key = parse_hpke_key(*hpke);
  if (!hpke_key) return std::unexpected(hpke_key.error());
  std::optional<std::string> nonce;
  if (document.contains(runtime_data::kNonce)) {
    const auto* text = string_member(document, runtime_data::kNonce);
    if (text == nullptr || !is_valid_nonce(*text)) return fail(ErrorCode::runtime_data_invalid, "invalid nonce");
    nonce = *text;
  }
  return AttestedKeys{std::move(*tls_key), std::move(*hpke_key), std::move(nonce), document};
}

Bytes report_data_for(BytesView runtime_data) {
  Bytes report_data = crypto::sha256(runtime_data);
  report_data.resize(kReportDataSize, 0);
  return report_data;
}

Status check_report_data_binding(BytesView report_data, BytesView runtime_data) {
  if (report_data.size() != kReportDataSize) {
    return fail(ErrorCode::report_data_mismatch, "report data is not 64 bytes");
  }
  if (!crypto::equal_constant_time(report_data, report_data_for(runtime_data))) {
    return fail(ErrorCode::report_data_mismatch, "report data is not SHA-256(runtime data) followed by zeros");
  }
  return {};
}

}  // namespace cloister::attestation
