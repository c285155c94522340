#pragma once
// Errors: one table of stable codes (error_codes.inc), an Error value and Result<T>.

#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace cloister {

enum class ErrorCode {
#define CLOISTER_ERROR(name, status, description) name,
#include "cloister/core/error_codes.inc"
#undef CLOISTER_ERROR
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;         // stable machine string, e.g. "token_expired"
  int http_status;               // the status a server answers with
  std::string_view description;  // safe, human-readable, no request data
};

// The whole table, in declaration order (for docs generation and tests).
std::span<const ErrorInfo> all_error_codes();
const ErrorInfo& error_info(ErrorCode code);
std::string_view error_name(ErrorCode code);
int http_status(ErrorCode code);
// Looks a stable string up; nullopt-like nullptr when unknown.
const ErrorInfo* find_error_code(std::string_view name);

// An error: the stable code, plus a detail for logs and (when safe) for the client.
// The detail must never carry PHI, key material or tokens.
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string detail;

  Error() = default;
  Error(ErrorCode c, std::string d = {}) : code(c), detail(std::move(d)) {}

  std::string_view name() const { return error_name(code); }
  int status() const { return http_status(code); }
  // "code: detail" for logs and test messages.
  std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string detail = {}) {
  return std::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace cloister
