// JPEG through libjpeg(-turbo) from memory. libjpeg reports errors by longjmp: each setjmp lives in a
// small function whose frame holds no object with a destructor; buffers are made by the caller.
// Any libjpeg warning (premature end, corrupt entropy data) fails the decode: libjpeg would otherwise
// fill the missing part with grey and call it a success.

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>
#include <jerror.h>

#include "cloister/imaging/image.h"

namespace cloister::imaging {
namespace {

// Progressive JPEGs can hold thousands of tiny scans (a CPU-exhaustion pattern); real images have < 20.
constexpr int kMaxScans = 500;

struct JpegErrors {
  jpeg_error_mgr manager;  // first member: libjpeg's err pointer is cast to this type
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char warning[JMSG_LENGTH_MAX];
  int code;
  long warnings;
};

void on_jpeg_error(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  errors->code = info->err->msg_code;
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void on_jpeg_message(j_common_ptr info, int level) {
  if (level >= 0) return;  // trace messages
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  if (errors->warnings++ == 0) (*info->err->format_message)(info, errors->warning);
}

void on_jpeg_progress(j_common_ptr info) {
  if (info->is_decompressor) {
    auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
    if (decompress->input_scan_number > kMaxScans) {
      auto* errors = reinterpret_cast<JpegErrors*>(info->err);
      std::snprintf(errors->message, sizeof errors->message, "more than %d scans", kMaxScans);
      errors->code = -1;
      std::longjmp(errors->jump, 1);
    }
  }
}

struct JpegLayout {
  JDIMENSION width = 0, height = 0;
  int components = 0;  // output components: 1 or 3
  bool unsupported_colour = false;
};

bool read_jpeg_header(jpeg_decompress_struct* info, JpegErrors* errors, const unsigned char* data, unsigned long size,
                      jpeg_progress_mgr* progress, JpegLayout* layout) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(info);
  info->progress = progress;
  jpeg_mem_src(info, data, size);
  jpeg_read_header(info, TRUE);
  switch (info->jpeg_color_space) {
    case JCS_GRAYSCALE: info->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: info->out_color_space = JCS_RGB; break;
    default: layout->unsupported_colour = true; return true;
  }
  jpeg_calc_output_dimensions(info);
  layout->width = info->output_width;
  layout->height = info->output_height;
  layout->components = info->output_components;
  return true;
}

bool read_jpeg_pixels(jpeg_decompress_struct* info, JpegErrors* errors, unsigned char* buffer, std::size_t row_bytes) {
  if (setjmp(errors->jump)) return false;
  jpeg_start_decompress(info);
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = buffer + static_cast<std::size_t>(info->output_scanline) * row_bytes;
    jpeg_read_scanlines(info, &row, 1);
  }
  jpeg_finish_decompress(info);
  return true;
}

struct DecompressGuard {
  jpeg_decompress_struct* info;
  ~DecompressGuard() { jpeg_destroy_decompress(info); }
};

Error jpeg_failure(const JpegErrors& errors) {
  const bool unsupported = errors.code == JERR_BAD_PRECISION || errors.code == JERR_SOF_UNSUPPORTED ||
                           errors.code == JERR_NOT_COMPILED || errors.code == JERR_ARITH_NOTIMPL;
  return Error{unsupported ? ErrorCode::image_unsupported_encoding : ErrorCode::image_decode_failed,
               fmt::format("JPEG: {}", errors.message)};
}

}  // namespace

Result<Image> decode_jpeg(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  if (bytes.size() < 3 || bytes[0] != std::byte{0xFF} || bytes[1] != std::byte{0xD8} || bytes[2] != std::byte{0xFF}) {
    return fail(ErrorCode::image_decode_failed, "JPEG: no start-of-image marker");
  }
  jpeg_decompress_struct info{};
  JpegErrors errors{};
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = on_jpeg_error;
  errors.manager.emit_message = on_jpeg_message;
  jpeg_progress_mgr progress{};
  progress.progress_monitor = on_jpeg_progress;
  DecompressGuard guard{&info};  // jpeg_destroy_decompress is a no-op on a zeroed struct

  JpegLayout layout;
  if (!read_jpeg_header(&info, &errors, reinterpret_cast<const unsigned char*>(bytes.data()),
                        static_cast<unsigned long>(bytes.size()), &progress, &layout)) {
    return std::unexpected(jpeg_failure(errors));
  }
  if (layout.unsupported_colour) {
    return fail(ErrorCode::image_unsupported_encoding, "JPEG: CMYK/YCCK colour is not supported");
  }
  const std::int64_t voxels = static_cast<std::int64_t>(layout.width) * layout.height * layout.components;
  if (voxels > limits.max_voxels) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("JPEG: the image has {} voxels, more than the limit of {}", voxels, limits.max_voxels));
  }
  const std::size_t row_bytes = static_cast<std::size_t>(layout.width) * static_cast<std::size_t>(layout.components);
  std::vector<unsigned char> buffer(row_bytes * layout.height);
  if (!read_jpeg_pixels(&info, &errors, buffer.data(), row_bytes)) return std::unexpected(jpeg_failure(errors));
  if (errors.warnings > 0) {
    return fail(ErrorCode::image_decode_failed, fmt::format("JPEG: corrupt or truncated data ({})", errors.warning));
  }

  Image image;
  image.source_format = "jpeg";
  image.height = layout.height;
  image.width = layout.width;
  image.channels = layout.components;
  image.bits_stored = 8;
  image.voxels.assign(buffer.begin(), buffer.end());
  return image;
}

}  // namespace cloister::imaging
