#include "infer_command.h"

#include "admin_client.h"
#include "sealed_model.h"

#include "cloister/core/private_files.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>

namespace cloister::cli {

namespace fs = std::filesystem;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kMaxModelBytes = std::size_t{2} << 30;

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitUsage;
}

bool safe_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

// The public key of an hpke-x25519 key version, read with the key service's admin API.
Result<crypto::Bytes> fetch_public_key(const InferCommandOptions& options, std::uint64_t* version) {
  auto admin = make_admin_client(options.keys_url, options.ca_file, options.admin_token_file);
  if (!admin) return std::unexpected(admin.error());
  auto response = admin->client.get(admin->base_url + "/admin/keys/" + options.key_name, admin->headers);
  if (!response) return std::unexpected(response.error());
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !body.is_object()) {
    return fail(ErrorCode::upstream_failed, "the key service answered HTTP " + std::to_string(response->status) +
                                                (body.is_object() ? " " + body.value("code", std::string()) : ""));
  }
  if (body.value("type", std::string()) != "hpke-x25519") {
    return fail(ErrorCode::invalid_argument, "key '" + options.key_name + "' is not an hpke-x25519 key");
  }
  if (body.value("disabled", false)) return fail(ErrorCode::invalid_argument, "key '" + options.key_name + "' is disabled");
  *version = options.key_version ? *options.key_version : body.value("current_version", std::uint64_t{0});
  for (const auto& item : body.value("versions", nlohmann::json::array())) {
    if (item.value("version", std::uint64_t{0}) == *version && item.contains("public_key") && item["public_key"].is_string()) {
      return crypto::base64url_decode(item["public_key"].get<std::string>());
    }
  }
  return fail(ErrorCode::not_found, "key '" + options.key_name + "' has no version " + std::to_string(*version));
}

int run_seal_model(const InferCommandOptions& options) {
  if (!safe_name(options.key_name)) return usage_error("--key is a key name: 1-128 of [A-Za-z0-9._-]");
  SealModelRequest request{options.model_file, options.manifest_file, options.registry_dir, options.key_name, 0, {}};
  if (!options.public_key.empty()) {
    if (!options.key_version) return usage_error("--public-key needs --key-version");
    auto key = crypto::base64url_decode(options.public_key);
    if (!key || key->size() != 32) return usage_error("--public-key is a base64url X25519 public key (32 bytes)");
    request.public_key = std::move(*key);
    request.key_version = *options.key_version;
  } else if (!options.keys_url.empty()) {
    auto key = fetch_public_key(options, &request.key_version);
    if (!key) {
      std::cerr << "error: " << key.error().to_string() << "\n";
      return key.error().code == ErrorCode::invalid_argument ? kExitUsage : kExitFailed;
    }
    request.public_key = std::move(*key);
  } else {
    return usage_error("give --keys URL (reads the key's public half) or --public-key");
  }
  auto written = seal_model_into_registry(request);
  if (!written) {
    std::cerr << "error: " << written.error().to_string() << "\n";
    return kExitFailed;
  }
  std::cout << nlohmann::json{{"registry_entry", written->string()},
                              {"key", {{"name", request.key_name}, {"version", request.key_version}}}}
                   .dump(2)
            << "\n";
  return 0;
}

}  // namespace

Result<fs::path> seal_model_into_registry(const SealModelRequest& request) {
  auto manifest_text = read_file(request.manifest_file, 256 * 1024);
  if (!manifest_text) return std::unexpected(manifest_text.error());
  auto manifest = nlohmann::json::parse(*manifest_text, nullptr, false);
  if (!manifest.is_object() || !manifest["name"].is_string() || !manifest["version"].is_string() ||
      !manifest["sha256"].is_string()) {
    return fail(ErrorCode::model_manifest_invalid, request.manifest_file + ": not a model manifest (name, version, sha256)");
  }
  const auto name = manifest["name"].get<std::string>();
  const auto version = manifest["version"].get<std::string>();
  if (!safe_name(name) || !safe_name(version) || name == "." || name == ".." || version == "." || version == "..") {
    return fail(ErrorCode::model_manifest_invalid, "the manifest's name or version is not a safe directory name");
  }
  auto onnx = read_file(request.model_file, kMaxModelBytes);
  if (!onnx) return std::unexpected(onnx.error());
  const auto sha256 = crypto::hex_encode(crypto::sha256(crypto::as_bytes(*onnx)));
  if (sha256 != manifest["sha256"].get<std::string>()) {
    return fail(ErrorCode::model_integrity_failed,
                request.model_file + " does not match the manifest's sha256 (it is " + sha256 + ")");
  }
  auto sealed = infer::seal_model(crypto::as_bytes(*onnx), *manifest_text, name, version, request.key_name,
                                  request.key_version, request.public_key);
  if (!sealed) return std::unexpected(sealed.error());
  const auto directory = fs::path(request.registry_dir) / name / version;
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) return fail(ErrorCode::io_error, "cannot create " + directory.string() + ": " + error.message());
  if (auto status = write_private_file(directory / "model.sealed", crypto::to_string(*sealed)); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = write_private_file(directory / "manifest.json", *manifest_text); !status) {
    return std::unexpected(status.error());
  }
  if (manifest.contains("model_card") && manifest["model_card"].is_string() &&
      safe_name(manifest["model_card"].get<std::string>())) {
    const auto card = fs::path(request.manifest_file).parent_path() / manifest["model_card"].get<std::string>();
    if (auto text = read_file(card, 256 * 1024)) {
      if (auto status = write_private_file(directory / card.filename(), *text); !status) return std::unexpected(status.error());
    }
  }
  return directory;
}

InferCommands add_infer_commands(CLI::App& app) {
  InferCommands commands;
  auto& options = *commands.options;
  auto* infer = app.add_subcommand("infer", "The diagnostic provider: seal models, administer its model registry");
  infer->require_subcommand(1);

  auto* seal = infer->add_subcommand("seal-model", "Seal an ONNX model and its manifest into a registry directory");
  seal->add_option("--model", options.model_file, "The ONNX model")->required();
  seal->add_option("--manifest", options.manifest_file, "Its manifest (docs/infer.md)")->required();
  seal->add_option("--registry", options.registry_dir, "The registry directory (cloister-infer's registry.dir)")->required();
  seal->add_option("--key", options.key_name, "The hpke-x25519 key of cloister-keys whose private half opens the model")
      ->required();
  seal->add_option("--key-version", options.key_version, "Its version (default: the current one)");
  seal->add_option("--public-key", options.public_key, "The key version's public key (base64url), instead of --keys");
  seal->add_option("--keys", options.keys_url, "The key service URL (reads the public key with the admin API)")
      ->envname("CLOISTER_KEYS_URL");
  seal->add_option("--ca", options.ca_file, "CA bundle for the service's certificate");
  seal->add_option("--admin-token-file", options.admin_token_file,
                   "File holding the key service's admin token (else CLOISTER_ADMIN_TOKEN)");
  commands.commands.emplace_back("seal-model", seal);

  auto* models = infer->add_subcommand("models", "The provider's model registry (admin API)");
  models->require_subcommand(1);
  auto add = [&](const std::string& action, const std::string& help, bool named) {
    auto* command = models->add_subcommand(action, help);
    if (named) {
      command->add_option("name", options.name, "Model name")->required();
      command->add_option("--version", options.version, "Model version (default: the newest)");
    }
    command->add_option("--infer", options.infer_url, "The provider's URL")->envname("CLOISTER_INFER_URL")->required();
    command->add_option("--ca", options.ca_file, "CA bundle for the provider's certificate");
    command->add_option("--admin-token-file", options.admin_token_file,
                        "File holding the provider's admin token (else CLOISTER_ADMIN_TOKEN)");
    commands.commands.emplace_back("models " + action, command);
  };
  add("list", "Every model version in the registry and its state", false);
  add("show", "One model: manifest, state, load time, engine statistics, model card", true);
  add("load", "Load a model (its key is released to the provider's TEE by cloister-keys)", true);
  add("unload", "Unload a model", true);
  return commands;
}

int run_infer_command(const InferCommands& commands) {
  std::string action;
  for (const auto& [name, command] : commands.commands) {
    if (command->parsed()) action = name;
  }
  if (action.empty()) return -1;
  const auto& options = *commands.options;
  if (action == "seal-model") return run_seal_model(options);

  if (!options.name.empty() && !safe_name(options.name)) return usage_error("a model name is 1-128 of [A-Za-z0-9._-]");
  if (!options.version.empty() && !safe_name(options.version)) return usage_error("a version is 1-128 of [A-Za-z0-9._-]");
  auto admin = make_admin_client(options.infer_url, options.ca_file, options.admin_token_file);
  if (!admin) return usage_error(admin.error().detail);
  const std::string model_url = admin->base_url + "/admin/models/" + options.name;
  const std::string query = options.version.empty() ? "" : "?version=" + options.version;
  auto headers = admin->headers;
  if (action == "models list") return print_admin_response(admin->client.get(admin->base_url + "/admin/models", headers));
  if (action == "models show") return print_admin_response(admin->client.get(model_url + query, headers));
  headers.emplace_back("Content-Type", "application/json");
  const std::string verb = action == "models load" ? "/load" : "/unload";
  return print_admin_response(admin->client.request("POST", model_url + verb + query, headers, "{}"));
}

}  // namespace cloister::cli
