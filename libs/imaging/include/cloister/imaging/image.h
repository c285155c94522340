#pragma once
// Medical images as model input: DICOM (through DCMTK), PNG and JPEG decoded from memory into one
// float voxel buffer in modality units. Nothing is ever written to disk (the bytes may carry PHI),
// and no error detail ever carries patient data (tags and transfer syntaxes only).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cloister/core/error.h"

namespace cloister::imaging {

// A decoded image or volume in modality units: for DICOM, stored values × RescaleSlope + RescaleIntercept
// (Modality LUT); for PNG/JPEG the raw sample values. Voxels row-major [depth][height][width][channels].
struct Image {
  std::int64_t depth = 1;    // frames of a multi-frame object, or slices of a series (sorted)
  std::int64_t height = 0, width = 0;
  std::int64_t channels = 1; // 1 (MONOCHROME1/2, grayscale PNG/JPEG) or 3 (RGB; YBR converted to RGB)
  std::vector<float> voxels;
  double row_spacing_mm = 0, column_spacing_mm = 0, slice_spacing_mm = 0;  // 0 when unknown
  std::string modality;        // DICOM Modality ("CT", "MR", ...), "" for PNG/JPEG
  std::string source_format;   // "dicom", "png", "jpeg"
  std::string transfer_syntax; // DICOM transfer syntax UID ("" otherwise)
  // DICOM identity (of the first object of a series; "" when absent or not DICOM): identifiers, so PHI
  // for Cloister — kept encrypted wherever they are stored.
  std::string study_instance_uid, series_instance_uid, sop_class_uid;
  std::optional<double> window_center, window_width;  // the first VOI window the file holds
  int bits_stored = 8;         // PNG/JPEG: 8 or 16; DICOM: BitsStored
  bool monochrome1 = false;    // MONOCHROME1 (inverted) — values already as stored; preprocessing inverts

  std::int64_t voxel_count() const { return depth * height * width * channels; }
  // The voxel at (z, y, x, c); no bounds check.
  float at(std::int64_t z, std::int64_t y, std::int64_t x, std::int64_t c = 0) const {
    return voxels[static_cast<std::size_t>(((z * height + y) * width + x) * channels + c)];
  }
};

// Resource bounds for untrusted input. An image (or series) with more voxels (frames × rows × columns ×
// samples) than max_voxels is refused with invalid_argument before its pixel data is decompressed.
struct DecodeLimits {
  std::int64_t max_voxels = 512LL * 1024 * 1024 / 4;
};

// Sniffs the bytes: "DICM" at offset 128 (or a DICOM without preamble that DCMTK reads), PNG signature,
// JPEG SOI (FF D8 FF). unsupported_media_type when it is none of them.
Result<Image> decode(std::span<const std::byte> bytes, const DecodeLimits& limits = {});
// One DICOM object; a multi-frame object gives depth = frames.
//  image_decode_failed: truncated or malformed (the detail names the element, e.g.
//    "DICOM: truncated at element (7FE0,0010)");
//  image_unsupported_encoding: a transfer syntax (JPEG 2000, ...) or photometric interpretation this
//    build cannot decode (the detail names it);
//  image_no_pixel_data: an object without an image (SR, RT plan, waveform, ...);
//  invalid_argument: more voxels than limits.max_voxels.
Result<Image> decode_dicom(std::span<const std::byte> bytes, const DecodeLimits& limits = {});
// The single-frame objects of one series as one volume: sorted by ImagePositionPatient projected on
// the normal of ImageOrientationPatient, ascending (fallback InstanceNumber, then the given order);
// slice_spacing_mm is the median gap between positions. image_series_inconsistent when the objects
// differ in rows/columns/samples/photometric interpretation/orientation, share a position (or
// Instance Number), are multi-frame, or are unevenly spaced (a gap more than 10% off the median:
// a missing slice would silently distort a volume). Other attributes (modality, window, spacing
// in-plane) come from the first slice. One object (single- or multi-frame) is returned as
// decode_dicom returns it; the error of a failing object names its index.
Result<Image> decode_dicom_series(std::span<const std::span<const std::byte>> objects,
                                  const DecodeLimits& limits = {});
// PNG: gray (1-16 bit), gray+alpha, RGB, RGBA, palette; alpha is dropped, palette expanded to RGB,
// 1/2/4-bit gray expanded to 8 bit; 16-bit samples kept (bits_stored 16). No gamma conversion.
Result<Image> decode_png(std::span<const std::byte> bytes, const DecodeLimits& limits = {});
// Baseline/progressive 8-bit JPEG (libjpeg-turbo): grayscale or RGB (YCbCr converted). CMYK/YCCK and
// 12-bit JPEG are image_unsupported_encoding; corrupt or truncated data (any libjpeg warning) fails.
Result<Image> decode_jpeg(std::span<const std::byte> bytes, const DecodeLimits& limits = {});

// Encodes one slice of an image as a PNG (deterministic bytes): 1 channel → gray, 3 → RGB; 8-bit when
// bits_stored <= 8, else 16-bit; values rounded and clamped to the sample range. For tests and
// previews. invalid_argument for an empty image, another channel count or a slice out of range.
Result<std::string> encode_png_image(const Image& image, std::int64_t slice = 0);

}  // namespace cloister::imaging
