#include "dcap_test_platform.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <memory>
#include <stdexcept>

#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::test {
namespace {

using crypto::Bytes;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;
using NamePtr = std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)>;
using TimePtr = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, decltype(&X509_REVOKED_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("dcap test platform: ") + what + " failed");
}

EVP_PKEY* evp(const crypto::PrivateKey& key) { return static_cast<EVP_PKEY*>(key.native()); }

TimePtr asn1_time(std::int64_t unix_seconds) {
  TimePtr time(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)), &ASN1_TIME_free);
  check(time != nullptr, "ASN1_TIME_set");
  return time;
}

NamePtr intel_like_name(const std::string& common_name) {
  NamePtr name(X509_NAME_new(), &X509_NAME_free);
  check(name != nullptr, "X509_NAME_new");
  const std::pair<const char*, std::string> parts[] = {
      {"CN", common_name}, {"O", "Cloister Test"}, {"L", "Santa Clara"}, {"ST", "CA"}, {"C", "US"}};
  for (const auto& [field, value] : parts) {
    check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
  }
  return name;
}

void add_conf_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value), &X509_EXTENSION_free);
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "X509V3_EXT_conf_nid");
}

void add_raw_extension(X509* certificate, const char* oid, const Bytes& value) {
  ObjectPtr object(OBJ_txt2obj(oid, 1), &ASN1_OBJECT_free);
  OctetPtr data(ASN1_OCTET_STRING_new(), &ASN1_OCTET_STRING_free);
  check(object && data && ASN1_OCTET_STRING_set(data.get(), value.data(), static_cast<int>(value.size())) == 1,
        "extension value");
  ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, data.get()), &X509_EXTENSION_free);
  check(extension && X509_add_ext(certificate, extension.get(), -1) == 1, "X509_add_ext");
}

std::uint64_t next_serial() {
  static std::uint64_t serial = 0x1000;
  return ++serial;
}

// issuer == nullptr: self-signed by subject_key.
crypto::Certificate make_certificate(const std::string& common_name, const crypto::PrivateKey& subject_key,
                                     const crypto::Certificate* issuer, const crypto::PrivateKey& issuer_key,
                                     bool is_ca, std::int64_t not_before, std::int64_t not_after,
                                     const Bytes* sgx_extension = nullptr) {
  X509Ptr certificate(X509_new(), &X509_free);
  check(certificate != nullptr, "X509_new");
  X509* x = certificate.get();
  check(X509_set_version(x, 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), next_serial()) == 1, "serial");
  auto name = intel_like_name(common_name);
  X509* issuer_x509 = issuer != nullptr ? static_cast<X509*>(issuer->native()) : x;
  check(X509_set_subject_name(x, name.get()) == 1, "X509_set_subject_name");
  check(X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer_x509) : name.get()) == 1,
        "X509_set_issuer_name");
  check(X509_set1_notBefore(x, asn1_time(not_before).get()) == 1, "notBefore");
  check(X509_set1_notAfter(x, asn1_time(not_after).get()) == 1, "notAfter");
  check(X509_set_pubkey(x, evp(subject_key)) == 1, "X509_set_pubkey");
  add_conf_extension(x, issuer_x509, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_conf_extension(x, issuer_x509, NID_key_usage,
                     is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation");
  add_conf_extension(x, issuer_x509, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_conf_extension(x, issuer_x509, NID_authority_key_identifier, "keyid:always");
  if (sgx_extension != nullptr) add_raw_extension(x, "1.2.840.113741.1.13.1", *sgx_extension);
  check(X509_sign(x, evp(issuer_key), EVP_sha256()) > 0, "X509_sign");
  return crypto::Certificate::from_native(x);
}

// ---- a little DER writer for the SGX extension ----
Bytes tlv(std::uint8_t tag, const Bytes& content) {
  Bytes out{tag};
  const std::size_t length = content.size();
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
  } else if (length < 0x100) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(length)});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length & 0xff)});
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
Bytes sgx_oid(std::initializer_list<std::uint8_t> arcs) {
  Bytes content{0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
  content.insert(content.end(), arcs.begin(), arcs.end());
  return tlv(0x06, content);
}
Bytes der_unsigned(std::uint8_t tag, std::uint32_t value) {
  Bytes content;
  do {
    content.insert(content.begin(), static_cast<std::uint8_t>(value & 0xff));
    value >>= 8;
  } while (value != 0);
  if (content.front() & 0x80) content.insert(content.begin(), 0x00);
  return tlv(tag, content);
}
Bytes pair(const Bytes& oid, const Bytes& value) { return tlv(0x30, crypto::concat(oid, value)); }
template <std::size_t N>
Bytes octets(const std::array<std::uint8_t, N>& value) {
  return tlv(0x04, Bytes(value.begin(), value.end()));
}

// ---- little-endian writers ----
void put16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}
void put32(Bytes& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xff));
}
template <std::size_t N>
void put_at(Bytes& out, std::size_t offset, const std::array<std::uint8_t, N>& value) {
  std::copy(value.begin(), value.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
}
void put_at(Bytes& out, std::size_t offset, crypto::BytesView value) {
  std::copy(value.begin(), value.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
}

Bytes raw_sign(const crypto::PrivateKey& key, crypto::BytesView message) {
  auto der = crypto::ecdsa_sign(key, crypto::HashAlgorithm::sha256, message);
  check(der.has_value(), "ecdsa_sign");
  auto raw = crypto::ecdsa_der_to_raw(*der, 32);
  check(raw.has_value(), "ecdsa_der_to_raw");
  return *raw;
}

std::string upper_hex(crypto::BytesView bytes) {
  std::string hex = crypto::hex_encode(bytes);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

nlohmann::json components(std::initializer_list<int> first, int rest) {
  nlohmann::json out = nlohmann::json::array();
  for (int svn : first) out.push_back({{"svn", svn}});
  while (out.size() < 16) out.push_back({{"svn", rest}});
  return out;
}

std::string pcs_time(std::int64_t unix_seconds) { return dcap::detail::format_pcs_time(unix_seconds); }

}  // namespace

DcapTestPlatform::DcapTestPlatform(Tee tee_kind, std::uint16_t quote_version, std::uint16_t v5_body_type)
    : root_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p256)),
      pck_ca_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p256)),
      pck_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p256)),
      tcb_signing_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p256)),
      attestation_key(crypto::PrivateKey::generate(crypto::KeyType::ec_p256)),
      root(make_certificate("Cloister Test SGX Root CA", root_key, nullptr, root_key, true, kNow - 3000 * kDay,
                            kNow + 3000 * kDay)),
      pck_ca(make_certificate("Cloister Test SGX PCK Platform CA", pck_ca_key, &root, root_key, true,
                              kNow - 2000 * kDay, kNow + 2000 * kDay)),
      pck_leaf(pck_ca),  // replaced by rebuild_pck()
      tcb_signing(make_certificate("Cloister Test SGX TCB Signing", tcb_signing_key, &root, root_key, false,
                                   kNow - 1000 * kDay, kNow + 1000 * kDay)),
      tee(tee_kind),
      version(quote_version != 0 ? quote_version : (tee_kind == Tee::sgx ? 3 : 4)),
      body_type(v5_body_type != 0 ? v5_body_type : (tee_kind == Tee::sgx ? 1 : 2)),
      qe_isv_prod_id(tee_kind == Tee::sgx ? 1 : 2) {
  pck_components.fill(5);
  for (std::size_t i = 0; i < 32; ++i) {
    mr_enclave[i] = static_cast<std::uint8_t>(0xe0 + (i % 16));
    mr_signer[i] = static_cast<std::uint8_t>(0x50 + (i % 16));
    qe_mr_signer[i] = static_cast<std::uint8_t>(0x8c ^ i);
  }
  for (std::size_t i = 0; i < 48; ++i) {
    mr_td[i] = static_cast<std::uint8_t>(0x70 + (i % 16));
    for (std::size_t r = 0; r < 4; ++r) rtmr[r][i] = static_cast<std::uint8_t>(0x10 * (r + 1) + (i % 16));
  }
  tee_tcb_svn = {6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (std::uint8_t i = 0; i < 32; ++i) qe_auth_data.push_back(i);
  rebuild_pck();

  const bool tdx = tee == Tee::tdx;
  tcb_info = {{"version", 3},
              {"issueDate", pcs_time(kNow - 5 * kDay)},
              {"nextUpdate", pcs_time(kNow + 25 * kDay)},
              {"fmspc", upper_hex(fmspc)},
              {"pceId", upper_hex(pce_id)},
              {"tcbType", 0},
              {"tcbEvaluationDataNumber", 15}};
  tcb_info["id"] = tdx ? "TDX" : "SGX";
  nlohmann::json up_to_date = {{"tcb", {{"sgxtcbcomponents", components({}, 5)}, {"pcesvn", 13}}},
                               {"tcbDate", "2023-08-09T00:00:00Z"},
                               {"tcbStatus", "UpToDate"}};
  nlohmann::json sw_hardening = {{"tcb", {{"sgxtcbcomponents", components({}, 3)}, {"pcesvn", 11}}},
                                 {"tcbDate", "2023-02-15T00:00:00Z"},
                                 {"tcbStatus", "SWHardeningNeeded"},
                                 {"advisoryIDs", {"INTEL-SA-00615"}}};
  nlohmann::json out_of_date = {{"tcb", {{"sgxtcbcomponents", components({}, 0)}, {"pcesvn", 0}}},
                                {"tcbDate", "2018-01-04T00:00:00Z"},
                                {"tcbStatus", "OutOfDate"},
                                {"advisoryIDs", {"INTEL-SA-00106", "INTEL-SA-00615"}}};
  if (tdx) {
    up_to_date["tcb"]["tdxtcbcomponents"] = components({6, 1, 3}, 0);
    sw_hardening["tcb"]["tdxtcbcomponents"] = components({4, 1, 2}, 0);
    out_of_date["tcb"]["tdxtcbcomponents"] = components({}, 0);
    const std::string zeros(96, '0');
    tcb_info["tdxModule"] = {
        {"mrsigner", zeros}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}};
    tcb_info["tdxModuleIdentities"] = nlohmann::json::array(
        {{{"id", "TDX_01"},
          {"mrsigner", zeros},
          {"attributes", "0000000000000000"},
          {"attributesMask", "FFFFFFFFFFFFFFFF"},
          {"tcbLevels",
           {{{"tcb", {{"isvsvn", 6}}}, {"tcbDate", "2023-08-09T00:00:00Z"}, {"tcbStatus", "UpToDate"}},
            {{"tcb", {{"isvsvn", 4}}},
             {"tcbDate", "2023-02-15T00:00:00Z"},
             {"tcbStatus", "OutOfDate"},
             {"advisoryIDs", {"INTEL-SA-01036"}}}}}}});
  }
  tcb_info["tcbLevels"] = nlohmann::json::array({up_to_date, sw_hardening, out_of_date});

  qe_identity = {{"id", tdx ? "TD_QE" : "QE"},
                 {"version", 2},
                 {"issueDate", pcs_time(kNow - 5 * kDay)},
                 {"nextUpdate", pcs_time(kNow + 25 * kDay)},
                 {"tcbEvaluationDataNumber", 15},
                 {"miscselect", "00000000"},
                 {"miscselectMask", "FFFFFFFF"},
                 {"attributes", "11000000000000000000000000000000"},
                 {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
                 {"mrsigner", upper_hex(qe_mr_signer)},
                 {"isvprodid", qe_isv_prod_id},
                 {"tcbLevels",
                  {{{"tcb", {{"isvsvn", 8}}}, {"tcbDate", "2023-02-15T00:00:00Z"}, {"tcbStatus", "UpToDate"}},
                   {{"tcb", {{"isvsvn", 6}}},
                    {"tcbDate", "2021-11-10T00:00:00Z"},
                    {"tcbStatus", "OutOfDate"},
                    {"advisoryIDs", {"INTEL-SA-00615"}}}}}};
}

void DcapTestPlatform::rebuild_pck() {
  if (processor_ca) {
    pck_ca = make_certificate("Cloister Test SGX PCK Processor CA", pck_ca_key, &root, root_key, true,
                              kNow - 2000 * kDay, kNow + 2000 * kDay);
  }
  Bytes tcb;
  for (std::uint8_t i = 0; i < 16; ++i) {
    tcb = crypto::concat(tcb,
                         pair(sgx_oid({2, static_cast<std::uint8_t>(i + 1)}), der_unsigned(0x02, pck_components[i])));
  }
  tcb = crypto::concat(tcb, pair(sgx_oid({2, 17}), der_unsigned(0x02, pck_pce_svn)));
  std::array<std::uint8_t, 16> cpu_svn{};
  std::copy(pck_components.begin(), pck_components.end(), cpu_svn.begin());
  tcb = crypto::concat(tcb, pair(sgx_oid({2, 18}), octets(cpu_svn)));
  std::array<std::uint8_t, 16> ppid{};
  ppid.fill(0xaa);
  Bytes members = pair(sgx_oid({1}), octets(ppid));
  members = crypto::concat(members, pair(sgx_oid({2}), tlv(0x30, tcb)));
  members = crypto::concat(members, pair(sgx_oid({3}), octets(pce_id)));
  members = crypto::concat(members, pair(sgx_oid({4}), octets(fmspc)));
  members = crypto::concat(members, pair(sgx_oid({5}), der_unsigned(0x0a, 0)));
  const Bytes extension = tlv(0x30, members);
  pck_leaf = make_certificate("Cloister Test SGX PCK Certificate", pck_key, &pck_ca, pck_ca_key, false, pck_not_before,
                              pck_not_after, &extension);
}

void DcapTestPlatform::reissue_tcb_signing(std::int64_t not_before, std::int64_t not_after) {
  tcb_signing =
      make_certificate("Cloister Test SGX TCB Signing", tcb_signing_key, &root, root_key, false, not_before, not_after);
}

Bytes DcapTestPlatform::quote(crypto::BytesView report_data) const {
  check(report_data.size() == 64, "report data size");
  const bool tdx = tee == Tee::tdx;
  Bytes out;
  put16(out, version);
  put16(out, 2);
  put32(out, version == 3 ? 0 : (tdx ? 0x81 : 0));
  put16(out, version == 3 ? qe_isv_svn : 0);
  put16(out, version == 3 ? pck_pce_svn : 0);
  static constexpr std::array<std::uint8_t, 16> kIntel{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                       0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
  out.insert(out.end(), kIntel.begin(), kIntel.end());
  for (std::uint8_t i = 0; i < 20; ++i) out.push_back(i < 16 ? static_cast<std::uint8_t>(0xc0 + i) : 0);

  Bytes body;
  if (!tdx) {
    body.assign(384, 0);
    put_at(body, 0, std::array<std::uint8_t, 16>{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
    std::array<std::uint8_t, 16> attributes{};
    for (int i = 0; i < 8; ++i) attributes[i] = static_cast<std::uint8_t>((flags >> (8 * i)) & 0xff);
    attributes[8] = 0x03;  // XFRM x87 | SSE
    put_at(body, 48, attributes);
    put_at(body, 64, mr_enclave);
    put_at(body, 128, mr_signer);
    body[256] = static_cast<std::uint8_t>(isv_prod_id & 0xff);
    body[257] = static_cast<std::uint8_t>(isv_prod_id >> 8);
    body[258] = static_cast<std::uint8_t>(isv_svn & 0xff);
    body[259] = static_cast<std::uint8_t>(isv_svn >> 8);
    put_at(body, 320, report_data);
  } else {
    const bool td15 = version == 5 && body_type == 3;
    body.assign(td15 ? 648 : 584, 0);
    put_at(body, 0, tee_tcb_svn);
    std::array<std::uint8_t, 48> mr_seam{};
    mr_seam.fill(0x5e);
    put_at(body, 16, mr_seam);
    put_at(body, 64, mr_signer_seam);
    put_at(body, 120, td_attributes);
    put_at(body, 128, std::array<std::uint8_t, 8>{0xe7, 0x02, 0x06, 0, 0, 0, 0, 0});
    put_at(body, 136, mr_td);
    for (std::size_t r = 0; r < 4; ++r) put_at(body, 328 + 48 * r, rtmr[r]);
    put_at(body, 520, report_data);
    if (td15) put_at(body, 584, tee_tcb_svn);
  }
  if (version == 5) {
    put16(out, body_type);
    put32(out, static_cast<std::uint32_t>(body.size()));
  }
  out.insert(out.end(), body.begin(), body.end());
  const Bytes signature = raw_sign(attestation_key, out);

  auto point = attestation_key.public_key().ec_point();
  check(point.has_value() && point->size() == 65, "ec_point");
  const Bytes key(point->begin() + 1, point->end());

  Bytes qe_report(384, 0);
  put_at(qe_report, 0, std::array<std::uint8_t, 16>{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
  qe_report[48] = 0x11;
  put_at(qe_report, 64, std::array<std::uint8_t, 32>{0x9e});
  put_at(qe_report, 128, qe_mr_signer);
  qe_report[256] = static_cast<std::uint8_t>(qe_isv_prod_id & 0xff);
  qe_report[258] = static_cast<std::uint8_t>(qe_isv_svn & 0xff);
  qe_report[259] = static_cast<std::uint8_t>(qe_isv_svn >> 8);
  put_at(qe_report, 320, crypto::sha256(crypto::concat(key, qe_auth_data)));
  const Bytes qe_signature = raw_sign(pck_key, qe_report);

  const std::string chain = pck_leaf.pem() + pck_ca.pem() + root.pem();
  Bytes certification = crypto::concat(qe_report, qe_signature);
  put16(certification, static_cast<std::uint16_t>(qe_auth_data.size()));
  certification.insert(certification.end(), qe_auth_data.begin(), qe_auth_data.end());
  put16(certification, 5);
  put32(certification, static_cast<std::uint32_t>(chain.size() + 1));
  certification.insert(certification.end(), chain.begin(), chain.end());
  certification.push_back(0);

  Bytes signature_data = crypto::concat(signature, key);
  if (version == 3) {
    signature_data = crypto::concat(signature_data, certification);
  } else {
    put16(signature_data, 6);
    put32(signature_data, static_cast<std::uint32_t>(certification.size()));
    signature_data = crypto::concat(signature_data, certification);
  }
  put32(out, static_cast<std::uint32_t>(signature_data.size()));
  return crypto::concat(out, signature_data);
}

std::string DcapTestPlatform::sign_document(const std::string& text) const {
  return crypto::hex_encode(raw_sign(tcb_signing_key, crypto::as_bytes(text)));
}

Bytes DcapTestPlatform::make_crl(const crypto::Certificate& issuer, const crypto::PrivateKey& issuer_key,
                                 const std::vector<crypto::Certificate>& revoked) const {
  CrlPtr crl(X509_CRL_new(), &X509_CRL_free);
  check(crl != nullptr, "X509_CRL_new");
  check(X509_CRL_set_version(crl.get(), 1) == 1, "X509_CRL_set_version");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(static_cast<X509*>(issuer.native()))) == 1,
        "X509_CRL_set_issuer_name");
  check(X509_CRL_set1_lastUpdate(crl.get(), asn1_time(crl_this_update).get()) == 1, "lastUpdate");
  check(X509_CRL_set1_nextUpdate(crl.get(), asn1_time(crl_next_update).get()) == 1, "nextUpdate");
  for (const auto& certificate : revoked) {
    RevokedPtr entry(X509_REVOKED_new(), &X509_REVOKED_free);
    check(entry && X509_REVOKED_set_serialNumber(entry.get(),
                                                 X509_get_serialNumber(static_cast<X509*>(certificate.native()))) == 1,
          "X509_REVOKED_set_serialNumber");
    check(X509_REVOKED_set_revocationDate(entry.get(), asn1_time(crl_this_update).get()) == 1, "revocationDate");
    check(X509_CRL_add0_revoked(crl.get(), entry.release()) == 1, "X509_CRL_add0_revoked");
  }
  check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  check(X509_CRL_sign(crl.get(), evp(issuer_key), EVP_sha256()) > 0, "X509_CRL_sign");
  unsigned char* der = nullptr;
  const int length = i2d_X509_CRL(crl.get(), &der);
  check(length > 0, "i2d_X509_CRL");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

Collateral DcapTestPlatform::collateral() const {
  const std::string tcb_text = tcb_info.dump();
  const std::string qe_text = qe_identity.dump();
  Collateral collateral;
  collateral.documents = {
      {"pck_crl_issuer_chain", pck_ca.pem() + root.pem()},
      {"root_ca_crl", crypto::hex_encode(make_crl(root, root_key, revoked_by_root))},
      {"pck_crl", crypto::hex_encode(make_crl(pck_ca, pck_ca_key, revoked_by_pck_ca))},
      {"tcb_info_issuer_chain", tcb_signing.pem() + root.pem()},
      {"tcb_info", tcb_text},
      {"tcb_info_signature", sign_document(tcb_text)},
      {"qe_identity_issuer_chain", tcb_signing.pem() + root.pem()},
      {"qe_identity", qe_text},
      {"qe_identity_signature", sign_document(qe_text)},
  };
  return collateral;
}

dcap::DcapVerifierOptions DcapTestPlatform::options() const { return dcap::DcapVerifierOptions{.root_cas = {root}}; }

FormatConfig DcapTestPlatform::config() const {
  FormatConfig config;
  config.dcap = options();
  return config;
}

}  // namespace cloister::attestation::test
