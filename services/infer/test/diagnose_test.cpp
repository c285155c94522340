#include "diagnose.h"

#include "test_models.h"

#include "cloister/core/temp_dir.h"
#include "cloister/crypto/base64.h"
#include "cloister/engine/npy.h"
#include "cloister/imaging/image.h"
#include "cloister/imaging/preprocess.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <cmath>

namespace cloister::infer {
namespace {

using namespace testing;

TEST(Multipart, SplitsPartsByTheBoundary) {
  const std::string body =
      "preamble\r\n--b0undary\r\nContent-Type: application/dicom\r\n\r\nfirst\r\npart\r\n"
      "--b0undary\r\ncontent-type: application/dicom\r\nX-Other: 1\r\n\r\nsecond\r\n--b0undary--\r\nepilogue";
  auto parts = imaging::split_multipart(R"(multipart/related; type="application/dicom"; boundary="b0undary")", body);
  ASSERT_TRUE(parts) << parts.error().to_string();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].body, "first\r\npart");
  EXPECT_EQ((*parts)[0].content_type, "application/dicom");
  EXPECT_EQ((*parts)[1].body, "second");

  EXPECT_EQ(imaging::split_multipart("multipart/related", body).error().code, ErrorCode::bad_request);
  EXPECT_EQ(imaging::split_multipart("multipart/related; boundary=other", body).error().code, ErrorCode::bad_request);
  EXPECT_EQ(imaging::split_multipart("multipart/related; boundary=b0undary", body.substr(0, 60)).error().code,
            ErrorCode::bad_request);
  EXPECT_EQ(imaging::split_multipart("multipart/related; boundary=b0undary", body, 1).error().code, ErrorCode::invalid_argument);
  // Every truncation is refused or parsed, never a crash.
  for (std::size_t length = 0; length < body.size(); ++length) {
    (void)imaging::split_multipart("multipart/related; boundary=b0undary", std::string_view(body).substr(0, length));
  }
}

class DiagnoseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& model : {kModels / "demo-chest-classifier", kModels / "demo-lung-segmenter", kTestModels / "tiny-seg3d"}) {
      if (!std::filesystem::exists(model / "model.onnx")) GTEST_SKIP() << model << " is absent";
      seal_into(model, dir_.path(), key_);
    }
    if (!std::filesystem::exists(kDicom / "CT_small.dcm")) GTEST_SKIP() << "python3-pydicom's test files are absent";
    RegistryOptions options;
    options.directory = dir_.path();
    options.session.threads = 1;
    registry_ = std::make_unique<ModelRegistry>(
        options,
        [this](const std::string&, std::uint64_t) -> Result<Sensitive<crypto::Bytes>> {
          return Sensitive<crypto::Bytes>(key_.private_key.reveal());
        },
        metrics_);
  }

  std::shared_ptr<const LoadedModel> model(const std::string& name) {
    auto loaded = registry_->load(name, std::nullopt);
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    return loaded ? *loaded : nullptr;
  }
  static std::chrono::steady_clock::time_point deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(60); }

  TempDir dir_{"cloister-diagnose"};
  crypto::hpke::KeyPair key_ = crypto::hpke::generate_key_pair();
  prometheus::Registry metrics_;
  std::unique_ptr<ModelRegistry> registry_;
};

TEST_F(DiagnoseTest, ClassifiesARealCtSliceAndThePngSamples) {
  auto classifier = model("demo-chest-classifier");
  ASSERT_TRUE(classifier);
  auto ct = diagnose(*classifier, "application/dicom", slurp(kDicom / "CT_small.dcm"), deadline());
  ASSERT_TRUE(ct) << ct.error().to_string();
  EXPECT_EQ((*ct)["input"]["format"], "dicom");
  EXPECT_EQ((*ct)["input"]["modality"], "CT");
  EXPECT_EQ((*ct)["input"]["rows"], 128);
  ASSERT_EQ((*ct)["findings"].size(), 3u);
  double total = 0;
  for (const auto& finding : (*ct)["findings"]) total += finding["probability"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-4);
  EXPECT_GE((*ct)["findings"][0]["probability"], (*ct)["findings"][1]["probability"]);
  EXPECT_EQ((*ct)["model"]["sha256"], classifier->manifest.sha256);
  EXPECT_NE((*ct)["intended_use"].get<std::string>().find("not for clinical use"), std::string::npos);

  // The synthetic samples are classified as what they show (the demo model was trained on such images).
  auto nodule = diagnose(*classifier, "image/png", slurp(kModels / "samples" / "nodule.png"), deadline());
  ASSERT_TRUE(nodule) << nodule.error().to_string();
  EXPECT_EQ((*nodule)["findings"][0]["label"], "nodule") << nodule->dump();
  auto normal = diagnose(*classifier, "application/octet-stream", slurp(kModels / "samples" / "normal.png"), deadline());
  ASSERT_TRUE(normal) << normal.error().to_string();
  EXPECT_EQ((*normal)["findings"][0]["label"], "normal") << normal->dump();

  // A multi-frame object: per-frame findings and their maximum.
  auto frames = diagnose(*classifier, "application/dicom", slurp(kDicom / "rtdose.dcm"), deadline());
  ASSERT_TRUE(frames) << frames.error().to_string();
  EXPECT_EQ((*frames)["frames"].size(), (*frames)["input"]["frames"].get<std::size_t>());
  EXPECT_GT((*frames)["frames"].size(), 1u);
}

TEST_F(DiagnoseTest, RefusesWhatIsNotAnImageWithItsOwnCode) {
  auto classifier = model("demo-chest-classifier");
  ASSERT_TRUE(classifier);
  auto code = [&](std::string_view type, const std::string& body) {
    auto result = diagnose(*classifier, type, body, deadline());
    return result ? std::string("accepted") : std::string(result.error().name());
  };
  EXPECT_EQ(code("application/dicom", slurp(kDicom / "JPEG2000.dcm")), "image_unsupported_encoding");
  EXPECT_EQ(code("application/dicom", slurp(kDicom / "rtplan.dcm")), "image_no_pixel_data");
  const auto ct = slurp(kDicom / "CT_small.dcm");
  EXPECT_EQ(code("application/dicom", ct.substr(0, ct.size() / 2)), "image_decode_failed");
  EXPECT_EQ(code("text/plain", ct), "unsupported_media_type");
  EXPECT_EQ(code("image/png", "not a png"), "image_decode_failed");
  EXPECT_EQ(code("multipart/related; boundary=x", "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--"),
            "unsupported_media_type");
}

TEST_F(DiagnoseTest, SegmentsWithAMaskAtTheImageSize) {
  auto segmenter = model("demo-lung-segmenter");
  ASSERT_TRUE(segmenter);
  auto ct = diagnose(*segmenter, "application/dicom", slurp(kDicom / "CT_small.dcm"), deadline());
  ASSERT_TRUE(ct) << ct.error().to_string();
  const auto& mask = (*ct)["segmentation"]["mask"];
  EXPECT_EQ(mask["encoding"], "png");
  auto png = crypto::base64_decode(mask["data"].get<std::string>());
  ASSERT_TRUE(png);
  auto image = imaging::decode_png(std::as_bytes(std::span(*png)));
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(image->width, 128);
  EXPECT_EQ(image->height, 128);
  std::int64_t voxels = 0;
  for (const auto& label : (*ct)["segmentation"]["labels"]) {
    voxels += label["voxels"].get<std::int64_t>();
    EXPECT_TRUE(label.contains("area_mm2")) << "CT_small has a pixel spacing";
  }
  EXPECT_EQ(voxels, 128 * 128);

  // The 3D path: a multi-frame object through a volume model, its mask run-length encoded.
  auto volume_model = model("tiny-seg3d");
  ASSERT_TRUE(volume_model);
  auto volume = diagnose(*volume_model, "application/dicom", slurp(kDicom / "rtdose.dcm"), deadline());
  ASSERT_TRUE(volume) << volume.error().to_string();
  const auto& rle = (*volume)["segmentation"]["mask"];
  EXPECT_EQ(rle["encoding"], "rle");
  EXPECT_EQ(rle["shape"][0], (*volume)["input"]["frames"]);
  std::int64_t total = 0;
  for (const auto& run : rle["runs"]) total += run[1].get<std::int64_t>();
  EXPECT_EQ(total, rle["shape"][0].get<std::int64_t>() * rle["shape"][1].get<std::int64_t>() *
                       rle["shape"][2].get<std::int64_t>());
}

// The server's preprocessing (libs/imaging, from the manifest) is the training pipeline's: a raw HU
// phantom through make_input and the model gives what PyTorch gave after numpy's windowing.
TEST_F(DiagnoseTest, PreprocessingFromTheManifestMatchesTheTrainingPipeline) {
  for (const auto* name : {"demo-chest-classifier", "demo-lung-segmenter", "tiny-seg3d"}) {
    auto loaded = model(name);
    ASSERT_TRUE(loaded);
    const auto folder = std::string(name) == "tiny-seg3d" ? kTestModels / name : kModels / name;
    auto hu = engine::read_npy_file(folder / "reference_hu.npy");
    auto expected = engine::read_npy_file(folder / "reference_hu_output.npy");
    ASSERT_TRUE(hu && expected) << name;
    imaging::Image image;
    image.source_format = "dicom";
    image.modality = "CT";
    const auto& shape = hu->shape();
    image.depth = shape.size() == 3 ? shape[0] : 1;
    image.height = shape[shape.size() - 2];
    image.width = shape[shape.size() - 1];
    const auto values = hu->values<float>();
    image.voxels.assign(values.begin(), values.end());
    auto input = imaging::make_input(image, loaded->manifest.preprocessing, loaded->manifest.inputs[0].shape);
    ASSERT_TRUE(input) << input.error().to_string();
    auto outputs = loaded->batcher->submit({{loaded->manifest.inputs[0].name, *input}}, deadline());
    ASSERT_TRUE(outputs) << outputs.error().to_string();
    const auto got = outputs->front().tensor.values<float>();
    const auto want = expected->values<float>();
    ASSERT_EQ(got.size(), want.size()) << name;
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / (1 + std::fabs(want[i])));
    EXPECT_LT(worst, 1e-3) << name;
  }
}

TEST_F(DiagnoseTest, AnExpiredDeadlineNeverRuns) {
  auto classifier = model("demo-chest-classifier");
  ASSERT_TRUE(classifier);
  auto late = diagnose(*classifier, "application/dicom", slurp(kDicom / "CT_small.dcm"),
                       std::chrono::steady_clock::now() - std::chrono::seconds(1));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::deadline_exceeded);
}

}  // namespace
}  // namespace cloister::infer
