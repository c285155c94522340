// PNG and JPEG decoding (files written here with libpng/libjpeg), the PNG encoder, and sniffing.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <png.h>

#include "cloister/imaging/image.h"
#include "test_support.h"

namespace cloister::imaging {
namespace {

using test::Bytes;
using test::to_bytes;
using test::view;

Image decode_ok(const std::string& file) {
  auto result = decode(view(to_bytes(file)));
  if (!result) ADD_FAILURE() << result.error().to_string();
  return result.value_or(Image{});
}

TEST(Png, EightBitGray) {
  const std::vector<std::uint8_t> rows = {0, 1, 2, 253, 254, 255};
  const Image im = decode_ok(test::write_png_raw(3, 2, PNG_COLOR_TYPE_GRAY, 8, false, rows));
  EXPECT_EQ(im.source_format, "png");
  EXPECT_EQ(im.height, 2);
  EXPECT_EQ(im.width, 3);
  EXPECT_EQ(im.channels, 1);
  EXPECT_EQ(im.bits_stored, 8);
  EXPECT_EQ(im.voxels, (std::vector<float>{0, 1, 2, 253, 254, 255}));
  EXPECT_EQ(im.modality, "");
  EXPECT_EQ(im.transfer_syntax, "");
  EXPECT_FALSE(im.window_center.has_value());
}

TEST(Png, SixteenBitGrayKeepsFullRange) {
  const std::vector<std::uint8_t> rows = {0x00, 0x00, 0x12, 0x34, 0xFF, 0xFF, 0x80, 0x01};  // big endian
  const Image im = decode_ok(test::write_png_raw(2, 2, PNG_COLOR_TYPE_GRAY, 16, false, rows));
  EXPECT_EQ(im.bits_stored, 16);
  EXPECT_EQ(im.voxels, (std::vector<float>{0, 0x1234, 0xFFFF, 0x8001}));
}

TEST(Png, LowBitDepthGrayIsExpandedToEightBit) {
  // 1-bit: 1 0 1 1 → 255 0 255 255 (libpng scales to the 8-bit range).
  const Image im = decode_ok(test::write_png_raw(4, 1, PNG_COLOR_TYPE_GRAY, 1, false, {0b10110000}));
  EXPECT_EQ(im.voxels, (std::vector<float>{255, 0, 255, 255}));
}

TEST(Png, RgbAndInterlacedRgb) {
  std::vector<std::uint8_t> rows;
  for (int y = 0; y < 9; ++y) {
    for (int x = 0; x < 7; ++x) {
      rows.push_back(static_cast<std::uint8_t>(10 * x));
      rows.push_back(static_cast<std::uint8_t>(20 * y));
      rows.push_back(static_cast<std::uint8_t>(x + y));
    }
  }
  for (bool interlaced : {false, true}) {
    SCOPED_TRACE(interlaced);
    const Image im = decode_ok(test::write_png_raw(7, 9, PNG_COLOR_TYPE_RGB, 8, interlaced, rows));
    ASSERT_EQ(im.channels, 3);
    EXPECT_EQ(im.voxels, std::vector<float>(rows.begin(), rows.end()));
    EXPECT_EQ(im.at(0, 8, 6, 0), 60);
    EXPECT_EQ(im.at(0, 8, 6, 1), 160);
    EXPECT_EQ(im.at(0, 8, 6, 2), 14);
  }
}

TEST(Png, PaletteIsExpandedAndTransparencyIgnored) {
  const std::vector<std::uint8_t> palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  const Image im = decode_ok(test::write_png_raw(3, 1, PNG_COLOR_TYPE_PALETTE, 8, false, {2, 0, 1}, palette, {0, 128}));
  ASSERT_EQ(im.channels, 3);
  EXPECT_EQ(im.voxels, (std::vector<float>{0, 0, 255, 255, 0, 0, 0, 255, 0}));
}

TEST(Png, AlphaIsDropped) {
  const Image rgba =
      decode_ok(test::write_png_raw(2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, false, {1, 2, 3, 0, 4, 5, 6, 255}));
  EXPECT_EQ(rgba.channels, 3);
  EXPECT_EQ(rgba.voxels, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const Image gray_alpha = decode_ok(
      test::write_png_raw(2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16, false, {0x01, 0x02, 0, 0, 0xFF, 0xFE, 0xFF, 0xFF}));
  EXPECT_EQ(gray_alpha.channels, 1);
  EXPECT_EQ(gray_alpha.bits_stored, 16);
  EXPECT_EQ(gray_alpha.voxels, (std::vector<float>{0x0102, 0xFFFE}));
}

TEST(Png, TruncationAndCorruptionFail) {
  std::vector<std::uint8_t> rows(32 * 32);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::uint8_t>(i * 7);
  const std::string file = test::write_png_raw(32, 32, PNG_COLOR_TYPE_GRAY, 8, false, rows);
  for (std::size_t length = 8; length < file.size(); length += 5) {
    auto result = decode(view(to_bytes(file.substr(0, length))));
    ASSERT_FALSE(result.has_value()) << length;
    EXPECT_EQ(result.error().code, ErrorCode::image_decode_failed);
    EXPECT_TRUE(result.error().detail.starts_with("PNG: ")) << result.error().detail;
  }
  // A flipped bit in the IDAT data (zlib notices) and in the IDAT CRC.
  const auto idat = file.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  const std::size_t length =
      (static_cast<std::uint8_t>(file[idat - 4]) << 24) | (static_cast<std::uint8_t>(file[idat - 3]) << 16) |
      (static_cast<std::uint8_t>(file[idat - 2]) << 8) | static_cast<std::uint8_t>(file[idat - 1]);
  std::string corrupt_data = file;
  corrupt_data[idat + 10] ^= 0x01;
  std::string corrupt_crc = file;
  corrupt_crc[idat + 4 + length] ^= 0x01;
  for (const std::string& corrupt : {corrupt_data, corrupt_crc}) {
    auto result = decode(view(to_bytes(corrupt)));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::image_decode_failed);
  }
  EXPECT_EQ(decode(view(to_bytes(corrupt_crc))).error().detail, "PNG: IDAT: CRC error");
}

TEST(Png, VoxelLimitIsCheckedOnTheHeader) {
  const std::string file =
      test::write_png_raw(100, 100, PNG_COLOR_TYPE_GRAY, 8, false, std::vector<std::uint8_t>(10000));
  auto result = decode(view(to_bytes(file)), DecodeLimits{.max_voxels = 9999});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(decode(view(to_bytes(file)), DecodeLimits{.max_voxels = 10000}));
}

TEST(Png, EncoderRoundTripsAndIsDeterministic) {
  Image gray16;
  gray16.height = 2;
  gray16.width = 2;
  gray16.bits_stored = 16;
  gray16.voxels = {0, 65535, 300.4f, 70000};  // rounded, clamped
  auto png = encode_png_image(gray16);
  ASSERT_TRUE(png.has_value()) << png.error().to_string();
  EXPECT_EQ(*png, *encode_png_image(gray16));
  const Image back = decode_ok(*png);
  EXPECT_EQ(back.bits_stored, 16);
  EXPECT_EQ(back.voxels, (std::vector<float>{0, 65535, 300, 65535}));

  Image rgb;
  rgb.depth = 2;
  rgb.height = 1;
  rgb.width = 2;
  rgb.channels = 3;
  rgb.voxels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -5, 300};
  auto second = encode_png_image(rgb, 1);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(decode_ok(*second).voxels, (std::vector<float>{7, 8, 9, 10, 0, 255}));
  EXPECT_FALSE(encode_png_image(rgb, 2).has_value());
  rgb.channels = 2;
  rgb.voxels.resize(8);
  EXPECT_FALSE(encode_png_image(rgb).has_value());
  EXPECT_FALSE(encode_png_image(Image{}).has_value());
}

TEST(Jpeg, GrayAndRgb) {
  std::vector<std::uint8_t> gray(16 * 8);
  for (std::size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<std::uint8_t>(i % 16 < 8 ? 40 : 200);
  const Image g = decode_ok(test::write_jpeg(16, 8, 1, gray));
  EXPECT_EQ(g.source_format, "jpeg");
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.bits_stored, 8);
  ASSERT_EQ(g.voxels.size(), gray.size());
  for (std::size_t i = 0; i < gray.size(); ++i) EXPECT_NEAR(g.voxels[i], gray[i], 3) << i;

  std::vector<std::uint8_t> rgb;
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      const bool left = x < 8;
      rgb.push_back(left ? 255 : 0);
      rgb.push_back(left ? 0 : 0);
      rgb.push_back(left ? 0 : 255);
    }
  }
  for (bool progressive : {false, true}) {
    SCOPED_TRACE(progressive);
    const Image c = decode_ok(test::write_jpeg(16, 16, 3, rgb, 100, progressive));
    ASSERT_EQ(c.channels, 3);
    EXPECT_NEAR(c.at(0, 4, 2, 0), 255, 4);  // red stays red: YCbCr converted back to RGB
    EXPECT_NEAR(c.at(0, 4, 2, 1), 0, 4);
    EXPECT_NEAR(c.at(0, 4, 2, 2), 0, 4);
    EXPECT_NEAR(c.at(0, 12, 13, 0), 0, 4);
    EXPECT_NEAR(c.at(0, 12, 13, 2), 255, 4);
  }
}

TEST(Jpeg, TruncationAndCorruptionFail) {
  std::vector<std::uint8_t> samples(64 * 64 * 3);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<std::uint8_t>((i * 31) ^ (i >> 5));
  const std::string file = test::write_jpeg(64, 64, 3, samples, 90);
  int failures = 0;
  for (std::size_t length = 3; length < file.size() - 2; length += 11) {
    auto result = decode(view(to_bytes(file.substr(0, length))));
    ASSERT_FALSE(result.has_value()) << length;  // libjpeg would pad with grey; we refuse
    EXPECT_EQ(result.error().code, ErrorCode::image_decode_failed) << result.error().to_string();
    EXPECT_TRUE(result.error().detail.starts_with("JPEG: ")) << result.error().detail;
    ++failures;
  }
  EXPECT_GT(failures, 10);
  std::string garbage = file.substr(0, 4) + std::string(200, '\x42');
  auto result = decode(view(to_bytes(garbage)));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::image_decode_failed);
}

TEST(RasterRobustness, RandomByteFlipsNeverCrash) {
  std::vector<std::uint8_t> samples(48 * 40 * 3);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<std::uint8_t>((i * 13) ^ (i >> 4));
  const std::vector<std::string> files = {
      test::write_png_raw(48, 40, PNG_COLOR_TYPE_RGB, 8, false, samples),
      test::write_png_raw(48, 40, PNG_COLOR_TYPE_RGB, 8, true, samples),
      test::write_jpeg(48, 40, 3, samples, 85),
      test::write_jpeg(48, 40, 3, samples, 85, true),
  };
  std::mt19937 random(4242);
  for (const std::string& file : files) {
    for (int round = 0; round < 300; ++round) {
      std::string mutated = file;
      const int flips = 1 + static_cast<int>(random() % 6);
      for (int i = 0; i < flips; ++i) mutated[random() % mutated.size()] ^= static_cast<char>(1u << (random() % 8));
      auto result = decode(view(to_bytes(mutated)), DecodeLimits{.max_voxels = 1 << 22});
      if (result) {
        EXPECT_EQ(static_cast<std::int64_t>(result->voxels.size()), result->voxel_count());
      } else {
        EXPECT_FALSE(result.error().detail.empty());
      }
    }
  }
}

TEST(Sniffing, UnknownBytesAreUnsupportedMediaType) {
  for (const std::string& garbage : {std::string(), std::string("GIF89a......"), std::string("%PDF-1.7\n"),
                                     std::string(300, '\0'), std::string("\x89PNX\r\n\x1a\n")}) {
    auto result = decode(view(to_bytes(garbage)));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::unsupported_media_type) << garbage.size();
  }
  // A PNG signature followed by junk is a broken PNG, not an unknown type.
  auto broken = decode(view(to_bytes(std::string("\x89PNG\r\n\x1a\n", 8) + "junkjunkjunk")));
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code, ErrorCode::image_decode_failed);
}

}  // namespace
}  // namespace cloister::imaging
