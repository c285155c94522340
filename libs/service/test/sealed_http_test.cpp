#include "cloister/service/sealed_http.h"

#include "cloister/crypto/hpke.h"
#include "cloister/crypto/keys.h"
#include "cloister/http/request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cloister::service {
namespace {

TEST(InnerMessage, RoundTripsAndRefusesMalformedFrames) {
  InnerMessage request;
  request.content_type = "application/dicom";
  request.headers["Inference-Header-Content-Length"] = "12";
  request.body = std::string("\0\1binary\xff", 9);
  auto decoded = decode_inner_request(encode_inner_request(request));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->content_type, "application/dicom");
  EXPECT_EQ(decoded->header("inference-header-content-length"), "12");
  EXPECT_EQ(decoded->body, request.body);

  InnerMessage response;
  response.status = 422;
  response.content_type = "application/json";
  response.body = "{}";
  auto answer = decode_inner_response(encode_inner_response(response));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 422);
  EXPECT_FALSE(decode_inner_response(encode_inner_request(request))) << "a response has a status";

  auto frame = encode_inner_request(request);
  for (std::size_t length = 0; length < 12; ++length) {
    auto truncated = crypto::Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_EQ(decode_inner_request(truncated).error().code, ErrorCode::bad_request) << length;
  }
  auto huge = frame;
  huge[0] = 0x7f;
  EXPECT_EQ(decode_inner_request(huge).error().code, ErrorCode::bad_request);
  const std::string extra = R"({"content_type":"x","cookie":"y"})";
  crypto::Bytes unknown = {0, 0, 0, static_cast<std::uint8_t>(extra.size())};
  unknown.insert(unknown.end(), extra.begin(), extra.end());
  EXPECT_NE(decode_inner_request(unknown).error().detail.find("cookie"), std::string::npos);
}

TEST(SealedHandler, OpensSealsAndAnswersErrorsInsideTheSeal) {
  auto key = crypto::hpke::generate_key_pair();
  auto handler = sealed_handler(key.private_key, [](const http::Request&, const InnerMessage& inner,
                                                    const attestation::VerifiedToken& caller) -> Result<InnerMessage> {
    if (inner.body == "fail") return fail(ErrorCode::image_decode_failed, "DICOM: truncated");
    InnerMessage out;
    out.content_type = "text/plain";
    out.body = inner.content_type + ":" + inner.body + ":" + caller.jti;
    return out;
  });
  attestation::VerifiedToken caller{nlohmann::json::object(), "jti-1", "sim", true, 0,
                                    crypto::PrivateKey::generate(crypto::KeyType::ec_p256).public_key(), {}};
  auto call = [&](const std::string& body, bool tamper = false) {
    InnerMessage inner;
    inner.content_type = "application/dicom";
    inner.body = body;
    auto sealed = crypto::sealed::seal_request(key.public_key, kAttestedHpkeKeyId, encode_inner_request(inner)).value();
    http::Request request;
    request.path = "/v1/models/m/diagnose";
    request.request_id = "r1";
    request.headers.set("Content-Type", std::string(kSealedRequestType));
    request.body = crypto::to_string(sealed.message);
    if (tamper) request.body[request.body.size() - 3] ^= 0x20;
    auto response = handler(request, caller);
    std::pair<Result<http::Response>, crypto::sealed::ResponseOpener> out{std::move(response), sealed.opener};
    return out;
  };
  auto [ok, opener] = call("pixels");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->header("Content-Type"), kSealedResponseType);
  EXPECT_EQ(ok->body.find("pixels"), std::string::npos) << "the answer is sealed";
  auto opened = decode_inner_response(opener.open(crypto::as_bytes(ok->body)).value());
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->body, "application/dicom:pixels:jti-1");

  auto [failed, failed_opener] = call("fail");
  ASSERT_TRUE(failed) << "an error after opening is answered sealed";
  auto problem = decode_inner_response(failed_opener.open(crypto::as_bytes(failed->body)).value());
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->status, 400);
  EXPECT_EQ(nlohmann::json::parse(problem->body)["code"], "image_decode_failed");
  EXPECT_EQ(error_from_problem(problem->status, problem->body).code, ErrorCode::image_decode_failed);

  auto [tampered, unused] = call("pixels", true);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::hpke_open_failed);

  http::Request plain;
  plain.headers.set("Content-Type", "application/json");
  plain.body = "{}";
  EXPECT_EQ(handler(plain, caller).error().code, ErrorCode::unsupported_media_type);
}

TEST(SealedTunnel, DispatchesTheInnerRequestToTheRouterAndSealsTheAnswer) {
  auto key = crypto::hpke::generate_key_pair();
  http::Router router;
  router.add("GET", "/v1/items/{id}", [](const http::Request& request) -> Result<http::Response> {
    if (request.header("Authorization") != "Bearer s3cret") return fail(ErrorCode::unauthenticated, "no session");
    auto out = http::json_response(200, {{"id", std::string(request.param("id"))},
                                         {"q", request.query.count("q") ? request.query.at("q") : ""},
                                         {"request_id", request.request_id}});
    out.set_header("ETag", "\"3\"");
    return out;
  });
  auto handler = sealed_tunnel(key.private_key, router);
  auto call = [&](const InnerMessage& inner) {
    auto sealed = crypto::sealed::seal_request(key.public_key, kAttestedHpkeKeyId, encode_inner_request(inner)).value();
    http::Request request;
    request.method = "POST";
    request.path = request.target = "/v1/sealed";
    request.request_id = "r7";
    request.headers.set("Content-Type", std::string(kSealedRequestType));
    request.body = crypto::to_string(sealed.message);
    auto response = handler(request);
    EXPECT_TRUE(response) << response.error().to_string();
    EXPECT_EQ(response->body.find("Bearer"), std::string::npos);
    return decode_inner_response(sealed.opener.open(crypto::as_bytes(response->body)).value()).value();
  };
  InnerMessage inner;
  inner.method = "GET";
  inner.target = "/v1/items/p%2D1?q=a%20b";
  inner.headers["Authorization"] = "Bearer s3cret";
  auto ok = call(inner);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "application/json");
  EXPECT_EQ(ok.header("etag"), "\"3\"");
  auto body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body["id"], "p-1");
  EXPECT_EQ(body["q"], "a b");
  EXPECT_EQ(body["request_id"], "r7");

  inner.headers.clear();
  auto refused = call(inner);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["code"], "unauthenticated");
  inner.target = "/v1/nothing";
  EXPECT_EQ(call(inner).status, 404);
  inner.method.clear();
  EXPECT_EQ(nlohmann::json::parse(call(inner).body)["code"], "bad_request");
  inner.method = "get";
  inner.target = "/v1/items/1";
  EXPECT_EQ(call(inner).status, 400);
}

}  // namespace
}  // namespace cloister::service
