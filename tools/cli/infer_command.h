#pragma once
// `cloister infer …`: the diagnostic provider's model registry (docs/infer.md).
//
//   cloister infer seal-model --model M.onnx --manifest manifest.json --registry DIR --key NAME
//                             [--key-version N] (--public-key B64URL | --keys URL [--ca PEM] [--admin-token-file F])
//       Seals a model to the public half of an hpke-x25519 key of cloister-keys (read with the keys
//       admin API, or given) into DIR/<name>/<version>/{manifest.json, model.sealed[, model card]}.
//       Nothing written can be decrypted without the private key, which only attested TEEs get.
//   cloister infer models list
//   cloister infer models show|load|unload NAME [--version V]
//       The provider's admin API; --infer URL (or CLOISTER_INFER_URL), --ca PEM, and the admin token
//       from --admin-token-file FILE or CLOISTER_ADMIN_TOKEN.
// Prints JSON and exits 0; an HTTP error prints its code and detail and exits 1; usage errors exit 2.

#include "cloister/core/error.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cloister::cli {

struct InferCommandOptions {
  // seal-model
  std::string model_file;
  std::string manifest_file;
  std::string registry_dir;
  std::string key_name;
  std::optional<std::uint64_t> key_version;
  std::string public_key;
  std::string keys_url;
  // models
  std::string infer_url;
  std::string name;
  std::string version;
  // both
  std::string ca_file;
  std::string admin_token_file;
};

struct InferCommands {
  std::vector<std::pair<std::string, CLI::App*>> commands;  // action → subcommand
  std::shared_ptr<InferCommandOptions> options = std::make_shared<InferCommandOptions>();
};
InferCommands add_infer_commands(CLI::App& app);
// Runs the parsed `infer` command; -1 when none was parsed.
int run_infer_command(const InferCommands& commands);

// Seals one model into a registry directory (used by the command and by `cloister up` for the demo
// models). Returns the directory written.
struct SealModelRequest {
  std::string model_file;
  std::string manifest_file;
  std::string registry_dir;
  std::string key_name;
  std::uint64_t key_version = 0;
  std::vector<std::uint8_t> public_key;  // X25519, 32 bytes
};
Result<std::filesystem::path> seal_model_into_registry(const SealModelRequest& request);

}  // namespace cloister::cli
