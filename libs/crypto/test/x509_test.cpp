#include "cloister/crypto/x509.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::read_shared_file;

// 2024-03-01 .. ; every test instant below is fixed (never the wall clock).
constexpr std::int64_t kRootFrom = 1700000000;     // 2023-11-14
constexpr std::int64_t kRootUntil = 1900000000;    // 2030-03-17
constexpr std::int64_t kLeafFrom = 1710000000;     // 2024-03-09
constexpr std::int64_t kLeafUntil = 1720000000;    // 2024-07-03
constexpr std::int64_t kInside = 1715000000;       // 2024-05-06
constexpr std::int64_t kHour = 3600;

Certificate issue(const PublicKey& subject, CertificateOptions options, const PrivateKey& issuer_key,
                  const Certificate* issuer) {
  auto certificate = issue_certificate(subject, options, issuer_key, issuer);
  EXPECT_TRUE(certificate.has_value()) << certificate.error().to_string();
  return *certificate;
}

CertificateOptions ca_options(std::string name) {
  CertificateOptions options;
  options.common_name = std::move(name);
  options.is_ca = true;
  options.not_before_unix = kRootFrom;
  options.not_after_unix = kRootUntil;
  return options;
}

struct Pki {
  PrivateKey root_key = PrivateKey::generate(KeyType::ec_p256);
  PrivateKey intermediate_key = PrivateKey::generate(KeyType::ec_p384);
  PrivateKey leaf_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate root;
  Certificate intermediate;
  Certificate leaf;

  Pki()
      : root(issue(root_key.public_key(), ca_options("Cloister Dev Root"), root_key, nullptr)),
        intermediate(issue(intermediate_key.public_key(), ca_options("Cloister Dev Intermediate"), root_key, &root)),
        leaf(issue(leaf_key.public_key(), leaf_options(), intermediate_key, &intermediate)) {}

  static CertificateOptions leaf_options() {
    CertificateOptions options;
    options.common_name = "verifier.cloister.test";
    options.dns_names = {"verifier.cloister.test", "localhost"};
    options.ip_addresses = {"127.0.0.1", "::1"};
    options.not_before_unix = kLeafFrom;
    options.not_after_unix = kLeafUntil;
    return options;
  }

  ChainVerifyOptions options(std::int64_t at) const {
    ChainVerifyOptions options;
    options.pinned_roots = {root};
    options.at_unix = at;
    return options;
  }
};

// A CRL built with the OpenSSL X509_CRL API, signed by issuer_key, listing `revoked`.
Crl make_crl(const Certificate& issuer, const PrivateKey& issuer_key, const std::vector<Certificate>& revoked,
             std::int64_t this_update, std::int64_t next_update) {
  X509_CRL* crl = X509_CRL_new();
  EXPECT_EQ(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
  EXPECT_EQ(X509_CRL_set_issuer_name(crl, X509_get_subject_name(static_cast<X509*>(issuer.native()))), 1);
  ASN1_TIME* last = ASN1_TIME_set(nullptr, static_cast<time_t>(this_update));
  ASN1_TIME* next = ASN1_TIME_set(nullptr, static_cast<time_t>(next_update));
  EXPECT_EQ(X509_CRL_set1_lastUpdate(crl, last), 1);
  EXPECT_EQ(X509_CRL_set1_nextUpdate(crl, next), 1);
  for (const auto& certificate : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    EXPECT_EQ(X509_REVOKED_set_serialNumber(
                  entry, const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(static_cast<X509*>(certificate.native())))),
              1);
    EXPECT_EQ(X509_REVOKED_set_revocationDate(entry, last), 1);
    EXPECT_EQ(X509_CRL_add0_revoked(crl, entry), 1);
  }
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, static_cast<EVP_PKEY*>(issuer_key.native()), EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int length = i2d_X509_CRL(crl, &der);
  EXPECT_GT(length, 0);
  Bytes bytes(der, der + length);
  OPENSSL_free(der);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  auto parsed = Crl::from_der(bytes);
  EXPECT_TRUE(parsed.has_value());
  return *parsed;
}

void expect_error(const Status& status, ErrorCode code, const char* what) {
  ASSERT_FALSE(status.has_value()) << what;
  EXPECT_EQ(status.error().code, code) << what << ": " << status.error().to_string();
}

TEST(Certificate, IssuedFieldsAndAccessors) {
  Pki pki;
  EXPECT_EQ(pki.leaf.subject(), "CN=verifier.cloister.test");
  EXPECT_EQ(pki.leaf.issuer(), "CN=Cloister Dev Intermediate");
  EXPECT_EQ(pki.root.issuer(), pki.root.subject());
  EXPECT_EQ(pki.leaf.not_before_unix(), kLeafFrom);
  EXPECT_EQ(pki.leaf.not_after_unix(), kLeafUntil);
  EXPECT_TRUE(pki.root.is_ca());
  EXPECT_TRUE(pki.intermediate.is_ca());
  EXPECT_FALSE(pki.leaf.is_ca());
  EXPECT_EQ(pki.leaf.public_key(), pki.leaf_key.public_key());
  EXPECT_EQ(pki.intermediate.public_key().type(), KeyType::ec_p384);
  EXPECT_EQ(pki.leaf.serial_hex().size(), 32u);
  EXPECT_NE(pki.leaf.serial_hex(), pki.intermediate.serial_hex());

  // subjectAltName, SKI/AKI, EKU present; the leaf's AKI is the intermediate's SKI.
  ASSERT_TRUE(pki.leaf.extension_der("2.5.29.17").has_value());
  ASSERT_TRUE(pki.leaf.extension_der("2.5.29.37").has_value());
  EXPECT_FALSE(pki.root.extension_der("2.5.29.37").has_value());
  auto leaf_aki = pki.leaf.extension_der("2.5.29.35");
  auto intermediate_ski = pki.intermediate.extension_der("2.5.29.14");
  ASSERT_TRUE(leaf_aki.has_value());
  ASSERT_TRUE(intermediate_ski.has_value());
  // SKI extnValue = OCTET STRING(20); AKI extnValue = SEQUENCE { [0] 20 bytes }: same 20 key-id bytes.
  ASSERT_EQ(intermediate_ski->size(), 22u);
  ASSERT_EQ(leaf_aki->size(), 24u);
  EXPECT_TRUE(std::equal(intermediate_ski->begin() + 2, intermediate_ski->end(), leaf_aki->begin() + 4));
  EXPECT_FALSE(pki.leaf.extension_der("1.2.3.4").has_value());
  EXPECT_FALSE(pki.leaf.extension_der("not an oid").has_value());

  EXPECT_TRUE(pki.leaf.verify_signature(pki.intermediate_key.public_key()).has_value());
  expect_error(pki.leaf.verify_signature(pki.root_key.public_key()), ErrorCode::signature_invalid, "wrong issuer key");
}

TEST(Certificate, EncodingsRoundTrip) {
  Pki pki;
  auto from_der = Certificate::from_der(pki.leaf.der());
  ASSERT_TRUE(from_der.has_value());
  EXPECT_EQ(*from_der, pki.leaf);
  auto from_pem = Certificate::from_pem(pki.leaf.pem());
  ASSERT_TRUE(from_pem.has_value());
  EXPECT_EQ(*from_pem, pki.leaf);
  auto chain = Certificate::chain_from_pem(pki.leaf.pem() + pki.intermediate.pem() + pki.root.pem());
  ASSERT_TRUE(chain.has_value()) << chain.error().to_string();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0], pki.leaf);
  EXPECT_EQ((*chain)[2], pki.root);

  EXPECT_EQ(Certificate::from_der({}).error().code, ErrorCode::cert_parse_failed);
  Bytes der = pki.leaf.der();
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(Certificate::from_der(trailing).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(Certificate::from_der(BytesView(der).first(der.size() - 1)).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(Certificate::from_pem("garbage").error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(Certificate::chain_from_pem("").error().code, ErrorCode::cert_parse_failed);
  std::string broken = pki.root.pem();
  broken[broken.size() / 2] = '*';
  EXPECT_EQ(Certificate::chain_from_pem(pki.leaf.pem() + broken).error().code, ErrorCode::cert_parse_failed);
}

TEST(VerifyChain, InsideAndOutsideValidity) {
  Pki pki;
  auto ok = verify_chain(pki.leaf, {pki.intermediate}, pki.options(kInside));
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, pki.options(kLeafUntil + kHour)), ErrorCode::cert_expired,
               "after notAfter");
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, pki.options(kLeafFrom - kHour)), ErrorCode::cert_expired,
               "before notBefore");
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, pki.options(kRootUntil + kHour)), ErrorCode::cert_expired,
               "root expired too");
}

TEST(VerifyChain, PinnedRootByKey) {
  Pki pki;
  // Same subject name, different key: not the pinned root.
  PrivateKey impostor_key = PrivateKey::generate(KeyType::ec_p256);
  Certificate impostor = issue(impostor_key.public_key(), ca_options("Cloister Dev Root"), impostor_key, nullptr);
  ChainVerifyOptions options = pki.options(kInside);
  options.pinned_roots = {impostor};
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_chain_invalid, "wrong root");
  // Supplying the real root as an untrusted "intermediate" does not make it trusted.
  expect_error(verify_chain(pki.leaf, {pki.intermediate, pki.root}, options), ErrorCode::cert_chain_invalid,
               "root smuggled as intermediate");
  options.pinned_roots = {};
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_chain_invalid, "no roots");
  options.pinned_roots = {impostor, pki.root};
  EXPECT_TRUE(verify_chain(pki.leaf, {pki.intermediate}, options).has_value());
}

TEST(VerifyChain, PartialChainsAndNonCaIssuersRefused) {
  Pki pki;
  expect_error(verify_chain(pki.leaf, {}, pki.options(kInside)), ErrorCode::cert_chain_invalid, "missing intermediate");
  ChainVerifyOptions options = pki.options(kInside);
  options.pinned_roots = {pki.intermediate};  // partial chains are off: an intermediate is no anchor
  expect_error(verify_chain(pki.leaf, {}, options), ErrorCode::cert_chain_invalid, "intermediate pinned");

  // The leaf key signs a further certificate: the leaf is not a CA, so the chain is invalid.
  PrivateKey extra_key = PrivateKey::generate(KeyType::ec_p256);
  CertificateOptions extra_options = Pki::leaf_options();
  extra_options.common_name = "below-leaf";
  auto refused = issue_certificate(extra_key.public_key(), extra_options, pki.leaf_key, &pki.leaf);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);
}

TEST(VerifyChain, CrlRevokesLeaf) {
  Pki pki;
  Crl revoking = make_crl(pki.intermediate, pki.intermediate_key, {pki.leaf}, kInside - kHour, kInside + 24 * kHour);
  Crl clean_intermediate = make_crl(pki.intermediate, pki.intermediate_key, {}, kInside - kHour, kInside + 24 * kHour);
  Crl clean_root = make_crl(pki.root, pki.root_key, {}, kInside - kHour, kInside + 24 * kHour);
  EXPECT_TRUE(revoking.is_revoked(pki.leaf));
  EXPECT_FALSE(clean_intermediate.is_revoked(pki.leaf));
  EXPECT_EQ(revoking.this_update_unix(), kInside - kHour);
  EXPECT_EQ(revoking.next_update_unix(), kInside + 24 * kHour);
  EXPECT_EQ(revoking.issuer(), "CN=Cloister Dev Intermediate");
  EXPECT_TRUE(revoking.verify_signature(pki.intermediate_key.public_key()).has_value());
  EXPECT_FALSE(revoking.verify_signature(pki.root_key.public_key()).has_value());

  ChainVerifyOptions options = pki.options(kInside);
  options.crls = {revoking, clean_root};
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_revoked, "revoked leaf");

  options.crls = {clean_intermediate, clean_root};
  options.require_crls_for_every_issuer = true;
  auto ok = verify_chain(pki.leaf, {pki.intermediate}, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();

  // Only the intermediate's CRL: fine unless every issuer's CRL is required.
  options.crls = {clean_intermediate};
  options.require_crls_for_every_issuer = false;
  ok = verify_chain(pki.leaf, {pki.intermediate}, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
  options.require_crls_for_every_issuer = true;
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_chain_invalid, "root CRL missing");
  options.crls = {revoking};
  options.require_crls_for_every_issuer = false;
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_revoked, "revoked, optional CRLs");

  // A CRL past its nextUpdate at the verification time.
  options.crls = {clean_intermediate, clean_root};
  options.at_unix = kInside + 48 * kHour;
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_expired, "stale CRL");

  // A CRL signed by the wrong key.
  Crl forged = make_crl(pki.intermediate, pki.root_key, {}, kInside - kHour, kInside + 24 * kHour);
  options.crls = {forged, clean_root};
  options.at_unix = kInside;
  expect_error(verify_chain(pki.leaf, {pki.intermediate}, options), ErrorCode::cert_chain_invalid, "forged CRL");
}

TEST(IssueCertificate, RsaChainAndOptions) {
  PrivateKey root_key = PrivateKey::generate(KeyType::rsa);
  Certificate root = issue(root_key.public_key(), ca_options("RSA Root"), root_key, nullptr);
  PrivateKey leaf_key = PrivateKey::generate(KeyType::rsa);
  CertificateOptions options = Pki::leaf_options();
  options.client_auth = false;
  Certificate leaf = issue(leaf_key.public_key(), options, root_key, &root);
  ChainVerifyOptions verify_options;
  verify_options.pinned_roots = {root};
  verify_options.at_unix = kInside;
  EXPECT_TRUE(verify_chain(leaf, {}, verify_options).has_value());

  // An X25519 subject (e.g. an HPKE key certified by the dev CA).
  PrivateKey x_key = PrivateKey::generate(KeyType::x25519);
  Certificate x_leaf = issue(x_key.public_key(), options, root_key, &root);
  EXPECT_EQ(x_leaf.public_key().type(), KeyType::x25519);
  EXPECT_TRUE(verify_chain(x_leaf, {}, verify_options).has_value());
}

TEST(IssueCertificate, RejectsBadOptions) {
  Pki pki;
  CertificateOptions options = Pki::leaf_options();
  auto expect_invalid = [&](const CertificateOptions& o, const PrivateKey& key, const Certificate* issuer,
                            const char* what) {
    auto result = issue_certificate(pki.leaf_key.public_key(), o, key, issuer);
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_argument) << what;
  };
  expect_invalid(options, pki.root_key, &pki.intermediate, "issuer key does not match issuer");
  expect_invalid(options, pki.intermediate_key, nullptr, "self-signed with a foreign key");
  CertificateOptions bad = options;
  bad.not_after_unix = bad.not_before_unix;
  expect_invalid(bad, pki.intermediate_key, &pki.intermediate, "empty validity");
  bad = options;
  bad.ip_addresses = {"300.1.1.1"};
  expect_invalid(bad, pki.intermediate_key, &pki.intermediate, "bad IP");
  bad = options;
  bad.dns_names = {"a.example,DNS:evil.example"};
  expect_invalid(bad, pki.intermediate_key, &pki.intermediate, "SAN injection");
  bad = options;
  bad.common_name.clear();
  bad.dns_names.clear();
  bad.ip_addresses.clear();
  expect_invalid(bad, pki.intermediate_key, &pki.intermediate, "no names");
  auto x_issuer = issue_certificate(pki.leaf_key.public_key(), options, PrivateKey::generate(KeyType::x25519), nullptr);
  EXPECT_FALSE(x_issuer.has_value());
}

// ---- real vectors (../shared/vectors) ----

std::optional<std::vector<Certificate>> shared_chain(const std::string& path) {
  auto text = read_shared_file(path);
  if (!text) return std::nullopt;
  auto chain = Certificate::chain_from_pem(*text);
  EXPECT_TRUE(chain.has_value()) << path << ": " << chain.error().to_string();
  return chain.value_or(std::vector<Certificate>{});
}

std::optional<Certificate> shared_certificate(const std::string& path) {
  auto chain = shared_chain(path);
  if (!chain || chain->empty()) return std::nullopt;
  return chain->front();
}

// 2023-07-01T01:00:00Z: inside the PCK chain, the PCK CRL and the root CRL windows (go-tdx-guest's test time).
constexpr std::int64_t kSgxInside = 1688173200;
constexpr std::int64_t k2053 = 2635030800;  // 2053-07-01: after the PCK certificate expired

TEST(RealVectors, IntelPckChainFromTdxQuote) {
  auto quote = read_shared_file("vectors/google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  auto root = shared_certificate("vectors/google-go-tdx-guest/trusted_root.pem");
  auto pck_crl = read_shared_file("vectors/google-go-tdx-guest/pckcrl");
  auto root_crl = read_shared_file("vectors/google-go-tdx-guest/rootcrl.der");
  if (!quote || !root || !pck_crl || !root_crl) GTEST_SKIP() << "../shared/vectors/google-go-tdx-guest not present";

  // The quote's certification data (type 5) is the PEM chain leaf ‖ intermediate ‖ root.
  const std::size_t begin = quote->find("-----BEGIN CERTIFICATE-----");
  const std::string end_marker = "-----END CERTIFICATE-----";
  const std::size_t end = quote->rfind(end_marker);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  auto chain = Certificate::chain_from_pem(quote->substr(begin, end + end_marker.size() - begin));
  ASSERT_TRUE(chain.has_value()) << chain.error().to_string();
  ASSERT_EQ(chain->size(), 3u);
  const Certificate& pck = (*chain)[0];
  EXPECT_EQ(pck.public_key().type(), KeyType::ec_p256);
  EXPECT_NE(pck.subject().find("CN=Intel SGX PCK Certificate"), std::string::npos);
  EXPECT_TRUE(pck.extension_der("1.2.840.113741.1.13.1").has_value());  // SGX extensions
  EXPECT_FALSE(pck.is_ca());
  EXPECT_TRUE((*chain)[1].is_ca());
  EXPECT_EQ((*chain)[2], *root);

  ChainVerifyOptions options;
  options.pinned_roots = {*root};
  options.at_unix = kSgxInside;
  auto ok = verify_chain(pck, {(*chain)[1]}, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();

  auto pck_crl_parsed = Crl::from_der(as_bytes(*pck_crl));
  auto root_crl_parsed = Crl::from_der(as_bytes(*root_crl));
  ASSERT_TRUE(pck_crl_parsed.has_value()) << pck_crl_parsed.error().to_string();
  ASSERT_TRUE(root_crl_parsed.has_value()) << root_crl_parsed.error().to_string();
  EXPECT_FALSE(pck_crl_parsed->is_revoked(pck));
  options.crls = {*pck_crl_parsed, *root_crl_parsed};
  options.require_crls_for_every_issuer = true;
  ok = verify_chain(pck, {(*chain)[1]}, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();

  options.crls.clear();
  options.require_crls_for_every_issuer = false;
  options.at_unix = k2053;
  expect_error(verify_chain(pck, {(*chain)[1]}, options), ErrorCode::cert_expired, "2053");
}

TEST(RealVectors, SyntheticIntelRootFailsPinning) {
  auto pck = shared_certificate("vectors/dstack-teekit/sgx/pckCert.pem");
  auto sign_chain = shared_chain("vectors/dstack-teekit/sgx/pckSignChain.pem");
  auto test_root = shared_certificate("vectors/dstack-teekit/sgx/trustedRootCaCert.pem");
  auto real_root = shared_certificate("vectors/google-go-tdx-guest/trusted_root.pem");
  if (!pck || !sign_chain || !test_root || !real_root) GTEST_SKIP() << "../shared/vectors SGX files not present";
  ASSERT_EQ(sign_chain->size(), 2u);
  // Same subject as the real Intel root, different key.
  EXPECT_EQ(test_root->subject(), real_root->subject());
  EXPECT_NE(test_root->public_key(), real_root->public_key());

  ChainVerifyOptions options;
  options.at_unix = 1704067200;  // 2024-01-01
  options.pinned_roots = {*test_root};
  auto ok = verify_chain(*pck, *sign_chain, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
  options.pinned_roots = {*real_root};
  expect_error(verify_chain(*pck, *sign_chain, options), ErrorCode::cert_chain_invalid, "synthetic root vs real root");
}

TEST(RealVectors, AmdMilanVcekChainRsaPss) {
  auto vcek_der = read_shared_file("vectors/virtee-sev/vcek_milan.der");
  auto ask_ark = shared_chain("vectors/virtee-sev/cert_chain_milan");
  auto ark = shared_certificate("vectors/virtee-sev/milan_ark.pem");
  auto genoa_ark = shared_certificate("vectors/virtee-sev/genoa_ark.pem");
  if (!vcek_der || !ask_ark || !ark || !genoa_ark) GTEST_SKIP() << "../shared/vectors/virtee-sev not present";
  auto vcek = Certificate::from_der(as_bytes(*vcek_der));
  ASSERT_TRUE(vcek.has_value()) << vcek.error().to_string();
  ASSERT_EQ(ask_ark->size(), 2u);
  EXPECT_EQ(vcek->public_key().type(), KeyType::ec_p384);
  EXPECT_EQ(ark->public_key().type(), KeyType::rsa);
  EXPECT_EQ(ark->public_key().bits(), 4096);
  EXPECT_EQ(vcek->not_after_unix(), 1901474623);  // 2030-04-03T19:23:43Z
  auto hwid = vcek->extension_der("1.3.6.1.4.1.3704.1.4");
  ASSERT_TRUE(hwid.has_value());
  EXPECT_EQ(hwid->size(), 64u);

  ChainVerifyOptions options;
  options.pinned_roots = {*ark};
  options.at_unix = 1704067200;  // 2024-01-01
  auto ok = verify_chain(*vcek, {(*ask_ark)[0]}, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
  // The bundle with the ARK inside works too (the pinned copy is the anchor).
  ok = verify_chain(*vcek, *ask_ark, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();

  options.pinned_roots = {*genoa_ark};
  expect_error(verify_chain(*vcek, *ask_ark, options), ErrorCode::cert_chain_invalid, "Genoa ARK pinned");
  options.pinned_roots = {*ark};
  options.at_unix = 1901474623 + 1;
  expect_error(verify_chain(*vcek, *ask_ark, options), ErrorCode::cert_expired, "after VCEK notAfter");

  // One flipped byte inside the VCEK's signed part breaks the chain.
  Bytes mutated = to_bytes(*vcek_der);
  mutated[40] ^= 0xff;
  auto broken = Certificate::from_der(mutated);
  if (broken.has_value()) {
    options.at_unix = 1704067200;
    EXPECT_FALSE(verify_chain(*broken, *ask_ark, options).has_value());
  }
}

TEST(RealVectors, AmdTurinChain) {
  auto vcek_der = read_shared_file("vectors/virtee-sev/vcek_turin.der");
  auto ask_ark = shared_chain("vectors/virtee-sev/cert_chain_turin");
  auto ark = shared_certificate("vectors/virtee-sev/turin_ark.pem");
  if (!vcek_der || !ask_ark || !ark) GTEST_SKIP() << "../shared/vectors/virtee-sev Turin files not present";
  auto vcek = Certificate::from_der(as_bytes(*vcek_der));
  ASSERT_TRUE(vcek.has_value());
  ChainVerifyOptions options;
  options.pinned_roots = {*ark};
  options.at_unix = 1767225600;  // 2026-01-01
  auto ok = verify_chain(*vcek, *ask_ark, options);
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
}

}  // namespace
}  // namespace cloister::crypto
