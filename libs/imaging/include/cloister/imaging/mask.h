#pragma once
// Segmentation outputs: label masks from score tensors, resized back onto the source image, and
// serialized as PNG (one slice) or run-length JSON (the whole volume).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"

namespace cloister::imaging {

// A label mask (uint8 label per voxel) [depth][height][width].
struct Mask {
  std::int64_t depth = 1, height = 0, width = 0;
  std::vector<std::uint8_t> labels;

  std::int64_t voxel_count() const { return depth * height * width; }
  std::uint8_t at(std::int64_t z, std::int64_t y, std::int64_t x) const {
    return labels[static_cast<std::size_t>((z * height + y) * width + x)];
  }
};

// From a segmentation output [N, K, H, W] or [1, K, D, H, W] (float32 scores or logits, K labels incl.
// background 0): argmax over K per voxel (ties → lower label); K == 1: logits thresholded at 0
// (sigmoid > 0.5) → labels 0/1. [N, K, H, W] gives depth N. invalid_argument for another rank or
// data type, N != 1 in the 5-D form, K outside 1..256.
Result<Mask> argmax_mask(const engine::Tensor& scores);
// Nearest-neighbour resize of a mask back to the source image's size (so it overlays the DICOM pixels);
// pixel-centre mapping as make_input's nearest. A non-positive size gives an empty mask.
Mask resize_nearest(const Mask& mask, std::int64_t depth, std::int64_t height, std::int64_t width);
// 8-bit grayscale PNG of one slice of the mask (values = label indices), via libpng, deterministic bytes.
// invalid_argument for an empty mask or a slice out of range.
Result<std::string> encode_png(const Mask& mask, std::int64_t slice = 0);
// Run-length encoding of the whole mask in row-major order: {"encoding":"rle","shape":[D,H,W],
// "runs":[[label,length],...]} (consecutive equal labels merged); decode_rle inverts it (bounded: refuses
// a total length other than D*H*W, a label outside 0..255, a run of length < 1, a shape over
// max_voxels: invalid_argument).
nlohmann::json encode_rle(const Mask& mask);
Result<Mask> decode_rle(const nlohmann::json& rle, std::int64_t max_voxels = 512LL * 1024 * 1024 / 4);
// Voxel count per label (index = label; size = highest label + 1, empty for an empty mask).
std::vector<std::int64_t> label_counts(const Mask& mask);

}  // namespace cloister::imaging
