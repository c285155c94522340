#pragma once
// Private: JSON parsing for JOSE headers and JWT claims — refuses duplicate member names (a parser
// differential lets two verifiers read different values), excessive nesting and invalid UTF-8.

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace cloister::crypto::detail {

constexpr int kMaxJsonDepth = 32;

// The parsed value when `text` is one valid JSON object without duplicate names; nullopt otherwise.
std::optional<nlohmann::json> parse_strict_json_object(std::string_view text);

// json.dump() that never throws (invalid UTF-8 in a string makes it return nullopt).
std::optional<std::string> dump_json(const nlohmann::json& value);

}  // namespace cloister::crypto::detail
