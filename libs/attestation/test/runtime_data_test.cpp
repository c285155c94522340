#include "cloister/attestation/runtime_data.h"

#include <gtest/gtest.h>

#include "cloister/crypto/hash.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

using test::ServiceKeys;

std::string text_of(const crypto::Bytes& bytes) { return crypto::to_string(bytes); }

TEST(RuntimeData, RoundTripsTheAttestedKeys) {
  auto keys = ServiceKeys::generate("n-123");
  auto parsed = parse_runtime_data(keys.runtime_data);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->tls, keys.tls.public_key());
  EXPECT_EQ(parsed->hpke_public, keys.hpke.public_key);
  EXPECT_EQ(parsed->nonce, "n-123");
  EXPECT_EQ(parsed->document.dump(), text_of(keys.runtime_data));

  auto without_nonce = parse_runtime_data(make_runtime_data(keys.tls.public_key(), keys.hpke.public_key));
  ASSERT_TRUE(without_nonce);
  EXPECT_FALSE(without_nonce->nonce);
}

TEST(RuntimeData, SerializationIsDeterministicAndDocumented) {
  auto keys = ServiceKeys::generate("abc");
  auto again = make_runtime_data(keys.tls.public_key(), keys.hpke.public_key, "abc");
  EXPECT_EQ(again, keys.runtime_data);
  const std::string text = text_of(keys.runtime_data);
  EXPECT_EQ(text.rfind(R"({"keys":[{"alg":"ES256","crv":"P-256","kid":"tls","kty":"EC","use":"sig","x":")", 0), 0u)
      << text;
  EXPECT_NE(text.find(R"({"alg":"HPKE-Base-X25519-SHA256-AES256GCM","crv":"X25519","kid":"hpke","kty":"OKP",)"
                      R"("use":"enc","x":")"),
            std::string::npos)
      << text;
  const std::string tail = R"("}],"nonce":"abc"})";
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  EXPECT_EQ(text.find(' '), std::string::npos);
}

TEST(RuntimeData, RefusesBadInputsAsProgrammerErrors) {
  auto keys = ServiceKeys::generate();
  auto p384 = crypto::PrivateKey::generate(crypto::KeyType::ec_p384).public_key();
  EXPECT_THROW(make_runtime_data(p384, keys.hpke.public_key), std::invalid_argument);
  EXPECT_THROW(make_runtime_data(keys.tls.public_key(), crypto::Bytes(31, 1)), std::invalid_argument);
  EXPECT_THROW(make_runtime_data(keys.tls.public_key(), keys.hpke.public_key, ""), std::invalid_argument);
  EXPECT_THROW(make_runtime_data(keys.tls.public_key(), keys.hpke.public_key, "a b"), std::invalid_argument);
}

TEST(RuntimeData, ReportDataIsSha256ThenZeros) {
  auto keys = ServiceKeys::generate();
  auto report_data = report_data_for(keys.runtime_data);
  ASSERT_EQ(report_data.size(), 64u);
  auto digest = crypto::sha256(keys.runtime_data);
  EXPECT_TRUE(std::equal(digest.begin(), digest.end(), report_data.begin()));
  EXPECT_TRUE(std::all_of(report_data.begin() + 32, report_data.end(), [](auto b) { return b == 0; }));
  EXPECT_TRUE(check_report_data_binding(report_data, keys.runtime_data));

  auto other = keys.runtime_data;
  other.back() = ' ';  // trailing whitespace: same JSON, different bytes
  EXPECT_EQ(check_report_data_binding(report_data, other).error().code, ErrorCode::report_data_mismatch);
  auto nonzero_tail = report_data;
  nonzero_tail[63] = 1;
  EXPECT_EQ(check_report_data_binding(nonzero_tail, keys.runtime_data).error().code, ErrorCode::report_data_mismatch);
  EXPECT_EQ(check_report_data_binding(crypto::BytesView(report_data).first(32), keys.runtime_data).error().code,
            ErrorCode::report_data_mismatch);
}

// Each case edits a valid document; every edit must give runtime_data_invalid.
struct Mutation {
  std::string name;
  std::function<void(nlohmann::json&)> edit;
};

class RuntimeDataNegative : public ::testing::TestWithParam<Mutation> {};

TEST_P(RuntimeDataNegative, IsRefused) {
  auto keys = ServiceKeys::generate("nonce-1");
  auto document = nlohmann::json::parse(text_of(keys.runtime_data));
  GetParam().edit(document);
  auto result = parse_runtime_data(crypto::as_bytes(document.dump()));
  ASSERT_FALSE(result) << document.dump();
  EXPECT_EQ(result.error().code, ErrorCode::runtime_data_invalid) << result.error().to_string();
}

nlohmann::json& tls_of(nlohmann::json& d) { return d["keys"][0]; }
nlohmann::json& hpke_of(nlohmann::json& d) { return d["keys"][1]; }

INSTANTIATE_TEST_SUITE_P(
    Mutations, RuntimeDataNegative,
    ::testing::Values(
        Mutation{"array", [](auto& d) { d = nlohmann::json::array({d}); }},
        Mutation{"string", [](auto& d) { d = "keys"; }},
        Mutation{"unknown_member", [](auto& d) { d["extra"] = 1; }},
        Mutation{"no_keys", [](auto& d) { d.erase("keys"); }},
        Mutation{"keys_not_array", [](auto& d) { d["keys"] = nlohmann::json::object(); }},
        Mutation{"one_key", [](auto& d) { d["keys"].erase(1); }},
        Mutation{"three_keys", [](auto& d) { d["keys"].push_back(d["keys"][1]); }},
        Mutation{"two_tls_keys", [](auto& d) { d["keys"][1] = d["keys"][0]; }},
        Mutation{"key_not_object", [](auto& d) { d["keys"][1] = "hpke"; }},
        Mutation{"unknown_kid", [](auto& d) { hpke_of(d)["kid"] = "other"; }},
        Mutation{"tls_private_member", [](auto& d) { tls_of(d)["d"] = "AAAA"; }},
        Mutation{"tls_wrong_curve", [](auto& d) { tls_of(d)["crv"] = "P-384"; }},
        Mutation{"tls_wrong_kty", [](auto& d) { tls_of(d)["kty"] = "RSA"; }},
        Mutation{"tls_wrong_use", [](auto& d) { tls_of(d)["use"] = "enc"; }},
        Mutation{"tls_wrong_alg", [](auto& d) { tls_of(d)["alg"] = "HS256"; }},
        Mutation{"tls_no_alg", [](auto& d) { tls_of(d).erase("alg"); }},
        Mutation{"tls_no_y", [](auto& d) { tls_of(d).erase("y"); }},
        Mutation{"tls_bad_base64", [](auto& d) { tls_of(d)["x"] = "!!!"; }},
        Mutation{"tls_not_on_curve", [](auto& d) { tls_of(d)["x"] = tls_of(d)["y"]; }},
        Mutation{"tls_x_number", [](auto& d) { tls_of(d)["x"] = 5; }},
        Mutation{"hpke_private_member", [](auto& d) { hpke_of(d)["d"] = hpke_of(d)["x"]; }},
        Mutation{"hpke_wrong_crv", [](auto& d) { hpke_of(d)["crv"] = "Ed25519"; }},
        Mutation{"hpke_wrong_use", [](auto& d) { hpke_of(d)["use"] = "sig"; }},
        Mutation{"hpke_wrong_alg", [](auto& d) { hpke_of(d)["alg"] = "ECDH-ES"; }},
        Mutation{"hpke_short_key", [](auto& d) { hpke_of(d)["x"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; }},
        Mutation{"hpke_no_x", [](auto& d) { hpke_of(d).erase("x"); }},
        Mutation{"nonce_number", [](auto& d) { d["nonce"] = 7; }},
        Mutation{"nonce_empty", [](auto& d) { d["nonce"] = ""; }},
        Mutation{"nonce_control", [](auto& d) { d["nonce"] = "a\nb"; }},
        Mutation{"nonce_too_long", [](auto& d) { d["nonce"] = std::string(257, 'n'); }},
        Mutation{"oversized", [](auto& d) { d["nonce"] = std::string(5000, 'n'); }}),
    [](const auto& info) { return info.param.name; });

TEST(RuntimeData, RefusesNonJsonAndAmbiguousBytes) {
  auto keys = ServiceKeys::generate();
  const std::string text = text_of(keys.runtime_data);
  const std::vector<std::string> inputs = {
      "",
      "not json",
      text + "x",                                          // trailing garbage
      text.substr(0, text.size() - 1),                     // truncated
      std::string("{\"nonce\":\"a\",\"nonce\":\"b\",") + text.substr(1),  // duplicate member
      std::string("\xff\xfe", 2),
  };
  for (const auto& input : inputs) {
    auto result = parse_runtime_data(crypto::as_bytes(input));
    ASSERT_FALSE(result) << input;
    EXPECT_EQ(result.error().code, ErrorCode::runtime_data_invalid) << input;
  }
  // A repeated member inside a key is refused too.
  std::string repeated = text;
  repeated.replace(repeated.find("\"kid\":\"tls\""), 11, "\"kid\":\"tls\",\"kid\":\"tls\"");
  EXPECT_EQ(parse_runtime_data(crypto::as_bytes(repeated)).error().code, ErrorCode::runtime_data_invalid);
}

}  // namespace
}  // namespace cloister::attestation
