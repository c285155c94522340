#include "cloister/crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>
#include <stdexcept>

#include "openssl_util.h"

namespace cloister::crypto {
namespace {

constexpr std::size_t kX25519Size = 32;

EVP_PKEY* as_pkey(void* key) { return static_cast<EVP_PKEY*>(key); }

std::shared_ptr<void> share(EVP_PKEY* key) {
  return std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

// Never prompt for a passphrase: encrypted PEM keys are refused.
int no_password(char*, int, int, void*) { return -1; }

std::optional<KeyType> classify(const EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) return KeyType::rsa;
  if (EVP_PKEY_is_a(key, "X25519")) return KeyType::x25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
      ERR_clear_error();
      return std::nullopt;  // explicit curve parameters: refused
    }
    std::string_view name(group, length);
    if (name == "prime256v1" || name == "P-256" || name == "secp256r1") return KeyType::ec_p256;
    if (name == "secp384r1" || name == "P-384") return KeyType::ec_p384;
  }
  return std::nullopt;
}

const char* group_name(KeyType type) {
  switch (type) {
    case KeyType::ec_p256: return "P-256";
    case KeyType::ec_p384: return "P-384";
    default: return nullptr;
  }
}

Result<PublicKey> checked_public(detail::EvpPkeyPtr key, std::string_view what) {
  if (!key) return fail(ErrorCode::bad_key, std::string(what) + ": " + detail::openssl_error());
  if (!classify(key.get())) return fail(ErrorCode::bad_key, std::string(what) + ": unsupported key type or curve");
  return PublicKey::from_native(key.get());
}

}  // namespace

std::size_t ec_component_size(KeyType type) {
  switch (type) {
    case KeyType::ec_p256: return 32;
    case KeyType::ec_p384: return 48;
    default: return 0;
  }
}

// ---- PublicKey ----

PublicKey PublicKey::from_native(void* evp_pkey) {
  if (evp_pkey == nullptr) throw std::invalid_argument("PublicKey::from_native: null EVP_PKEY");
  if (EVP_PKEY_up_ref(as_pkey(evp_pkey)) != 1) throw std::runtime_error("EVP_PKEY_up_ref failed");
  return PublicKey(share(as_pkey(evp_pkey)));
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  auto bio = detail::memory_bio(pem.data(), pem.size());
  if (!bio) return fail(ErrorCode::crypto_failure, "BIO_new_mem_buf failed");
  return checked_public(detail::make_pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr)),
                        "public key PEM rejected");
}

Result<PublicKey> PublicKey::from_spki_der(BytesView der) {
  if (der.empty() || der.size() > 1 << 20) return fail(ErrorCode::bad_key, "SubjectPublicKeyInfo size out of range");
  const unsigned char* cursor = der.data();
  auto key = detail::make_pkey(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (key && cursor != der.data() + der.size()) {
    return fail(ErrorCode::bad_key, "trailing bytes after SubjectPublicKeyInfo");
  }
  return checked_public(std::move(key), "SubjectPublicKeyInfo rejected");
}

Result<PublicKey> PublicKey::from_x25519_raw(BytesView raw) {
  if (raw.size() != kX25519Size) return fail(ErrorCode::bad_key, "X25519 public key must be 32 bytes");
  return checked_public(
      detail::make_pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, raw.data(), raw.size())),
      "X25519 public key rejected");
}

Result<PublicKey> PublicKey::from_ec_point(KeyType type, BytesView x, BytesView y) {
  const std::size_t size = ec_component_size(type);
  if (size == 0) return fail(ErrorCode::bad_key, "not an EC key type");
  if (x.size() != size || y.size() != size) return fail(ErrorCode::bad_key, "EC coordinate has the wrong length");
  Bytes point;
  point.reserve(1 + 2 * size);
  point.push_back(0x04);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());

  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> builder(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name(type), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return fail(ErrorCode::crypto_failure, "OSSL_PARAM_BLD failed");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(builder.get()),
                                                                 &OSSL_PARAM_free);
  auto context = detail::make_pkey_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    EVP_PKEY_free(raw_key);
    return fail(ErrorCode::bad_key, "EC point rejected (not on the curve?): " + detail::openssl_error());
  }
  auto key = detail::make_pkey(raw_key);
  // fromdata decodes the point with EC_POINT_oct2point, which refuses points off the curve; check
  // again explicitly (also rejects the point at infinity and points outside the prime subgroup).
  auto check = detail::make_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return fail(ErrorCode::bad_key, "EC point is not a valid public key: " + detail::openssl_error());
  }
  return checked_public(std::move(key), "EC public key rejected");
}

Bytes PublicKey::spki_der() const {
  unsigned char* buffer = nullptr;
  int length = i2d_PUBKEY(as_pkey(key_.get()), &buffer);
  if (length <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  Bytes out(buffer, buffer + length);
  OPENSSL_free(buffer);
  return out;
}

std::string PublicKey::pem() const {
  auto bio = detail::make_bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), as_pkey(key_.get())) != 1) {
    throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  }
  return detail::bio_contents(bio.get());
}

std::optional<KeyType> PublicKey::try_type() const { return classify(as_pkey(key_.get())); }

KeyType PublicKey::type() const {
  auto type = try_type();
  if (!type) throw std::logic_error("PublicKey::type: unsupported key type");
  return *type;
}

int PublicKey::bits() const {
  if (try_type() != KeyType::rsa) return 0;
  return EVP_PKEY_get_bits(as_pkey(key_.get()));
}

Result<Bytes> PublicKey::raw_x25519() const {
  if (try_type() != KeyType::x25519) return fail(ErrorCode::bad_key, "not an X25519 key");
  Bytes out(kX25519Size);
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_public_key(as_pkey(key_.get()), out.data(), &size) != 1 || size != kX25519Size) {
    return fail(ErrorCode::crypto_failure, "X25519 public key export failed");
  }
  return out;
}

Result<Bytes> PublicKey::ec_point() const {
  auto type = try_type();
  if (type != KeyType::ec_p256 && type != KeyType::ec_p384) return fail(ErrorCode::bad_key, "not an EC key");
  const std::size_t size = ec_component_size(*type);
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  bool ok = EVP_PKEY_get_bn_param(as_pkey(key_.get()), OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
            EVP_PKEY_get_bn_param(as_pkey(key_.get()), OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
  auto x_owner = detail::make_bn(x);
  auto y_owner = detail::make_bn(y);
  if (!ok) return fail(ErrorCode::crypto_failure, "EC point export failed: " + detail::openssl_error());
  Bytes out(1 + 2 * size);
  out[0] = 0x04;
  if (BN_bn2binpad(x, out.data() + 1, static_cast<int>(size)) < 0 ||
      BN_bn2binpad(y, out.data() + 1 + size, static_cast<int>(size)) < 0) {
    return fail(ErrorCode::crypto_failure, "EC coordinate too large");
  }
  return out;
}

bool PublicKey::operator==(const PublicKey& other) const {
  if (key_ == other.key_) return true;
  return spki_der() == other.spki_der();
}

// ---- PrivateKey ----

PrivateKey PrivateKey::generate(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ec_p256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ec_p384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::x25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"); break;
    case KeyType::rsa: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)); break;
  }
  if (key == nullptr) throw std::runtime_error("key generation failed: " + detail::openssl_error());
  return PrivateKey(share(key));
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  auto bio = detail::memory_bio(pem.data(), pem.size());
  if (!bio) return fail(ErrorCode::crypto_failure, "BIO_new_mem_buf failed");
  auto key = detail::make_pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) return fail(ErrorCode::bad_key, "private key PEM rejected: " + detail::openssl_error());
  if (!classify(key.get())) return fail(ErrorCode::bad_key, "unsupported private key type or curve");
  return PrivateKey(share(key.release()));
}

Result<PrivateKey> PrivateKey::from_x25519_raw(BytesView raw) {
  if (raw.size() != kX25519Size) return fail(ErrorCode::bad_key, "X25519 private key must be 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, raw.data(), raw.size());
  if (key == nullptr) return fail(ErrorCode::bad_key, "X25519 private key rejected: " + detail::openssl_error());
  return PrivateKey(share(key));
}

Sensitive<std::string> PrivateKey::pem() const {
  // A secure-memory BIO clears its buffer when freed.
  auto bio = detail::make_bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), as_pkey(key_.get()), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM_write_bio_PKCS8PrivateKey failed");
  }
  return Sensitive<std::string>(detail::bio_contents(bio.get()));
}

PublicKey PrivateKey::public_key() const {
  // Round-trip through SubjectPublicKeyInfo so the public object carries no private material.
  unsigned char* buffer = nullptr;
  int length = i2d_PUBKEY(as_pkey(key_.get()), &buffer);
  if (length <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  const unsigned char* cursor = buffer;
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &cursor, length);
  OPENSSL_free(buffer);
  if (key == nullptr) throw std::runtime_error("d2i_PUBKEY failed");
  auto owned = detail::make_pkey(key);
  return PublicKey::from_native(owned.get());
}

KeyType PrivateKey::type() const {
  auto type = classify(as_pkey(key_.get()));
  if (!type) throw std::logic_error("PrivateKey::type: unsupported key type");
  return *type;
}

Result<Sensitive<Bytes>> PrivateKey::raw_x25519() const {
  if (type() != KeyType::x25519) return fail(ErrorCode::bad_key, "not an X25519 key");
  Bytes out(kX25519Size);
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_private_key(as_pkey(key_.get()), out.data(), &size) != 1 || size != kX25519Size) {
    cleanse(out);
    return fail(ErrorCode::crypto_failure, "X25519 private key export failed");
  }
  return Sensitive<Bytes>(std::move(out));
}

}  // namespace cloister::crypto
