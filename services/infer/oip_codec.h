#pragma once
// The Open Inference Protocol v2 (KServe / Triton) REST tensor codec, with Triton's binary tensor
// data extension:
//   https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
//   https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
//
// With `Inference-Header-Content-Length: <n>` a body is n bytes of JSON followed by the raw tensor
// bytes (row-major, little-endian, BOOL one byte 0/1) of every input whose "parameters" carry
// "binary_data_size", in the order those inputs appear in the JSON. Responses do likewise for outputs
// requested with "parameters": {"binary_data": true} (or all outputs with the request parameter
// "binary_data_output": true).
//
// JSON "data" is flat or nested (regular, depth = rank) row-major arrays. Floats are written in the
// shortest form that reads back to the same value; NaN and ±Inf have no JSON form and are written as
// null (request binary data to get them exactly). "BYTES" (string tensors) is not supported.
// Parsing streams "data" arrays straight into typed buffers (no JSON tree of them; std::from_chars);
// the rest of the request becomes a small nlohmann::json tree.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "cloister/engine/tensor.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::infer {

// The header that splits a binary-extension body into its JSON part and its tensor bytes.
inline constexpr std::string_view kInferenceHeaderContentLength = "Inference-Header-Content-Length";

// "FP32", "INT64", "BOOL", "UINT8", "FP16", "BF16", ...
std::string_view oip_datatype(engine::DataType type);
// invalid_argument for unknown names and for "BYTES" (unsupported).
Result<engine::DataType> datatype_from_oip(std::string_view name);

struct InferRequest {
  std::string id;                                // echoed back
  std::vector<engine::NamedTensor> inputs;       // in the model's input order
  std::vector<std::string> requested_outputs;    // in the request's order; empty: all
  bool binary_outputs = false;                   // every output as binary data
  std::vector<std::string> binary_output_names;  // outputs requested as binary individually
};

// Parses and validates a request body against the model's inputs and outputs. `json_header_length`
// is the Inference-Header-Content-Length value (nullopt: the whole body is JSON). `max_elements`
// bounds every tensor's element count before anything is allocated for it.
// Errors: invalid_json (malformed JSON, a required member missing or of the wrong JSON type, a
// duplicate member, nesting deeper than 64, a number beyond double outside "data");
// bad_request (header length 0 or past the body, binary sizes not exactly covering the bytes after
// the JSON, binary_data_size without the header); payload_too_large (a declared shape or a "data"
// array over max_elements); invalid_argument (unknown/missing/duplicate input or output, datatype or
// shape not the model's, dynamic dimension < 1, data count or nesting wrong, a value out of range
// for its type, binary_data_size not shape × type size, BOOL bytes other than 0/1); unavailable when
// memory runs out. Never throws on input. Request buffers the codec fills are wiped when released.
Result<InferRequest> parse_infer_request(std::string_view body, std::optional<std::size_t> json_header_length,
                                         std::span<const engine::TensorInfo> model_inputs,
                                         std::span<const engine::TensorInfo> model_outputs,
                                         std::size_t max_elements);

struct EncodedResponse {
  std::string body;
  std::optional<std::size_t> json_header_length;  // set when binary data follows (send Inference-Header-Content-Length)
};

// {"model_name","model_version","id","outputs":[{"name","datatype","shape","data"|"parameters":{"binary_data_size"}}]}
// Outputs in the order of request.requested_outputs (all of `outputs` when empty); "model_version"
// and "id" are left out when empty. NaN/±Inf become null in JSON data. Errors: internal when a
// requested output is not among `outputs`.
Result<EncodedResponse> encode_infer_response(std::string_view model_name, std::string_view model_version,
                                              const InferRequest& request,
                                              std::span<const engine::NamedTensor> outputs);

// Model metadata: {"name","versions":[...],"platform":"cloister-onnx","inputs":[{"name","datatype","shape"}],
// "outputs":[...]} (dynamic dimensions as -1).
nlohmann::json model_metadata(std::string_view name, std::span<const std::string> versions,
                              std::span<const engine::TensorInfo> inputs, std::span<const engine::TensorInfo> outputs);

}  // namespace cloister::infer
