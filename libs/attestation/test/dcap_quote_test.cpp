// Parsing DCAP quotes, PCK extensions, PCS timestamps and PCS documents.

#include <gtest/gtest.h>

#include <functional>

#include "cloister/crypto/hash.h"
#include "dcap_test_platform.h"
#include "dcap_vectors.h"
#include "formats/dcap/dcap_util.h"
#include "formats/dcap/pck_certificate.h"
#include "formats/dcap/quote.h"
#include "formats/dcap/tcb_info.h"

namespace cloister::attestation {
namespace {

using test::DcapTestPlatform;
using test::dcap_vectors::read_vector;

void put_u32(crypto::Bytes& bytes, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xff);
}

TEST(DcapQuote, ParsesTheRealSgxQuoteFields) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote");
  auto quote = dcap::parse_quote(read_vector("phala-dcap-qvl/sgx_quote"));
  ASSERT_TRUE(quote) << quote.error().to_string();
  EXPECT_EQ(quote->header.version, 3);
  EXPECT_EQ(quote->header.attestation_key_type, 2);
  EXPECT_EQ(quote->header.qe_svn, 10);
  EXPECT_EQ(quote->header.pce_svn, 15);
  EXPECT_EQ(quote->header.qe_vendor_id, dcap::kIntelQeVendorId);
  EXPECT_EQ(quote->body_type, dcap::BodyType::sgx);
  ASSERT_TRUE(quote->sgx_body);
  EXPECT_FALSE(quote->is_tdx());
  EXPECT_EQ(quote->sgx_body->flags() & 0xff, 0x05u);
  EXPECT_FALSE(quote->sgx_body->debug());
  EXPECT_EQ(quote->signed_data.size(), 432u);
  EXPECT_EQ(quote->qe_report_raw.size(), 384u);
  EXPECT_EQ(quote->qe_auth_data.size(), 32u);
  EXPECT_EQ(quote->qe_auth_data[31], 31);
  EXPECT_EQ(quote->certification_type, dcap::kCertificationPckChain);
  EXPECT_EQ(quote->size, 4600u);
  EXPECT_EQ(quote->trailing_size, 0u);
  EXPECT_EQ(quote->qe_report.isv_svn, 10);
  const std::string text(reinterpret_cast<const char*>(quote->report_data().data()), 13);
  EXPECT_EQ(text, "Hello, world!");
}

TEST(DcapQuote, ParsesTheRealTdxQuotesV4AndV5) {
  SKIP_WITHOUT_VECTORS("edgeless-go-tdx-qpl/quote", "google-go-tdx-guest/quote_v5_sample.dat");
  auto v4 = dcap::parse_quote(read_vector("edgeless-go-tdx-qpl/quote"));
  ASSERT_TRUE(v4) << v4.error().to_string();
  EXPECT_EQ(v4->header.version, 4);
  EXPECT_EQ(v4->header.tee_type, dcap::kTeeTypeTdx);
  EXPECT_EQ(v4->body_type, dcap::BodyType::td10);
  ASSERT_TRUE(v4->td_body);
  EXPECT_EQ(v4->signed_data.size(), 632u);
  EXPECT_EQ(crypto::hex_encode(v4->td_body->td_attributes), "0000001000000000");
  EXPECT_EQ(crypto::hex_encode(v4->td_body->tee_tcb_svn).substr(0, 6), "030005");
  EXPECT_FALSE(v4->td_body->tee_tcb_svn2);
  EXPECT_FALSE(v4->td_body->debug());

  auto v5 = dcap::parse_quote(read_vector("google-go-tdx-guest/quote_v5_sample.dat"));
  ASSERT_TRUE(v5) << v5.error().to_string();
  EXPECT_EQ(v5->header.version, 5);
  EXPECT_EQ(v5->body_type, dcap::BodyType::td15);
  EXPECT_EQ(v5->signed_data.size(), 54u + 648u);
  ASSERT_TRUE(v5->td_body->tee_tcb_svn2);
  EXPECT_EQ(crypto::hex_encode(*v5->td_body->tee_tcb_svn2).substr(0, 6), "0d0104");
  EXPECT_EQ(crypto::hex_encode(v5->td_body->tee_tcb_svn).substr(0, 6), "0b0104");
  EXPECT_EQ(v5->trailing_size, 0u);
}

TEST(DcapQuote, TheDebugBitsAreRead) {
  SKIP_WITHOUT_VECTORS("mobilecoin-sgx/hw_quote.dat", "coco-trustee/tdx_quote_4.dat");
  auto sgx = dcap::parse_quote(read_vector("mobilecoin-sgx/hw_quote.dat"));
  ASSERT_TRUE(sgx);
  EXPECT_TRUE(sgx->sgx_body->debug());
  auto tdx = dcap::parse_quote(read_vector("coco-trustee/tdx_quote_4.dat"));
  ASSERT_TRUE(tdx);
  EXPECT_TRUE(tdx->td_body->debug());
}

TEST(DcapQuote, LengthsMustAddUp) {
  DcapTestPlatform platform;
  const auto quote = platform.quote(crypto::Bytes(64, 1));
  ASSERT_TRUE(dcap::parse_quote(quote));
  auto malformed = [](crypto::Bytes bytes) {
    auto parsed = dcap::parse_quote(bytes);
    return !parsed && parsed.error().code == ErrorCode::evidence_malformed;
  };
  {  // signature data length one short: the certification data no longer fits
    auto bytes = quote;
    put_u32(bytes, 432, static_cast<std::uint32_t>(quote.size() - 436 - 1));
    EXPECT_TRUE(malformed(bytes));
  }
  {  // signature data length one long with a byte to spare: unaccounted bytes
    auto bytes = quote;
    bytes.push_back(0);
    put_u32(bytes, 432, static_cast<std::uint32_t>(quote.size() - 436 + 1));
    EXPECT_TRUE(malformed(bytes));
  }
  {  // signature data length beyond the input
    auto bytes = quote;
    put_u32(bytes, 432, 0xffffffffu);
    EXPECT_TRUE(malformed(bytes));
  }
  for (std::uint16_t version : {0, 1, 2, 6, 0xffff}) {
    auto bytes = quote;
    bytes[0] = static_cast<std::uint8_t>(version & 0xff);
    bytes[1] = static_cast<std::uint8_t>(version >> 8);
    EXPECT_TRUE(malformed(bytes)) << version;
  }
  EXPECT_TRUE(malformed(crypto::Bytes(dcap::kMaxQuoteSize + 1, 0)));
  EXPECT_TRUE(malformed({}));
  // Trailing bytes are counted, not parsed.
  auto padded = quote;
  padded.resize(quote.size() + 100, 0xee);
  auto parsed = dcap::parse_quote(padded);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->size, quote.size());
  EXPECT_EQ(parsed->trailing_size, 100u);
}

TEST(DcapQuote, V5BodyDescriptorIsChecked) {
  DcapTestPlatform platform(DcapTestPlatform::Tee::tdx, 5, 3);
  const auto quote = platform.quote(crypto::Bytes(64, 1));
  ASSERT_TRUE(dcap::parse_quote(quote));
  auto with = [&](std::uint16_t type, std::uint32_t size) {
    auto bytes = quote;
    bytes[48] = static_cast<std::uint8_t>(type);
    bytes[49] = 0;
    put_u32(bytes, 50, size);
    return dcap::parse_quote(bytes);
  };
  EXPECT_EQ(with(4, 648).error().code, ErrorCode::evidence_malformed);  // unknown body type
  EXPECT_EQ(with(0, 648).error().code, ErrorCode::evidence_malformed);
  EXPECT_EQ(with(1, 648).error().code, ErrorCode::evidence_malformed);  // SGX body in a TDX quote
  EXPECT_EQ(with(2, 648).error().code, ErrorCode::evidence_malformed);  // TD 1.0 is 584 bytes
  EXPECT_EQ(with(3, 584).error().code, ErrorCode::evidence_malformed);
}

TEST(DcapQuote, V4NeedsQeReportCertificationData) {
  DcapTestPlatform platform(DcapTestPlatform::Tee::tdx, 4);
  auto quote = platform.quote(crypto::Bytes(64, 1));
  quote[632 + 4 + 128] = 5;  // outer type 5 instead of 6
  auto parsed = dcap::parse_quote(quote);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::evidence_malformed);
}

TEST(DcapQuote, PckExtensionsOfARealCertificate) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote");
  auto quote = dcap::parse_quote(read_vector("phala-dcap-qvl/sgx_quote"));
  ASSERT_TRUE(quote);
  auto chain = dcap::parse_quote_pck_chain(quote->certification_data);
  ASSERT_TRUE(chain) << chain.error().to_string();
  auto extensions = dcap::pck_extensions(chain->leaf);
  ASSERT_TRUE(extensions) << extensions.error().to_string();
  EXPECT_EQ(crypto::hex_encode(extensions->fmspc), "00a067110000");
  EXPECT_EQ(crypto::hex_encode(extensions->pce_id), "0000");
  EXPECT_EQ(extensions->ppid.size(), 16u);
  EXPECT_EQ(extensions->sgx_type, 0);
  EXPECT_EQ(dcap::pck_ca_of(chain->leaf), dcap::PckCa::processor);
  EXPECT_EQ(crypto::hex_encode(extensions->cpu_svn).substr(0, 4),
            crypto::hex_encode(crypto::Bytes{extensions->tcb_components[0], extensions->tcb_components[1]}));
  // The intermediate has no SGX extension.
  EXPECT_EQ(dcap::pck_extensions(chain->ca).error().code, ErrorCode::evidence_malformed);
}

TEST(DcapQuote, PckExtensionParserIsStrictAndBounded) {
  DcapTestPlatform platform;
  auto der = platform.pck_leaf.extension_der(dcap::kSgxExtensionsOid);
  ASSERT_TRUE(der);
  auto parsed = dcap::parse_pck_extensions(*der);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->pce_svn, 13);
  EXPECT_EQ(parsed->tcb_components[15], 5);
  for (std::size_t size = 0; size < der->size(); ++size) {
    auto truncated = dcap::parse_pck_extensions(crypto::BytesView(*der).first(size));
    ASSERT_FALSE(truncated) << size;
    EXPECT_EQ(truncated.error().code, ErrorCode::evidence_malformed);
  }
  for (std::size_t offset = 0; offset < der->size(); ++offset) {
    auto flipped = *der;
    flipped[offset] ^= 0xff;
    (void)dcap::parse_pck_extensions(flipped);  // never crashes, never reads outside
  }
}

TEST(DcapQuote, QuotePckChainMustBeCanonicalPem) {
  DcapTestPlatform platform;
  const std::string chain = platform.pck_leaf.pem() + platform.pck_ca.pem() + platform.root.pem();
  EXPECT_TRUE(dcap::parse_quote_pck_chain(crypto::as_bytes(chain)));
  EXPECT_TRUE(dcap::parse_quote_pck_chain(crypto::to_bytes(chain + std::string(1, '\0'))));
  for (const std::string& variant : {chain + std::string(2, '\0'), chain + "\n", "\n" + chain,
                                     platform.pck_leaf.pem() + platform.pck_ca.pem(), chain + platform.root.pem()}) {
    auto parsed = dcap::parse_quote_pck_chain(crypto::as_bytes(variant));
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::evidence_malformed);
  }
}

TEST(DcapUtil, PcsTimestamps) {
  EXPECT_EQ(dcap::detail::parse_pcs_time("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(dcap::detail::parse_pcs_time("2023-11-14T22:13:20Z").value(), 1'700'000'000);
  EXPECT_EQ(dcap::detail::parse_pcs_time("2024-02-29T00:00:00Z").value(), 1'709'164'800);
  EXPECT_EQ(dcap::detail::parse_pcs_time("2023-11-14T22:13:20.123Z").value(), 1'700'000'000);
  for (const char* bad :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z",
        "2023-11-14T24:00:00Z", "2023-11-14T22:13:20+01:00", "2023-11-14T22:13:2xZ", "2023-11-14T22:13:20.Z"}) {
    EXPECT_FALSE(dcap::detail::parse_pcs_time(bad)) << bad;
  }
  for (std::int64_t t : {0LL, 951'782'400LL, 1'700'000'000LL, 2'524'608'000LL, 4'102'444'799LL}) {
    EXPECT_EQ(dcap::detail::parse_pcs_time(dcap::detail::format_pcs_time(t)).value(), t) << t;
  }
  EXPECT_EQ(dcap::detail::format_pcs_time(1'700'000'000), "2023-11-14T22:13:20Z");
}

TEST(DcapUtil, RawMemberTextIsTheExactSignedBytes) {
  const std::string body = R"({"tcbInfo" : {"id":"SGX","x":[1,{"y":"}\"]"}]} , "signature":"ab"})";
  auto text = dcap::detail::raw_member_text(body, "tcbInfo");
  ASSERT_TRUE(text) << text.error().to_string();
  EXPECT_EQ(*text, R"({"id":"SGX","x":[1,{"y":"}\"]"}]})");
  EXPECT_FALSE(dcap::detail::raw_member_text(body, "enclaveIdentity"));
  EXPECT_FALSE(dcap::detail::raw_member_text(body, "signature"));  // not an object
  EXPECT_FALSE(dcap::detail::raw_member_text(R"({"tcbInfo":{},"tcbInfo":{}})", "tcbInfo"));
  EXPECT_FALSE(dcap::detail::raw_member_text("[1]", "tcbInfo"));
  EXPECT_FALSE(dcap::detail::raw_member_text(R"({"tcbInfo":{"a":1)", "tcbInfo"));
}

TEST(DcapTcbInfo, ParsesRealDocuments) {
  SKIP_WITHOUT_VECTORS("google-go-tdx-guest/sample_tcbinfo_response_v5", "dstack-teekit/sgx/tcbInfo.json");
  const auto response = crypto::to_string(read_vector("google-go-tdx-guest/sample_tcbinfo_response_v5"));
  auto text = dcap::detail::raw_member_text(response, "tcbInfo");
  ASSERT_TRUE(text);
  auto info = dcap::parse_tcb_info(*text);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->id, "TDX");
  EXPECT_EQ(info->version, 3);
  EXPECT_EQ(crypto::hex_encode(info->fmspc), "90c06f000000");
  EXPECT_EQ(info->tdx_module_identities.size(), 2u);
  EXPECT_TRUE(info->tcb_levels.front().tdx_components);
  EXPECT_EQ(info->issue_date, dcap::detail::parse_pcs_time("2026-02-01T14:49:26Z").value());

  const auto v2 = crypto::to_string(read_vector("dstack-teekit/sgx/tcbInfo.json"));
  auto v2_text = dcap::detail::raw_member_text(v2, "tcbInfo");
  ASSERT_TRUE(v2_text);
  auto v2_info = dcap::parse_tcb_info(*v2_text);
  ASSERT_TRUE(v2_info) << v2_info.error().to_string();
  EXPECT_EQ(v2_info->id, "SGX");
  EXPECT_EQ(v2_info->version, 2);
  EXPECT_EQ(v2_info->tcb_levels.front().sgx_components[1], 3);
  EXPECT_EQ(v2_info->tcb_levels.front().pce_svn, 3);
}

TEST(DcapTcbInfo, RefusesMalformedDocuments) {
  DcapTestPlatform platform(DcapTestPlatform::Tee::tdx);
  ASSERT_TRUE(dcap::parse_tcb_info(platform.tcb_info.dump()));
  ASSERT_TRUE(dcap::parse_enclave_identity(platform.qe_identity.dump()));
  auto broken = [](nlohmann::json document, const std::function<void(nlohmann::json&)>& change) {
    change(document);
    return document.dump();
  };
  const std::vector<std::function<void(nlohmann::json&)>> tcb_changes = {
      [](auto& d) { d["version"] = 4; },
      [](auto& d) { d["id"] = "SEV"; },
      [](auto& d) { d["fmspc"] = "00906ED500"; },
      [](auto& d) { d["issueDate"] = "yesterday"; },
      [](auto& d) { d.erase("nextUpdate"); },
      [](auto& d) { d["tcbLevels"] = nlohmann::json::array(); },
      [](auto& d) { d["tcbLevels"][0]["tcb"]["sgxtcbcomponents"].erase(15); },
      [](auto& d) { d["tcbLevels"][0]["tcb"]["sgxtcbcomponents"][0]["svn"] = 256; },
      [](auto& d) { d["tcbLevels"][0]["tcb"]["pcesvn"] = -1; },
      [](auto& d) { d["tcbLevels"][0]["tcbStatus"] = "Simulated"; },
      [](auto& d) { d["tcbLevels"][0]["advisoryIDs"] = {1}; },
      [](auto& d) { d["tcbLevels"][0]["tcb"].erase("tdxtcbcomponents"); },
      [](auto& d) { d.erase("tdxModule"); },
      [](auto& d) { d["tdxModuleIdentities"][0]["mrsigner"] = "00"; },
  };
  for (std::size_t i = 0; i < tcb_changes.size(); ++i) {
    auto parsed = dcap::parse_tcb_info(broken(platform.tcb_info, tcb_changes[i]));
    ASSERT_FALSE(parsed) << i;
    EXPECT_EQ(parsed.error().code, ErrorCode::bad_encoding) << i;
  }
  const std::vector<std::function<void(nlohmann::json&)>> identity_changes = {
      [](auto& d) { d["version"] = 1; },
      [](auto& d) { d["miscselect"] = "0000"; },
      [](auto& d) { d["mrsigner"] = 7; },
      [](auto& d) { d["isvprodid"] = 70000; },
      [](auto& d) { d["tcbLevels"][0]["tcb"].erase("isvsvn"); },
      [](auto& d) { d["tcbLevels"] = nlohmann::json::array(); },
  };
  for (std::size_t i = 0; i < identity_changes.size(); ++i) {
    auto parsed = dcap::parse_enclave_identity(broken(platform.qe_identity, identity_changes[i]));
    ASSERT_FALSE(parsed) << i;
    EXPECT_EQ(parsed.error().code, ErrorCode::bad_encoding) << i;
  }
  EXPECT_FALSE(dcap::parse_tcb_info("not json"));
  EXPECT_FALSE(dcap::parse_tcb_info("[]"));
}

}  // namespace
}  // namespace cloister::attestation
