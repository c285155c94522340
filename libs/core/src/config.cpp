#include "cloister/core/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

extern char** environ;

namespace cloister {
namespace {

void flatten(const nlohmann::json& node, const std::string& prefix, std::vector<std::pair<std::string, nlohmann::json>>& out) {
  for (const auto& [name, value] : node.items()) {
    std::string key = prefix.empty() ? name : prefix + "." + name;
    if (value.is_object()) {
      flatten(value, key, out);
    } else {
      out.emplace_back(key, value);
    }
  }
}

bool same_kind(const nlohmann::json& expected, const nlohmann::json& value) {
  if (expected.is_null()) return true;
  if (expected.is_number()) return value.is_number();
  if (expected.is_boolean()) return value.is_boolean();
  if (expected.is_string()) return value.is_string();
  if (expected.is_array()) return value.is_array();
  return true;
}

}  // namespace

Config::Config(std::vector<ConfigOption> options, std::string env_prefix)
    : options_(std::move(options)), env_prefix_(std::move(env_prefix)), values_(nlohmann::json::object()) {
  for (const auto& option : options_) values_[option.key] = option.default_value;
}

const ConfigOption* Config::find(const std::string& key) const {
  for (const auto& option : options_) {
    if (option.key == key) return &option;
  }
  return nullptr;
}

Status Config::set_json(const std::string& key, nlohmann::json value) {
  const auto* option = find(key);
  if (option == nullptr) return fail(ErrorCode::config_invalid, "unknown configuration key '" + key + "'");
  if (!same_kind(option->default_value, value)) {
    // A string that should be a number, e.g. from a JSON file: refuse with the key named.
    return fail(ErrorCode::config_invalid, "configuration key '" + key + "' has the wrong type");
  }
  values_[key] = std::move(value);
  return {};
}

Status Config::set(const std::string& key, const std::string& raw_value) {
  const auto* option = find(key);
  if (option == nullptr) return fail(ErrorCode::config_invalid, "unknown configuration key '" + key + "'");
  if (option->default_value.is_string() || option->default_value.is_null()) {
    return set_json(key, raw_value);
  }
  auto parsed = nlohmann::json::parse(raw_value, nullptr, false);
  if (parsed.is_discarded()) {
    return fail(ErrorCode::config_invalid, "configuration key '" + key + "' expects a JSON value");
  }
  return set_json(key, std::move(parsed));
}

Status Config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::config_invalid, "cannot read configuration file " + path);
  auto document = nlohmann::json::parse(in, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return fail(ErrorCode::config_invalid, "configuration file " + path + " is not a JSON object");
  }
  std::vector<std::pair<std::string, nlohmann::json>> entries;
  flatten(document, "", entries);
  for (auto& [key, value] : entries) {
    if (auto status = set_json(key, std::move(value)); !status) return status;
  }
  return {};
}

std::string Config::env_name(const std::string& key) const {
  std::string name = env_prefix_;
  for (char c : key) {
    if (c == '.') {
      name += "__";
    } else {
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

Status Config::load_environment(char** environment) {
  if (environment == nullptr) return {};
  for (char** entry = environment; *entry != nullptr; ++entry) {
    std::string_view line(*entry);
    if (!line.starts_with(env_prefix_)) continue;
    auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string name(line.substr(0, equals));
    const ConfigOption* match = nullptr;
    for (const auto& option : options_) {
      if (env_name(option.key) == name) match = &option;
    }
    if (match == nullptr) {
      return fail(ErrorCode::config_invalid, "unknown configuration variable " + name);
    }
    if (auto status = set(match->key, std::string(line.substr(equals + 1))); !status) return status;
  }
  return {};
}

Status Config::load(const std::string& file_path, const std::vector<std::string>& overrides) {
  if (!file_path.empty()) {
    if (auto status = load_file(file_path); !status) return status;
  }
  if (auto status = load_environment(environ); !status) return status;
  for (const auto& entry : overrides) {
    auto equals = entry.find('=');
    if (equals == std::string::npos) {
      return fail(ErrorCode::config_invalid, "override '" + entry + "' is not key=value");
    }
    if (auto status = set(entry.substr(0, equals), entry.substr(equals + 1)); !status) return status;
  }
  return {};
}

const nlohmann::json& Config::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("configuration key not declared: " + key);
  return *it;
}

std::string Config::get_string(const std::string& key) const {
  const auto& value = get(key);
  return value.is_string() ? value.get<std::string>() : (value.is_null() ? std::string() : value.dump());
}

std::int64_t Config::get_int(const std::string& key) const { return get(key).get<std::int64_t>(); }
bool Config::get_bool(const std::string& key) const { return get(key).get<bool>(); }

std::vector<std::string> Config::get_strings(const std::string& key) const {
  const auto& value = get(key);
  if (value.is_string()) return {value.get<std::string>()};
  return value.get<std::vector<std::string>>();
}

std::string Config::describe_markdown() const {
  std::ostringstream out;
  out << "| key | default | environment | description |\n|---|---|---|---|\n";
  for (const auto& option : options_) {
    out << "| `" << option.key << "` | `" << option.default_value.dump() << "` | `" << env_name(option.key) << "` | "
        << option.description << " |\n";
  }
  return out.str();
}

}  // namespace cloister
