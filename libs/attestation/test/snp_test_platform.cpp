#include "snp_test_platform.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "formats/snp/snp_certs.h"
#include "formats/snp/snp_collateral.h"

namespace cloister::attestation::test {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;
using NamePtr = std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)>;
using TimePtr = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, decltype(&X509_REVOKED_free)>;
using IntegerPtr = std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("snp test platform: ") + what + " failed");
}

// AMD's distinguished name: OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices, CN=…
NamePtr amd_name(const std::string& common_name) {
  NamePtr name(X509_NAME_new(), &X509_NAME_free);
  check(name != nullptr, "X509_NAME_new");
  const std::pair<const char*, std::string> parts[] = {{"OU", "Engineering"}, {"C", "US"},
                                                       {"L", "Santa Clara"},  {"ST", "CA"},
                                                       {"O", "Advanced Micro Devices"}, {"CN", common_name}};
  for (const auto& [field, value] : parts) {
    check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
  }
  return name;
}

// An EVP_MD_CTX set up for RSASSA-PSS / SHA-384 / MGF1-SHA-384 / salt 48 with `key`.
MdCtxPtr pss_context(const crypto::PrivateKey& key) {
  MdCtxPtr context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pkey_context = nullptr;
  check(context && EVP_DigestSignInit(context.get(), &pkey_context, EVP_sha384(), nullptr,
                                      static_cast<EVP_PKEY*>(key.native())) == 1,
        "EVP_DigestSignInit");
  check(EVP_PKEY_CTX_set_rsa_padding(pkey_context, RSA_PKCS1_PSS_PADDING) == 1, "set_rsa_padding");
  check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_context, 48) == 1, "set_rsa_pss_saltlen");
  check(EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_context, EVP_sha384()) == 1, "set_rsa_mgf1_md");
  return context;
}

TimePtr asn1_time(std::int64_t unix_seconds) {
  TimePtr time(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)), &ASN1_TIME_free);
  check(time != nullptr, "ASN1_TIME_set");
  return time;
}

void add_raw_extension(X509* certificate, const std::string& oid, const crypto::Bytes& value) {
  ObjectPtr object(OBJ_txt2obj(oid.c_str(), 1), &ASN1_OBJECT_free);
  OctetPtr data(ASN1_OCTET_STRING_new(), &ASN1_OCTET_STRING_free);
  check(object && data && ASN1_OCTET_STRING_set(data.get(), value.data(), static_cast<int>(value.size())) == 1,
        "extension value");
  ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, data.get()), &X509_EXTENSION_free);
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "X509_add_ext");
}

void add_conf_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value), &X509_EXTENSION_free);
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "X509V3_EXT_conf_nid");
}

std::string product(snp::Generation generation) { return std::string(snp::to_string(generation)); }

crypto::Bytes ia5(const std::string& text) {
  crypto::Bytes out(text.size() + 2);
  out[0] = 0x16;
  out[1] = static_cast<std::uint8_t>(text.size());
  std::copy(text.begin(), text.end(), out.begin() + 2);
  return out;
}

std::array<std::uint8_t, snp::kChipIdSize> test_chip_id() {
  std::array<std::uint8_t, snp::kChipIdSize> id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xc0 ^ (i * 13 + 5));
  return id;
}

crypto::Certificate make_ark(const crypto::PrivateKey& key, const SnpTestPlatformOptions& options) {
  return make_amd_certificate(key.public_key(),
                              AmdCertificateSpec{.common_name = "ARK-" + product(options.generation), .serial = 1,
                                                 .is_ca = true},
                              key, nullptr);
}

crypto::Certificate make_ask(const crypto::PrivateKey& key, const crypto::Certificate& ark,
                             const crypto::PrivateKey& ark_key, const SnpTestPlatformOptions& options) {
  const std::string name = options.kind == snp::SigningKey::vlek ? "SEV-VLEK-" : "SEV-";
  return make_amd_certificate(
      key.public_key(),
      AmdCertificateSpec{.common_name = name + product(options.generation), .serial = 2, .is_ca = true}, ark_key,
      &ark);
}

crypto::Certificate make_leaf(const crypto::PrivateKey& key, const crypto::Certificate& ask,
                              const crypto::PrivateKey& ask_key, const SnpTestPlatformOptions& options,
                              const std::array<std::uint8_t, snp::kChipIdSize>& chip_id) {
  const bool vlek = options.kind == snp::SigningKey::vlek;
  const bool turin = options.generation == snp::Generation::turin;
  AmdCertificateSpec spec{.common_name = vlek ? "SEV-VLEK" : "SEV-VCEK",
                          .serial = 0,
                          .not_before = options.leaf_not_before,
                          .not_after = options.leaf_not_after};
  const auto& tcb = options.certified_tcb;
  spec.extensions = {
      {std::string(snp::kOidStructVersion), der_integer(1)},
      {std::string(snp::kOidProductName), ia5(turin ? "Turin" : vlek ? product(options.generation)
                                                                      : product(options.generation) + "-B0")},
      {std::string(snp::kOidBootloaderSpl), der_integer(tcb.bootloader)},
      {std::string(snp::kOidTeeSpl), der_integer(tcb.tee)},
      {std::string(snp::kOidSnpSpl), der_integer(tcb.snp)},
      {std::string(snp::kOidMicrocodeSpl), der_integer(tcb.microcode)},
  };
  if (turin) spec.extensions.push_back({std::string(snp::kOidFmcSpl), der_integer(tcb.fmc.value_or(0))});
  if (!vlek) {
    crypto::Bytes hw_id(chip_id.begin(), chip_id.begin() + (turin ? 8 : 64));
    if (options.wrap_hw_id) hw_id.insert(hw_id.begin(), {0x04, static_cast<std::uint8_t>(hw_id.size())});
    spec.extensions.push_back({std::string(snp::kOidHwId), hw_id});
  } else {
    spec.extensions.push_back({std::string(snp::kOidCspId), ia5("CN=cloister-test")});
  }
  return make_amd_certificate(key.public_key(), spec, ask_key, &ask);
}

}  // namespace

crypto::Bytes der_integer(unsigned value) {
  if (value < 0x80) return {0x02, 0x01, static_cast<std::uint8_t>(value)};
  return {0x02, 0x02, 0x00, static_cast<std::uint8_t>(value)};
}

crypto::Certificate make_amd_certificate(const crypto::PublicKey& subject_key, const AmdCertificateSpec& spec,
                                         const crypto::PrivateKey& issuer_key, const crypto::Certificate* issuer) {
  X509Ptr certificate(X509_new(), &X509_free);
  check(certificate && X509_set_version(certificate.get(), 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), spec.serial) == 1, "serial");
  const NamePtr subject = amd_name(spec.common_name);
  check(X509_set_subject_name(certificate.get(), subject.get()) == 1, "subject");
  X509* issuer_x509 = issuer != nullptr ? static_cast<X509*>(issuer->native()) : certificate.get();
  check(X509_set_issuer_name(certificate.get(), X509_get_subject_name(issuer_x509)) == 1, "issuer");
  check(X509_set1_notBefore(certificate.get(), asn1_time(spec.not_before).get()) == 1, "notBefore");
  check(X509_set1_notAfter(certificate.get(), asn1_time(spec.not_after).get()) == 1, "notAfter");
  check(X509_set_pubkey(certificate.get(), static_cast<EVP_PKEY*>(subject_key.native())) == 1, "pubkey");
  if (spec.is_ca) {
    add_conf_extension(certificate.get(), issuer_x509, NID_subject_key_identifier, "hash");
    add_conf_extension(certificate.get(), issuer_x509, NID_basic_constraints, "critical,CA:TRUE");
    add_conf_extension(certificate.get(), issuer_x509, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  for (const auto& [oid, value] : spec.extensions) add_raw_extension(certificate.get(), oid, value);
  const MdCtxPtr context = pss_context(issuer_key);
  check(X509_sign_ctx(certificate.get(), context.get()) > 0, "X509_sign_ctx");
  return crypto::Certificate::from_native(certificate.get());
}

crypto::Crl make_amd_crl(const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                         const std::vector<long>& revoked_serials, std::int64_t this_update, std::int64_t next_update) {
  CrlPtr crl(X509_CRL_new(), &X509_CRL_free);
  check(crl && X509_CRL_set_version(crl.get(), 1) == 1, "X509_CRL_set_version");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(static_cast<X509*>(issuer.native()))) == 1,
        "CRL issuer");
  check(X509_CRL_set1_lastUpdate(crl.get(), asn1_time(this_update).get()) == 1, "lastUpdate");
  check(X509_CRL_set1_nextUpdate(crl.get(), asn1_time(next_update).get()) == 1, "nextUpdate");
  for (long serial : revoked_serials) {
    RevokedPtr revoked(X509_REVOKED_new(), &X509_REVOKED_free);
    IntegerPtr number(ASN1_INTEGER_new(), &ASN1_INTEGER_free);
    check(revoked && number && ASN1_INTEGER_set(number.get(), serial) == 1 &&
              X509_REVOKED_set_serialNumber(revoked.get(), number.get()) == 1 &&
              X509_REVOKED_set_revocationDate(revoked.get(), asn1_time(this_update).get()) == 1,
          "X509_REVOKED");
    check(X509_CRL_add0_revoked(crl.get(), revoked.release()) == 1, "X509_CRL_add0_revoked");
  }
  check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  const MdCtxPtr context = pss_context(issuer_key);
  check(X509_CRL_sign_ctx(crl.get(), context.get()) > 0, "X509_CRL_sign_ctx");
  unsigned char* der = nullptr;
  const int length = i2d_X509_CRL(crl.get(), &der);
  check(length > 0, "i2d_X509_CRL");
  crypto::Bytes bytes(der, der + length);
  OPENSSL_free(der);
  auto parsed = crypto::Crl::from_der(bytes);
  check(parsed.has_value(), "Crl::from_der");
  return std::move(*parsed);
}

SnpTestPlatform::SnpTestPlatform(SnpTestPlatformOptions options)
    : options_([&] {
        if (options.generation == snp::Generation::turin && !options.certified_tcb.fmc) options.certified_tcb.fmc = 1;
        return options;
      }()),
      ark_key(crypto::PrivateKey::generate(crypto::KeyType::rsa)),
      ask_key(crypto::PrivateKey::generate(crypto::KeyType::rsa)),
      leaf_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p384)),
      chip_id(test_chip_id()),
      ark(make_ark(ark_key, options_)),
      ask(make_ask(ask_key, ark, ark_key, options_)),
      leaf(make_leaf(leaf_key, ask, ask_key, options_, chip_id)) {}

const SnpTestPlatform& SnpTestPlatform::shared() {
  static const SnpTestPlatform platform;
  return platform;
}

crypto::Bytes SnpTestPlatform::report(crypto::BytesView report_data, const SnpReportFields& fields) const {
  crypto::Bytes report(snp::kReportSize, 0);
  auto put = [&report](std::size_t offset, std::uint64_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) report[offset + i] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xff);
  };
  auto put_bytes = [&report](std::size_t offset, crypto::BytesView bytes) {
    std::copy(bytes.begin(), bytes.end(), report.begin() + static_cast<std::ptrdiff_t>(offset));
  };
  const bool vlek = options_.kind == snp::SigningKey::vlek;
  const std::uint64_t tcb = fields.reported_tcb.value_or(reported_tcb());
  put(snp::kVersionOffset, fields.version, 4);
  put(snp::kGuestSvnOffset, fields.guest_svn, 4);
  put(snp::kPolicyOffset, fields.policy, 8);
  put(snp::kVmplOffset, fields.vmpl, 4);
  put(snp::kSignatureAlgoOffset, snp::kSignatureAlgoEcdsaP384Sha384, 4);
  put(snp::kCurrentTcbOffset, tcb, 8);
  put(snp::kPlatformInfoOffset, 1, 8);
  put(snp::kSignerInfoOffset, vlek ? 1u << 2 : 0u, 4);
  put_bytes(snp::kReportDataOffset, report_data.first(std::min(report_data.size(), snp::kReportDataSize)));
  for (std::size_t i = 0; i < snp::kMeasurementSize; ++i) report[snp::kMeasurementOffset + i] = static_cast<std::uint8_t>(i);
  put_bytes(snp::kHostDataOffset, fields.host_data);
  put(snp::kReportedTcbOffset, tcb, 8);
  if (fields.version >= 3) put_bytes(snp::kCpuidOffset, fields.cpuid);
  std::array<std::uint8_t, snp::kChipIdSize> chip{};
  if (!vlek) chip = chip_id;
  put_bytes(snp::kChipIdOffset, fields.chip_id.value_or(chip));
  put(snp::kCommittedTcbOffset, tcb, 8);
  put(snp::kLaunchTcbOffset, tcb, 8);
  sign(report, leaf_key);
  return report;
}

void SnpTestPlatform::sign(crypto::Bytes& report, const crypto::PrivateKey& key) {
  auto der = crypto::ecdsa_sign(key, crypto::HashAlgorithm::sha384, crypto::BytesView(report).first(snp::kSignedSize));
  check(der.has_value(), "ecdsa_sign");
  auto raw = crypto::ecdsa_der_to_raw(*der, snp::kP384ComponentSize);
  check(raw.has_value() && raw->size() == 2 * snp::kP384ComponentSize, "ecdsa_der_to_raw");
  std::fill(report.begin() + snp::kSignatureROffset, report.end(), 0);
  // Big-endian r and s → the report's little-endian 72-byte fields.
  std::reverse_copy(raw->begin(), raw->begin() + 48, report.begin() + snp::kSignatureROffset);
  std::reverse_copy(raw->begin() + 48, raw->end(), report.begin() + snp::kSignatureSOffset);
}

Collateral SnpTestPlatform::collateral() const {
  Collateral out;
  const auto member = options_.kind == snp::SigningKey::vlek ? snp::kCollateralVlek : snp::kCollateralVcek;
  out.documents[std::string(member)] = leaf.pem();
  out.documents[std::string(snp::kCollateralCertChain)] = ask.pem() + ark.pem();
  return out;
}

FormatConfig SnpTestPlatform::config() const {
  FormatConfig config;
  config.snp_trusted_arks = {ark};
  return config;
}

crypto::Bytes SnpTestPlatform::cert_table() const {
  const bool vlek = options_.kind == snp::SigningKey::vlek;
  return snp::serialize_cert_table({{vlek ? snp::kGuidVlek : snp::kGuidVcek, leaf.der()},
                                    {snp::kGuidAsk, ask.der()},
                                    {snp::kGuidArk, ark.der()}});
}

std::optional<std::string> read_vector_text(const std::string& relative) {
  std::ifstream in(std::filesystem::path("..") / "shared" / "vectors" / relative, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::optional<crypto::Bytes> read_vector(const std::string& relative) {
  auto text = read_vector_text(relative);
  if (!text) return std::nullopt;
  return crypto::to_bytes(*text);
}

std::optional<crypto::Bytes> read_report_milan() {
  auto text = read_vector_text("virtee-sev/report_milan.hex");
  if (!text) return std::nullopt;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r' || text->back() == ' ')) text->pop_back();
  auto bytes = crypto::hex_decode(*text);
  check(bytes.has_value(), "report_milan.hex is not hex");
  return std::move(*bytes);
}

}  // namespace cloister::attestation::test
