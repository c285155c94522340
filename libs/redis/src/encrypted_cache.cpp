#include "cloister/redis/encrypted_cache.h"

#include "cloister/crypto/aead.h"
#include "cloister/crypto/random.h"

namespace cloister::redis {
namespace {

constexpr auto kAlgorithm = crypto::AeadAlgorithm::aes_256_gcm;
constexpr std::size_t kHeaderSize = 1 + crypto::kAeadNonceSize;

}  // namespace

EncryptedCache::EncryptedCache(Client& client, Sensitive<crypto::Bytes> data_key, std::string prefix)
    : client_(client), data_key_(std::move(data_key)), prefix_(std::move(prefix)) {}

EncryptedCache::~EncryptedCache() { crypto::cleanse(data_key_.reveal()); }

Result<crypto::Bytes> EncryptedCache::associated_data(const std::string& full_key, std::string_view purpose) const {
  // NUL separates the fields: a NUL inside one would make two different (key, purpose) pairs alike.
  if (full_key.find('\0') != std::string::npos) return fail(ErrorCode::invalid_argument, "cache key name contains NUL");
  if (purpose.find('\0') != std::string_view::npos) return fail(ErrorCode::invalid_argument, "cache purpose contains NUL");
  if (data_key_.reveal().size() != crypto::aead_key_size(kAlgorithm)) {
    return fail(ErrorCode::bad_key, "the cache data key must be 32 bytes");
  }
  crypto::Bytes aad;
  aad.reserve(kAssociatedDataLabel.size() + full_key.size() + purpose.size() + 2);
  aad.insert(aad.end(), kAssociatedDataLabel.begin(), kAssociatedDataLabel.end());
  aad.push_back(0x00);
  aad.insert(aad.end(), full_key.begin(), full_key.end());
  aad.push_back(0x00);
  aad.insert(aad.end(), purpose.begin(), purpose.end());
  return aad;
}

Status EncryptedCache::put(std::string_view name, std::string_view purpose, crypto::BytesView value,
                           std::chrono::milliseconds ttl) {
  if (ttl.count() < 0) return fail(ErrorCode::invalid_argument, "negative cache TTL");
  auto full_key = key(name);
  auto aad = associated_data(full_key, purpose);
  if (!aad) return std::unexpected(aad.error());
  auto nonce = crypto::random_bytes(crypto::kAeadNonceSize);
  auto sealed = crypto::aead_seal(kAlgorithm, data_key_.reveal(), nonce, *aad, value);
  if (!sealed) return std::unexpected(sealed.error());
  std::string stored;
  stored.reserve(kHeaderSize + sealed->size());
  stored.push_back(static_cast<char>(kFormatVersion));
  stored.append(nonce.begin(), nonce.end());
  stored.append(sealed->begin(), sealed->end());
  std::vector<std::string> command{"SET", std::move(full_key), std::move(stored)};
  if (ttl.count() > 0) {
    command.emplace_back("PX");
    command.push_back(std::to_string(ttl.count()));
  }
  auto reply = client_.command(command);
  if (!reply) return std::unexpected(reply.error());
  if (!reply->is_ok()) return fail(ErrorCode::redis_error, "SET did not answer OK");
  return {};
}

Result<std::optional<crypto::Bytes>> EncryptedCache::get(std::string_view name, std::string_view purpose) {
  auto full_key = key(name);
  auto aad = associated_data(full_key, purpose);
  if (!aad) return std::unexpected(aad.error());
  auto reply = client_.command({"GET", full_key});
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_null()) return std::optional<crypto::Bytes>();
  if (reply->type != Reply::Type::bulk_string) return fail(ErrorCode::cache_value_invalid, "not a string value");
  const std::string& stored = reply->string;
  if (stored.size() < kHeaderSize + crypto::kAeadTagSize) return fail(ErrorCode::cache_value_invalid, "value too short");
  if (static_cast<std::uint8_t>(stored[0]) != kFormatVersion) {
    return fail(ErrorCode::cache_value_invalid, "unknown value format version");
  }
  auto bytes = crypto::as_bytes(stored);
  auto opened = crypto::aead_open(kAlgorithm, data_key_.reveal(), bytes.subspan(1, crypto::kAeadNonceSize), *aad,
                                  bytes.subspan(kHeaderSize));
  if (!opened) {
    return fail(ErrorCode::cache_value_invalid, "the value does not decrypt for this key name and purpose");
  }
  return std::optional<crypto::Bytes>(std::move(*opened));
}

Status EncryptedCache::remove(std::string_view name) {
  auto reply = client_.command({"DEL", key(name)});
  if (!reply) return std::unexpected(reply.error());
  return {};
}

}  // namespace cloister::redis
