#pragma once
// Models at rest (docs/infer.md §4): envelope encryption under a key only an attested provider TEE
// gets. The model owner seals a model with the *public* half of an `hpke-x25519` key held by
// cloister-keys — the private half is released only to TEEs its release policy admits — so whoever
// seals a model (a build pipeline, the owner's laptop) never holds anything that decrypts it, and the
// provider's operators and the platform only ever see ciphertext.
//
//   model.sealed = "CLSMODEL" ‖ u32 BE n ‖ header (n bytes of JSON) ‖ AES-256-GCM(cek, nonce, aad = header, onnx)
//   header       = {"format": "cloister-sealed-model-v1",
//                   "key": {"name": "<cloister-keys key>", "version": N},
//                   "wrap": {"suite": "HPKE-Base-X25519-SHA256-AES256GCM", "enc": b64url, "ciphertext": b64url},
//                   "nonce": b64url(12 bytes), "model": "<name>", "model_version": "<version>",
//                   "model_sha256": hex, "manifest_sha256": hex}
//   wrapped cek  = HPKE Seal(public key, info = "cloister-model-key-v1",
//                            aad = model ‖ 0x00 ‖ model_version ‖ 0x00 ‖ manifest_sha256, cek)
//
// The content-encryption key (cek) is 32 fresh random bytes per sealing. The header is the AEAD's
// associated data, so the key reference, the model's and the manifest's hashes cannot be changed
// without the decryption failing; the manifest's SHA-256 ties the manifest (labels, preprocessing)
// to the sealed bytes.

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace cloister::infer {

inline constexpr std::string_view kSealedModelMagic = "CLSMODEL";
inline constexpr std::string_view kSealedModelFormat = "cloister-sealed-model-v1";
inline constexpr std::string_view kModelKeyInfo = "cloister-model-key-v1";

struct SealedModelHeader {
  std::string key_name;
  std::uint64_t key_version = 0;
  std::string model;
  std::string model_version;
  std::string model_sha256;     // hex of the ONNX bytes
  std::string manifest_sha256;  // hex of the manifest file's bytes
};

// Seals ONNX bytes for the manifest (its exact file bytes) to an X25519 public key.
Result<crypto::Bytes> seal_model(crypto::BytesView onnx, std::string_view manifest_bytes, std::string_view model,
                                 std::string_view model_version, std::string_view key_name, std::uint64_t key_version,
                                 crypto::BytesView public_key);

// Reads the header (no key needed): model_integrity_failed for a malformed file.
Result<SealedModelHeader> read_sealed_header(crypto::BytesView sealed);

// Opens with the released private key; checks the manifest's bytes against manifest_sha256 and the
// plaintext against model_sha256. model_integrity_failed on any mismatch or failed decryption.
Result<Sensitive<crypto::Bytes>> open_model(crypto::BytesView sealed, std::string_view manifest_bytes,
                                            crypto::BytesView private_key);

}  // namespace cloister::infer
