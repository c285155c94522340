#pragma once
// `cloister up`: the whole platform on one machine (docs/operations.md).

#include <filesystem>
#include <string>

namespace cloister::cli {

struct UpOptions {
  std::filesystem::path state_dir = ".cloister";
  std::filesystem::path bin_dir;  // where the service binaries are; default: beside `cloister`
  // The demo models sealed for the provider at start (<dir>/<name>/{manifest.json, model.onnx});
  // default: the repository's models/ (docs/infer.md §7).
  std::filesystem::path models_dir = CLOISTER_DEMO_MODELS_DIR;
  // The built hospital portal (web/portal → build/portal) served on base+5, and the hospital
  // configuration it is given (default: written by cloister up into <state>/portal/config.json,
  // pinning this build's cloister-platform; a file given here is served instead, as is).
  std::filesystem::path portal_dir = CLOISTER_PORTAL_DIR;
  std::filesystem::path portal_config;
  std::string host = "127.0.0.1";
  int base_port = 8440;           // attest, keys, platform, infer on base..base+3, Redis base+4, portal base+5; 0: ephemeral ports
  int ready_timeout_seconds = 60;
  int token_lifetime_seconds = 300;
  bool exit_when_ready = false;   // start, check, print, then stop everything (smoke tests)
};

int run_up(const UpOptions& options);

}  // namespace cloister::cli
