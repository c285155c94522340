#include "strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace cloister::crypto::detail {

std::optional<nlohmann::json> parse_strict_json_object(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  bool too_deep = false;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > kMaxJsonDepth) too_deep = true;
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case nlohmann::json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case nlohmann::json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) duplicate = true;
        break;
      default:
        break;
    }
    return !(duplicate || too_deep);
  };
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (duplicate || too_deep || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

std::optional<std::string> dump_json(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace cloister::crypto::detail
