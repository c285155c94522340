#pragma once
// `cloister keys …`: the key service's admin API (docs/keys.md).
//
//   cloister keys create NAME --type aes-256|model-aes-256|hpke-x25519 [--policy FILE] [--comment TEXT]
//   cloister keys list
//   cloister keys show NAME
//   cloister keys rotate NAME
//   cloister keys disable NAME
//   cloister keys policy get|versions NAME
//   cloister keys policy set NAME --policy FILE [--comment TEXT] [--base-version N]
//   cloister keys audit [--limit N] [--key NAME]
// Each takes --keys URL (or CLOISTER_KEYS_URL), --ca PEM, and the admin token from
// --admin-token-file FILE or CLOISTER_ADMIN_TOKEN (never from the command line). Prints the JSON
// answer and exits 0; an HTTP error prints its code and detail on standard error and exits 1;
// usage errors exit 2. Keys are released only to attested TEEs, never to this tool.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cloister::cli {

struct KeysCommandOptions {
  std::string keys_url;
  std::string ca_file;
  std::string admin_token_file;
  std::string name;
  std::string type;         // create
  std::string policy_file;  // create, policy set
  std::string comment;      // create, policy set
  std::optional<std::uint64_t> base_version;  // policy set
  std::string policy_action;                  // policy: get | versions | set
  unsigned limit = 100;                       // audit
  std::string key_filter;                     // audit
};

struct KeysCommands {
  std::vector<std::pair<std::string, CLI::App*>> commands;  // action → subcommand
  std::shared_ptr<KeysCommandOptions> options = std::make_shared<KeysCommandOptions>();
};
KeysCommands add_keys_commands(CLI::App& app);
// Runs the parsed `keys` command; -1 when none was parsed.
int run_keys_command(const KeysCommands& commands);

}  // namespace cloister::cli
