#include "cloister/http/router.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace cloister::http {
namespace {

Handler answer(std::string text) {
  return [text](const Request&) -> Result<Response> { return text_response(200, text); };
}

Request make_request(std::string method, std::string path, std::string body = {}) {
  Request request;
  request.method = std::move(method);
  request.path = path;
  request.target = std::move(path);
  request.body = std::move(body);
  request.request_id = "test-request";
  return request;
}

struct CreateItem {
  std::string name;
  int count = 0;
};
void from_json(const nlohmann::json& json, CreateItem& item) {
  json.at("name").get_to(item.name);
  json.at("count").get_to(item.count);
}
struct Item {
  std::string id;
  std::string name;
};
void to_json(nlohmann::json& json, const Item& item) { json = {{"id", item.id}, {"name", item.name}}; }

TEST(Router, MatchesSegmentsAndCapturesDecodedParameters) {
  Router router;
  router.add("POST", "/v2/models/{name}/infer", [](const Request& request) -> Result<Response> {
    return text_response(200, std::string(request.param("name")));
  });
  auto request = make_request("POST", "/v2/models/chest%20xray/infer");
  std::string route;
  auto response = router.handle(request, &route);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "chest xray");
  EXPECT_EQ(route, "/v2/models/{name}/infer");

  auto shorter = make_request("POST", "/v2/models/x");
  EXPECT_EQ(router.handle(shorter, &route).status, 404);
  EXPECT_EQ(route, "");
  auto empty_segment = make_request("POST", "/v2/models//infer");
  EXPECT_EQ(router.handle(empty_segment).status, 404);
}

TEST(Router, LiteralSegmentsWinOverParameters) {
  Router router;
  router.add("GET", "/v1/items/{id}", answer("param"));
  router.add("GET", "/v1/items/special", answer("literal"));
  router.add("GET", "/v1/{kind}/special", answer("kind"));
  auto special = make_request("GET", "/v1/items/special");
  EXPECT_EQ(router.handle(special).body, "literal");
  auto other = make_request("GET", "/v1/items/42");
  EXPECT_EQ(router.handle(other).body, "param");
  auto kind = make_request("GET", "/v1/things/special");
  EXPECT_EQ(router.handle(kind).body, "kind");
}

TEST(Router, UnknownPathIs404Problem) {
  Router router;
  router.add("GET", "/a", answer("a"));
  auto request = make_request("GET", "/b");
  auto response = router.handle(request);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.header("Content-Type"), "application/problem+json");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["code"], "not_found");
  EXPECT_EQ(body["request_id"], "test-request");
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router;
  router.add("GET", "/v1/items/{id}", answer("get"));
  router.add("DELETE", "/v1/items/{id}", answer("delete"));
  auto request = make_request("POST", "/v1/items/3");
  auto response = router.handle(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "DELETE, GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "method_not_allowed");
}

TEST(Router, HeadFallsBackToGet) {
  Router router;
  router.add("GET", "/a", answer("body"));
  auto request = make_request("HEAD", "/a");
  EXPECT_EQ(router.handle(request).status, 200);
}

TEST(Router, HandlerErrorUsesTheTableStatusAndCode) {
  Router router;
  router.add("GET", "/debug", [](const Request&) -> Result<Response> {
    return fail(ErrorCode::policy_debug_not_allowed, "debug enclave");
  });
  auto request = make_request("GET", "/debug");
  auto response = router.handle(request);
  EXPECT_EQ(response.status, 403);
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["code"], "policy_debug_not_allowed");
  EXPECT_EQ(body["detail"], "debug enclave");
  EXPECT_EQ(body["instance"], "/debug");
}

TEST(Router, HandlerExceptionIs500WithRequestIdAndNoInternals) {
  Router router;
  router.add("GET", "/boom", [](const Request&) -> Result<Response> {
    throw std::runtime_error("secret internal state 0xdeadbeef");
  });
  router.add("GET", "/boom2", [](const Request&) -> Result<Response> { throw 42; });
  for (const char* path : {"/boom", "/boom2"}) {
    auto request = make_request("GET", path);
    auto response = router.handle(request);
    EXPECT_EQ(response.status, 500);
    auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body["code"], "internal");
    EXPECT_EQ(body["request_id"], "test-request");
    EXPECT_EQ(response.body.find("deadbeef"), std::string::npos);
  }
}

TEST(Router, RejectsBadPatternsAndDuplicates) {
  Router router;
  router.add("GET", "/a/{x}", answer("a"));
  EXPECT_THROW(router.add("GET", "/a/{x}", answer("again")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "a", answer("no slash")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/b/{}", answer("no name")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/b/{x}/{x}", answer("twice")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/b/x{y}", answer("partial")), std::invalid_argument);
  EXPECT_NO_THROW(router.add("POST", "/a/{x}", answer("other method")));
}

TEST(Router, ListsRoutesForDocumentation) {
  Router router;
  router.add("GET", "/v1/items", answer("list"), "List items");
  router.add("POST", "/v1/items", answer("create"), "Create an item");
  auto routes = router.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/v1/items");
  EXPECT_EQ(routes[0].summary, "List items");
  EXPECT_EQ(routes[1].summary, "Create an item");
  EXPECT_TRUE(router.contains("POST", "/v1/items"));
  EXPECT_FALSE(router.contains("PUT", "/v1/items"));
}

class JsonHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("POST", "/v1/items",
                json_handler<CreateItem, Item>([](const Request&, CreateItem input) -> Result<Item> {
                  if (input.count < 0) return fail(ErrorCode::invalid_argument, "count must not be negative");
                  return Item{"item-" + std::to_string(input.count), input.name};
                }));
  }
  Response post(std::string body, std::string content_type = "application/json") {
    auto request = make_request("POST", "/v1/items", std::move(body));
    if (!content_type.empty()) request.headers.add("Content-Type", content_type);
    return router_.handle(request);
  }
  Router router_;
};

TEST_F(JsonHandlerTest, MapsTypedRequestAndResponse) {
  auto response = post(R"({"name":"scan","count":3})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["id"], "item-3");
  EXPECT_EQ(body["name"], "scan");
  EXPECT_EQ(post(R"({"name":"scan","count":3})", "application/fhir+json; charset=utf-8").status, 200);
  EXPECT_EQ(post(R"({"name":"scan","count":3})", "").status, 200);
}

TEST_F(JsonHandlerTest, InvalidJsonIs400WithoutTheBody) {
  auto response = post(R"({"name": "Jane Doe", oops})");
  EXPECT_EQ(response.status, 400);
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["code"], "invalid_json");
  EXPECT_EQ(response.body.find("Jane"), std::string::npos);
}

TEST_F(JsonHandlerTest, MissingOrMistypedMemberIs400WithSafeDetail) {
  auto missing = post(R"({"name":"Jane Doe"})");
  EXPECT_EQ(missing.status, 400);
  auto body = nlohmann::json::parse(missing.body);
  EXPECT_EQ(body["code"], "invalid_json");
  EXPECT_NE(body["detail"].get<std::string>().find("count"), std::string::npos);
  EXPECT_EQ(missing.body.find("Jane"), std::string::npos);

  auto mistyped = post(R"({"name":"Jane Doe","count":"many"})");
  EXPECT_EQ(mistyped.status, 400);
  EXPECT_EQ(nlohmann::json::parse(mistyped.body)["code"], "invalid_json");
  EXPECT_EQ(mistyped.body.find("many"), std::string::npos);
  EXPECT_EQ(mistyped.body.find("Jane"), std::string::npos);
}

TEST_F(JsonHandlerTest, WrongContentTypeIs415) {
  auto response = post(R"({"name":"scan","count":3})", "application/x-www-form-urlencoded");
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "unsupported_media_type");
}

TEST_F(JsonHandlerTest, HandlerErrorsPassThrough) {
  auto response = post(R"({"name":"scan","count":-1})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "invalid_argument");
}

TEST(JsonHandler, ResponseTypePassesThrough) {
  Router router;
  router.add("POST", "/created", json_handler<nlohmann::json, Response>([](const Request&, nlohmann::json input) -> Result<Response> {
               return json_response(201, {{"echo", input}});
             }));
  auto request = make_request("POST", "/created", R"({"a":1})");
  auto response = router.handle(request);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(nlohmann::json::parse(response.body)["echo"]["a"], 1);
}

}  // namespace
}  // namespace cloister::http
