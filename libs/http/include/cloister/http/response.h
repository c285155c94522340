#pragma once
// An HTTP response as handlers build it, and the helpers every service uses to build one.
//
// Errors are RFC 9457 problem details (application/problem+json):
//   {"type": "https://cloister.dev/errors/<code>", "title": <table description>,
//    "status": <table status>, "code": "<code>", "detail": <Error::detail, omitted when empty>,
//    "instance": <the request path>, "request_id": <the X-Request-Id>}
// The status, title and code come from the one error table (libs/core error_codes.inc).

#include "cloister/core/error.h"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloister::http {

inline constexpr std::string_view kProblemTypeBase = "https://cloister.dev/errors/";
inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kProblemContentType = "application/problem+json";
inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Case-insensitive lookup of a response header.
  std::optional<std::string_view> header(std::string_view name) const;
  // Replaces any header of that name (any case).
  void set_header(std::string name, std::string value);
};

Response json_response(int status, const nlohmann::json& body);
Response text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
Response problem_response(const Error& error, std::string_view request_id, std::string_view instance);

// The problem type URI of a code: kProblemTypeBase + code.
std::string problem_type(ErrorCode code);

}  // namespace cloister::http
