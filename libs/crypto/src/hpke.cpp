#include "cloister/crypto/hpke.h"

#include <limits>
#include <stdexcept>
#include <string_view>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"

namespace cloister::crypto::hpke {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";
constexpr std::uint8_t kModeBase = 0x00;
constexpr std::size_t kMaxExportLength = 255 * kKdfHashSize;
// The sequence number is a std::uint64_t; this value is never used for a nonce (see hpke.h).
constexpr std::uint64_t kSequenceLimit = std::numeric_limits<std::uint64_t>::max();

// Wipes a buffer holding key material on every exit path.
class ScopedCleanse {
 public:
  explicit ScopedCleanse(Bytes& bytes) : bytes_(bytes) {}
  ~ScopedCleanse() { cleanse(bytes_); }
  ScopedCleanse(const ScopedCleanse&) = delete;
  ScopedCleanse& operator=(const ScopedCleanse&) = delete;

 private:
  Bytes& bytes_;
};

void append(Bytes& out, BytesView data) { out.insert(out.end(), data.begin(), data.end()); }
void append(Bytes& out, std::string_view text) { append(out, as_bytes(text)); }
void append_u16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

// suite_id for the KEM: "KEM" ‖ I2OSP(kem_id, 2) (RFC 9180 §4.1).
Bytes kem_suite_id() {
  Bytes id;
  append(id, std::string_view("KEM"));
  append_u16(id, static_cast<std::uint16_t>(Kem::x25519_hkdf_sha256));
  return id;
}

// suite_id for the key schedule: "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2) (§5.1).
Bytes hpke_suite_id(const Suite& suite) {
  Bytes id;
  append(id, std::string_view("HPKE"));
  append_u16(id, static_cast<std::uint16_t>(suite.kem));
  append_u16(id, static_cast<std::uint16_t>(suite.kdf));
  append_u16(id, static_cast<std::uint16_t>(suite.aead));
  return id;
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm) (§4).
Bytes labeled_extract(BytesView suite_id, BytesView salt, std::string_view label, BytesView ikm) {
  Bytes labeled_ikm;
  ScopedCleanse wipe(labeled_ikm);
  labeled_ikm.reserve(kVersionLabel.size() + suite_id.size() + label.size() + ikm.size());
  append(labeled_ikm, kVersionLabel);
  append(labeled_ikm, suite_id);
  append(labeled_ikm, label);
  append(labeled_ikm, ikm);
  return hkdf_extract(HashAlgorithm::sha256, salt, labeled_ikm);
}

// LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L) (§4).
Result<Bytes> labeled_expand(BytesView suite_id, BytesView prk, std::string_view label, BytesView info,
                             std::size_t length) {
  if (length > kMaxExportLength) return fail(ErrorCode::invalid_argument, "HPKE expand length exceeds 255 * Nh");
  if (length == 0) return Bytes{};
  Bytes labeled_info;
  labeled_info.reserve(2 + kVersionLabel.size() + suite_id.size() + label.size() + info.size());
  append_u16(labeled_info, static_cast<std::uint16_t>(length));
  append(labeled_info, kVersionLabel);
  append(labeled_info, suite_id);
  append(labeled_info, label);
  append(labeled_info, info);
  return hkdf_expand(HashAlgorithm::sha256, prk, labeled_info, length);
}

// ExtractAndExpand(dh, kem_context) of DHKEM (§4.1).
Result<Bytes> extract_and_expand(BytesView dh, BytesView kem_context) {
  const Bytes suite_id = kem_suite_id();
  Bytes eae_prk = labeled_extract(suite_id, {}, "eae_prk", dh);
  ScopedCleanse wipe(eae_prk);
  return labeled_expand(suite_id, eae_prk, "shared_secret", kem_context, kSharedSecretSize);
}

AeadAlgorithm aead_algorithm(Aead aead) {
  switch (aead) {
    case Aead::aes_128_gcm:
      return AeadAlgorithm::aes_128_gcm;
    case Aead::aes_256_gcm:
      return AeadAlgorithm::aes_256_gcm;
    case Aead::chacha20_poly1305:
      return AeadAlgorithm::chacha20_poly1305;
    case Aead::export_only:
      break;
  }
  throw std::invalid_argument("HPKE AEAD has no cipher");
}

Status check_supported(const Suite& suite) {
  if (!is_supported(suite)) return fail(ErrorCode::hpke_unsupported_suite, "HPKE suite is not supported");
  return {};
}

// ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) (§5.2).
Bytes compute_nonce(BytesView base_nonce, std::uint64_t sequence_number) {
  Bytes nonce(base_nonce.begin(), base_nonce.end());
  for (std::size_t i = 0; i < sizeof(sequence_number) && i < nonce.size(); ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<std::uint8_t>(sequence_number >> (8 * i));
  }
  return nonce;
}

Result<Bytes> context_export(const detail::ContextState& state, BytesView exporter_context, std::size_t length) {
  if (length > kMaxExportLength) return fail(ErrorCode::invalid_argument, "HPKE export length exceeds 255 * Nh");
  return labeled_expand(hpke_suite_id(state.suite), state.exporter_secret.reveal(), "sec", exporter_context, length);
}

Status check_can_encrypt(const detail::ContextState& state) {
  if (state.suite.aead == Aead::export_only) {
    return fail(ErrorCode::hpke_unsupported_suite, "the export-only HPKE suite cannot seal or open");
  }
  if (state.sequence_number >= kSequenceLimit) {
    return fail(ErrorCode::hpke_message_limit, "HPKE context reached its message limit");
  }
  return {};
}

Result<detail::ContextState> make_context_state(const Suite& suite, BytesView shared_secret, BytesView info) {
  auto schedule = key_schedule_base(suite, shared_secret, info);
  if (!schedule) return std::unexpected(schedule.error());
  return detail::ContextState{suite, std::move(schedule->key), std::move(schedule->base_nonce),
                              std::move(schedule->exporter_secret), 0};
}

Result<SenderSetup> setup_sender_with(const Suite& suite, Result<Encapsulation> encapsulation, BytesView info) {
  if (!encapsulation) return std::unexpected(encapsulation.error());
  auto state = make_context_state(suite, encapsulation->shared_secret.reveal(), info);
  cleanse(encapsulation->shared_secret.reveal());
  if (!state) return std::unexpected(state.error());
  return SenderSetup{std::move(encapsulation->enc), SenderContext(std::move(*state))};
}

}  // namespace

bool is_supported(const Suite& suite) {
  if (suite.kem != Kem::x25519_hkdf_sha256 || suite.kdf != Kdf::hkdf_sha256) return false;
  switch (suite.aead) {
    case Aead::aes_128_gcm:
    case Aead::aes_256_gcm:
    case Aead::chacha20_poly1305:
    case Aead::export_only:
      return true;
  }
  return false;
}

Result<Suite> suite_from_ids(std::uint16_t kem_id, std::uint16_t kdf_id, std::uint16_t aead_id) {
  const Suite suite{static_cast<Kem>(kem_id), static_cast<Kdf>(kdf_id), static_cast<Aead>(aead_id)};
  if (!is_supported(suite)) return fail(ErrorCode::hpke_unsupported_suite, "HPKE suite is not supported");
  return suite;
}

std::size_t aead_key_size(Aead aead) {
  if (aead == Aead::export_only) return 0;
  return crypto::aead_key_size(aead_algorithm(aead));
}

std::size_t aead_nonce_size(Aead aead) {
  if (aead == Aead::export_only) return 0;
  aead_algorithm(aead);  // throws on an unknown id
  return kAeadNonceSize;
}

KeyPair derive_key_pair(BytesView ikm) {
  if (ikm.size() < kPrivateKeySize) throw std::invalid_argument("HPKE DeriveKeyPair needs at least 32 bytes of ikm");
  const Bytes suite_id = kem_suite_id();
  Bytes dkp_prk = labeled_extract(suite_id, {}, "dkp_prk", ikm);
  ScopedCleanse wipe_prk(dkp_prk);
  auto private_key = labeled_expand(suite_id, dkp_prk, "sk", {}, kPrivateKeySize);
  if (!private_key) throw std::runtime_error("HPKE DeriveKeyPair expand failed: " + private_key.error().to_string());
  ScopedCleanse wipe_key(*private_key);
  auto pair = x25519_from_private(*private_key);
  if (!pair) throw std::runtime_error("HPKE DeriveKeyPair failed: " + pair.error().to_string());
  return std::move(*pair);
}

KeyPair generate_key_pair() { return x25519_generate(); }

Result<Encapsulation> encap(BytesView recipient_public_key) {
  if (recipient_public_key.size() != kPublicKeySize) {
    return fail(ErrorCode::bad_key, "HPKE recipient public key must be 32 bytes");
  }
  const KeyPair ephemeral = generate_key_pair();
  return encap(recipient_public_key, ephemeral);
}

Result<Encapsulation> encap(BytesView recipient_public_key, const KeyPair& ephemeral) {
  if (recipient_public_key.size() != kPublicKeySize) {
    return fail(ErrorCode::bad_key, "HPKE recipient public key must be 32 bytes");
  }
  auto dh = x25519(ephemeral.private_key.reveal(), recipient_public_key);
  if (!dh) {
    if (dh.error().code == ErrorCode::crypto_failure) {
      return fail(ErrorCode::bad_key, "HPKE recipient public key is a small-order point");
    }
    return std::unexpected(dh.error());
  }
  ScopedCleanse wipe(*dh);
  Bytes kem_context = concat(ephemeral.public_key, recipient_public_key);
  auto shared_secret = extract_and_expand(*dh, kem_context);
  if (!shared_secret) return std::unexpected(shared_secret.error());
  return Encapsulation{Sensitive<Bytes>(std::move(*shared_secret)), ephemeral.public_key};
}

Result<Sensitive<Bytes>> decap(BytesView enc, BytesView recipient_private_key) {
  if (enc.size() != kEncSize) return fail(ErrorCode::hpke_bad_encapsulation, "HPKE enc must be 32 bytes");
  if (recipient_private_key.size() != kPrivateKeySize) {
    return fail(ErrorCode::bad_key, "HPKE recipient private key must be 32 bytes");
  }
  auto dh = x25519(recipient_private_key, enc);
  if (!dh) return fail(ErrorCode::hpke_bad_encapsulation, "HPKE enc gives no valid shared secret");
  ScopedCleanse wipe(*dh);
  auto recipient = x25519_from_private(recipient_private_key);
  if (!recipient) return std::unexpected(recipient.error());
  Bytes kem_context = concat(enc, recipient->public_key);
  cleanse(recipient->private_key.reveal());
  auto shared_secret = extract_and_expand(*dh, kem_context);
  if (!shared_secret) return std::unexpected(shared_secret.error());
  return Sensitive<Bytes>(std::move(*shared_secret));
}

Result<KeySchedule> key_schedule_base(const Suite& suite, BytesView shared_secret, BytesView info) {
  if (auto supported = check_supported(suite); !supported) return std::unexpected(supported.error());
  const Bytes suite_id = hpke_suite_id(suite);

  const Bytes psk_id_hash = labeled_extract(suite_id, {}, "psk_id_hash", {});
  const Bytes info_hash = labeled_extract(suite_id, {}, "info_hash", info);
  KeySchedule schedule;
  schedule.key_schedule_context.reserve(1 + psk_id_hash.size() + info_hash.size());
  schedule.key_schedule_context.push_back(kModeBase);
  append(schedule.key_schedule_context, psk_id_hash);
  append(schedule.key_schedule_context, info_hash);

  // secret = LabeledExtract(shared_secret, "secret", psk) with an empty psk.
  schedule.secret = Sensitive<Bytes>(labeled_extract(suite_id, shared_secret, "secret", {}));
  const Bytes& secret = schedule.secret.reveal();
  const BytesView context = schedule.key_schedule_context;

  auto key = labeled_expand(suite_id, secret, "key", context, aead_key_size(suite.aead));
  if (!key) return std::unexpected(key.error());
  auto base_nonce = labeled_expand(suite_id, secret, "base_nonce", context, aead_nonce_size(suite.aead));
  if (!base_nonce) return std::unexpected(base_nonce.error());
  auto exporter_secret = labeled_expand(suite_id, secret, "exp", context, kKdfHashSize);
  if (!exporter_secret) return std::unexpected(exporter_secret.error());

  schedule.key = Sensitive<Bytes>(std::move(*key));
  schedule.base_nonce = Sensitive<Bytes>(std::move(*base_nonce));
  schedule.exporter_secret = Sensitive<Bytes>(std::move(*exporter_secret));
  return schedule;
}

Result<Bytes> SenderContext::seal(BytesView aad, BytesView plaintext) {
  if (auto ready = check_can_encrypt(state_); !ready) return std::unexpected(ready.error());
  const Bytes nonce = compute_nonce(state_.base_nonce.reveal(), state_.sequence_number);
  auto ciphertext = aead_seal(aead_algorithm(state_.suite.aead), state_.key.reveal(), nonce, aad, plaintext);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  ++state_.sequence_number;
  return ciphertext;
}

Result<Bytes> SenderContext::export_secret(BytesView exporter_context, std::size_t length) const {
  return context_export(state_, exporter_context, length);
}

Result<Bytes> RecipientContext::open(BytesView aad, BytesView ciphertext) {
  if (auto ready = check_can_encrypt(state_); !ready) return std::unexpected(ready.error());
  const Bytes nonce = compute_nonce(state_.base_nonce.reveal(), state_.sequence_number);
  auto plaintext = aead_open(aead_algorithm(state_.suite.aead), state_.key.reveal(), nonce, aad, ciphertext);
  if (!plaintext) return fail(ErrorCode::hpke_open_failed, "HPKE ciphertext does not open");
  ++state_.sequence_number;
  return plaintext;
}

Result<Bytes> RecipientContext::export_secret(BytesView exporter_context, std::size_t length) const {
  return context_export(state_, exporter_context, length);
}

Result<SenderSetup> setup_base_sender(const Suite& suite, BytesView recipient_public_key, BytesView info) {
  if (auto supported = check_supported(suite); !supported) return std::unexpected(supported.error());
  return setup_sender_with(suite, encap(recipient_public_key), info);
}

Result<SenderSetup> setup_base_sender(const Suite& suite, BytesView recipient_public_key, BytesView info,
                                      const KeyPair& ephemeral) {
  if (auto supported = check_supported(suite); !supported) return std::unexpected(supported.error());
  return setup_sender_with(suite, encap(recipient_public_key, ephemeral), info);
}

Result<RecipientContext> setup_base_recipient(const Suite& suite, BytesView enc, BytesView recipient_private_key,
                                              BytesView info) {
  if (auto supported = check_supported(suite); !supported) return std::unexpected(supported.error());
  auto shared_secret = decap(enc, recipient_private_key);
  if (!shared_secret) return std::unexpected(shared_secret.error());
  auto state = make_context_state(suite, shared_secret->reveal(), info);
  cleanse(shared_secret->reveal());
  if (!state) return std::unexpected(state.error());
  return RecipientContext(std::move(*state));
}

Result<Sealed> seal(const Suite& suite, BytesView recipient_public_key, BytesView info, BytesView aad,
                    BytesView plaintext) {
  auto setup = setup_base_sender(suite, recipient_public_key, info);
  if (!setup) return std::unexpected(setup.error());
  auto ciphertext = setup->context.seal(aad, plaintext);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  return Sealed{std::move(setup->enc), std::move(*ciphertext)};
}

Result<Bytes> open(const Suite& suite, BytesView enc, BytesView recipient_private_key, BytesView info, BytesView aad,
                   BytesView ciphertext) {
  auto context = setup_base_recipient(suite, enc, recipient_private_key, info);
  if (!context) return std::unexpected(context.error());
  return context->open(aad, ciphertext);
}

}  // namespace cloister::crypto::hpke
