#include "cloister/http/headers.h"
#include "cloister/http/request.h"
#include "cloister/http/response.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace cloister::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string dump_json(const nlohmann::json& value) {
  // Invalid UTF-8 in a string member is replaced rather than thrown.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// --- Headers ---

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [field, value] : fields_) {
    if (iequals(field, name)) values.emplace_back(value);
  }
  return values;
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& field) { return iequals(field.first, name); });
}

// --- Request ---

Result<nlohmann::json> Request::json() const {
  if (body.empty()) return fail(ErrorCode::invalid_json, "the request body is empty");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& error) {
    // error.what() quotes the bytes it read: keep them out of responses and logs.
    return fail(ErrorCode::invalid_json, "the request body is not valid JSON (at byte " +
                                             std::to_string(error.byte) + ")");
  }
}

std::string_view Request::param(std::string_view name) const {
  auto it = path_params.find(std::string(name));
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> result;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value || key->empty()) continue;
    result[std::move(*key)] = std::move(*value);
  }
  return result;
}

// --- Response ---

std::optional<std::string_view> Response::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

void Response::set_header(std::string name, std::string value) {
  std::erase_if(headers, [&](const auto& field) { return iequals(field.first, name); });
  headers.emplace_back(std::move(name), std::move(value));
}

Response json_response(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", std::string(kJsonContentType));
  response.body = dump_json(body);
  return response;
}

Response text_response(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

std::string problem_type(ErrorCode code) { return std::string(kProblemTypeBase) + std::string(error_name(code)); }

Response problem_response(const Error& error, std::string_view request_id, std::string_view instance) {
  const auto& info = error_info(error.code);
  nlohmann::json problem = {
      {"type", problem_type(error.code)},
      {"title", info.description},
      {"status", info.http_status},
      {"code", info.name},
  };
  if (!error.detail.empty()) problem["detail"] = error.detail;
  if (!instance.empty()) problem["instance"] = instance;
  if (!request_id.empty()) problem["request_id"] = request_id;
  Response response;
  response.status = info.http_status;
  response.headers.emplace_back("Content-Type", std::string(kProblemContentType));
  response.body = dump_json(problem);
  return response;
}

}  // namespace cloister::http
