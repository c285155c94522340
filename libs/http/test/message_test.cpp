#include "cloister/http/message.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cloister::http {
namespace {

TEST(Headers, LookupIgnoresCase) {
  Headers headers{{"Content-Type", "application/json"}, {"X-Thing", "a"}, {"x-thing", "b"}};
  EXPECT_EQ(headers.get("content-type"), "application/json");
  EXPECT_EQ(headers.header("CONTENT-TYPE"), "application/json");
  EXPECT_FALSE(headers.get("Content-Length").has_value());
  ASSERT_EQ(headers.get_all("X-THING").size(), 2u);
  EXPECT_EQ(headers.get_all("X-THING")[1], "b");
  headers.set("X-Thing", "c");
  EXPECT_EQ(headers.get_all("x-thing").size(), 1u);
  EXPECT_EQ(headers.get("x-thing"), "c");
  headers.remove("X-THING");
  EXPECT_FALSE(headers.contains("x-thing"));
}

TEST(Request, HeaderShorthandAndParams) {
  Request request;
  request.headers.add("Authorization", "Attestation abc");
  request.path_params["name"] = "resnet";
  EXPECT_EQ(request.header("authorization"), "Attestation abc");
  EXPECT_EQ(request.param("name"), "resnet");
  EXPECT_EQ(request.param("other"), "");
}

TEST(PercentDecode, DecodesAndRejectsMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_FALSE(percent_decode("%").has_value());
  EXPECT_FALSE(percent_decode("abc%2").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
}

TEST(ParseQuery, SplitsPairsAndSkipsMalformedOnes) {
  auto query = parse_query("a=1&b=x%20y&flag&c=%zz&&d=+2&a=3");
  EXPECT_EQ(query.at("a"), "3");
  EXPECT_EQ(query.at("b"), "x y");
  EXPECT_EQ(query.at("flag"), "");
  EXPECT_EQ(query.at("d"), " 2");
  EXPECT_FALSE(query.contains("c"));
  EXPECT_EQ(query.size(), 4u);
}

TEST(RequestJson, ParsesOrFailsWithoutEchoingTheBody) {
  Request request;
  request.body = R"({"patient":"Jane"})";
  auto parsed = request.json();
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ((*parsed)["patient"], "Jane");

  request.body = "{\"patient\": Jane Doe}";
  auto bad = request.json();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_json);
  EXPECT_EQ(bad.error().detail.find("Jane"), std::string::npos);

  request.body.clear();
  EXPECT_EQ(request.json().error().code, ErrorCode::invalid_json);
}

TEST(ProblemResponse, FollowsRfc9457AndTheErrorTable) {
  auto response = problem_response(Error{ErrorCode::token_expired, "exp was 10 minutes ago"}, "req-1", "/v1/things/7");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.header("content-type"), "application/problem+json");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["type"], "https://cloister.dev/errors/token_expired");
  EXPECT_EQ(body["title"], error_info(ErrorCode::token_expired).description);
  EXPECT_EQ(body["status"], 401);
  EXPECT_EQ(body["code"], "token_expired");
  EXPECT_EQ(body["detail"], "exp was 10 minutes ago");
  EXPECT_EQ(body["instance"], "/v1/things/7");
  EXPECT_EQ(body["request_id"], "req-1");

  auto without_detail = nlohmann::json::parse(problem_response(Error{ErrorCode::not_found}, "r", "/x").body);
  EXPECT_FALSE(without_detail.contains("detail"));
  EXPECT_EQ(without_detail["status"], 404);
}

TEST(JsonResponse, SetsContentTypeAndNeverThrowsOnBadUtf8) {
  auto response = json_response(201, {{"id", 7}});
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(response.body)["id"], 7);
  auto odd = json_response(200, {{"name", std::string("bad \xff utf8")}});
  EXPECT_TRUE(nlohmann::json::accept(odd.body));
}

TEST(TextResponse, KeepsBodyAndType) {
  auto response = text_response(200, "hello", "text/html; charset=utf-8");
  response.set_header("content-type", "text/plain");
  EXPECT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.header("Content-Type"), "text/plain");
  EXPECT_EQ(response.body, "hello");
}

}  // namespace
}  // namespace cloister::http
