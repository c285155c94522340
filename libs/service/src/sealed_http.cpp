#include "cloister/service/sealed_http.h"

#include "cloister/core/log.h"
#include "cloister/http/headers.h"
#include "cloister/http/response.h"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>


namespace cloister::service {

namespace {

using http::iequals;

// The media type of a Content-Type value, without parameters and whitespace.
std::string_view media_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

crypto::Bytes encode_inner(const InnerMessage& message, bool response) {
  nlohmann::json head = {{"content_type", message.content_type}};
  if (response) head["status"] = message.status;
  if (!response && !message.method.empty()) head["method"] = message.method;
  if (!response && !message.target.empty()) head["target"] = message.target;
  if (!message.headers.empty()) head["headers"] = message.headers;
  const auto text = head.dump();
  crypto::Bytes out;
  out.reserve(4 + text.size() + message.body.size());
  const auto length = static_cast<std::uint32_t>(text.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(length >> shift));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), message.body.begin(), message.body.end());
  return out;
}

Result<InnerMessage> decode_inner(crypto::BytesView bytes, bool response) {
  if (bytes.size() < 4) return fail(ErrorCode::bad_request, "sealed message: the inner message is truncated");
  std::size_t length = 0;
  for (int i = 0; i < 4; ++i) length = (length << 8) | bytes[static_cast<std::size_t>(i)];
  if (length > kMaxInnerHeadBytes || length > bytes.size() - 4) {
    return fail(ErrorCode::bad_request, "sealed message: the inner head length is out of range");
  }
  auto head = nlohmann::json::parse(bytes.begin() + 4, bytes.begin() + 4 + static_cast<std::ptrdiff_t>(length), nullptr,
                                    false);
  if (!head.is_object()) return fail(ErrorCode::bad_request, "sealed message: the inner head is not a JSON object");
  InnerMessage message;
  for (auto it = head.begin(); it != head.end(); ++it) {
    if (it.key() == "content_type" && it->is_string()) {
      message.content_type = it->get<std::string>();
    } else if (it.key() == "status" && response && it->is_number_integer()) {
      message.status = it->get<int>();
      if (message.status < 100 || message.status > 599) {
        return fail(ErrorCode::bad_request, "sealed message: the inner status is out of range");
      }
    } else if (!response && it.key() == "method" && it->is_string()) {
      message.method = it->get<std::string>();
    } else if (!response && it.key() == "target" && it->is_string()) {
      message.target = it->get<std::string>();
    } else if (it.key() == "headers" && it->is_object()) {
      for (auto header = it->begin(); header != it->end(); ++header) {
        if (!header->is_string()) return fail(ErrorCode::bad_request, "sealed message: inner header values are strings");
        message.headers[header.key()] = header->get<std::string>();
      }
    } else {
      return fail(ErrorCode::bad_request, "sealed message: unexpected inner head member '" + it.key() + "'");
    }
  }
  if (response && !head.contains("status")) return fail(ErrorCode::bad_request, "sealed message: no inner status");
  message.body.assign(reinterpret_cast<const char*>(bytes.data()) + 4 + length, bytes.size() - 4 - length);
  return message;
}

// Overwrites a string's bytes before it is released (plaintext PHI).
void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

}  // namespace

std::optional<std::string_view> InnerMessage::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

crypto::Bytes encode_inner_request(const InnerMessage& message) { return encode_inner(message, false); }
crypto::Bytes encode_inner_response(const InnerMessage& message) { return encode_inner(message, true); }
Result<InnerMessage> decode_inner_request(crypto::BytesView bytes) { return decode_inner(bytes, false); }
Result<InnerMessage> decode_inner_response(crypto::BytesView bytes) { return decode_inner(bytes, true); }

InnerMessage inner_problem(const Error& error, std::string_view request_id, std::string_view instance) {
  auto outer = http::problem_response(error, request_id, instance);
  InnerMessage message;
  message.status = outer.status;
  message.content_type = std::string(http::kProblemContentType);
  message.body = std::move(outer.body);
  return message;
}

namespace {

// Opens a sealed request, runs `handler` on the inner message, seals its answer (errors as inner problems).
Result<http::Response> serve_sealed(const http::Request& request, const Sensitive<crypto::Bytes>& private_key,
                                    const std::function<Result<InnerMessage>(const InnerMessage&)>& handler) {
  auto type = request.header("Content-Type");
  if (!type || !iequals(media_type(*type), kSealedRequestType)) {
    return fail(ErrorCode::unsupported_media_type,
                "this endpoint takes sealed bodies: Content-Type " + std::string(kSealedRequestType));
  }
  auto opened = crypto::sealed::open_request(crypto::as_bytes(request.body), private_key.reveal(), kAttestedHpkeKeyId);
  if (!opened) return std::unexpected(opened.error());
  auto inner = decode_inner_request(opened->plaintext);
  crypto::cleanse(opened->plaintext);
  Result<InnerMessage> answer = inner ? handler(*inner) : std::unexpected(inner.error());
  if (inner) wipe(inner->body);
  if (!answer) {
    // The outer status stays 200 (the answer is sealed): the code goes to the log for operators.
    // Only the code: details are meant for the caller and stay inside the seal.
    log::warn("sealed request refused", {{"request_id", request.request_id}, {"code", answer.error().name()}});
  }
  InnerMessage response = answer ? std::move(*answer) : inner_problem(answer.error(), request.request_id, request.path);
  auto plaintext = encode_inner_response(response);
  wipe(response.body);
  auto sealed = opened->sealer.seal(plaintext);
  crypto::cleanse(plaintext);
  if (!sealed) return std::unexpected(sealed.error());
  http::Response out;
  out.status = 200;
  out.set_header("Content-Type", std::string(kSealedResponseType));
  out.body = crypto::to_string(*sealed);
  return out;
}

}  // namespace

std::function<Result<http::Response>(const http::Request&, const attestation::VerifiedToken&)> sealed_handler(
    const Sensitive<crypto::Bytes>& private_key, SealedHandler handler) {
  return [&private_key, handler = std::move(handler)](const http::Request& request,
                                                      const attestation::VerifiedToken& caller) -> Result<http::Response> {
    return serve_sealed(request, private_key,
                        [&](const InnerMessage& inner) { return handler(request, inner, caller); });
  };
}

Result<http::Request> tunnelled_request(const http::Request& outer, const InnerMessage& inner) {
  if (inner.method.empty() || inner.target.empty() || inner.target.front() != '/') {
    return fail(ErrorCode::bad_request, "sealed tunnel: the inner request needs a method and an origin-form target");
  }
  for (char c : inner.method) {
    if (c < 'A' || c > 'Z') return fail(ErrorCode::bad_request, "sealed tunnel: malformed inner method");
  }
  http::Request request;
  request.method = inner.method;
  request.target = inner.target;
  const auto query = inner.target.find('?');
  request.path = inner.target.substr(0, query);
  if (query != std::string::npos) request.query = http::parse_query(std::string_view(inner.target).substr(query + 1));
  for (const auto& [name, value] : inner.headers) request.headers.add(name, value);
  if (!inner.content_type.empty()) request.headers.set("Content-Type", inner.content_type);
  request.body = inner.body;
  request.request_id = outer.request_id;
  request.remote_address = outer.remote_address;
  request.peer = outer.peer;
  return request;
}

http::Handler sealed_tunnel(const Sensitive<crypto::Bytes>& private_key, const http::Router& router) {
  return [&private_key, &router](const http::Request& outer) -> Result<http::Response> {
    return serve_sealed(outer, private_key, [&](const InnerMessage& inner) -> Result<InnerMessage> {
      auto request = tunnelled_request(outer, inner);
      if (!request) return std::unexpected(request.error());
      auto response = router.handle(*request);  // Router::handle takes a mutable request (path params)
      wipe(request->body);
      InnerMessage answer;
      answer.status = response.status;
      for (const auto& [name, value] : response.headers) {
        if (iequals(name, "Content-Type")) {
          answer.content_type = value;
        } else if (!iequals(name, "Content-Length")) {
          answer.headers[name] = value;
        }
      }
      answer.body = std::move(response.body);
      return answer;
    });
  };
}

Error error_from_problem(int status, std::string_view body) {
  auto problem = nlohmann::json::parse(body, nullptr, false);
  if (problem.is_object() && problem.contains("code") && problem["code"].is_string()) {
    const auto* info = find_error_code(problem["code"].get<std::string>());
    std::string detail = problem.value("detail", std::string());
    if (info != nullptr) return Error{info->code, detail};
    return Error{ErrorCode::upstream_failed, "HTTP " + std::to_string(status) + " " + problem["code"].get<std::string>()};
  }
  return Error{ErrorCode::upstream_failed, "HTTP " + std::to_string(status)};
}

Result<InnerMessage> call_sealed(const http::Client& client, std::string_view url, const http::HeaderList& headers,
                                 crypto::BytesView recipient_public_key, const InnerMessage& inner) {
  auto plaintext = encode_inner_request(inner);
  auto sealed = crypto::sealed::seal_request(recipient_public_key, kAttestedHpkeKeyId, plaintext);
  crypto::cleanse(plaintext);
  if (!sealed) return std::unexpected(sealed.error());
  auto all_headers = headers;
  all_headers.emplace_back("Content-Type", std::string(kSealedRequestType));
  auto response = client.request("POST", url, all_headers, crypto::to_string(sealed->message));
  if (!response) return std::unexpected(response.error());
  auto type = response->header("Content-Type");
  if (response->status != 200 || !type || !iequals(media_type(*type), kSealedResponseType)) {
    return std::unexpected(error_from_problem(response->status, response->body));
  }
  auto opened = sealed->opener.open(crypto::as_bytes(response->body));
  if (!opened) return std::unexpected(opened.error());
  auto message = decode_inner_response(*opened);
  crypto::cleanse(*opened);
  return message;
}

}  // namespace cloister::service
