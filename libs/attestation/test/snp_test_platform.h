#pragma once
// A synthetic AMD SEV-SNP platform for tests: an ARK → ASK/ASVK → VCEK/VLEK hierarchy shaped like
// AMD's (names, AMD extensions, RSASSA-PSS / SHA-384 / salt 48 signatures, ECDSA P-384 signing key)
// but with keys generated here, so tests can sign reports with any report data, TCB or policy.
// Real AMD vectors (../shared/vectors) cover the real keys; this covers what they cannot.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cloister/attestation/evidence.h"
#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::test {

// 2020-09-13 … 2033-05-18, and an instant inside.
inline constexpr std::int64_t kSnpTestNotBefore = 1'600'000'000;
inline constexpr std::int64_t kSnpTestNotAfter = 2'000'000'000;
inline constexpr std::int64_t kSnpTestNow = 1'700'000'000;

struct SnpTestPlatformOptions {
  snp::Generation generation = snp::Generation::milan;
  snp::SigningKey kind = snp::SigningKey::vcek;
  snp::TcbVersion certified_tcb{3, 0, 8, 115, std::nullopt};  // the VCEK/VLEK SPLs (fmc added on Turin)
  std::int64_t leaf_not_before = kSnpTestNotBefore;
  std::int64_t leaf_not_after = kSnpTestNotAfter;
  bool wrap_hw_id = false;  // write the hwID as a DER OCTET STRING
};

// What a test report holds besides the report data (everything else is zero).
struct SnpReportFields {
  std::uint32_t version = 2;
  std::uint32_t guest_svn = 7;
  std::uint64_t policy = 0x30000;
  std::uint32_t vmpl = 0;
  std::optional<std::uint64_t> reported_tcb;  // default: the certified TCB
  std::optional<std::array<std::uint8_t, snp::kChipIdSize>> chip_id;  // default: the platform's (zero for VLEK)
  std::array<std::uint8_t, 3> cpuid{};  // family, model, stepping (v3+)
  std::array<std::uint8_t, 32> host_data{};
};

// RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48) certificate in AMD's shape.
struct AmdCertificateSpec {
  std::string common_name;
  long serial = 0;
  std::int64_t not_before = kSnpTestNotBefore;
  std::int64_t not_after = kSnpTestNotAfter;
  bool is_ca = false;
  // (OID, raw extnValue) pairs.
  std::vector<std::pair<std::string, crypto::Bytes>> extensions;
};
crypto::Certificate make_amd_certificate(const crypto::PublicKey& subject_key, const AmdCertificateSpec& spec,
                                         const crypto::PrivateKey& issuer_key, const crypto::Certificate* issuer);
// A CRL by `issuer` (RSASSA-PSS) listing `revoked_serials`.
crypto::Crl make_amd_crl(const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                         const std::vector<long>& revoked_serials, std::int64_t this_update, std::int64_t next_update);

class SnpTestPlatform {
 public:
  explicit SnpTestPlatform(SnpTestPlatformOptions options = {});

  // The same platform for every caller with default options (RSA key generation is slow).
  static const SnpTestPlatform& shared();

  crypto::Bytes report(crypto::BytesView report_data, const SnpReportFields& fields = {}) const;
  // Re-signs report[0, 0x2A0) in place with `key` (P-384).
  static void sign(crypto::Bytes& report, const crypto::PrivateKey& key);
  // {"vcek"|"vlek": leaf PEM, "cert_chain": ASK/ASVK + ARK PEM}
  Collateral collateral() const;
  // The verifiers' configuration: this platform's ARK pinned.
  FormatConfig config() const;
  // A certificate table holding the leaf, the ASK/ASVK and the ARK.
  crypto::Bytes cert_table() const;
  std::uint64_t reported_tcb() const { return snp::encode_tcb(options_.certified_tcb, options_.generation); }

  SnpTestPlatformOptions options_;
  crypto::PrivateKey ark_key;
  crypto::PrivateKey ask_key;
  crypto::PrivateKey leaf_key;
  std::array<std::uint8_t, snp::kChipIdSize> chip_id;
  crypto::Certificate ark;
  crypto::Certificate ask;
  crypto::Certificate leaf;
};

// A DER INTEGER extension value (an SPL).
crypto::Bytes der_integer(unsigned value);

// A file of the shared test vectors, ../shared/vectors/<relative> (tests run in the repository
// root); nullopt when absent (the tests that need it skip).
std::optional<crypto::Bytes> read_vector(const std::string& relative);
std::optional<std::string> read_vector_text(const std::string& relative);
// The virtee-sev Milan report (stored as hex text) as bytes.
std::optional<crypto::Bytes> read_report_milan();

}  // namespace cloister::attestation::test
