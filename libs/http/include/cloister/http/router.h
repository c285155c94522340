#pragma once
// Routes: (method, pattern) → handler. Patterns match by path segments; "{name}" captures one
// non-empty segment into Request::path_params ("/v2/models/{name}/infer"). Among routes that
// match, literal segments win over parameters, left to right.
//
//   unknown path                 → 404 not_found (problem+json)
//   known path, other method     → 405 method_not_allowed with an Allow header
//   HEAD on a GET-only route     → the GET handler, body dropped by the server
//   handler returns an Error     → problem+json with the error table's status and code
//   handler throws               → 500 internal with the request id; logged with the route
//
// Handlers never set error statuses themselves: they return Error{code, detail} and the table
// decides. Handlers run on the server's handler pool and may block (e.g. call another service).

#include "cloister/core/error.h"
#include "cloister/http/request.h"
#include "cloister/http/response.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cloister::http {

using Handler = std::function<Result<Response>(const Request&)>;

struct RouteInfo {
  std::string method;
  std::string pattern;
  std::string summary;
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern (must start with '/'; "{}" needs a
  // name; no duplicate parameter names) or a duplicate (method, pattern): programmer errors.
  void add(std::string method, std::string pattern, Handler handler, std::string summary = {});

  // Every route in declaration order, for the generated API reference.
  std::vector<RouteInfo> routes() const;
  bool contains(std::string_view method, std::string_view pattern) const;

  struct Match {
    const Handler* handler = nullptr;
    std::string pattern;
    std::map<std::string, std::string> path_params;
  };
  // The best route for (method, path); not_found or method_not_allowed otherwise.
  Result<Match> match(std::string_view method, std::string_view path) const;
  // Methods that some route accepts for this path (the Allow header of a 405), sorted.
  std::vector<std::string> allowed_methods(std::string_view path) const;

  // Matches, fills request.path_params, runs the handler and turns errors and exceptions into
  // problem+json. *route receives the matched pattern ("" when none matched): metrics and logs
  // label by pattern, never by raw path.
  Response handle(Request& request, std::string* route = nullptr) const;

 private:
  struct Segment {
    std::string text;
    bool parameter = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    std::string summary;
  };
  std::vector<Route> routes_;
};

namespace detail {
// The body as JSON for json_handler: checks Content-Type (absent or application/json or
// */*+json, else unsupported_media_type) and parses (invalid_json, detail without body bytes).
Result<nlohmann::json> parse_json_body(const Request& request);
// invalid_json with a safe detail: nlohmann's type/range messages name members and types,
// never values; anything else gets a generic detail.
Error json_mapping_error(const std::exception& error);
}  // namespace detail

// A typed JSON endpoint: the body is parsed into Req with nlohmann from_json (failures are
// 400 invalid_json), the handler's Resp is serialised with to_json into a 200 application/json
// response. Resp = Response passes through unchanged (for other statuses or headers).
//   router.add("POST", "/v1/items", json_handler<CreateItem, Item>(
//       [&](const Request&, CreateItem in) -> Result<Item> { ... }));
template <class Req, class Resp>
Handler json_handler(std::function<Result<Resp>(const Request&, Req)> handler) {
  return [handler = std::move(handler)](const Request& request) -> Result<Response> {
    auto body = detail::parse_json_body(request);
    if (!body) return std::unexpected(body.error());
    std::optional<Req> input;
    try {
      input.emplace(body->template get<Req>());
    } catch (const std::exception& error) {
      return std::unexpected(detail::json_mapping_error(error));
    }
    auto result = handler(request, std::move(*input));
    if (!result) return std::unexpected(std::move(result.error()));
    if constexpr (std::is_same_v<Resp, Response>) {
      return std::move(*result);
    } else {
      nlohmann::json out = *result;
      return json_response(200, out);
    }
  };
}

}  // namespace cloister::http
