#include "model_manifest.h"

#include <gtest/gtest.h>

namespace cloister::infer {
namespace {

nlohmann::json classifier() {
  return nlohmann::json::parse(R"({
    "name": "demo-chest-classifier", "version": "1",
    "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
    "task": "classification", "description": "d",
    "intended_use": "Demonstration only", "model_card": "MODEL_CARD.md",
    "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 128, 128]}],
    "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 3]}],
    "labels": ["normal", "nodule", "effusion"],
    "preprocessing": {"intensity": {"window_center": -600, "window_width": 1500},
                      "interpolation": "linear", "normalize": {"mean": [0.5], "std": [0.25]}},
    "postprocessing": {"activation": "softmax"},
    "batching": {"max_batch_size": 8}})");
}

std::string refusal(const nlohmann::json& document) {
  auto manifest = parse_manifest(document);
  if (manifest) return "accepted";
  EXPECT_EQ(manifest.error().code, ErrorCode::model_manifest_invalid);
  return manifest.error().detail;
}

TEST(ModelManifest, ParsesAClassifier) {
  auto manifest = parse_manifest(classifier());
  ASSERT_TRUE(manifest) << manifest.error().to_string();
  EXPECT_EQ(manifest->name, "demo-chest-classifier");
  EXPECT_EQ(manifest->task, Task::classification);
  EXPECT_EQ(manifest->activation, Activation::softmax);
  EXPECT_EQ(manifest->max_batch_size, 8u);
  EXPECT_EQ(manifest->labels.size(), 3u);
  EXPECT_EQ(manifest->inputs[0].shape, (std::vector<std::int64_t>{-1, 1, 128, 128}));
  EXPECT_EQ(manifest->preprocessing.intensity, imaging::Preprocessing::Intensity::fixed_window);
  EXPECT_DOUBLE_EQ(manifest->preprocessing.window_center, -600);
}

TEST(ModelManifest, ParsesSegmenters) {
  auto document = classifier();
  document["task"] = "segmentation-2d";
  document["outputs"][0]["shape"] = {-1, 3, 128, 128};
  document["postprocessing"] = {{"activation", "argmax"}};
  auto manifest = parse_manifest(document);
  ASSERT_TRUE(manifest) << manifest.error().to_string();
  EXPECT_EQ(manifest->activation, Activation::argmax);
  // A single-channel segmenter: a binary mask, two labels.
  document["outputs"][0]["shape"] = {-1, 1, 128, 128};
  document["labels"] = {"background", "lesion"};
  EXPECT_TRUE(parse_manifest(document));
  document["task"] = "segmentation-3d";
  document["inputs"][0]["shape"] = {1, 1, 16, 32, 32};
  document["outputs"][0]["shape"] = {1, 2, 16, 32, 32};
  document["batching"] = {{"max_batch_size", 4}};
  auto volume = parse_manifest(document);
  ASSERT_TRUE(volume) << volume.error().to_string();
  EXPECT_EQ(volume->max_batch_size, 1u) << "a static batch dimension of 1 caps batching";
}

TEST(ModelManifest, RefusesWhatWouldChangeHowImagesAreReadSilently) {
  auto unknown = classifier();
  unknown["preprocesing"] = nlohmann::json::object();
  EXPECT_NE(refusal(unknown).find("unknown member 'preprocesing'"), std::string::npos);

  auto bad_name = classifier();
  bad_name["name"] = "../etc";
  EXPECT_NE(refusal(bad_name).find("'name'"), std::string::npos);
  auto bad_hash = classifier();
  bad_hash["sha256"] = "ABC";
  EXPECT_NE(refusal(bad_hash).find("'sha256'"), std::string::npos);
  auto no_use = classifier();
  no_use.erase("intended_use");
  EXPECT_NE(refusal(no_use).find("'intended_use' is required"), std::string::npos);
  auto many = classifier();
  many["task"] = "segmentation-2d";
  many["outputs"][0]["shape"] = {-1, 300, 128, 128};
  many["postprocessing"] = {{"activation", "argmax"}};
  many["labels"] = nlohmann::json::array();
  for (int i = 0; i < 300; ++i) many["labels"].push_back("l" + std::to_string(i));
  EXPECT_NE(refusal(many).find("at most 255"), std::string::npos);
  auto labels = classifier();
  labels["labels"] = {"normal", "nodule"};
  EXPECT_NE(refusal(labels).find("one label per output score"), std::string::npos);
  auto duplicate = classifier();
  duplicate["labels"] = {"normal", "normal", "effusion"};
  EXPECT_NE(refusal(duplicate).find("unique"), std::string::npos);
  auto task = classifier();
  task["task"] = "detection";
  EXPECT_NE(refusal(task).find("'task'"), std::string::npos);
  auto type = classifier();
  type["inputs"][0]["datatype"] = "FP99";
  EXPECT_NE(refusal(type), "accepted");
  auto rank = classifier();
  rank["inputs"][0]["shape"] = {-1, 128, 128};
  EXPECT_NE(refusal(rank).find("rank 4"), std::string::npos);
  auto dynamic = classifier();
  dynamic["inputs"][0]["shape"] = {-1, 1, -1, 128};
  EXPECT_NE(refusal(dynamic).find("static"), std::string::npos);
  auto activation = classifier();
  activation["postprocessing"] = {{"activation", "argmax"}};
  EXPECT_NE(refusal(activation).find("activation"), std::string::npos);
  auto batching = classifier();
  batching["batching"] = {{"max_batch_size", 0}};
  EXPECT_NE(refusal(batching).find("max_batch_size"), std::string::npos);
  auto card = classifier();
  card["model_card"] = "../../secret";
  EXPECT_NE(refusal(card).find("model_card"), std::string::npos);
  auto window = classifier();
  window["preprocessing"]["intensity"] = {{"window_centre", 1}};
  EXPECT_NE(refusal(window), "accepted");
  EXPECT_EQ(parse_manifest_text("{not json").error().code, ErrorCode::model_manifest_invalid);
  EXPECT_EQ(parse_manifest_text("[]").error().code, ErrorCode::model_manifest_invalid);
}

}  // namespace
}  // namespace cloister::infer
