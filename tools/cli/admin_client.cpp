#include "admin_client.h"

#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <iostream>

namespace cloister::cli {

namespace {

std::string without_trailing_space(std::string token) {
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

}  // namespace

Result<http::HeaderList> admin_headers_from_file(const std::string& path) {
  auto text = service::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  auto token = without_trailing_space(std::move(*text));
  if (token.empty()) return fail(ErrorCode::unauthenticated, path + " holds no admin token");
  return http::HeaderList{{"Authorization", "Bearer " + token}};
}

Result<AdminClient> make_admin_client(const std::string& url, const std::string& ca_file,
                                      const std::string& admin_token_file) {
  std::string token;
  if (!admin_token_file.empty()) {
    auto text = service::read_text_file(admin_token_file);
    if (!text) return fail(ErrorCode::invalid_argument, text.error().to_string());
    token = *text;
  } else if (const char* value = std::getenv("CLOISTER_ADMIN_TOKEN")) {
    token = value;
  }
  token = without_trailing_space(std::move(token));
  if (token.empty()) {
    return fail(ErrorCode::invalid_argument, "an admin token is needed: --admin-token-file FILE or CLOISTER_ADMIN_TOKEN");
  }

  http::ClientOptions client_options;
  if (!ca_file.empty()) {
    auto ca = service::read_text_file(ca_file);
    if (!ca) return fail(ErrorCode::invalid_argument, ca.error().to_string());
    client_options.ca_pem = std::move(*ca);
  }
  client_options.request_timeout = std::chrono::milliseconds(10000);
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return AdminClient{http::Client(std::move(client_options)), std::move(base), {{"Authorization", "Bearer " + token}}};
}

int print_admin_response(const Result<http::Response>& response) {
  if (!response) {
    std::cerr << "error: " << response.error().to_string() << "\n";
    return 1;
  }
  auto body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status / 100 != 2) {
    std::cerr << "error: HTTP " << response->status << " "
              << (body.is_object() ? body.value("code", std::string()) + ": " + body.value("detail", std::string()) : "")
              << "\n";
    return 1;
  }
  std::cout << (body.is_discarded() ? response->body : body.dump(2)) << "\n";
  return 0;
}

}  // namespace cloister::cli
