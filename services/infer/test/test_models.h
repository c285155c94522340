#pragma once
// The repository's demo models (models/, made by models/make-demo-models.py) and pydicom's DICOM
// files, for the infer service's tests.

#include "model_registry.h"
#include "sealed_model.h"

#include "cloister/core/private_files.h"
#include "cloister/crypto/hpke.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace cloister::infer::testing {

inline const std::filesystem::path kSourceDir = CLOISTER_SOURCE_DIR;
inline const std::filesystem::path kModels = kSourceDir / "models";
inline const std::filesystem::path kTestModels = kSourceDir / "tests" / "data" / "models";
inline const std::filesystem::path kDicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

inline std::string slurp(const std::filesystem::path& path) { return read_file(path, std::size_t{1} << 30).value(); }

// Seals <source>/{model.onnx, manifest.json} into registry/<name>/<version>/ to `key`.
inline void seal_into(const std::filesystem::path& source, const std::filesystem::path& registry,
                      const crypto::hpke::KeyPair& key, const std::string& key_name = "models",
                      std::uint64_t key_version = 1, const std::string& manifest_override = {}) {
  const auto manifest = manifest_override.empty() ? slurp(source / "manifest.json") : manifest_override;
  auto document = nlohmann::json::parse(manifest);
  const auto name = document["name"].get<std::string>();
  const auto version = document["version"].get<std::string>();
  const auto onnx = slurp(source / "model.onnx");
  auto sealed = seal_model(crypto::as_bytes(onnx), manifest, name, version, key_name, key_version, key.public_key);
  ASSERT_TRUE(sealed) << sealed.error().to_string();
  const auto directory = registry / name / version;
  std::filesystem::create_directories(directory);
  ASSERT_TRUE(write_private_file(directory / "model.sealed", crypto::to_string(*sealed)));
  ASSERT_TRUE(write_private_file(directory / "manifest.json", manifest));
}

}  // namespace cloister::infer::testing
