// Preprocessing: manifest JSON, intensity mapping, channel mapping, resize (checked against values
// torch.nn.functional.interpolate(..., align_corners=False) gives), normalization.

#include <gtest/gtest.h>

#include <vector>

#include "cloister/imaging/preprocess.h"

namespace cloister::imaging {
namespace {

using nlohmann::json;

Image gray(std::int64_t height, std::int64_t width, std::vector<float> voxels, std::int64_t depth = 1) {
  Image im;
  im.depth = depth;
  im.height = height;
  im.width = width;
  im.voxels = std::move(voxels);
  return im;
}

std::vector<float> values(const engine::Tensor& t) {
  const auto span = t.values<float>();
  return {span.begin(), span.end()};
}

engine::Tensor input(const Image& im, const Preprocessing& p, std::vector<std::int64_t> shape) {
  auto result = make_input(im, p, shape);
  if (!result) {
    ADD_FAILURE() << result.error().to_string();
    return {};
  }
  return std::move(*result);
}

void expect_near(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance = 1e-6f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance) << "at " << i;
}

TEST(PreprocessingJson, ParsesEveryMemberAndRoundTrips) {
  const json manifest = json::parse(R"({"intensity": {"window_center": 40, "window_width": 400},
    "invert_monochrome1": false, "interpolation": "nearest", "normalize": {"mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225]}})");
  auto p = preprocessing_from_json(manifest);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  EXPECT_EQ(p->intensity, Preprocessing::Intensity::fixed_window);
  EXPECT_EQ(p->window_center, 40);
  EXPECT_EQ(p->window_width, 400);
  EXPECT_FALSE(p->invert_monochrome1);
  EXPECT_FALSE(p->linear);
  EXPECT_EQ(p->mean.size(), 3u);
  EXPECT_FLOAT_EQ(p->std[1], 0.224f);
  auto again = preprocessing_from_json(to_json(*p));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(to_json(*again), to_json(*p));

  auto defaults = preprocessing_from_json(json::object());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->intensity, Preprocessing::Intensity::minmax);
  EXPECT_TRUE(defaults->invert_monochrome1);
  EXPECT_TRUE(defaults->linear);
  EXPECT_TRUE(defaults->mean.empty());
  EXPECT_TRUE(preprocessing_from_json(json()).has_value());
  EXPECT_EQ(to_json(*defaults),
            json::parse(R"({"intensity":"minmax","invert_monochrome1":true,"interpolation":"linear"})"));
  auto file_window = preprocessing_from_json(json{{"intensity", "file_window"}});
  ASSERT_TRUE(file_window.has_value());
  EXPECT_EQ(file_window->intensity, Preprocessing::Intensity::file_window);
}

TEST(PreprocessingJson, InvalidMembersAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1])", "preprocessing"},
      {R"({"intensity": "gamma"})", "preprocessing.intensity"},
      {R"({"intensity": 3})", "preprocessing.intensity"},
      {R"({"intensity": {"window_center": 40}})", "preprocessing.intensity"},
      {R"({"intensity": {"window_center": 40, "window_width": 0.5}})", "preprocessing.intensity.window_width"},
      {R"({"intensity": {"window_center": "40", "window_width": 400}})", "preprocessing.intensity.window_center"},
      {R"({"intensity": {"window_center": 40, "window_width": 400, "gamma": 1}})", "preprocessing.intensity.gamma"},
      {R"({"invert_monochrome1": "yes"})", "preprocessing.invert_monochrome1"},
      {R"({"interpolation": "cubic"})", "preprocessing.interpolation"},
      {R"({"normalize": {"mean": [0.5]}})", "preprocessing.normalize"},
      {R"({"normalize": {"mean": [0.5], "std": [0]}})", "preprocessing.normalize.std"},
      {R"({"normalize": {"mean": [], "std": [1]}})", "preprocessing.normalize.mean"},
      {R"({"normalize": {"mean": ["a"], "std": [1]}})", "preprocessing.normalize.mean"},
      {R"({"normalize": {"mean": [0], "std": [1], "max": 1}})", "preprocessing.normalize.max"},
      {R"({"resize": "crop"})", "preprocessing.resize"},
  };
  for (const auto& [text, member] : cases) {
    SCOPED_TRACE(text);
    auto p = preprocessing_from_json(json::parse(text));
    ASSERT_FALSE(p.has_value());
    EXPECT_EQ(p.error().code, ErrorCode::model_manifest_invalid);
    EXPECT_TRUE(p.error().detail.starts_with(member + ":") || p.error().detail.starts_with(member + " "))
        << p.error().detail;
  }
}

TEST(MakeInput, MinMaxAndConstantImages) {
  const Preprocessing p;
  expect_near(values(input(gray(2, 2, {10, 20, 30, 50}), p, {1, 1, 2, 2})), {0, 0.25f, 0.5f, 1});
  expect_near(values(input(gray(1, 3, {7, 7, 7}), p, {1, 1, 1, 3})), {0, 0, 0});
}

TEST(MakeInput, WindowsFollowTheDicomLinearFunction) {
  Preprocessing fixed;
  fixed.intensity = Preprocessing::Intensity::fixed_window;
  fixed.window_center = 0.5;
  fixed.window_width = 2;  // (v - 0) / 1 + 0.5, clamped
  expect_near(values(input(gray(1, 5, {-1, -0.5f, 0, 0.25f, 3}), fixed, {1, 1, 1, 5})), {0, 0, 0.5f, 0.75f, 1});

  // CT soft tissue window 40/400 on Hounsfield units.
  Image ct = gray(1, 4, {-1000, -160, 40, 1000});
  ct.window_center = 40;
  ct.window_width = 400;
  Preprocessing file;
  file.intensity = Preprocessing::Intensity::file_window;
  expect_near(values(input(ct, file, {1, 1, 1, 4})), {0, 0, 0.5f / 399 + 0.5f, 1});
  // Without a window in the file: min-max.
  ct.window_center.reset();
  ct.window_width.reset();
  expect_near(values(input(ct, file, {1, 1, 1, 4})), {0, 840.0f / 2000, 1040.0f / 2000, 1});
}

TEST(MakeInput, PngAndJpegDisplayValuesAreScaledByBitDepthNotWindowed) {
  Preprocessing fixed;
  fixed.intensity = Preprocessing::Intensity::fixed_window;
  fixed.window_center = -600;
  fixed.window_width = 1500;
  Image png = gray(1, 3, {0, 51, 255});
  png.source_format = "png";
  png.bits_stored = 8;
  expect_near(values(input(png, fixed, {1, 1, 1, 3})), {0, 0.2f, 1});
  Image deep = gray(1, 2, {0, 65535});
  deep.source_format = "png";
  deep.bits_stored = 16;
  Preprocessing file;
  file.intensity = Preprocessing::Intensity::file_window;
  expect_near(values(input(deep, file, {1, 1, 1, 2})), {0, 1});
  // minmax stays minmax.
  Preprocessing minmax;
  expect_near(values(input(png, minmax, {1, 1, 1, 3})), {0, 0.2f, 1});
  Image jpeg = gray(1, 2, {100, 200});
  jpeg.source_format = "jpeg";
  expect_near(values(input(jpeg, minmax, {1, 1, 1, 2})), {0, 1});
}

TEST(MakeInput, Monochrome1IsInvertedUnlessDisabled) {
  Image cr = gray(1, 4, {0, 1, 2, 3});
  cr.monochrome1 = true;
  Preprocessing p;
  expect_near(values(input(cr, p, {1, 1, 1, 4})), {1, 2.0f / 3, 1.0f / 3, 0});
  p.invert_monochrome1 = false;
  expect_near(values(input(cr, p, {1, 1, 1, 4})), {0, 1.0f / 3, 2.0f / 3, 1});
}

TEST(MakeInput, ChannelsAreReplicatedOrReducedToLuminance) {
  const Preprocessing p;
  // Gray → 3 channels.
  expect_near(values(input(gray(1, 2, {0, 10}), p, {1, 3, 1, 2})), {0, 1, 0, 1, 0, 1});
  // RGB → 1 channel: 0.299 R + 0.587 G + 0.114 B (after min-max over all samples).
  Image rgb;
  rgb.height = 1;
  rgb.width = 4;
  rgb.channels = 3;
  rgb.voxels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  expect_near(values(input(rgb, p, {1, 1, 1, 4})), {0.299f, 0.587f, 0.114f, 1});
  // RGB → 3 channels: planar [C][H][W].
  expect_near(values(input(rgb, p, {1, 3, 1, 4})), {1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1});
  // RGB → 2 channels has no meaning.
  auto two = make_input(rgb, p, std::vector<std::int64_t>{1, 2, 1, 4});
  ASSERT_FALSE(two.has_value());
  EXPECT_EQ(two.error().code, ErrorCode::invalid_argument);
}

// torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode="bilinear",
// align_corners=False) = [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]];
// the input here is min-max scaled first ((v - 1) / 3).
TEST(MakeInput, BilinearMatchesTorchAlignCornersFalse) {
  const Preprocessing p;
  const std::vector<float> torch = {1,    1.25f, 1.75f, 2,    1.5f, 1.75f, 2.25f, 2.5f,
                                    2.5f, 2.75f, 3.25f, 3.5f, 3,    3.25f, 3.75f, 4};
  std::vector<float> expected;
  for (float v : torch) expected.push_back((v - 1) / 3);
  expect_near(values(input(gray(2, 2, {1, 2, 3, 4}), p, {1, 1, 4, 4})), expected);
  // Down-sampling 1×4 → 1×2 averages pixel pairs (no antialiasing, as torch): [0, 1/3, 2/3, 1] → [1/6, 5/6].
  expect_near(values(input(gray(1, 4, {0, 1, 2, 3}), p, {1, 1, 1, 2})), {1.0f / 6, 5.0f / 6});
  // Non-integer factor 3 → 2: source x = (o + 0.5) * 1.5 - 0.5 = 0.25, 1.75 → [0.125, 0.875] of [0, 0.5, 1].
  expect_near(values(input(gray(1, 3, {0, 1, 2}), p, {1, 1, 1, 2})), {0.125f, 0.875f});
}

TEST(MakeInput, NearestUsesPixelCentres) {
  Preprocessing p;
  p.linear = false;
  // 2 → 4: source floor((o + 0.5) / 2) = 0, 0, 1, 1; 3 → 2: floor((o + 0.5) * 1.5) = 0, 2.
  expect_near(values(input(gray(1, 2, {0, 1}), p, {1, 1, 1, 4})), {0, 0, 1, 1});
  expect_near(values(input(gray(1, 3, {0, 1, 2}), p, {1, 1, 1, 2})), {0, 1});
  expect_near(values(input(gray(3, 1, {0, 1, 2}), p, {1, 1, 2, 1})), {0, 1});
}

TEST(MakeInput, TwoDimensionalModelsTakeOneBatchItemPerFrame) {
  const Preprocessing p;
  const Image volume = gray(2, 2, {0, 0, 0, 0, 4, 4, 4, 4}, 2);
  const auto t = input(volume, p, {-1, 1, 1, 1});
  EXPECT_EQ(t.shape(), (engine::Shape{2, 1, 1, 1}));
  expect_near(values(t), {0, 1});
  const auto replicated = input(volume, p, {1, 3, 2, 2});
  EXPECT_EQ(replicated.shape(), (engine::Shape{2, 3, 2, 2}));
  expect_near(values(replicated), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
}

TEST(MakeInput, TrilinearAndNearestVolumes) {
  Preprocessing p;
  // Two constant slices 0 and 1 (after min-max), depth 2 → 4: [0, 0.25, 0.75, 1] per slice.
  const Image volume = gray(2, 2, {0, 0, 0, 0, 8, 8, 8, 8}, 2);
  const auto t = input(volume, p, {1, 1, 4, 1, 1});
  EXPECT_EQ(t.shape(), (engine::Shape{1, 1, 4, 1, 1}));
  expect_near(values(t), {0, 0.25f, 0.75f, 1});
  p.linear = false;
  expect_near(values(input(volume, p, {1, 1, 4, 1, 1})), {0, 0, 1, 1});
  // A 2×2×2 cube with one hot corner, trilinear to 1×1×1: the mean at the centre.
  Preprocessing linear;
  const Image corner = gray(2, 2, {1, 0, 0, 0, 0, 0, 0, 0}, 2);
  expect_near(values(input(corner, linear, {1, 2, 1, 1, 1})), {0.125f, 0.125f});
}

TEST(MakeInput, NormalizePerChannel) {
  Preprocessing p;
  p.mean = {0.5f};
  p.std = {0.25f};
  expect_near(values(input(gray(1, 2, {0, 1}), p, {1, 1, 1, 2})), {-2, 2});
  p.mean = {0, 1, 2};
  p.std = {1, 2, 4};
  expect_near(values(input(gray(1, 1, {3}), p, {1, 3, 1, 1})), {0, -0.5f, -0.5f});
  p.mean = {0, 1};
  auto mismatch = make_input(gray(1, 1, {3}), p, std::vector<std::int64_t>{1, 3, 1, 1});
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code, ErrorCode::invalid_argument);
}

TEST(MakeInput, BadShapesAndImagesAreRefused) {
  const Preprocessing p;
  const Image im = gray(2, 2, {1, 2, 3, 4});
  for (const std::vector<std::int64_t>& shape : std::vector<std::vector<std::int64_t>>{
           {1, 1, 4}, {1, 0, 4, 4}, {1, 1, -1, 4}, {1, 1, 2, 2, 2, 2}, {1, 1, 1 << 20, 1 << 20}}) {
    auto result = make_input(im, p, shape);
    ASSERT_FALSE(result.has_value()) << engine::shape_to_string(shape);
    EXPECT_EQ(result.error().code, ErrorCode::invalid_argument);
  }
  Image broken = im;
  broken.voxels.pop_back();
  EXPECT_FALSE(make_input(broken, p, std::vector<std::int64_t>{1, 1, 2, 2}).has_value());
}

}  // namespace
}  // namespace cloister::imaging
