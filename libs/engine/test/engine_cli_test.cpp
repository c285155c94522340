// `cloister engine run` and `cloister engine bench` as a user runs them: a model and .npy inputs
// on disk, the real binary, .npy outputs and the JSON line read back.
#include "cloister/core/process.h"
#include "cloister/engine/npy.h"
#include "cloister/engine/session.h"
#include "model_builder.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace cloister::engine {
namespace {

namespace fs = std::filesystem;
using test::Attr;
using test::ModelBuilder;
using test::random_tensor;

class EngineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("cloister_engine_cli_" + std::to_string(::getpid()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    // image [1,2,6,6] → Conv 3x3 (4 channels) → Relu → GlobalAveragePool → Flatten → Softmax
    // outputs: "features" [1,4,6,6] and "probs/softmax" [1,4]; a second input scales the image.
    ModelBuilder model;
    model.input("image", {1, 2, 6, 6}).input("gain", {1}).output("features", {1, 4, 6, 6}).output("probs/softmax", {1, 4});
    model.initializer("w", random_tensor({4, 2, 3, 3}, 11)).initializer("b", random_tensor({4}, 12));
    model.node("Mul", {"image", "gain"}, {"scaled"});
    model.node("Conv", {"scaled", "w", "b"}, {"conv"}, {Attr::integers("pads", {1, 1, 1, 1})});
    model.node("Relu", {"conv"}, {"features"});
    model.node("GlobalAveragePool", {"features"}, {"pooled"});
    model.node("Flatten", {"pooled"}, {"flat"});
    model.node("Softmax", {"flat"}, {"probs/softmax"});
    model_bytes_ = model.bytes();
    std::ofstream(directory_ / "model.onnx", std::ios::binary) << model_bytes_;
    image_ = random_tensor({1, 2, 6, 6}, 5);
    gain_ = Tensor::from_values<float>({1}, {2.0f});
    ASSERT_TRUE(write_npy_file(directory_ / "image.npy", image_));
    ASSERT_TRUE(write_npy_file(directory_ / "gain.npy", gain_));
  }
  void TearDown() override { fs::remove_all(directory_); }

  // Runs the CLI; returns its exit status and its output (stdout and stderr).
  std::pair<int, std::string> cli(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), CLOISTER_CLI);
    auto log = (directory_ / "cli.log").string();
    fs::remove(log);
    auto process = ChildProcess::spawn(ProcessOptions{arguments, log, {"OMP_NUM_THREADS=1"}});
    EXPECT_TRUE(process) << process.error().to_string();
    if (!process) return {-1, ""};
    auto status = process->wait_for(std::chrono::seconds(120));
    EXPECT_TRUE(status.has_value()) << "the CLI did not finish";
    std::ifstream file(log);
    return {status.value_or(-1), std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>())};
  }

  fs::path directory_;
  std::string model_bytes_;
  Tensor image_, gain_;
};

TEST_F(EngineCli, RunWritesOneNpyPerOutputInTheOnnxShape) {
  auto [status, output] = cli({"engine", "run", "--model", (directory_ / "model.onnx").string(), "--input",
                               "image=" + (directory_ / "image.npy").string(), "--input", "gain=" + (directory_ / "gain.npy").string(),
                               "--output-dir", (directory_ / "out").string()});
  ASSERT_EQ(status, 0) << output;
  auto features = read_npy_file(directory_ / "out" / "features.npy");
  ASSERT_TRUE(features) << features.error().to_string();
  auto probabilities = read_npy_file(directory_ / "out" / "probs_softmax.npy");  // '/' is not kept in file names
  ASSERT_TRUE(probabilities) << probabilities.error().to_string();
  EXPECT_EQ(features->shape(), (Shape{1, 4, 6, 6}));
  EXPECT_EQ(probabilities->shape(), (Shape{1, 4}));

  // Same numbers as the library gives in-process.
  auto session = Session::load(std::as_bytes(std::span(model_bytes_.data(), model_bytes_.size())));
  ASSERT_TRUE(session) << session.error().to_string();
  auto expected = (*session)->run({{"image", image_}, {"gain", gain_}});
  ASSERT_TRUE(expected);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(probabilities->values<float>()[i], (*expected)[1].tensor.values<float>()[i], 1e-6);
  float sum = 0;
  for (float p : probabilities->values<float>()) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

TEST_F(EngineCli, RunReportsBadInputsWithTheErrorCode) {
  auto [status, output] = cli({"engine", "run", "--model", (directory_ / "model.onnx").string(), "--input",
                               "image=" + (directory_ / "image.npy").string(), "--output-dir", (directory_ / "out").string()});
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("engine_input_invalid"), std::string::npos) << output;
  EXPECT_NE(output.find("gain"), std::string::npos) << output;

  std::ofstream(directory_ / "broken.onnx", std::ios::binary) << model_bytes_.substr(0, model_bytes_.size() / 2);
  std::tie(status, output) = cli({"engine", "run", "--model", (directory_ / "broken.onnx").string(), "--output-dir",
                                  (directory_ / "out").string()});
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("engine_model_invalid"), std::string::npos) << output;

  std::tie(status, output) = cli({"engine", "run", "--model", (directory_ / "model.onnx").string(), "--input", "image",
                                  "--output-dir", (directory_ / "out").string()});
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("NAME=FILE.npy"), std::string::npos) << output;
}

TEST_F(EngineCli, BenchPrintsOneJsonLine) {
  auto [status, output] = cli({"engine", "bench", "--model", (directory_ / "model.onnx").string(), "--threads", "1", "--runs", "5"});
  ASSERT_EQ(status, 0) << output;
  auto last = output.substr(output.rfind('{'));
  auto line = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << output;
  ASSERT_TRUE(line.contains("median_ms") && line.contains("min_ms")) << output;
  EXPECT_GT(line["median_ms"].get<double>(), 0.0);
  EXPECT_LE(line["min_ms"].get<double>(), line["median_ms"].get<double>());
  EXPECT_EQ(line["runs"], 5);
  EXPECT_EQ(line["threads"], 1);
  EXPECT_GT(line["peak_rss_kb"].get<long>(), 0);
}

}  // namespace
}  // namespace cloister::engine
