#include "key_wrapper.h"

#include "cloister/core/private_files.h"
#include "cloister/crypto/aead.h"
#include "cloister/crypto/random.h"

namespace cloister::keys {
namespace {

constexpr std::uint8_t kWrapVersion = 0x01;

}  // namespace

KeyWrapper::~KeyWrapper() = default;

FileMasterKey::FileMasterKey(Sensitive<crypto::Bytes> key) : key_(std::move(key)) {
  if (key_.reveal().size() != kKeySize) throw std::invalid_argument("a master key is 32 bytes");
}

FileMasterKey::~FileMasterKey() { crypto::cleanse(key_.reveal()); }

Result<std::unique_ptr<FileMasterKey>> FileMasterKey::load_or_create(const std::filesystem::path& path, bool* created) {
  if (created != nullptr) *created = false;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    auto fresh = crypto::random_bytes(kKeySize);
    auto written = create_private_file(path, crypto::to_string(fresh));
    if (!written && written.error().code != ErrorCode::conflict) {
      crypto::cleanse(fresh);
      return std::unexpected(written.error());
    }
    crypto::cleanse(fresh);
    // conflict: another process created it meanwhile; load what is there.
    if (written && created != nullptr) *created = true;
  }
  if (auto mode = check_private_mode(path); !mode) {
    return fail(ErrorCode::config_invalid,
                "master key file " + path.string() + " is accessible by group or others (chmod 600 it)");
  }
  auto content = read_file(path, kKeySize + 1);
  if (!content) return std::unexpected(content.error());
  if (content->size() != kKeySize) {
    std::fill(content->begin(), content->end(), '\0');
    return fail(ErrorCode::config_invalid, "master key file " + path.string() + " must hold exactly 32 bytes");
  }
  Sensitive<crypto::Bytes> key(crypto::to_bytes(*content));
  std::fill(content->begin(), content->end(), '\0');
  return std::make_unique<FileMasterKey>(std::move(key));
}

Result<crypto::Bytes> FileMasterKey::wrap(crypto::BytesView plaintext, crypto::BytesView associated_data) const {
  auto nonce = crypto::random_bytes(crypto::kAeadNonceSize);
  auto sealed = crypto::aead_seal(crypto::AeadAlgorithm::aes_256_gcm, key_.reveal(), nonce, associated_data, plaintext);
  if (!sealed) return std::unexpected(sealed.error());
  crypto::Bytes out;
  out.reserve(1 + nonce.size() + sealed->size());
  out.push_back(kWrapVersion);
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), sealed->begin(), sealed->end());
  return out;
}

Result<Sensitive<crypto::Bytes>> FileMasterKey::unwrap(crypto::BytesView wrapped, crypto::BytesView associated_data) const {
  if (wrapped.size() < 1 + crypto::kAeadNonceSize + crypto::kAeadTagSize || wrapped[0] != kWrapVersion) {
    return fail(ErrorCode::decrypt_failed, "malformed wrapped key");
  }
  auto nonce = wrapped.subspan(1, crypto::kAeadNonceSize);
  auto ciphertext = wrapped.subspan(1 + crypto::kAeadNonceSize);
  auto opened = crypto::aead_open(crypto::AeadAlgorithm::aes_256_gcm, key_.reveal(), nonce, associated_data, ciphertext);
  if (!opened) return fail(ErrorCode::decrypt_failed, "the wrapped key does not open under this master key and name");
  return Sensitive<crypto::Bytes>(std::move(*opened));
}

}  // namespace cloister::keys
