#include "cloister/crypto/sealed_message.h"

#include <algorithm>
#include <stdexcept>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"

namespace cloister::crypto::sealed {
namespace {

// Sealed messages need an AEAD: export-only cannot carry a body.
bool accepts(const hpke::Suite& suite) { return hpke::is_supported(suite) && suite.aead != hpke::Aead::export_only; }

AeadAlgorithm aead_algorithm(hpke::Aead aead) {
  switch (aead) {
    case hpke::Aead::aes_128_gcm:
      return AeadAlgorithm::aes_128_gcm;
    case hpke::Aead::chacha20_poly1305:
      return AeadAlgorithm::chacha20_poly1305;
    case hpke::Aead::aes_256_gcm:
      return AeadAlgorithm::aes_256_gcm;
    case hpke::Aead::export_only:
      break;
  }
  throw std::logic_error("sealed messages never use the export-only suite");
}

// max(Nn, Nk): the length of the exported secret and of the response nonce.
std::size_t response_nonce_size(const hpke::Suite& suite) {
  return std::max(hpke::aead_key_size(suite.aead), hpke::aead_nonce_size(suite.aead));
}

Bytes header(std::uint8_t key_id, const hpke::Suite& suite) {
  const auto kem = static_cast<std::uint16_t>(suite.kem);
  const auto kdf = static_cast<std::uint16_t>(suite.kdf);
  const auto aead = static_cast<std::uint16_t>(suite.aead);
  return Bytes{key_id,
               static_cast<std::uint8_t>(kem >> 8),
               static_cast<std::uint8_t>(kem & 0xFF),
               static_cast<std::uint8_t>(kdf >> 8),
               static_cast<std::uint8_t>(kdf & 0xFF),
               static_cast<std::uint8_t>(aead >> 8),
               static_cast<std::uint8_t>(aead & 0xFF)};
}

// info = "cloister request" ‖ 0x00 ‖ hdr
Bytes request_info(BytesView header_bytes) {
  Bytes info = to_bytes(kRequestLabel);
  info.push_back(0x00);
  info.insert(info.end(), header_bytes.begin(), header_bytes.end());
  return info;
}

std::uint16_t read_u16(BytesView bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((bytes[offset] << 8) | bytes[offset + 1]);
}

// aead_key and aead_nonce for a response (RFC 9458 §4.4 with Cloister's labels).
struct ResponseKey {
  Bytes key;
  Bytes nonce;
  ResponseKey() = default;
  ResponseKey(ResponseKey&&) = default;
  ResponseKey& operator=(ResponseKey&&) = default;
  ~ResponseKey() { cleanse(key); }
};

Result<ResponseKey> response_key(const detail::ResponseKeyMaterial& material, BytesView response_nonce) {
  const Bytes salt = concat(material.enc, response_nonce);
  Bytes prk = hkdf_extract(HashAlgorithm::sha256, salt, material.secret.reveal());
  auto key = hkdf_expand(HashAlgorithm::sha256, prk, as_bytes("key"), hpke::aead_key_size(material.suite.aead));
  auto nonce = hkdf_expand(HashAlgorithm::sha256, prk, as_bytes("nonce"), hpke::aead_nonce_size(material.suite.aead));
  cleanse(prk);
  if (!key) return std::unexpected(key.error());
  if (!nonce) {
    cleanse(*key);
    return std::unexpected(nonce.error());
  }
  ResponseKey result;
  result.key = std::move(*key);
  result.nonce = std::move(*nonce);
  return result;
}

template <class Context>
Result<detail::ResponseKeyMaterial> response_material(const Context& context, const hpke::Suite& suite, BytesView enc) {
  auto secret = context.export_secret(as_bytes(kResponseLabel), response_nonce_size(suite));
  if (!secret) return std::unexpected(secret.error());
  return detail::ResponseKeyMaterial{suite, Bytes(enc.begin(), enc.end()), Sensitive<Bytes>(std::move(*secret))};
}

}  // namespace

Result<SealedRequest> seal_request(BytesView recipient_public_key, std::uint8_t key_id, BytesView plaintext,
                                   const hpke::Suite& suite) {
  if (!accepts(suite)) return fail(ErrorCode::hpke_unsupported_suite, "sealed messages need an HPKE AEAD suite");
  const Bytes hdr = header(key_id, suite);
  auto setup = hpke::setup_base_sender(suite, recipient_public_key, request_info(hdr));
  if (!setup) return std::unexpected(setup.error());
  auto ciphertext = setup->context.seal({}, plaintext);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  auto material = response_material(setup->context, suite, setup->enc);
  if (!material) return std::unexpected(material.error());

  Bytes message;
  message.reserve(hdr.size() + setup->enc.size() + ciphertext->size());
  message.insert(message.end(), hdr.begin(), hdr.end());
  message.insert(message.end(), setup->enc.begin(), setup->enc.end());
  message.insert(message.end(), ciphertext->begin(), ciphertext->end());
  return SealedRequest{std::move(message), ResponseOpener(std::move(*material))};
}

Result<OpenedRequest> open_request(BytesView message, BytesView recipient_private_key, std::uint8_t expected_key_id) {
  if (message.size() < kHeaderSize) return fail(ErrorCode::hpke_open_failed, "sealed request shorter than its header");
  const std::uint8_t key_id = message[0];
  if (key_id != expected_key_id)
    return fail(ErrorCode::hpke_unsupported_suite, "sealed request names an unknown key id");
  auto suite = hpke::suite_from_ids(read_u16(message, 1), read_u16(message, 3), read_u16(message, 5));
  if (!suite || !accepts(*suite)) {
    return fail(ErrorCode::hpke_unsupported_suite, "sealed request names an unsupported HPKE suite");
  }
  if (message.size() < kHeaderSize + hpke::kEncSize + hpke::kTagSize) {
    return fail(ErrorCode::hpke_open_failed, "sealed request is truncated");
  }
  const BytesView hdr = message.first(kHeaderSize);
  const BytesView enc = message.subspan(kHeaderSize, hpke::kEncSize);
  const BytesView ciphertext = message.subspan(kHeaderSize + hpke::kEncSize);

  auto context = hpke::setup_base_recipient(*suite, enc, recipient_private_key, request_info(hdr));
  if (!context) {
    // A malformed private key is the server's own fault, not the client's.
    if (context.error().code == ErrorCode::bad_key) return std::unexpected(context.error());
    return fail(ErrorCode::hpke_open_failed, "sealed request has a bad encapsulated key");
  }
  auto plaintext = context->open({}, ciphertext);
  if (!plaintext) return fail(ErrorCode::hpke_open_failed, "sealed request does not open");
  auto material = response_material(*context, *suite, enc);
  if (!material) return std::unexpected(material.error());
  return OpenedRequest{std::move(*plaintext), ResponseSealer(std::move(*material)), key_id};
}

Result<Bytes> ResponseSealer::seal(BytesView plaintext) const {
  const Bytes response_nonce = random_bytes(response_nonce_size(material_.suite));
  auto key = response_key(material_, response_nonce);
  if (!key) return std::unexpected(key.error());
  auto ciphertext = aead_seal(aead_algorithm(material_.suite.aead), key->key, key->nonce, {}, plaintext);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  Bytes response;
  response.reserve(response_nonce.size() + ciphertext->size());
  response.insert(response.end(), response_nonce.begin(), response_nonce.end());
  response.insert(response.end(), ciphertext->begin(), ciphertext->end());
  return response;
}

Result<Bytes> ResponseOpener::open(BytesView response) const {
  const std::size_t nonce_size = response_nonce_size(material_.suite);
  if (response.size() < nonce_size + hpke::kTagSize)
    return fail(ErrorCode::hpke_open_failed, "sealed response is truncated");
  auto key = response_key(material_, response.first(nonce_size));
  if (!key) return std::unexpected(key.error());
  auto plaintext =
      aead_open(aead_algorithm(material_.suite.aead), key->key, key->nonce, {}, response.subspan(nonce_size));
  if (!plaintext) return fail(ErrorCode::hpke_open_failed, "sealed response does not open");
  return plaintext;
}

}  // namespace cloister::crypto::sealed
