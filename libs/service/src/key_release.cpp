#include "cloister/service/key_release.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"
#include "cloister/service/sealed_http.h"

#include <nlohmann/json.hpp>

namespace cloister::service {

namespace {
constexpr std::string_view kReleaseInfo = "cloister-key-release-v1";  // docs/keys.md
constexpr std::string_view kRedisCredentialsInfo = "cloister-redis-credentials-v1";  // docs/redis.md
}

Result<ReleasedKey> release_key(const AttestedIdentity& identity, const std::string& keys_url, const std::string& name,
                                std::optional<std::uint64_t> version) {
  std::string url = keys_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/keys/" + name + "/release";
  if (version) url += "?version=" + std::to_string(*version);
  auto response = identity.make_client().request("POST", url, {identity.authorization_header()});
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) return std::unexpected(error_from_problem(response->status, response->body));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body["name"].is_string() || !body["version"].is_number_unsigned() ||
      !body["type"].is_string() || !body["enc"].is_string() || !body["ciphertext"].is_string() ||
      !body["jti"].is_string() || body["name"] != name) {
    return fail(ErrorCode::upstream_failed, "the key service's release answer is malformed");
  }
  ReleasedKey key;
  key.name = name;
  key.version = body["version"].get<std::uint64_t>();
  key.type = body["type"].get<std::string>();
  if (version && key.version != *version) return fail(ErrorCode::upstream_failed, "the key service released another version");
  auto enc = crypto::base64url_decode(body["enc"].get<std::string>());
  auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>());
  if (!enc || !ciphertext) return fail(ErrorCode::upstream_failed, "the key service's release answer is malformed");
  // aad = name ‖ 0x00 ‖ decimal version ‖ 0x00 ‖ jti (the jti of the token the release was made for).
  std::string aad = name;
  aad.push_back('\0');
  aad += std::to_string(key.version);
  aad.push_back('\0');
  aad += body["jti"].get<std::string>();
  auto material = crypto::hpke::open(crypto::hpke::kDefaultSuite, *enc, identity.hpke_private_key().reveal(),
                                     crypto::as_bytes(kReleaseInfo), crypto::as_bytes(aad), *ciphertext);
  if (!material) return std::unexpected(material.error());
  key.material = Sensitive<crypto::Bytes>(std::move(*material));
  if (body.contains("public_key")) {
    auto public_key = body["public_key"].is_string() ? crypto::base64url_decode(body["public_key"].get<std::string>())
                                                     : Result<crypto::Bytes>(fail(ErrorCode::bad_encoding));
    if (!public_key) return fail(ErrorCode::upstream_failed, "the key service's release answer is malformed");
    key.public_key = std::move(*public_key);
  }
  return key;
}

Result<RedisAccess> request_redis_credentials(const AttestedIdentity& identity, const std::string& keys_url) {
  std::string url = keys_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto response = identity.make_client().request("POST", url + "/redis/credentials", {identity.authorization_header()});
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) return std::unexpected(error_from_problem(response->status, response->body));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body["enc"].is_string() || !body["ciphertext"].is_string() || !body["jti"].is_string()) {
    return fail(ErrorCode::upstream_failed, "the key service's credentials answer is malformed");
  }
  auto enc = crypto::base64url_decode(body["enc"].get<std::string>());
  auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>());
  if (!enc || !ciphertext) return fail(ErrorCode::upstream_failed, "the key service's credentials answer is malformed");
  auto opened = crypto::hpke::open(crypto::hpke::kDefaultSuite, *enc, identity.hpke_private_key().reveal(),
                                   crypto::as_bytes(kRedisCredentialsInfo), crypto::as_bytes(body["jti"].get<std::string>()),
                                   *ciphertext);
  if (!opened) return std::unexpected(opened.error());
  auto document = nlohmann::json::parse(opened->begin(), opened->end(), nullptr, false);
  crypto::cleanse(*opened);
  RedisAccess access;
  try {
    access.username = document.at("username").get<std::string>();
    access.password = Sensitive<std::string>(document.at("password").get<std::string>());
    access.prefix = document.at("prefix").get<std::string>();
    access.expires_at = document.at("expires_at").get<std::int64_t>();
    access.host = document.at("host").get<std::string>();
    access.port = document.at("port").get<std::uint16_t>();
    access.server_name = document.value("server_name", std::string());
  } catch (const std::exception&) {
    return fail(ErrorCode::upstream_failed, "the key service's credentials are malformed");
  }
  return access;
}

}  // namespace cloister::service
