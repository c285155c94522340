#pragma once
// Sealed messages: how Cloister carries PHI bodies end to end, whatever terminates TLS.
// The pattern is Oblivious HTTP's (RFC 9458 §4.3–4.4) with Cloister's own labels; the browser
// portal implements the same bytes with npm @hpke/core (tests/node/hpke_interop.mjs checks both).
//
// Request, client → server (every integer big-endian):
//
//   hdr     = key_id (1 byte) ‖ kem_id (2) ‖ kdf_id (2) ‖ aead_id (2)            7 bytes
//   info    = "cloister request" ‖ 0x00 ‖ hdr                                   (16 ASCII bytes, a zero, hdr)
//   enc, ctx = SetupBaseS(pkR, info)                                             RFC 9180 base mode
//   ct      = ctx.Seal(aad = "", plaintext)
//   request = hdr ‖ enc ‖ ct                                                     7 + 32 + len(plaintext) + 16
//
// key_id names the recipient's key configuration (the attested X25519 key); the suite is
// DHKEM(X25519, HKDF-SHA256) (0x0020), HKDF-SHA256 (0x0001) and one of AES-128-GCM (0x0001),
// AES-256-GCM (0x0002, the default) or ChaCha20-Poly1305 (0x0003). Export-only is refused.
//
// Response, server → client, keyed from the same HPKE context:
//
//   L              = max(Nn, Nk)                       (16 for AES-128-GCM, 32 otherwise)
//   secret         = ctx.Export("cloister response", L)
//   response_nonce = random(L)
//   salt           = enc ‖ response_nonce
//   prk            = HKDF-Extract(salt, secret)         (plain HKDF-SHA256, not the labeled variant)
//   aead_key       = HKDF-Expand(prk, "key", Nk)
//   aead_nonce     = HKDF-Expand(prk, "nonce", Nn)
//   response       = response_nonce ‖ AEAD-Seal(aead_key, aead_nonce, aad = "", plaintext)
//
// Only the holder of the request's context (the client that sealed it) can open the response.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hpke.h"

namespace cloister::crypto::sealed {

inline constexpr std::size_t kHeaderSize = 7;
inline constexpr std::string_view kRequestLabel = "cloister request";
inline constexpr std::string_view kResponseLabel = "cloister response";

namespace detail {
// What either side keeps from the request to key the response.
struct ResponseKeyMaterial {
  hpke::Suite suite;
  Bytes enc;
  Sensitive<Bytes> secret;  // Export("cloister response", max(Nn, Nk))
};
}  // namespace detail

// The client's handle for the one response to its request.
class ResponseOpener {
 public:
  explicit ResponseOpener(detail::ResponseKeyMaterial material) : material_(std::move(material)) {}
  // hpke_open_failed on a truncated or tampered response, or one sealed for another request.
  Result<Bytes> open(BytesView response) const;

 private:
  detail::ResponseKeyMaterial material_;
};

// The server's handle for answering an opened request.
class ResponseSealer {
 public:
  explicit ResponseSealer(detail::ResponseKeyMaterial material) : material_(std::move(material)) {}
  // response_nonce ‖ ciphertext ‖ tag, with a fresh random response_nonce.
  Result<Bytes> seal(BytesView plaintext) const;

 private:
  detail::ResponseKeyMaterial material_;
};

struct SealedRequest {
  Bytes message;
  ResponseOpener opener;
};

// Seals a request to the recipient's public key. bad_key for a malformed recipient key;
// hpke_unsupported_suite for a suite other than the three AEAD suites above.
Result<SealedRequest> seal_request(BytesView recipient_public_key, std::uint8_t key_id, BytesView plaintext,
                                   const hpke::Suite& suite = hpke::kDefaultSuite);

struct OpenedRequest {
  Bytes plaintext;
  ResponseSealer sealer;
  std::uint8_t key_id;
};

// Opens a request. hpke_unsupported_suite when the key id is not expected_key_id or the header
// names a suite this side does not accept; hpke_open_failed for anything else (truncation, a bad
// encapsulated key, tampering, a message for another key).
Result<OpenedRequest> open_request(BytesView message, BytesView recipient_private_key, std::uint8_t expected_key_id);

}  // namespace cloister::crypto::sealed
