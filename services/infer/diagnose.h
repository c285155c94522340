#pragma once
// POST /v1/models/{name}/diagnose (docs/infer.md §2): one DICOM object, a DICOM series (multipart),
// or a PNG/JPEG image in; findings out. The body is already opened (sealed_http.h); nothing of it is
// logged or written anywhere, and the decoded pixels and tensors are wiped when the call ends.

#include "model_registry.h"

#include "cloister/core/error.h"
#include "cloister/imaging/upload.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::infer {

// Decodes the body (by its content type: application/dicom, image/png, image/jpeg, multipart/*,
// or application/octet-stream sniffed), preprocesses as the manifest says, runs the model through
// its batcher (until `deadline`) and turns the scores into findings.
Result<nlohmann::json> diagnose(const LoadedModel& model, std::string_view content_type, std::string_view body,
                                std::chrono::steady_clock::time_point deadline);

}  // namespace cloister::infer
