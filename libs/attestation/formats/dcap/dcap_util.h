#pragma once
// Private helpers of the DCAP formats: Result plumbing, PCS timestamps, raw JSON member text.

#include <cstdint>
#include <string>
#include <string_view>

#include "cloister/core/error.h"

// Unwraps a Result<T> inside a function that returns a Result<U> or Status.
#define DCAP_TRY(var, expr)                                        \
  auto var##_result = (expr);                                      \
  if (!var##_result) return std::unexpected(var##_result.error()); \
  auto var = std::move(*var##_result)
#define DCAP_CHECK(expr)                                               \
  do {                                                                 \
    auto check_result_ = (expr);                                       \
    if (!check_result_) return std::unexpected(check_result_.error()); \
  } while (false)

namespace cloister::attestation::dcap::detail {

// "YYYY-MM-DDTHH:MM:SSZ" (what Intel PCS writes; an optional fraction of a second is accepted and
// dropped) → Unix seconds. bad_encoding otherwise.
Result<std::int64_t> parse_pcs_time(std::string_view text);
// Unix seconds → "YYYY-MM-DDTHH:MM:SSZ".
std::string format_pcs_time(std::int64_t unix_seconds);

// The exact text of the value of the top-level member `name` of the JSON object `json` (which the
// caller has already checked parses): how a PCS response body's signed "tcbInfo" /
// "enclaveIdentity" bytes are recovered. bad_encoding when absent or not an object.
Result<std::string_view> raw_member_text(std::string_view json, std::string_view name);

}  // namespace cloister::attestation::dcap::detail
