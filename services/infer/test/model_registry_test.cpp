#include "model_registry.h"

#include "test_models.h"

#include "cloister/core/temp_dir.h"
#include "cloister/engine/npy.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cmath>

namespace cloister::infer {
namespace {

using namespace testing;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModels / "demo-chest-classifier" / "model.onnx")) {
      GTEST_SKIP() << "models/demo-chest-classifier is absent (run models/make-demo-models.py)";
    }
    seal_into(kModels / "demo-chest-classifier", dir_.path(), key_);
  }

  ModelRegistry make(std::function<Result<Sensitive<crypto::Bytes>>(const std::string&, std::uint64_t)> keys = {}) {
    RegistryOptions options;
    options.directory = dir_.path();
    options.session.threads = 1;
    if (!keys) {
      keys = [this](const std::string& name, std::uint64_t version) -> Result<Sensitive<crypto::Bytes>> {
        ++releases_;
        if (name != "models" || version != 1) return fail(ErrorCode::not_found, "no such key");
        return Sensitive<crypto::Bytes>(key_.private_key.reveal());
      };
    }
    return ModelRegistry(options, keys, metrics_);
  }

  TempDir dir_{"cloister-registry"};
  crypto::hpke::KeyPair key_ = crypto::hpke::generate_key_pair();
  prometheus::Registry metrics_;
  std::atomic<int> releases_{0};
};

TEST_F(RegistryTest, LoadsASealedModelThatAgreesWithPyTorch) {
  auto registry = make();
  EXPECT_EQ(registry.list()[0]["state"], "available");
  auto loaded = registry.load("demo-chest-classifier", std::nullopt);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(releases_, 1);
  EXPECT_EQ((*loaded)->manifest.labels.size(), 3u);
  EXPECT_GT((*loaded)->load_seconds, 0);
  EXPECT_EQ(registry.list()[0]["state"], "loaded");
  auto described = registry.describe("demo-chest-classifier", std::nullopt);
  ASSERT_TRUE(described);
  EXPECT_EQ((*described)["state"], "loaded");
  EXPECT_GT((*described)["engine"]["steps"].get<int>(), 0);

  // The engine on the reference input gives PyTorch's reference output (models/…/reference_*.npy).
  const auto source = kModels / "demo-chest-classifier";
  auto input = engine::read_npy_file(source / "reference_input.npy");
  auto expected = engine::read_npy_file(source / "reference_output.npy");
  ASSERT_TRUE(input && expected);
  auto outputs = (*loaded)->batcher->submit({{"image", *input}}, std::chrono::steady_clock::now() + std::chrono::seconds(60));
  ASSERT_TRUE(outputs) << outputs.error().to_string();
  const auto got = outputs->front().tensor.values<float>();
  const auto want = expected->values<float>();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3 * (1 + std::fabs(want[i]))) << i;

  // Loading again is a no-op; unloading leaves requests in flight their model.
  EXPECT_EQ(registry.load("demo-chest-classifier", "1").value(), *loaded);
  auto held = registry.get("demo-chest-classifier", std::nullopt);
  ASSERT_TRUE(registry.unload("demo-chest-classifier", std::nullopt));
  EXPECT_EQ(registry.get("demo-chest-classifier", std::nullopt), nullptr);
  EXPECT_TRUE(held->batcher->submit({{"image", *input}}, std::chrono::steady_clock::now() + std::chrono::seconds(60)));
  EXPECT_EQ(registry.unload("demo-chest-classifier", std::nullopt).error().code, ErrorCode::not_found);
  // The released key is kept in memory: a second load asks cloister-keys no more.
  ASSERT_TRUE(registry.load("demo-chest-classifier", std::nullopt));
  EXPECT_EQ(releases_, 1);
}

TEST_F(RegistryTest, RefusesARelabelledManifestAWrongKeyAndADeniedRelease) {
  // The operator edits the labels of the stored manifest: the sealed model no longer opens.
  auto manifest = nlohmann::json::parse(slurp(dir_.path() / "demo-chest-classifier" / "1" / "manifest.json"));
  manifest["labels"] = {"normal", "effusion", "nodule"};
  ASSERT_TRUE(write_private_file(dir_.path() / "demo-chest-classifier" / "1" / "manifest.json", manifest.dump(2)));
  auto registry = make();
  auto relabelled = registry.load("demo-chest-classifier", std::nullopt);
  ASSERT_FALSE(relabelled);
  EXPECT_EQ(relabelled.error().code, ErrorCode::model_integrity_failed);
  EXPECT_EQ(registry.list()[0]["state"], "failed");
  EXPECT_EQ(registry.list()[0]["error"], "model_integrity_failed");

  seal_into(kModels / "demo-chest-classifier", dir_.path(), crypto::hpke::generate_key_pair());
  auto wrong_key = make().load("demo-chest-classifier", std::nullopt);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::model_integrity_failed);

  auto denied = make([](const std::string&, std::uint64_t) -> Result<Sensitive<crypto::Bytes>> {
                  return fail(ErrorCode::key_release_denied, "rule measurement");
                }).load("demo-chest-classifier", std::nullopt);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::key_release_denied);

  auto registry_again = make();
  EXPECT_EQ(registry_again.load("no-such-model", std::nullopt).error().code, ErrorCode::not_found);
  EXPECT_EQ(registry_again.load("demo-chest-classifier", "7").error().code, ErrorCode::not_found);
  EXPECT_EQ(registry_again.load("../etc", std::nullopt).error().code, ErrorCode::not_found);
}

TEST_F(RegistryTest, RefusesAManifestThatDoesNotDescribeTheModel) {
  auto manifest = nlohmann::json::parse(slurp(kModels / "demo-chest-classifier" / "manifest.json"));
  manifest["inputs"][0]["name"] = "pixels";
  seal_into(kModels / "demo-chest-classifier", dir_.path(), key_, "models", 1, manifest.dump(2));
  auto loaded = make().load("demo-chest-classifier", std::nullopt);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::model_manifest_invalid);
  EXPECT_NE(loaded.error().detail.find("pixels"), std::string::npos);
}

}  // namespace
}  // namespace cloister::infer
