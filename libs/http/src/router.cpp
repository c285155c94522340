#include "cloister/http/router.h"

#include "cloister/core/log.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace cloister::http {
namespace {

// "/a/b" → {"a","b"}; "/" → {""}; "/a/" → {"a",""}. The leading '/' is required by callers.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, std::string summary) {
  if (method.empty()) throw std::invalid_argument("route method is empty");
  if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("route pattern must start with '/': " + pattern);
  if (!handler) throw std::invalid_argument("route handler is empty: " + pattern);
  if (contains(method, pattern)) throw std::invalid_argument("duplicate route: " + method + " " + pattern);
  Route route;
  std::set<std::string> names;
  for (auto part : split_path(pattern)) {
    Segment segment;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      segment.text = std::string(part.substr(1, part.size() - 2));
      segment.parameter = true;
      if (segment.text.empty()) throw std::invalid_argument("route parameter without a name: " + pattern);
      if (!names.insert(segment.text).second) throw std::invalid_argument("duplicate route parameter: " + pattern);
    } else {
      if (part.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("a parameter must be a whole segment: " + pattern);
      }
      segment.text = std::string(part);
    }
    route.segments.push_back(std::move(segment));
  }
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  route.summary = std::move(summary);
  routes_.push_back(std::move(route));
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& route : routes_) out.push_back({route.method, route.pattern, route.summary});
  return out;
}

bool Router::contains(std::string_view method, std::string_view pattern) const {
  return std::any_of(routes_.begin(), routes_.end(),
                     [&](const Route& route) { return route.method == method && route.pattern == pattern; });
}

Result<Router::Match> Router::match(std::string_view method, std::string_view path) const {
  auto parts = split_path(path);
  const Route* best = nullptr;
  std::vector<bool> best_rank;
  bool path_known = false;
  for (std::string_view wanted : {method, method == "HEAD" ? std::string_view("GET") : std::string_view()}) {
    if (wanted.empty()) break;
    for (const auto& route : routes_) {
      if (route.segments.size() != parts.size()) continue;
      std::vector<bool> rank;  // true per literal segment: literals win, left to right
      rank.reserve(parts.size());
      bool matches = true;
      for (std::size_t i = 0; i < parts.size() && matches; ++i) {
        const auto& segment = route.segments[i];
        if (segment.parameter) {
          matches = !parts[i].empty();
          rank.push_back(false);
        } else {
          matches = segment.text == parts[i];
          rank.push_back(true);
        }
      }
      if (!matches) continue;
      path_known = true;
      if (route.method != wanted) continue;
      if (!best || rank > best_rank) {
        best = &route;
        best_rank = std::move(rank);
      }
    }
    if (best) break;
  }
  if (!best) {
    if (path_known) return fail(ErrorCode::method_not_allowed, "method " + std::string(method) + " is not allowed here");
    return fail(ErrorCode::not_found);
  }
  Match result;
  result.handler = &best->handler;
  result.pattern = best->pattern;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!best->segments[i].parameter) continue;
    auto decoded = percent_decode(parts[i]);
    result.path_params[best->segments[i].text] = decoded ? std::move(*decoded) : std::string(parts[i]);
  }
  return result;
}

std::vector<std::string> Router::allowed_methods(std::string_view path) const {
  auto parts = split_path(path);
  std::set<std::string> methods;
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    bool matches = true;
    for (std::size_t i = 0; i < parts.size() && matches; ++i) {
      matches = route.segments[i].parameter ? !parts[i].empty() : route.segments[i].text == parts[i];
    }
    if (!matches) continue;
    methods.insert(route.method);
    if (route.method == "GET") methods.insert("HEAD");
  }
  return {methods.begin(), methods.end()};
}

Response Router::handle(Request& request, std::string* route) const {
  if (route) route->clear();
  auto matched = match(request.method, request.path);
  if (!matched) {
    auto response = problem_response(matched.error(), request.request_id, request.path);
    if (matched.error().code == ErrorCode::method_not_allowed) {
      std::string allow;
      for (const auto& method : allowed_methods(request.path)) {
        if (!allow.empty()) allow += ", ";
        allow += method;
      }
      response.set_header("Allow", allow);
    }
    return response;
  }
  if (route) *route = matched->pattern;
  request.path_params = std::move(matched->path_params);
  try {
    auto result = (*matched->handler)(request);
    if (result) return std::move(*result);
    const auto& error = result.error();
    nlohmann::json fields = {{"request_id", request.request_id},
                             {"route", matched->pattern},
                             {"code", error.name()},
                             {"detail", error.detail}};
    if (error.status() >= 500) {
      log::error("handler failed", fields);
    } else {
      log::info("request refused", fields);
    }
    return problem_response(error, request.request_id, request.path);
  } catch (const std::exception& exception) {
    log::error("handler threw", {{"request_id", request.request_id},
                                 {"route", matched->pattern},
                                 {"exception", exception.what()}});
  } catch (...) {
    log::error("handler threw", {{"request_id", request.request_id},
                                 {"route", matched->pattern},
                                 {"exception", "(not a std::exception)"}});
  }
  return problem_response(Error{ErrorCode::internal, "the logs hold the cause under this request id"},
                          request.request_id, request.path);
}

namespace detail {

Result<nlohmann::json> parse_json_body(const Request& request) {
  if (auto type = request.header("Content-Type")) {
    auto media = type->substr(0, type->find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    bool json = iequals(media, "application/json") ||
                (media.size() > 5 && iequals(media.substr(media.size() - 5), "+json") &&
                 media.find('/') != std::string_view::npos);
    if (!json) return fail(ErrorCode::unsupported_media_type, "expected Content-Type: application/json");
  }
  return request.json();
}

Error json_mapping_error(const std::exception& error) {
  if (const auto* json_error = dynamic_cast<const nlohmann::json::exception*>(&error)) {
    // "[json.exception.type_error.302] type must be string, but is number": strip the prefix.
    std::string_view message = json_error->what();
    if (auto close = message.find("] "); close != std::string_view::npos) message.remove_prefix(close + 2);
    if (dynamic_cast<const nlohmann::json::parse_error*>(&error) == nullptr) {
      return Error{ErrorCode::invalid_json, "the request body does not match the expected form: " + std::string(message)};
    }
  }
  return Error{ErrorCode::invalid_json, "the request body does not match the expected form"};
}

}  // namespace detail
}  // namespace cloister::http
