#pragma once
// HPKE (RFC 9180), base mode only, over the primitives in hash.h, aead.h and x25519.h.
//
// Supported: KEM DHKEM(X25519, HKDF-SHA256) (0x0020); KDF HKDF-SHA256 (0x0001); AEADs
// AES-128-GCM (0x0001), AES-256-GCM (0x0002), ChaCha20-Poly1305 (0x0003) and export-only (0xFFFF).
// Cloister seals PHI bodies with kDefaultSuite; sealed_message.h builds the request/response
// pattern on top of this file.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x25519.h"

namespace cloister::crypto::hpke {

// IANA "HPKE KEM/KDF/AEAD Identifiers"; the enum values are the wire ids.
enum class Kem : std::uint16_t { x25519_hkdf_sha256 = 0x0020 };
enum class Kdf : std::uint16_t { hkdf_sha256 = 0x0001 };
enum class Aead : std::uint16_t {
  aes_128_gcm = 0x0001,
  aes_256_gcm = 0x0002,
  chacha20_poly1305 = 0x0003,
  export_only = 0xFFFF,
};

struct Suite {
  Kem kem;
  Kdf kdf;
  Aead aead;
  friend bool operator==(const Suite&, const Suite&) = default;
};

inline constexpr Suite kDefaultSuite{Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::aes_256_gcm};

// DHKEM(X25519, HKDF-SHA256) sizes: Nsecret, Nenc, Npk, Nsk.
inline constexpr std::size_t kSharedSecretSize = 32;
inline constexpr std::size_t kEncSize = 32;
inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kPrivateKeySize = 32;
// HKDF-SHA256: Nh.
inline constexpr std::size_t kKdfHashSize = 32;
// Every supported AEAD appends a 16-byte tag (Nt).
inline constexpr std::size_t kTagSize = 16;

// True when all three ids are ones this file implements (enum values can arrive from the wire).
bool is_supported(const Suite& suite);
// The suite for three wire ids; hpke_unsupported_suite unless is_supported.
Result<Suite> suite_from_ids(std::uint16_t kem_id, std::uint16_t kdf_id, std::uint16_t aead_id);
// Nk and Nn of an AEAD (both 0 for export-only). Throws std::invalid_argument on an unknown id.
std::size_t aead_key_size(Aead aead);
std::size_t aead_nonce_size(Aead aead);

// An X25519 key pair: raw 32-byte private (SerializePrivateKey) and public (SerializePublicKey) keys.
using KeyPair = X25519KeyPair;

// RFC 9180 §7.1.3 DeriveKeyPair for X25519. ikm must hold at least 32 bytes of entropy; a shorter
// ikm is a programmer error (std::invalid_argument).
KeyPair derive_key_pair(BytesView ikm);
// A fresh random key pair (GenerateKeyPair).
KeyPair generate_key_pair();

// --- RFC 9180 §4.1 DHKEM, exposed so the tests can check the RFC's intermediate values ---

struct Encapsulation {
  Sensitive<Bytes> shared_secret;  // Nsecret bytes
  Bytes enc;                       // Nenc bytes: the ephemeral public key
};

// Encap(pkR) with a fresh ephemeral key. bad_key when pkR is not 32 bytes or is a small-order point.
Result<Encapsulation> encap(BytesView recipient_public_key);
// Encap(pkR) with a given ephemeral key pair: for the RFC test vectors only (never reuse an ephemeral key).
Result<Encapsulation> encap(BytesView recipient_public_key, const KeyPair& ephemeral);
// Decap(enc, skR). hpke_bad_encapsulation when enc is not 32 bytes or the DH result is all zero;
// bad_key when skR is not 32 bytes.
Result<Sensitive<Bytes>> decap(BytesView enc, BytesView recipient_private_key);

// --- RFC 9180 §5.1 KeySchedule (base mode: empty psk and psk_id) ---

struct KeySchedule {
  Bytes key_schedule_context;  // mode ‖ psk_id_hash ‖ info_hash (public)
  Sensitive<Bytes> secret;
  Sensitive<Bytes> key;         // Nk bytes (empty for export-only)
  Sensitive<Bytes> base_nonce;  // Nn bytes (empty for export-only)
  Sensitive<Bytes> exporter_secret;
};

Result<KeySchedule> key_schedule_base(const Suite& suite, BytesView shared_secret, BytesView info);

// --- Encryption contexts (RFC 9180 §5.2, §5.3) ---

namespace detail {
// What a context holds after setup; built only by the setup functions below.
struct ContextState {
  Suite suite;
  Sensitive<Bytes> key;
  Sensitive<Bytes> base_nonce;
  Sensitive<Bytes> exporter_secret;
  std::uint64_t sequence_number = 0;
};
}  // namespace detail

// The sender's side: seal() uses nonce = base_nonce XOR I2OSP(seq, Nn) and then increments seq.
// The sequence number is a 64-bit counter: the context refuses to seal once it would wrap
// (hpke_message_limit), which is stricter than, and so compatible with, the RFC's 2^96 - 1.
class SenderContext {
 public:
  explicit SenderContext(detail::ContextState state) : state_(std::move(state)) {}

  // ciphertext ‖ tag. hpke_unsupported_suite for export-only; hpke_message_limit at the limit.
  Result<Bytes> seal(BytesView aad, BytesView plaintext);
  // Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L);
  // invalid_argument when L > 255 * Nh.
  Result<Bytes> export_secret(BytesView exporter_context, std::size_t length) const;

  const Suite& suite() const { return state_.suite; }
  std::uint64_t sequence_number() const { return state_.sequence_number; }
  // Tests only: jump to a sequence number (to reach the message limit or large nonces).
  void set_sequence_number_for_testing(std::uint64_t sequence_number) { state_.sequence_number = sequence_number; }

 private:
  detail::ContextState state_;
};

// The recipient's side: open() must see messages in the order they were sealed; a failed open
// leaves the sequence number unchanged (hpke_open_failed).
class RecipientContext {
 public:
  explicit RecipientContext(detail::ContextState state) : state_(std::move(state)) {}

  // hpke_open_failed on any tampering, reordering or wrong key; hpke_unsupported_suite for
  // export-only; hpke_message_limit at the limit.
  Result<Bytes> open(BytesView aad, BytesView ciphertext);
  Result<Bytes> export_secret(BytesView exporter_context, std::size_t length) const;

  const Suite& suite() const { return state_.suite; }
  std::uint64_t sequence_number() const { return state_.sequence_number; }
  void set_sequence_number_for_testing(std::uint64_t sequence_number) { state_.sequence_number = sequence_number; }

 private:
  detail::ContextState state_;
};

struct SenderSetup {
  Bytes enc;
  SenderContext context;
};

// SetupBaseS(pkR, info). hpke_unsupported_suite for a suite outside is_supported; bad_key for a
// malformed or small-order recipient public key.
Result<SenderSetup> setup_base_sender(const Suite& suite, BytesView recipient_public_key, BytesView info);
// The same with a given ephemeral key pair: for the RFC test vectors only.
Result<SenderSetup> setup_base_sender(const Suite& suite, BytesView recipient_public_key, BytesView info,
                                      const KeyPair& ephemeral);
// SetupBaseR(enc, skR, info). hpke_bad_encapsulation for a bad enc; bad_key for a bad skR.
Result<RecipientContext> setup_base_recipient(const Suite& suite, BytesView enc, BytesView recipient_private_key,
                                              BytesView info);

// --- Single-shot API (RFC 9180 §6.1) ---

struct Sealed {
  Bytes enc;
  Bytes ciphertext;  // ciphertext ‖ tag
};

// Seal<MODE_BASE>(pkR, info, aad, pt).
Result<Sealed> seal(const Suite& suite, BytesView recipient_public_key, BytesView info, BytesView aad,
                    BytesView plaintext);
// Open<MODE_BASE>(enc, skR, info, aad, ct).
Result<Bytes> open(const Suite& suite, BytesView enc, BytesView recipient_private_key, BytesView info, BytesView aad,
                   BytesView ciphertext);

}  // namespace cloister::crypto::hpke
