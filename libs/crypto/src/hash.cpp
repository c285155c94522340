#include "cloister/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <array>
#include <stdexcept>

#include "openssl_util.h"

namespace cloister::crypto {
namespace {

using detail::digest_name;
using detail::evp_md;

// OpenSSL refuses an octet-string parameter whose data pointer is null, even when empty.
const std::uint8_t kEmpty = 0;
OSSL_PARAM octet_param(const char* name, BytesView data) {
  void* pointer = const_cast<std::uint8_t*>(data.empty() ? &kEmpty : data.data());
  return OSSL_PARAM_construct_octet_string(name, pointer, data.size());
}

// OpenSSL 3.0 keeps HKDF info in a fixed 1024-byte buffer; longer infos use the RFC 5869 loop.
constexpr std::size_t kOpensslHkdfInfoLimit = 1024;

Bytes expand_by_hand(HashAlgorithm algorithm, BytesView prk, BytesView info, std::size_t length) {
  Bytes out;
  Bytes block;
  std::uint8_t counter = 1;
  while (out.size() < length) {
    Bytes input = block;
    input.insert(input.end(), info.begin(), info.end());
    input.push_back(counter++);
    block = hmac(algorithm, prk, input);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(length);
  return out;
}

Result<Bytes> run_hkdf(HashAlgorithm algorithm, int mode, BytesView salt, BytesView key, BytesView info,
                       std::size_t length) {
  detail::EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), &EVP_KDF_free);
  if (!kdf) return fail(ErrorCode::crypto_failure, "HKDF unavailable: " + detail::openssl_error());
  detail::EvpKdfCtxPtr context(EVP_KDF_CTX_new(kdf.get()), &EVP_KDF_CTX_free);
  if (!context) return fail(ErrorCode::crypto_failure, "EVP_KDF_CTX_new failed");
  std::array<OSSL_PARAM, 6> params{};
  std::size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                     const_cast<char*>(digest_name(algorithm)), 0);
  params[count++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[count++] = octet_param(OSSL_KDF_PARAM_KEY, key);
  if (!salt.empty()) params[count++] = octet_param(OSSL_KDF_PARAM_SALT, salt);
  if (!info.empty()) params[count++] = octet_param(OSSL_KDF_PARAM_INFO, info);
  params[count] = OSSL_PARAM_construct_end();
  Bytes out(length);
  if (EVP_KDF_derive(context.get(), out.data(), out.size(), params.data()) != 1) {
    return fail(ErrorCode::crypto_failure, "HKDF failed: " + detail::openssl_error());
  }
  return out;
}

}  // namespace

std::size_t digest_size(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::sha256: return 32;
    case HashAlgorithm::sha384: return 48;
    case HashAlgorithm::sha512: return 64;
  }
  throw std::invalid_argument("unknown hash algorithm");
}

Bytes digest(HashAlgorithm algorithm, BytesView data) {
  Hasher hasher(algorithm);
  hasher.update(data);
  return hasher.finish();
}

Bytes sha256(BytesView data) { return digest(HashAlgorithm::sha256, data); }
Bytes sha384(BytesView data) { return digest(HashAlgorithm::sha384, data); }
Bytes sha512(BytesView data) { return digest(HashAlgorithm::sha512, data); }

Hasher::Hasher(HashAlgorithm algorithm) : context_(EVP_MD_CTX_new()) {
  auto* context = static_cast<EVP_MD_CTX*>(context_);
  if (context == nullptr || EVP_DigestInit_ex(context, evp_md(algorithm), nullptr) != 1) {
    EVP_MD_CTX_free(context);
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}

Hasher::~Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Hasher::update(BytesView data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size()) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

Bytes Hasher::finish() {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), out.data(), &size) != 1) {
    throw std::runtime_error("EVP_DigestFinal_ex failed");
  }
  out.resize(size);
  return out;
}

Bytes hmac(HashAlgorithm algorithm, BytesView key, BytesView data) {
  detail::EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
  if (!mac) throw std::runtime_error("HMAC unavailable");
  detail::EvpMacCtxPtr context(EVP_MAC_CTX_new(mac.get()), &EVP_MAC_CTX_free);
  if (!context) throw std::runtime_error("EVP_MAC_CTX_new failed");
  std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(algorithm)), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(context.get(), key.empty() ? &kEmpty : key.data(), key.size(), params.data()) != 1 ||
      (!data.empty() && EVP_MAC_update(context.get(), data.data(), data.size()) != 1)) {
    throw std::runtime_error("HMAC failed: " + detail::openssl_error());
  }
  Bytes out(EVP_MAX_MD_SIZE);
  std::size_t size = 0;
  if (EVP_MAC_final(context.get(), out.data(), &size, out.size()) != 1) {
    throw std::runtime_error("HMAC final failed");
  }
  out.resize(size);
  return out;
}

Bytes hkdf_extract(HashAlgorithm algorithm, BytesView salt, BytesView input_key_material) {
  auto prk = run_hkdf(algorithm, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, input_key_material, {},
                      digest_size(algorithm));
  if (!prk) throw std::runtime_error(prk.error().to_string());
  return std::move(*prk);
}

Result<Bytes> hkdf_expand(HashAlgorithm algorithm, BytesView pseudorandom_key, BytesView info, std::size_t length) {
  const std::size_t hash_length = digest_size(algorithm);
  if (length > 255 * hash_length) {
    return fail(ErrorCode::invalid_argument, "HKDF-Expand length exceeds 255 * HashLen");
  }
  if (length == 0) return Bytes{};
  if (pseudorandom_key.size() < hash_length) {
    return fail(ErrorCode::invalid_argument, "HKDF-Expand PRK shorter than HashLen");
  }
  if (info.size() > kOpensslHkdfInfoLimit) return expand_by_hand(algorithm, pseudorandom_key, info, length);
  return run_hkdf(algorithm, EVP_KDF_HKDF_MODE_EXPAND_ONLY, {}, pseudorandom_key, info, length);
}

Result<Bytes> hkdf(HashAlgorithm algorithm, BytesView salt, BytesView input_key_material, BytesView info,
                   std::size_t length) {
  Bytes prk = hkdf_extract(algorithm, salt, input_key_material);
  auto out = hkdf_expand(algorithm, prk, info, length);
  cleanse(prk);
  return out;
}

std::string hex_encode(BytesView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t byte : data) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return fail(ErrorCode::bad_encoding, "hex string has odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int high = nibble(hex[i]);
    int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return fail(ErrorCode::bad_encoding, "hex string has a non-hex character");
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

}  // namespace cloister::crypto
