#pragma once
// Preprocessing: an Image → the float32 input tensor a model declares in its manifest.

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"
#include "cloister/imaging/image.h"

namespace cloister::imaging {

// How a model wants its input (the "preprocessing" object of a model manifest, docs/infer.md):
// {"intensity": "minmax" | "file_window" | {"window_center": 40, "window_width": 400},
//  "invert_monochrome1": true, "interpolation": "linear" | "nearest",
//  "normalize": {"mean": [0.5], "std": [0.25]}}          (all members optional)
struct Preprocessing {
  enum class Intensity { minmax, file_window, fixed_window };
  Intensity intensity = Intensity::minmax;
  double window_center = 0, window_width = 0;   // fixed_window
  bool invert_monochrome1 = true;
  bool linear = true;                            // false: nearest
  std::vector<float> mean, std;                  // empty: none; one value or one per channel
};

// model_manifest_invalid with the member named ("preprocessing.intensity: ..."). null gives the
// defaults; unknown members are refused (a typo must not silently change a model's input).
// window_width must be >= 1 (DICOM), std values non-zero, all numbers finite.
Result<Preprocessing> preprocessing_from_json(const nlohmann::json& json);
nlohmann::json to_json(const Preprocessing& p);

// Makes the model input from an image, for an input of shape [N, C, H, W] (2D model) or [N, C, D, H, W] (3D model),
// dims from `input_shape` (N is ignored/dynamic, others must be > 0).
//  1. intensity to [0,1]: minmax over the image (constant image → 0); file_window: the file's window
//     (DICOM linear VOI: clamp((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)), falling back to minmax when the file has none;
//     fixed_window: the same with the given c/w. PNG/JPEG hold display values, not modality units: for
//     them both windows become v / (2^bits - 1). MONOCHROME1 inverted (1 - x) when invert_monochrome1.
//  2. channels: C == channels as is; 1 → C replicates; 3 → 1 uses luminance 0.299R+0.587G+0.114B; else invalid_argument.
//  3. resize to H×W (2D: each frame separately) or D×H×W (3D: trilinear / nearest) — align_corners=false
//     semantics (pixel centres), like torch.nn.functional.interpolate(mode="bilinear", align_corners=False);
//     nearest picks the source voxel whose centre is nearest (torch's mode="nearest-exact").
//  4. normalize: (x - mean[c]) / std[c].
// 2D model: result has N = image.depth (one batch item per frame/slice). 3D model: N = 1.
// invalid_argument for a malformed image, a bad shape, or mean/std not matching C.
Result<engine::Tensor> make_input(const Image& image, const Preprocessing& p, std::span<const std::int64_t> input_shape);

}  // namespace cloister::imaging
