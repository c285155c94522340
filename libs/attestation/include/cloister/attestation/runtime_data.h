#pragma once
// Runtime data: the JSON document a service's TEE report binds (docs/tokens.md, "Runtime data").
//
//   {"keys":[{"alg":"ES256","crv":"P-256","kid":"tls","kty":"EC","use":"sig","x":"…","y":"…"},
//            {"alg":"HPKE-Base-X25519-SHA256-AES256GCM","crv":"X25519","kid":"hpke","kty":"OKP",
//             "use":"enc","x":"…"}],
//    "nonce":"…"}
//
// It is a JWK Set (so any JOSE library imports the keys) plus an optional nonce. make_runtime_data
// serializes deterministically: compact, members sorted, no insignificant whitespace. The TEE's
// report data is SHA-256(the exact runtime-data bytes) ‖ 32 zero bytes.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloister/attestation/claims.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::attestation {

namespace runtime_data {
inline constexpr std::string_view kKeys = "keys";
inline constexpr std::string_view kNonce = "nonce";
inline constexpr std::string_view kTlsKeyId = "tls";
inline constexpr std::string_view kHpkeKeyId = "hpke";
inline constexpr std::string_view kTlsAlgorithm = "ES256";
// The HPKE suite of DESIGN.md (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM). No JOSE registry names HPKE suites; this name is Cloister's.
inline constexpr std::string_view kHpkeAlgorithm = "HPKE-Base-X25519-SHA256-AES256GCM";
// Upper bounds the parser enforces (a JWK Set of two keys is about 400 bytes).
inline constexpr std::size_t kMaxSize = 4096;
inline constexpr std::size_t kMaxNonceSize = 256;
}  // namespace runtime_data

// The document for a service's TLS key (ECDSA P-256) and HPKE public key (raw X25519, 32 bytes).
// Deterministic: the same inputs give the same bytes. Throws std::invalid_argument (a programmer
// error) when the TLS key is not P-256, the HPKE key is not 32 bytes or the nonce is empty,
// oversized or not printable ASCII.
Bytes make_runtime_data(const crypto::PublicKey& tls, BytesView hpke_public,
                        std::optional<std::string> nonce = std::nullopt);

struct AttestedKeys {
  crypto::PublicKey tls;             // ECDSA P-256
  Bytes hpke_public;                 // X25519, 32 bytes
  std::optional<std::string> nonce;
  nlohmann::json document;           // the whole runtime-data document
};

// Strict parse: runtime_data_invalid on anything wrong (not JSON, not an object, unknown members,
// oversized, missing/duplicate/extra keys, a private member "d", a wrong kty/crv/use/alg, bad
// base64url, a point not on the curve, a bad nonce).
Result<AttestedKeys> parse_runtime_data(BytesView runtime_data);
// The same on an already parsed document (the `runtime` claim of a token).
Result<AttestedKeys> parse_runtime_document(const nlohmann::json& document);

// SHA-256(runtime_data) ‖ 32 zero bytes: the report data an attester asks its TEE for.
Bytes report_data_for(BytesView runtime_data);
// report_data_mismatch unless report_data == report_data_for(runtime_data) (constant time).
Status check_report_data_binding(BytesView report_data, BytesView runtime_data);

}  // namespace cloister::attestation
