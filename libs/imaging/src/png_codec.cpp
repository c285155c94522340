// PNG through libpng's low-level API. libpng reports errors by longjmp: every setjmp lives in a small
// function whose frame holds no object with a destructor, and everything that owns memory is made
// by the caller (so no destructor is ever skipped).

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <fmt/format.h>
#include <png.h>

#include "cloister/imaging/image.h"
#include "png_codec.h"

namespace cloister::imaging {
namespace {

struct PngState {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::size_t offset = 0;
  std::string* output = nullptr;
  char message[192] = {};
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message != nullptr ? message : "error");
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void on_png_read(png_structp png, png_bytep out, std::size_t length) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (length > state->size - state->offset) png_error(png, "truncated");
  std::memcpy(out, state->data + state->offset, length);
  state->offset += length;
}

void on_png_write(png_structp png, png_bytep data, std::size_t length) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    state->output->append(reinterpret_cast<const char*>(data), length);
  } catch (const std::bad_alloc&) {
    ok = false;
  }
  if (!ok) png_error(png, "out of memory");
}

void on_png_flush(png_structp) {}

struct PngLayout {
  png_uint_32 width = 0, height = 0;
  int channels = 0;   // after the transforms: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth = 0;  // 8 or 16
  std::size_t row_bytes = 0;
};

// Phase 1: signature, header and ancillary chunks; sets the transforms.
bool read_png_header(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int colour_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->channels = png_get_channels(png, info);
  layout->bit_depth = png_get_bit_depth(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return true;
}

// Phase 2: the pixels, then the trailing chunks up to IEND (their CRCs are checked too).
bool read_png_pixels(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

bool write_png_core(png_structp png, png_infop info, const PngLayout* layout, int colour_type, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, layout->width, layout->height, layout->bit_depth, colour_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct ReadGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadGuard() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

struct WriteGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteGuard() { png_destroy_write_struct(&png, info != nullptr ? &info : nullptr); }
};

}  // namespace

Result<Image> decode_png(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    return fail(ErrorCode::image_decode_failed, "PNG: bad signature");
  }
  PngState state;
  state.data = reinterpret_cast<const unsigned char*>(bytes.data());
  state.size = bytes.size();
  ReadGuard guard;
  guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
  if (guard.png == nullptr) return fail(ErrorCode::internal, "PNG: libpng initialisation failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) return fail(ErrorCode::internal, "PNG: libpng initialisation failed");
  png_set_read_fn(guard.png, &state, on_png_read);

  PngLayout layout;
  if (!read_png_header(guard.png, guard.info, &layout)) {
    return fail(ErrorCode::image_decode_failed, fmt::format("PNG: {}", state.message));
  }
  const std::int64_t kept_channels = layout.channels >= 3 ? 3 : 1;
  const std::int64_t voxels = static_cast<std::int64_t>(layout.width) * layout.height * kept_channels;
  if (voxels > limits.max_voxels) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("PNG: the image has {} voxels, more than the limit of {}", voxels, limits.max_voxels));
  }
  if (layout.channels < 1 || layout.channels > 4 || (layout.bit_depth != 8 && layout.bit_depth != 16) ||
      layout.row_bytes != static_cast<std::size_t>(layout.width) * layout.channels * (layout.bit_depth / 8)) {
    return fail(ErrorCode::image_decode_failed, "PNG: unexpected sample layout");
  }
  std::vector<unsigned char> buffer(layout.row_bytes * layout.height);
  std::vector<png_bytep> rows(layout.height);
  for (png_uint_32 y = 0; y < layout.height; ++y) rows[y] = buffer.data() + y * layout.row_bytes;
  if (!read_png_pixels(guard.png, guard.info, rows.data())) {
    return fail(ErrorCode::image_decode_failed, fmt::format("PNG: {}", state.message));
  }

  Image image;
  image.source_format = "png";
  image.height = layout.height;
  image.width = layout.width;
  image.channels = kept_channels;
  image.bits_stored = layout.bit_depth;
  image.voxels.resize(static_cast<std::size_t>(voxels));
  const std::size_t pixels = static_cast<std::size_t>(layout.width) * layout.height;
  const std::size_t stride = static_cast<std::size_t>(layout.channels);
  for (std::size_t i = 0; i < pixels; ++i) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(kept_channels); ++c) {
      const std::size_t s = i * stride + c;  // alpha (the last sample of 2 or 4) is dropped
      image.voxels[i * kept_channels + c] = layout.bit_depth == 16
                                                ? static_cast<float>((buffer[2 * s] << 8) | buffer[2 * s + 1])
                                                : static_cast<float>(buffer[s]);
    }
  }
  return image;
}

namespace detail {

Result<std::string> write_png(std::uint32_t width, std::uint32_t height, int channels, int bit_depth,
                              std::span<const std::uint16_t> samples) {
  static constexpr int kColourTypes[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                         PNG_COLOR_TYPE_RGB_ALPHA};
  if (width == 0 || height == 0 || channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) ||
      samples.size() != static_cast<std::size_t>(width) * height * static_cast<std::size_t>(channels)) {
    return fail(ErrorCode::invalid_argument, "PNG: invalid image layout for encoding");
  }
  const std::size_t bytes_per_sample = static_cast<std::size_t>(bit_depth / 8);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels) * bytes_per_sample;
  std::vector<unsigned char> buffer(row_bytes * height);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (bit_depth == 16) {
      buffer[2 * i] = static_cast<unsigned char>(samples[i] >> 8);
      buffer[2 * i + 1] = static_cast<unsigned char>(samples[i] & 0xFF);
    } else {
      buffer[i] = static_cast<unsigned char>(std::min<std::uint16_t>(samples[i], 255));
    }
  }
  std::vector<png_bytep> rows(height);
  for (std::uint32_t y = 0; y < height; ++y) rows[y] = buffer.data() + y * row_bytes;

  std::string output;
  PngState state;
  state.output = &output;
  WriteGuard guard;
  guard.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
  if (guard.png == nullptr) return fail(ErrorCode::internal, "PNG: libpng initialisation failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) return fail(ErrorCode::internal, "PNG: libpng initialisation failed");
  png_set_write_fn(guard.png, &state, on_png_write, on_png_flush);
  PngLayout layout;
  layout.width = width;
  layout.height = height;
  layout.bit_depth = bit_depth;
  if (!write_png_core(guard.png, guard.info, &layout, kColourTypes[channels], rows.data())) {
    return fail(ErrorCode::internal, fmt::format("PNG: encoding failed: {}", state.message));
  }
  return output;
}

}  // namespace detail

Result<std::string> encode_png_image(const Image& image, std::int64_t slice) {
  if (image.height <= 0 || image.width <= 0 || image.depth <= 0 || image.height > 0x7FFFFFFF ||
      image.width > 0x7FFFFFFF || static_cast<std::int64_t>(image.voxels.size()) != image.voxel_count()) {
    return fail(ErrorCode::invalid_argument, "PNG: the image is empty or malformed");
  }
  if (image.channels != 1 && image.channels != 3) {
    return fail(ErrorCode::invalid_argument, "PNG: only 1- or 3-channel images are encoded");
  }
  if (slice < 0 || slice >= image.depth) return fail(ErrorCode::invalid_argument, "PNG: slice out of range");
  const int bit_depth = image.bits_stored <= 8 ? 8 : 16;
  const float maximum = bit_depth == 8 ? 255.0f : 65535.0f;
  const std::size_t count = static_cast<std::size_t>(image.height * image.width * image.channels);
  const float* source = image.voxels.data() + static_cast<std::size_t>(slice) * count;
  std::vector<std::uint16_t> samples(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float v = std::isnan(source[i]) ? 0.0f : std::clamp(std::round(source[i]), 0.0f, maximum);
    samples[i] = static_cast<std::uint16_t>(v);
  }
  return detail::write_png(static_cast<std::uint32_t>(image.width), static_cast<std::uint32_t>(image.height),
                           static_cast<int>(image.channels), bit_depth, samples);
}

}  // namespace cloister::imaging
