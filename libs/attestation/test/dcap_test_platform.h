#pragma once
// A synthetic Intel DCAP platform for tests: a test root CA standing in for the Intel SGX Root CA,
// a PCK CA, a PCK leaf carrying the SGX extension, a TCB Signing certificate, CRLs, a signed TCB
// info and QE identity, and quotes (SGX v3/v4/v5, TDX v4/v5 with TD report 1.0 or 1.5) with any
// report data. Built with OpenSSL directly, independently of the parser under test. Every public
// member may be changed before quote() / collateral() / rebuild_pck() are called.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "cloister/attestation/evidence.h"
#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"

namespace cloister::attestation::test {

struct DcapTestPlatform {
  enum class Tee { sgx, tdx };
  // The instant everything is valid at (2023-11-14T22:13:20Z), the conformance tests' clock.
  static constexpr std::int64_t kNow = 1'700'000'000;
  static constexpr std::int64_t kDay = 86'400;

  // version 0 picks the default (SGX 3, TDX 4); body_type is used for v5 (2 = TD 1.0, 3 = TD 1.5).
  explicit DcapTestPlatform(Tee tee = Tee::sgx, std::uint16_t version = 0, std::uint16_t body_type = 0);

  // ---- PKI ----
  crypto::PrivateKey root_key;
  crypto::PrivateKey pck_ca_key;
  crypto::PrivateKey pck_key;
  crypto::PrivateKey tcb_signing_key;
  crypto::PrivateKey attestation_key;
  crypto::Certificate root;
  crypto::Certificate pck_ca;
  crypto::Certificate pck_leaf;
  crypto::Certificate tcb_signing;
  bool processor_ca = false;  // the PCK CA's name: "… PCK Platform CA" or "… PCK Processor CA"

  // The PCK leaf's SGX extension (rebuild_pck() reissues the leaf after a change).
  std::array<std::uint8_t, 16> pck_components{};
  std::uint16_t pck_pce_svn = 13;
  std::array<std::uint8_t, 6> fmspc{0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
  std::array<std::uint8_t, 2> pce_id{0x00, 0x00};
  std::int64_t pck_not_before = kNow - 365 * kDay;
  std::int64_t pck_not_after = kNow + 365 * kDay;
  void rebuild_pck();
  // Reissues the TCB Signing certificate (same key) with another validity.
  void reissue_tcb_signing(std::int64_t not_before, std::int64_t not_after);

  // ---- the quote ----
  Tee tee;
  std::uint16_t version;
  std::uint16_t body_type;  // v5 only
  // SGX enclave
  std::array<std::uint8_t, 32> mr_enclave{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::uint64_t flags = 0x05;  // INIT | MODE64BIT; | 0x02 for DEBUG
  std::uint16_t isv_prod_id = 7;
  std::uint16_t isv_svn = 3;
  // TD
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  std::array<std::uint8_t, 48> mr_td{};
  std::array<std::uint8_t, 48> mr_signer_seam{};
  std::array<std::uint8_t, 8> td_attributes{0, 0, 0, 0x10, 0, 0, 0, 0};  // SEPT_VE_DISABLE
  std::array<std::array<std::uint8_t, 48>, 4> rtmr{};
  // QE
  std::uint16_t qe_isv_svn = 8;
  std::uint16_t qe_isv_prod_id;
  std::array<std::uint8_t, 32> qe_mr_signer{};
  crypto::Bytes qe_auth_data;

  crypto::Bytes quote(crypto::BytesView report_data) const;

  // ---- collateral ----
  nlohmann::json tcb_info;     // the "tcbInfo" document (signed compact, as dump() writes it)
  nlohmann::json qe_identity;  // the "enclaveIdentity" document
  std::int64_t crl_this_update = kNow - 10 * kDay;
  std::int64_t crl_next_update = kNow + 20 * kDay;
  std::vector<crypto::Certificate> revoked_by_root;    // listed on the root CA CRL
  std::vector<crypto::Certificate> revoked_by_pck_ca;  // listed on the PCK CRL

  Collateral collateral() const;
  // Pins this platform's root.
  dcap::DcapVerifierOptions options() const;
  FormatConfig config() const;

  // Signs a document with the TCB Signing key: hex of raw r ‖ s.
  std::string sign_document(const std::string& text) const;
  // A CRL issued by `issuer` (DER).
  crypto::Bytes make_crl(const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                         const std::vector<crypto::Certificate>& revoked) const;
};

}  // namespace cloister::attestation::test
