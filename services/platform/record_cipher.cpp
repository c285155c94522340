#include "record_cipher.h"

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"

namespace cloister::platform {

namespace {

constexpr std::string_view kRecordsInfo = "cloister-platform records v1";
constexpr std::string_view kIndexInfo = "cloister-platform index v1";
constexpr std::string_view kCacheInfo = "cloister-platform cache v1";
constexpr std::string_view kRecordLabel = "cloister-record-v1";

crypto::Bytes associated_data(const RecordLocation& where) {
  crypto::Bytes out(kRecordLabel.begin(), kRecordLabel.end());
  for (auto part : {where.tenant, where.table, where.id, where.field}) {
    out.push_back(0);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

}  // namespace

Result<RecordCipher> RecordCipher::create(const Sensitive<crypto::Bytes>& data_key) {
  if (data_key.reveal().size() != 32) return fail(ErrorCode::bad_key, "the platform data key must be 32 bytes (aes-256)");
  RecordCipher cipher;
  for (auto [info, target] : {std::pair{kRecordsInfo, &cipher.record_key_}, std::pair{kIndexInfo, &cipher.index_key_},
                              std::pair{kCacheInfo, &cipher.cache_key_}}) {
    auto key = crypto::hkdf(crypto::HashAlgorithm::sha256, {}, data_key.reveal(), crypto::as_bytes(info), 32);
    if (!key) return std::unexpected(key.error());
    *target = Sensitive<crypto::Bytes>(std::move(*key));
  }
  return cipher;
}

RecordCipher::~RecordCipher() {
  crypto::cleanse(record_key_.reveal());
  crypto::cleanse(index_key_.reveal());
  crypto::cleanse(cache_key_.reveal());
}

Result<crypto::Bytes> RecordCipher::seal(const RecordLocation& where, crypto::BytesView plaintext) const {
  auto nonce = crypto::random_bytes(crypto::kAeadNonceSize);
  auto sealed = crypto::aead_seal(crypto::AeadAlgorithm::aes_256_gcm, record_key_.reveal(), nonce,
                                  associated_data(where), plaintext);
  if (!sealed) return std::unexpected(sealed.error());
  crypto::Bytes out;
  out.reserve(1 + nonce.size() + sealed->size());
  out.push_back(kFormatVersion);
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), sealed->begin(), sealed->end());
  return out;
}

Result<crypto::Bytes> RecordCipher::open(const RecordLocation& where, crypto::BytesView sealed) const {
  if (sealed.size() < 1 + crypto::kAeadNonceSize + crypto::kAeadTagSize || sealed[0] != kFormatVersion) {
    return fail(ErrorCode::decrypt_failed, "a stored record is truncated or of an unknown format");
  }
  return crypto::aead_open(crypto::AeadAlgorithm::aes_256_gcm, record_key_.reveal(),
                           sealed.subspan(1, crypto::kAeadNonceSize), associated_data(where),
                           sealed.subspan(1 + crypto::kAeadNonceSize));
}

Result<std::string> RecordCipher::open_text(const RecordLocation& where, crypto::BytesView sealed) const {
  auto bytes = open(where, sealed);
  if (!bytes) return std::unexpected(bytes.error());
  std::string text(bytes->begin(), bytes->end());
  crypto::cleanse(*bytes);
  return text;
}

crypto::Bytes RecordCipher::blind_index(std::string_view tenant, std::string_view kind, std::string_view value) const {
  crypto::Bytes data(tenant.begin(), tenant.end());
  data.push_back(0);
  data.insert(data.end(), kind.begin(), kind.end());
  data.push_back(0);
  data.insert(data.end(), value.begin(), value.end());
  return crypto::hmac(crypto::HashAlgorithm::sha256, index_key_.reveal(), data);
}

}  // namespace cloister::platform
