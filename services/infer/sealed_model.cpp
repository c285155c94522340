#include "sealed_model.h"

#include "cloister/crypto/aead.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"

#include <nlohmann/json.hpp>

namespace cloister::infer {

namespace {

constexpr std::string_view kWrapSuite = "HPKE-Base-X25519-SHA256-AES256GCM";
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

Error integrity(const std::string& detail) { return Error{ErrorCode::model_integrity_failed, "sealed model: " + detail}; }

std::string hex_sha256(crypto::BytesView bytes) { return crypto::hex_encode(crypto::sha256(bytes)); }

crypto::Bytes wrap_aad(std::string_view model, std::string_view version, std::string_view manifest_sha256) {
  std::string aad(model);
  aad.push_back('\0');
  aad += version;
  aad.push_back('\0');
  aad += manifest_sha256;
  return crypto::to_bytes(aad);
}

struct Parsed {
  SealedModelHeader header;
  nlohmann::json json;
  crypto::BytesView header_bytes;
  crypto::BytesView ciphertext;
};

Result<Parsed> parse(crypto::BytesView sealed) {
  const auto magic = kSealedModelMagic.size();
  if (sealed.size() < magic + 4 || crypto::to_string(sealed.first(magic)) != kSealedModelMagic) {
    return std::unexpected(integrity("not a sealed model (no CLSMODEL magic)"));
  }
  std::size_t length = 0;
  for (std::size_t i = 0; i < 4; ++i) length = (length << 8) | sealed[magic + i];
  if (length == 0 || length > kMaxHeaderBytes || length > sealed.size() - magic - 4) {
    return std::unexpected(integrity("header length out of range"));
  }
  Parsed parsed;
  parsed.header_bytes = sealed.subspan(magic + 4, length);
  parsed.ciphertext = sealed.subspan(magic + 4 + length);
  parsed.json = nlohmann::json::parse(parsed.header_bytes.begin(), parsed.header_bytes.end(), nullptr, false);
  const auto& h = parsed.json;
  auto is_string = [&h](const char* name) { return h.contains(name) && h[name].is_string(); };
  if (!h.is_object() || h.value("format", std::string()) != kSealedModelFormat || !h.contains("key") ||
      !h["key"].is_object() || !h["key"].contains("name") || !h["key"]["name"].is_string() ||
      !h["key"].contains("version") || !h["key"]["version"].is_number_unsigned() || !h.contains("wrap") ||
      !h["wrap"].is_object() || h["wrap"].value("suite", std::string()) != kWrapSuite || !h["wrap"].contains("enc") ||
      !h["wrap"]["enc"].is_string() || !h["wrap"].contains("ciphertext") || !h["wrap"]["ciphertext"].is_string() ||
      !is_string("nonce") || !is_string("model") || !is_string("model_version") || !is_string("model_sha256") ||
      !is_string("manifest_sha256")) {
    return std::unexpected(integrity("malformed header"));
  }
  parsed.header.key_name = h["key"]["name"].get<std::string>();
  parsed.header.key_version = h["key"]["version"].get<std::uint64_t>();
  parsed.header.model = h["model"].get<std::string>();
  parsed.header.model_version = h["model_version"].get<std::string>();
  parsed.header.model_sha256 = h["model_sha256"].get<std::string>();
  parsed.header.manifest_sha256 = h["manifest_sha256"].get<std::string>();
  return parsed;
}

}  // namespace

Result<crypto::Bytes> seal_model(crypto::BytesView onnx, std::string_view manifest_bytes, std::string_view model,
                                 std::string_view model_version, std::string_view key_name, std::uint64_t key_version,
                                 crypto::BytesView public_key) {
  const auto manifest_sha256 = hex_sha256(crypto::as_bytes(manifest_bytes));
  auto cek = crypto::random_bytes(32);
  auto wrapped = crypto::hpke::seal(crypto::hpke::kDefaultSuite, public_key, crypto::as_bytes(kModelKeyInfo),
                                    wrap_aad(model, model_version, manifest_sha256), cek);
  if (!wrapped) {
    crypto::cleanse(cek);
    return std::unexpected(wrapped.error());
  }
  const auto nonce = crypto::random_bytes(12);
  nlohmann::json header = {
      {"format", kSealedModelFormat},
      {"key", {{"name", key_name}, {"version", key_version}}},
      {"wrap", {{"suite", kWrapSuite}, {"enc", crypto::base64url_encode(wrapped->enc)},
                {"ciphertext", crypto::base64url_encode(wrapped->ciphertext)}}},
      {"nonce", crypto::base64url_encode(nonce)},
      {"model", model},
      {"model_version", model_version},
      {"model_sha256", hex_sha256(onnx)},
      {"manifest_sha256", manifest_sha256},
  };
  const auto header_text = header.dump();
  auto ciphertext = crypto::aead_seal(crypto::AeadAlgorithm::aes_256_gcm, cek, nonce, crypto::as_bytes(header_text), onnx);
  crypto::cleanse(cek);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  crypto::Bytes out = crypto::to_bytes(kSealedModelMagic);
  const auto length = static_cast<std::uint32_t>(header_text.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(length >> shift));
  out.insert(out.end(), header_text.begin(), header_text.end());
  out.insert(out.end(), ciphertext->begin(), ciphertext->end());
  return out;
}

Result<SealedModelHeader> read_sealed_header(crypto::BytesView sealed) {
  auto parsed = parse(sealed);
  if (!parsed) return std::unexpected(parsed.error());
  return parsed->header;
}

Result<Sensitive<crypto::Bytes>> open_model(crypto::BytesView sealed, std::string_view manifest_bytes,
                                            crypto::BytesView private_key) {
  auto parsed = parse(sealed);
  if (!parsed) return std::unexpected(parsed.error());
  const auto manifest_sha256 = hex_sha256(crypto::as_bytes(manifest_bytes));
  if (manifest_sha256 != parsed->header.manifest_sha256) {
    return std::unexpected(integrity("the manifest is not the one the model was sealed with"));
  }
  auto enc = crypto::base64url_decode(parsed->json["wrap"]["enc"].get<std::string>());
  auto wrapped = crypto::base64url_decode(parsed->json["wrap"]["ciphertext"].get<std::string>());
  auto nonce = crypto::base64url_decode(parsed->json["nonce"].get<std::string>());
  if (!enc || !wrapped || !nonce || nonce->size() != 12) return std::unexpected(integrity("malformed header"));
  auto cek = crypto::hpke::open(crypto::hpke::kDefaultSuite, *enc, private_key, crypto::as_bytes(kModelKeyInfo),
                                wrap_aad(parsed->header.model, parsed->header.model_version, manifest_sha256), *wrapped);
  if (!cek) return std::unexpected(integrity("the model key does not unwrap with the released key"));
  auto onnx = crypto::aead_open(crypto::AeadAlgorithm::aes_256_gcm, *cek, *nonce, parsed->header_bytes, parsed->ciphertext);
  crypto::cleanse(*cek);
  if (!onnx) return std::unexpected(integrity("the model does not decrypt (tampered or truncated)"));
  if (hex_sha256(*onnx) != parsed->header.model_sha256) {
    crypto::cleanse(*onnx);
    return std::unexpected(integrity("the decrypted model does not match its SHA-256"));
  }
  return Sensitive<crypto::Bytes>(std::move(*onnx));
}

}  // namespace cloister::infer
