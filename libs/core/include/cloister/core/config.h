#pragma once
// Configuration: documented defaults, then a JSON config file, then environment variables, then
// command-line overrides — each later source wins.
//
//   keys are dotted paths:           "listen.port", "tls.cert_file"
//   environment variable for a key:  <PREFIX> + key upper-cased with '.' → "__"
//                                    e.g. CLOISTER_ATTEST_LISTEN__PORT=8443
//   flag override:                   --set listen.port=8443
// Values from the environment or flags are parsed as JSON when they are valid JSON (numbers,
// true/false, arrays), and taken as strings otherwise. Unknown keys are an error, so a typo in a
// file or variable is reported instead of silently ignored.

#include "cloister/core/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cloister {

struct ConfigOption {
  std::string key;          // dotted path
  nlohmann::json default_value;
  std::string description;  // one line, for docs and --help
};

class Config {
 public:
  // env_prefix e.g. "CLOISTER_ATTEST_".
  Config(std::vector<ConfigOption> options, std::string env_prefix);

  // Applies, in order: file (if path non-empty), environment, overrides ("key=value").
  Status load(const std::string& file_path, const std::vector<std::string>& overrides);
  Status load_file(const std::string& path);
  Status load_environment(char** environment);
  Status set(const std::string& key, const std::string& raw_value);
  Status set_json(const std::string& key, nlohmann::json value);

  const nlohmann::json& get(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_strings(const std::string& key) const;

  const std::vector<ConfigOption>& options() const { return options_; }
  const std::string& env_prefix() const { return env_prefix_; }
  std::string env_name(const std::string& key) const;
  // Markdown table of options, defaults and environment names (docs are generated from this).
  std::string describe_markdown() const;

 private:
  const ConfigOption* find(const std::string& key) const;
  std::vector<ConfigOption> options_;
  std::string env_prefix_;
  nlohmann::json values_;  // flat: key → value
};

}  // namespace cloister
