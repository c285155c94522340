// Segmentation masks: argmax, thresholding, nearest resize, PNG and RLE serialization.

#include <gtest/gtest.h>

#include <vector>

#include "cloister/imaging/image.h"
#include "cloister/imaging/mask.h"

namespace cloister::imaging {
namespace {

using nlohmann::json;

TEST(Mask, ArgmaxPerVoxelWithTiesToTheLowerLabel) {
  // [N=1, K=3, H=1, W=4]
  const auto scores =
      engine::Tensor::from_values<float>({1, 3, 1, 4}, {0.1f, 5, 2, 2, /**/ 0.9f, 1, 2, 1, /**/ 0.3f, 1, 7, 2});
  auto mask = argmax_mask(scores);
  ASSERT_TRUE(mask.has_value()) << mask.error().to_string();
  EXPECT_EQ(mask->depth, 1);
  EXPECT_EQ(mask->height, 1);
  EXPECT_EQ(mask->width, 4);
  EXPECT_EQ(mask->labels, (std::vector<std::uint8_t>{1, 0, 2, 0}));  // x=3: 2 / 1 / 2 tie → label 0
}

TEST(Mask, BatchOfSlicesAndVolumes) {
  // [N=2, K=2, H=1, W=2]: each batch item is a slice.
  const auto slices = engine::Tensor::from_values<float>({2, 2, 1, 2}, {1, 0, 0, 1, /**/ 0, 0, 1, -1});
  auto mask = argmax_mask(slices);
  ASSERT_TRUE(mask.has_value());
  EXPECT_EQ(mask->depth, 2);
  EXPECT_EQ(mask->labels, (std::vector<std::uint8_t>{0, 1, 1, 0}));
  // [1, K=2, D=2, H=1, W=1]
  const auto volume = engine::Tensor::from_values<float>({1, 2, 2, 1, 1}, {0, 1, 1, 0});
  auto volume_mask = argmax_mask(volume);
  ASSERT_TRUE(volume_mask.has_value());
  EXPECT_EQ(volume_mask->depth, 2);
  EXPECT_EQ(volume_mask->labels, (std::vector<std::uint8_t>{1, 0}));
}

TEST(Mask, SingleChannelIsThresholdedAtZero) {
  const auto logits = engine::Tensor::from_values<float>({1, 1, 2, 2}, {-3, 0, 0.01f, 9});
  auto mask = argmax_mask(logits);
  ASSERT_TRUE(mask.has_value());
  EXPECT_EQ(mask->labels, (std::vector<std::uint8_t>{0, 0, 1, 1}));
}

TEST(Mask, BadScoreTensorsAreRefused) {
  EXPECT_FALSE(argmax_mask(engine::Tensor::from_values<float>({2, 2}, {1, 2, 3, 4})).has_value());
  EXPECT_FALSE(argmax_mask(engine::Tensor::from_values<double>({1, 1, 1, 1}, {1})).has_value());
  EXPECT_FALSE(argmax_mask(engine::Tensor(engine::DataType::float32, {2, 2, 1, 1, 1})).has_value());
  EXPECT_FALSE(argmax_mask(engine::Tensor(engine::DataType::float32, {1, 0, 2, 2})).has_value());
  EXPECT_FALSE(argmax_mask(engine::Tensor(engine::DataType::float32, {1, 257, 1, 1})).has_value());
  EXPECT_TRUE(argmax_mask(engine::Tensor(engine::DataType::float32, {1, 256, 1, 1})).has_value());
}

TEST(Mask, ResizeNearestOverlaysTheSource) {
  Mask mask{1, 2, 2, {1, 2, 3, 4}};
  const Mask up = resize_nearest(mask, 1, 4, 4);
  EXPECT_EQ(up.labels, (std::vector<std::uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  const Mask down = resize_nearest(up, 1, 2, 2);
  EXPECT_EQ(down.labels, mask.labels);
  const Mask deeper = resize_nearest(mask, 3, 2, 1);  // depth replicated; column 0.5*2=1 → index 1
  EXPECT_EQ(deeper.depth, 3);
  EXPECT_EQ(deeper.labels, (std::vector<std::uint8_t>{2, 4, 2, 4, 2, 4}));
  EXPECT_TRUE(resize_nearest(mask, 0, 4, 4).labels.empty());
}

TEST(Mask, PngRoundTripsThroughTheDecoder) {
  Mask mask{2, 3, 4, {}};
  for (int i = 0; i < 24; ++i) mask.labels.push_back(static_cast<std::uint8_t>(i % 5));
  for (std::int64_t slice = 0; slice < 2; ++slice) {
    auto png = encode_png(mask, slice);
    ASSERT_TRUE(png.has_value()) << png.error().to_string();
    EXPECT_EQ(*png, *encode_png(mask, slice));  // deterministic
    auto image = decode_png(std::as_bytes(std::span(png->data(), png->size())));
    ASSERT_TRUE(image.has_value()) << image.error().to_string();
    EXPECT_EQ(image->height, 3);
    EXPECT_EQ(image->width, 4);
    EXPECT_EQ(image->channels, 1);
    EXPECT_EQ(image->bits_stored, 8);
    for (std::int64_t i = 0; i < 12; ++i) {
      EXPECT_EQ(image->voxels[static_cast<std::size_t>(i)], mask.labels[static_cast<std::size_t>(slice * 12 + i)]);
    }
  }
  EXPECT_FALSE(encode_png(mask, 2).has_value());
  EXPECT_FALSE(encode_png(mask, -1).has_value());
  EXPECT_FALSE(encode_png(Mask{}).has_value());
}

TEST(Mask, RleRoundTripAndCounts) {
  const Mask mask{2, 2, 3, {0, 0, 0, 1, 1, 0, 0, 0, 2, 2, 2, 2}};
  const json rle = encode_rle(mask);
  EXPECT_EQ(rle, json::parse(R"({"encoding":"rle","shape":[2,2,3],"runs":[[0,3],[1,2],[0,3],[2,4]]})"));
  auto back = decode_rle(rle);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(back->depth, 2);
  EXPECT_EQ(back->height, 2);
  EXPECT_EQ(back->width, 3);
  EXPECT_EQ(back->labels, mask.labels);
  EXPECT_EQ(label_counts(mask), (std::vector<std::int64_t>{6, 2, 4}));
  EXPECT_TRUE(label_counts(Mask{}).empty());
  const Mask empty{0, 0, 0, {}};
  auto empty_back = decode_rle(encode_rle(empty));
  ASSERT_TRUE(empty_back.has_value());
  EXPECT_TRUE(empty_back->labels.empty());
}

TEST(Mask, RleRefusesInconsistentInput) {
  const std::vector<std::string> bad = {
      R"([])",
      R"({"encoding":"png","shape":[1,1,2],"runs":[[0,2]]})",
      R"({"encoding":"rle","shape":[1,2],"runs":[[0,2]]})",
      R"({"encoding":"rle","shape":[1,1,-2],"runs":[]})",
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,1]]})",           // too short
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,2],[1,1]]})",     // too long
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,3000000000]]})",  // far too long, refused before allocating
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[256,2]]})",
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[-1,2]]})",
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,0],[0,2]]})",
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,2,3]]})",
      R"({"encoding":"rle","shape":[1,1,2],"runs":[[0,1.5],[0,0.5]]})",
      R"({"encoding":"rle","shape":[100000,100000,100000],"runs":[[0,1]]})",
      R"({"encoding":"rle","shape":[1,1,2]})",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE(text);
    auto mask = decode_rle(json::parse(text));
    ASSERT_FALSE(mask.has_value());
    EXPECT_EQ(mask.error().code, ErrorCode::invalid_argument);
  }
  auto limited = decode_rle(json::parse(R"({"encoding":"rle","shape":[1,10,10],"runs":[[0,100]]})"), 99);
  EXPECT_FALSE(limited.has_value());
}

}  // namespace
}  // namespace cloister::imaging
