#include "receipt.h"

#include "cloister/crypto/base64.h"

#include <gtest/gtest.h>

namespace cloister::infer {
namespace {

TEST(Receipt, BindsModelBodiesCallerAndProviderToken) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto clock = ManualClock::at_unix(1'800'000'000);
  std::string provider_token = "provider.token.one";
  ReceiptSigner signer(key, [&provider_token] { return provider_token; }, clock);
  const crypto::Bytes request = crypto::to_bytes("request body");
  const crypto::Bytes response = crypto::to_bytes("response body");
  auto receipt = signer.sign({"diagnose", "demo", "1", std::string(64, 'a'), request, response, "caller-jti"});
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_EQ(receipt->provider_token, provider_token);

  auto payload = verify_receipt(receipt->receipt, key.public_key(), provider_token, &request, &response);
  ASSERT_TRUE(payload) << payload.error().to_string();
  EXPECT_EQ((*payload)["iat"], 1'800'000'000);
  EXPECT_EQ((*payload)["caller_jti"], "caller-jti");
  EXPECT_EQ((*payload)["model"]["name"], "demo");
  EXPECT_EQ((*payload)["endpoint"], "diagnose");

  auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  EXPECT_EQ(verify_receipt(receipt->receipt, other_key.public_key(), provider_token).error().code, ErrorCode::receipt_invalid);
  EXPECT_EQ(verify_receipt(receipt->receipt, key.public_key(), "another.token").error().code, ErrorCode::receipt_invalid);
  const crypto::Bytes changed = crypto::to_bytes("response bodY");
  auto mismatch = verify_receipt(receipt->receipt, key.public_key(), provider_token, &request, &changed);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().detail.find("response"), std::string::npos);
  auto tampered = receipt->receipt;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_receipt(tampered, key.public_key(), provider_token).error().code, ErrorCode::receipt_invalid);

  // A token renewal is picked up by the next receipt.
  provider_token = "provider.token.two";
  auto next = signer.sign({"infer", "demo", "1", std::string(64, 'a'), request, response, "caller-jti"});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->provider_token, "provider.token.two");
  EXPECT_TRUE(verify_receipt(next->receipt, key.public_key(), next->provider_token));
}

}  // namespace
}  // namespace cloister::infer
