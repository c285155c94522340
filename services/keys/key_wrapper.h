#pragma once
// KeyWrapper: all the key store asks of its master key — wrap (encrypt and authenticate) a byte
// string bound to associated data, and unwrap it. The master key itself never leaves the wrapper.
//
// The embedded default is FileMasterKey: 32 random bytes in a file (mode 0600), AES-256-GCM with
// a random 96-bit nonce per wrap. An HSM or a cloud KMS takes its place by implementing the same two
// calls with the master key inside the device (PKCS#11 C_WrapKey/C_UnwrapKey or C_Encrypt/C_Decrypt
// with AES-GCM and the AAD; a KMS's Encrypt/Decrypt with an encryption context): the store and the
// service do not change (docs/keys.md, "The master key").

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <filesystem>
#include <memory>

namespace cloister::keys {

class KeyWrapper {
 public:
  virtual ~KeyWrapper();
  // An opaque blob that unwraps only with the same associated data.
  virtual Result<crypto::Bytes> wrap(crypto::BytesView plaintext, crypto::BytesView associated_data) const = 0;
  // decrypt_failed for a blob that was altered, wrapped under another key or with other associated
  // data.
  virtual Result<Sensitive<crypto::Bytes>> unwrap(crypto::BytesView wrapped, crypto::BytesView associated_data) const = 0;
};

class FileMasterKey final : public KeyWrapper {
 public:
  static constexpr std::size_t kKeySize = 32;

  // Loads the key file, or creates it (32 random bytes, mode 0600, never replacing a file) when
  // absent; *created tells which. config_invalid when the file is readable or writable by group or
  // others, or does not hold exactly 32 bytes; io_error when it cannot be read or written.
  static Result<std::unique_ptr<FileMasterKey>> load_or_create(const std::filesystem::path& path,
                                                               bool* created = nullptr);
  // A key given directly (tests).
  explicit FileMasterKey(Sensitive<crypto::Bytes> key);
  ~FileMasterKey() override;

  // version 0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
  Result<crypto::Bytes> wrap(crypto::BytesView plaintext, crypto::BytesView associated_data) const override;
  Result<Sensitive<crypto::Bytes>> unwrap(crypto::BytesView wrapped, crypto::BytesView associated_data) const override;

 private:
  Sensitive<crypto::Bytes> key_;
};

}  // namespace cloister::keys
