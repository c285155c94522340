#include "keys_command.h"

#include "admin_client.h"

#include "cloister/core/error.h"
#include "cloister/http/client.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>

namespace cloister::cli {

namespace {

constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitUsage;
}

void add_connection_options(CLI::App& command, KeysCommandOptions& options) {
  command.add_option("--keys", options.keys_url, "The key service URL")->envname("CLOISTER_KEYS_URL")->required();
  command.add_option("--ca", options.ca_file, "CA bundle for the key service's certificate");
  command.add_option("--admin-token-file", options.admin_token_file,
                     "File holding the admin token (else CLOISTER_ADMIN_TOKEN)");
}

Result<nlohmann::json> read_policy(const std::string& path) {
  auto text = service::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return fail(ErrorCode::invalid_json, path + " is not a JSON object");
  return document;
}

}  // namespace

KeysCommands add_keys_commands(CLI::App& app) {
  KeysCommands commands;
  auto& options = *commands.options;
  auto* keys = app.add_subcommand("keys", "Keys of the key service (admin API); released only to attested TEEs");
  keys->require_subcommand(1);

  auto* create = keys->add_subcommand("create", "Create a key (version 1) with a release policy");
  create->add_option("name", options.name, "Key name: 1-128 of [A-Za-z0-9._-]")->required();
  create->add_option("--type", options.type, "aes-256, model-aes-256 or hpke-x25519")
      ->required()
      ->check(CLI::IsMember({"aes-256", "model-aes-256", "hpke-x25519"}));
  create->add_option("--policy", options.policy_file,
                     "Release policy (JSON); default: real TEEs, not debuggable, TCB up to date, never sim");
  create->add_option("--comment", options.comment, "Why (recorded with the policy version)");
  commands.commands.emplace_back("create", create);

  auto* list = keys->add_subcommand("list", "Every key (never material)");
  commands.commands.emplace_back("list", list);

  for (const auto& [action, help] : std::vector<std::pair<std::string, std::string>>{
           {"show", "One key: versions (hpke-x25519: public keys) and the policy in force"},
           {"rotate", "A new current version (old versions stay releasable by explicit version)"},
           {"disable", "Disable a key for good"}}) {
    auto* command = keys->add_subcommand(action, help);
    command->add_option("name", options.name, "Key name")->required();
    commands.commands.emplace_back(action, command);
  }

  auto* policy = keys->add_subcommand("policy", "Read or change a key's release policy");
  policy->add_option("action", options.policy_action, "get, versions or set")
      ->required()
      ->check(CLI::IsMember({"get", "versions", "set"}));
  policy->add_option("name", options.name, "Key name")->required();
  policy->add_option("--policy", options.policy_file, "set: the release policy (JSON)");
  policy->add_option("--comment", options.comment, "set: why (recorded with the version)");
  policy->add_option("--base-version", options.base_version,
                     "set: refuse unless this is the version in force (optimistic concurrency)");
  commands.commands.emplace_back("policy", policy);

  auto* audit = keys->add_subcommand("audit", "The audit log: releases, refusals and admin changes, newest first");
  audit->add_option("--limit", options.limit, "At most this many entries (1-1000)")->capture_default_str();
  audit->add_option("--key", options.key_filter, "Only this key's entries");
  commands.commands.emplace_back("audit", audit);

  for (auto& [action, command] : commands.commands) add_connection_options(*command, options);
  return commands;
}

int run_keys_command(const KeysCommands& commands) {
  std::string action;
  for (const auto& [name, command] : commands.commands) {
    if (command->parsed()) action = name;
  }
  if (action.empty()) return -1;
  const auto& options = *commands.options;
  // Names go into URLs: only what the service accepts ([A-Za-z0-9._-]) is sent.
  for (const auto* name : {&options.name, &options.key_filter}) {
    if (!name->empty() && (name->size() > 128 || !std::all_of(name->begin(), name->end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
                           }))) {
      return usage_error("a key name is 1-128 of [A-Za-z0-9._-]");
    }
  }

  auto admin = make_admin_client(options.keys_url, options.ca_file, options.admin_token_file);
  if (!admin) return usage_error(admin.error().detail);
  auto& client = admin->client;
  const std::string& base = admin->base_url;
  http::HeaderList headers = admin->headers;
  const std::string key_url = base + "/admin/keys/" + options.name;

  Result<http::Response> response = fail(ErrorCode::invalid_argument, "unknown action");
  if (action == "create") {
    nlohmann::json body = {{"name", options.name}, {"type", options.type}};
    if (!options.policy_file.empty()) {
      auto policy = read_policy(options.policy_file);
      if (!policy) return usage_error(policy.error().to_string());
      body["policy"] = std::move(*policy);
    }
    if (!options.comment.empty()) body["comment"] = options.comment;
    response = client.post_json(base + "/admin/keys", body, headers);
  } else if (action == "list") {
    response = client.get(base + "/admin/keys", headers);
  } else if (action == "show") {
    response = client.get(key_url, headers);
  } else if (action == "rotate" || action == "disable") {
    headers.emplace_back("Content-Type", "application/json");
    response = client.request("POST", key_url + "/" + action, headers, "{}");
  } else if (action == "policy") {
    if (options.policy_action == "get") {
      response = client.get(key_url + "/policy", headers);
    } else if (options.policy_action == "versions") {
      response = client.get(key_url + "/policy/versions", headers);
    } else {
      if (options.policy_file.empty()) return usage_error("policy set needs --policy FILE");
      auto policy = read_policy(options.policy_file);
      if (!policy) return usage_error(policy.error().to_string());
      nlohmann::json body = {{"policy", std::move(*policy)}, {"comment", options.comment}};
      if (options.base_version) body["base_version"] = *options.base_version;
      headers.emplace_back("Content-Type", "application/json");
      response = client.request("PUT", key_url + "/policy", headers, body.dump());
    }
  } else if (action == "audit") {
    if (options.limit < 1 || options.limit > 1000) return usage_error("--limit must be 1-1000");
    std::string url = base + "/admin/audit?limit=" + std::to_string(options.limit);
    if (!options.key_filter.empty()) url += "&key=" + options.key_filter;
    response = client.get(url, headers);
  }
  return print_admin_response(response);
}

}  // namespace cloister::cli
