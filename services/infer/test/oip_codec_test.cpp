#include "oip_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cloister::infer {
namespace {

using engine::DataType;
using engine::NamedTensor;
using engine::Tensor;
using engine::TensorInfo;
using json = nlohmann::json;

constexpr std::size_t kMaxElements = std::size_t{1} << 20;

const DataType kAllTypes[] = {DataType::float32, DataType::float64, DataType::float16, DataType::bfloat16,
                              DataType::int8,    DataType::uint8,   DataType::int16,   DataType::uint16,
                              DataType::int32,   DataType::uint32,  DataType::int64,   DataType::uint64,
                              DataType::boolean};

TensorInfo info(std::string name, DataType type, engine::Shape shape) {
  return TensorInfo{std::move(name), type, std::move(shape), {}};
}

Result<InferRequest> parse(std::string_view body, const std::vector<TensorInfo>& inputs,
                           const std::vector<TensorInfo>& outputs = {},
                           std::optional<std::size_t> header = std::nullopt, std::size_t max_elements = kMaxElements) {
  return parse_infer_request(body, header, inputs, outputs, max_elements);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
         std::memcmp(a.bytes(), b.bytes(), a.byte_size()) == 0;
}

template <class T>
Tensor tensor_of(engine::Shape shape, std::vector<T> values) {
  return Tensor::from_values<T>(std::move(shape), std::span<const T>(values));
}

Tensor raw16(DataType type, engine::Shape shape, std::vector<std::uint16_t> bits) {
  return Tensor::from_bytes(type, std::move(shape), std::as_bytes(std::span<const std::uint16_t>(bits)));
}

// Eight representative values of each type, extremes included.
Tensor sample(DataType type) {
  const engine::Shape shape = {2, 4};
  switch (type) {
    case DataType::float32:
      return tensor_of<float>(shape, {0.1f, -0.0f, std::numeric_limits<float>::max(), std::numeric_limits<float>::min(),
                                      std::numeric_limits<float>::denorm_min(), -123.456f, 1e-7f, 16777216.0f});
    case DataType::float64:
      return tensor_of<double>(shape, {0.1, -0.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                                       std::numeric_limits<double>::denorm_min(), -1e300, 1.0 / 3, 9007199254740993.0});
    case DataType::float16:
      return raw16(type, shape, {0x3c00, 0x7bff, 0x0001, 0x8000, 0x3555, 0xfbff, 0x0400, 0x1234});
    case DataType::bfloat16:
      return raw16(type, shape, {0x3f80, 0x7f7f, 0x0001, 0x8000, 0x4049, 0xff7f, 0x0080, 0x1234});
    case DataType::int8: return tensor_of<std::int8_t>(shape, {-128, 127, 0, -1, 1, 5, -5, 100});
    case DataType::uint8: return tensor_of<std::uint8_t>(shape, {0, 255, 1, 128, 7, 8, 9, 10});
    case DataType::int16: return tensor_of<std::int16_t>(shape, {-32768, 32767, 0, -1, 1, 300, -300, 12345});
    case DataType::uint16: return tensor_of<std::uint16_t>(shape, {0, 65535, 1, 256, 7, 8, 9, 10});
    case DataType::int32:
      return tensor_of<std::int32_t>(shape, {INT32_MIN, INT32_MAX, 0, -1, 1, 70000, -70000, 123456789});
    case DataType::uint32: return tensor_of<std::uint32_t>(shape, {0, UINT32_MAX, 1, 65536, 7, 8, 9, 10});
    case DataType::int64:
      return tensor_of<std::int64_t>(shape, {INT64_MIN, INT64_MAX, 0, -1, 1, 1LL << 53, -(1LL << 53) - 1, 42});
    case DataType::uint64: return tensor_of<std::uint64_t>(shape, {0, UINT64_MAX, 1, 1ULL << 63, 7, 8, 9, 10});
    case DataType::boolean: {
      const std::uint8_t bits[] = {1, 0, 0, 1, 1, 1, 0, 0};
      return Tensor::from_bytes(type, shape, std::as_bytes(std::span<const std::uint8_t>(bits)));
    }
  }
  return {};
}

// A response of model "m" (no version, no id) turned into a request for a model whose inputs are the
// response's outputs: the output objects have exactly the shape of request inputs.
struct RequestBody {
  std::string body;
  std::optional<std::size_t> header;
};
RequestBody as_request(const EncodedResponse& response) {
  const std::string prefix = R"({"model_name":"m","outputs":)";
  const std::string replacement = R"({"inputs":)";
  EXPECT_EQ(response.body.rfind(prefix, 0), 0u) << response.body.substr(0, 80);
  RequestBody request{replacement + response.body.substr(prefix.size()), std::nullopt};
  if (response.json_header_length) request.header = *response.json_header_length - prefix.size() + replacement.size();
  return request;
}

EncodedResponse encode(const std::vector<NamedTensor>& outputs, bool binary = false) {
  InferRequest request;
  request.binary_outputs = binary;
  auto encoded = encode_infer_response("m", "", request, outputs);
  EXPECT_TRUE(encoded.has_value());
  return encoded ? std::move(*encoded) : EncodedResponse{};
}

void expect_error(const Result<InferRequest>& result, ErrorCode code, std::string_view mention = {}) {
  ASSERT_FALSE(result.has_value()) << "expected " << error_name(code);
  EXPECT_EQ(result.error().code, code) << result.error().to_string();
  if (!mention.empty()) {
    EXPECT_NE(result.error().detail.find(mention), std::string::npos) << result.error().to_string();
  }
}

// ---- datatypes ----

TEST(OipCodecTest, DatatypeNamesRoundTrip) {
  for (DataType type : kAllTypes) {
    auto back = datatype_from_oip(oip_datatype(type));
    ASSERT_TRUE(back.has_value()) << oip_datatype(type);
    EXPECT_EQ(*back, type);
  }
  EXPECT_EQ(oip_datatype(DataType::float32), "FP32");
  EXPECT_EQ(oip_datatype(DataType::boolean), "BOOL");
  EXPECT_EQ(oip_datatype(DataType::float16), "FP16");
  auto unknown = datatype_from_oip("FP8");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::invalid_argument);
  auto bytes = datatype_from_oip("BYTES");
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(bytes.error().detail.find("BYTES"), std::string::npos);
}

TEST(OipCodecTest, EveryDatatypeRoundTripsAsJsonAndAsBinary) {
  for (DataType type : kAllTypes) {
    SCOPED_TRACE(std::string(oip_datatype(type)));
    const Tensor original = sample(type);
    const std::vector<TensorInfo> model = {info("x", type, {-1, 4})};
    std::vector<NamedTensor> outputs;
    outputs.push_back({"x", original});
    for (bool binary : {false, true}) {
      const EncodedResponse response = encode(outputs, binary);
      EXPECT_EQ(response.json_header_length.has_value(), binary);
      const RequestBody request = as_request(response);
      auto parsed = parse(request.body, model, {}, request.header);
      ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string() << "\n" << request.body.substr(0, 400);
      ASSERT_EQ(parsed->inputs.size(), 1u);
      EXPECT_EQ(parsed->inputs[0].name, "x");
      EXPECT_TRUE(same_bytes(parsed->inputs[0].tensor, original)) << (binary ? "binary" : "JSON");
    }
  }
}

TEST(OipCodecTest, RandomFloat32BitPatternsRoundTripThroughJson) {
  std::mt19937 random(20240611);
  std::vector<float> values;
  values.reserve(200000);
  while (values.size() < 200000) {
    const float value = std::bit_cast<float>(static_cast<std::uint32_t>(random()));
    if (std::isfinite(value)) values.push_back(value);
  }
  const auto count = static_cast<std::int64_t>(values.size());
  std::vector<NamedTensor> outputs;
  outputs.push_back({"x", tensor_of<float>({count}, values)});
  const RequestBody request = as_request(encode(outputs));
  auto parsed = parse(request.body, {info("x", DataType::float32, {-1})});
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const auto back = parsed->inputs[0].tensor.values<float>();
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    mismatches += std::bit_cast<std::uint32_t>(back[i]) != std::bit_cast<std::uint32_t>(values[i]);
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(OipCodecTest, EveryFiniteFloat16RoundTripsThroughJsonAndNanInfBecomeNull) {
  std::vector<std::uint16_t> finite;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7c00u) != 0x7c00u) finite.push_back(static_cast<std::uint16_t>(bits));
  }
  const auto count = static_cast<std::int64_t>(finite.size());
  std::vector<NamedTensor> outputs;
  outputs.push_back({"x", raw16(DataType::float16, {count}, finite)});
  const RequestBody request = as_request(encode(outputs));
  auto parsed = parse(request.body, {info("x", DataType::float16, {-1})});
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_TRUE(same_bytes(parsed->inputs[0].tensor, outputs[0].tensor));

  std::vector<NamedTensor> special;
  special.push_back({"f", tensor_of<float>({3}, {std::numeric_limits<float>::quiet_NaN(),
                                                 std::numeric_limits<float>::infinity(), 1.5f})});
  special.push_back({"h", raw16(DataType::float16, {2}, {0x7e00, 0xfc00})});
  const EncodedResponse json_response = encode(special);
  const json document = json::parse(json_response.body);
  EXPECT_EQ(document["outputs"][0]["data"], json::parse("[null,null,1.5]"));
  EXPECT_EQ(document["outputs"][1]["data"], json::parse("[null,null]"));
  // Binary keeps them exactly.
  const EncodedResponse binary_response = encode(special, true);
  const RequestBody request2 = as_request(binary_response);
  auto parsed2 = parse(request2.body, {info("f", DataType::float32, {3}), info("h", DataType::float16, {2})}, {},
                       request2.header);
  ASSERT_TRUE(parsed2.has_value()) << parsed2.error().to_string();
  EXPECT_TRUE(std::isnan(parsed2->inputs[0].tensor.values<float>()[0]));
  EXPECT_TRUE(same_bytes(parsed2->inputs[1].tensor, special[1].tensor));
}

// ---- JSON data layout ----

TEST(OipCodecTest, NestedAndFlatDataAreTheSame) {
  const std::vector<TensorInfo> model = {info("x", DataType::int32, {2, 3})};
  auto flat = parse(R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2,3],"data":[1,2,3,4,5,6]}]})", model);
  auto nested = parse(R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2,3],"data":[[1,2,3],[4,5,6]]}]})", model);
  // Members in another order: "data" before "datatype" and "shape".
  auto data_first = parse(R"({"inputs":[{"data":[[1,2,3],[4,5,6]],"name":"x","shape":[2,3],"datatype":"INT32"}]})", model);
  ASSERT_TRUE(flat && nested && data_first);
  EXPECT_TRUE(same_bytes(flat->inputs[0].tensor, tensor_of<std::int32_t>({2, 3}, {1, 2, 3, 4, 5, 6})));
  EXPECT_TRUE(same_bytes(flat->inputs[0].tensor, nested->inputs[0].tensor));
  EXPECT_TRUE(same_bytes(flat->inputs[0].tensor, data_first->inputs[0].tensor));

  const std::vector<TensorInfo> cube = {info("c", DataType::float32, {2, 2, 2})};
  auto deep = parse(R"({"inputs":[{"name":"c","datatype":"FP32","shape":[2,2,2],"data":[[[1,2],[3,4]],[[5,6],[7,8.5]]]}]})",
                    cube);
  ASSERT_TRUE(deep.has_value()) << deep.error().to_string();
  EXPECT_EQ(deep->inputs[0].tensor.values<float>()[7], 8.5f);
}

TEST(OipCodecTest, IrregularOrMisshapenDataIsRefused) {
  const std::vector<TensorInfo> model = {info("x", DataType::int32, {2, 3})};
  const auto with = [&](std::string data) {
    return parse(R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2,3],"data":)" + data + "}]}", model);
  };
  const auto data_first = [&](std::string data) {
    return parse(R"({"inputs":[{"data":)" + data + R"(,"name":"x","datatype":"INT32","shape":[2,3]}]})", model);
  };
  for (const char* data : {"[[1,2,3],[4,5]]", "[[1,2],[3,4],[5,6]]", "[[1,2,3,4,5,6]]", "[[1,2,3],4,5,6]",
                           "[1,2,3,[4,5,6]]", "[1,2,3,4,5]", "[1,2,3,4,5,6,7]", "[[[1,2,3]],[[4,5,6]]]", "[]",
                           "[[1,2,3],[]]"}) {
    SCOPED_TRACE(data);
    expect_error(with(data), ErrorCode::invalid_argument, "'x'");
    expect_error(data_first(data), ErrorCode::invalid_argument);
  }
}

// ---- refusals ----

struct Refusal {
  const char* body;
  ErrorCode code;
  const char* mention;
};

TEST(OipCodecTest, EveryRefusalHasItsCode) {
  const std::vector<TensorInfo> model = {info("image", DataType::float32, {-1, 3}), info("flag", DataType::boolean, {1}),
                                         info("level", DataType::uint8, {1})};
  const std::vector<TensorInfo> outputs = {info("probabilities", DataType::float32, {-1, 2})};
  const std::string flag = R"({"name":"flag","datatype":"BOOL","shape":[1],"data":[true]})";
  const std::string level = R"({"name":"level","datatype":"UINT8","shape":[1],"data":[7]})";
  const std::string others = "," + flag + "," + level;
  const auto image = [&](const std::string& rest) { return R"({"inputs":[{"name":"image",)" + rest + "}" + others + "]}"; };

  // The valid request first, to show the refusals below are each caused by one change.
  auto valid = parse(image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])"), model, outputs);
  ASSERT_TRUE(valid.has_value()) << valid.error().to_string();
  ASSERT_EQ(valid->inputs.size(), 3u);
  EXPECT_EQ(valid->inputs[0].name, "image");
  EXPECT_EQ(valid->inputs[1].name, "flag");
  EXPECT_EQ(valid->inputs[2].name, "level");

  const std::vector<std::pair<std::string, Refusal>> cases = {
      {R"({"inputs":[)" + flag + "," + level + "]}", {"", ErrorCode::invalid_argument, "'image' is missing"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3]}, {"name":"extra","datatype":"FP32","shape":[1],"data":[1])"),
       {"", ErrorCode::invalid_argument, "'extra'"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3]}, {"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3])"),
       {"", ErrorCode::invalid_argument, "more than once"}},
      {image(R"("datatype":"FP64","shape":[1,3],"data":[1,2,3])"), {"", ErrorCode::invalid_argument, "FP64"}},
      {image(R"("datatype":"FP99","shape":[1,3],"data":[1,2,3])"), {"", ErrorCode::invalid_argument, "FP99"}},
      {image(R"("datatype":"BYTES","shape":[1,3],"data":["a","b","c"])"), {"", ErrorCode::invalid_argument, "BYTES"}},
      {image(R"("datatype":"FP32","shape":[3],"data":[1,2,3])"), {"", ErrorCode::invalid_argument, "[3]"}},
      {image(R"("datatype":"FP32","shape":[1,4],"data":[1,2,3,4])"), {"", ErrorCode::invalid_argument, "[1,4]"}},
      {image(R"("datatype":"FP32","shape":[0,3],"data":[])"), {"", ErrorCode::invalid_argument, "[0,3]"}},
      {image(R"("datatype":"FP32","shape":[-2,3],"data":[1,2,3])"), {"", ErrorCode::invalid_argument, "'image'"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2])"), {"", ErrorCode::invalid_argument, "'image'"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,1e39])"), {"", ErrorCode::invalid_argument, "out of range"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,true])"), {"", ErrorCode::invalid_argument, "numbers"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,null])"), {"", ErrorCode::invalid_argument, "null"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,"3"])"), {"", ErrorCode::invalid_argument, "strings"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,{}])"), {"", ErrorCode::invalid_argument, "objects"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":5)"), {"", ErrorCode::invalid_json, "must be an array"}},
      {image(R"("datatype":"FP32","shape":[1,3])"), {"", ErrorCode::invalid_argument, "no \"data\""}},
      {image(R"("datatype":"FP32","shape":"1,3","data":[1,2,3])"), {"", ErrorCode::invalid_json, "shape"}},
      {image(R"("datatype":"FP32","shape":[1.0,3],"data":[1,2,3])"), {"", ErrorCode::invalid_json, "shape"}},
      {image(R"("datatype":"FP32","data":[1,2,3])"), {"", ErrorCode::invalid_json, "shape"}},
      {image(R"("shape":[1,3],"data":[1,2,3])"), {"", ErrorCode::invalid_json, "datatype"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3],"data":[1,2,3])"), {"", ErrorCode::invalid_json, "data"}},
      {image(R"("datatype":"FP32","shape":[1,3],"shape":[1,3],"data":[1,2,3])"), {"", ErrorCode::invalid_json, "shape"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3],"parameters":[])"), {"", ErrorCode::invalid_json, "parameters"}},
      {R"({"inputs":[{"datatype":"FP32","shape":[1,3],"data":[1,2,3]})" + others + "]}",
       {"", ErrorCode::invalid_json, "name"}},
      {R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3]},{"name":"flag","datatype":"BOOL","shape":[1],"data":[1]},)" +
           level + "]}",
       {"", ErrorCode::invalid_argument, "true/false"}},
      {R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3]},)" + flag +
           R"(,{"name":"level","datatype":"UINT8","shape":[1],"data":[256]}]})",
       {"", ErrorCode::invalid_argument, "out of range for UINT8"}},
      {R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3]},)" + flag +
           R"(,{"name":"level","datatype":"UINT8","shape":[1],"data":[-1]}]})",
       {"", ErrorCode::invalid_argument, "out of range for UINT8"}},
      {R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3]},)" + flag +
           R"(,{"name":"level","datatype":"UINT8","shape":[1],"data":[1.5]}]})",
       {"", ErrorCode::invalid_argument, "integers"}},
      // The same refusal when "data" comes before "datatype" (values converted after parsing).
      {R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1,3],"data":[1,2,3]},)" + flag +
           R"(,{"data":[300],"name":"level","datatype":"UINT8","shape":[1]}]})",
       {"", ErrorCode::invalid_argument, "out of range for UINT8"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])").replace(0, 1, R"({"id":5,)"),
       {"", ErrorCode::invalid_json, "id"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])").replace(0, 1, R"({"outputs":[{"name":"nope"}],)"),
       {"", ErrorCode::invalid_argument, "'nope'"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])")
           .replace(0, 1, R"({"outputs":[{"name":"probabilities"},{"name":"probabilities"}],)"),
       {"", ErrorCode::invalid_argument, "more than once"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])").replace(0, 1, R"({"outputs":{},)"),
       {"", ErrorCode::invalid_json, "outputs"}},
      {image(R"("datatype":"FP32","shape":[1,3],"data":[1,2,3])")
           .replace(0, 1, R"({"parameters":{"binary_data_output":"yes"},)"),
       {"", ErrorCode::invalid_json, "binary_data_output"}},
      {R"({"inputs":{}})", {"", ErrorCode::invalid_json, "inputs"}},
      {R"({"id":"x"})", {"", ErrorCode::invalid_json, "inputs"}},
      {R"([1,2,3])", {"", ErrorCode::invalid_json, "object"}},
      {R"("text")", {"", ErrorCode::invalid_json, "object"}},
      {"", {"", ErrorCode::invalid_json, ""}},
      {R"({"inputs":[)", {"", ErrorCode::invalid_json, ""}},
      {R"({"inputs":[]}} trailing)", {"", ErrorCode::invalid_json, ""}},
      {R"({"inputs":[],"inputs":[]})", {"", ErrorCode::invalid_json, "duplicate"}},
  };
  for (const auto& [body, refusal] : cases) {
    SCOPED_TRACE(body);
    expect_error(parse(body, model, outputs), refusal.code, refusal.mention);
  }
}

TEST(OipCodecTest, Float16AndBfloat16OutOfRangeAreRefused) {
  for (const char* type : {"FP16", "BF16"}) {
    SCOPED_TRACE(type);
    const DataType dtype = *datatype_from_oip(type);
    const std::vector<TensorInfo> model = {info("x", dtype, {1})};
    const std::string head = std::string(R"({"inputs":[{"name":"x","datatype":")") + type + R"(","shape":[1],"data":)";
    const char* too_big = dtype == DataType::float16 ? "[70000]" : "[3.4e38]";
    expect_error(parse(head + too_big + "}]}", model), ErrorCode::invalid_argument, "out of range");
    ASSERT_TRUE(parse(head + "[-2.5]}]}", model).has_value());
  }
}

TEST(OipCodecTest, HugeDeclaredShapesAreRefusedBeforeAllocation) {
  const std::vector<TensorInfo> model = {info("image", DataType::float32, {-1, 3, 224, 224})};
  // 10^9 × 150528 floats (~600 TB): refused by max_elements before any buffer exists.
  expect_error(parse(R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1000000000,3,224,224],"data":[1]}]})", model),
               ErrorCode::payload_too_large, "'image'");
  // The product overflows 64 bits.
  expect_error(parse(R"({"inputs":[{"name":"image","datatype":"FP32","shape":[9223372036854775807,3,224,224],"data":[1]}]})",
                     model),
               ErrorCode::payload_too_large);
  expect_error(parse(R"({"inputs":[{"name":"image","datatype":"FP32","shape":[18446744073709551615,3,224,224],"data":[1]}]})",
                     model),
               ErrorCode::invalid_argument);
  // Binary with a matching (huge) declared size: still refused by the shape, not by reading.
  const std::string binary_json =
      R"({"inputs":[{"name":"image","datatype":"FP32","shape":[1000000,3,224,224],"parameters":{"binary_data_size":602112000000}}]})";
  expect_error(parse(binary_json + "abcd", model, {}, binary_json.size()), ErrorCode::payload_too_large);
  // A "data" array longer than max_elements stops the parse at max_elements + 1 values.
  const std::vector<TensorInfo> vector_model = {info("v", DataType::float32, {-1})};
  std::string long_data = R"({"inputs":[{"name":"v","datatype":"FP32","shape":[2],"data":[)";
  for (int i = 0; i < 101; ++i) long_data += i ? ",1" : "1";
  long_data += "]}]}";
  expect_error(parse(long_data, vector_model, {}, std::nullopt, 100), ErrorCode::payload_too_large);
}

// ---- binary extension ----

TEST(OipCodecTest, BinaryRequestAndResponse) {
  const std::vector<TensorInfo> model = {info("image", DataType::float32, {-1, 2, 2}), info("meta", DataType::int64, {-1}),
                                         info("scale", DataType::float64, {1})};
  const std::vector<TensorInfo> outputs = {info("probabilities", DataType::float32, {-1, 3}),
                                           info("label", DataType::int64, {-1})};
  const Tensor image = tensor_of<float>({1, 2, 2}, {0.5f, -1.25f, 3.0f, 1e-3f});
  const Tensor meta = tensor_of<std::int64_t>({3}, {7, -8, 1LL << 40});
  // Binary inputs in JSON order: meta first, then image; scale as JSON.
  const std::string header = R"({"id":"req-1","inputs":[)"
                             R"({"name":"meta","datatype":"INT64","shape":[3],"parameters":{"binary_data_size":24}},)"
                             R"({"name":"scale","datatype":"FP64","shape":[1],"data":[0.25]},)"
                             R"({"name":"image","datatype":"FP32","shape":[1,2,2],"parameters":{"binary_data_size":16}}],)"
                             R"("outputs":[{"name":"label"},{"name":"probabilities","parameters":{"binary_data":true}}]})";
  std::string body = header;
  body.append(reinterpret_cast<const char*>(meta.bytes()), meta.byte_size());
  body.append(reinterpret_cast<const char*>(image.bytes()), image.byte_size());

  auto parsed = parse(body, model, outputs, header.size());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->id, "req-1");
  ASSERT_EQ(parsed->inputs.size(), 3u);  // model order
  EXPECT_EQ(parsed->inputs[0].name, "image");
  EXPECT_TRUE(same_bytes(parsed->inputs[0].tensor, image));
  EXPECT_TRUE(same_bytes(parsed->inputs[1].tensor, meta));
  EXPECT_EQ(parsed->inputs[2].tensor.values<double>()[0], 0.25);
  EXPECT_EQ(parsed->requested_outputs, (std::vector<std::string>{"label", "probabilities"}));
  EXPECT_EQ(parsed->binary_output_names, (std::vector<std::string>{"probabilities"}));
  EXPECT_FALSE(parsed->binary_outputs);

  // Framing errors.
  expect_error(parse(body, model, outputs, 0), ErrorCode::bad_request);
  expect_error(parse(body, model, outputs, body.size() + 1), ErrorCode::bad_request);
  expect_error(parse(body + "x", model, outputs, header.size()), ErrorCode::bad_request);
  expect_error(parse(body.substr(0, body.size() - 1), model, outputs, header.size()), ErrorCode::bad_request);
  expect_error(parse(header, model, outputs), ErrorCode::bad_request, "Inference-Header-Content-Length");
  std::string wrong_size = header;
  wrong_size.replace(wrong_size.find("24"), 2, "23");
  expect_error(parse(wrong_size + body.substr(header.size(), 23 + 16), model, outputs, wrong_size.size()),
               ErrorCode::invalid_argument, "binary_data_size");
  std::string both = header;
  both.replace(both.find(R"("parameters":{"binary_data_size":16})"), 0, R"("data":[1,2,3,4],)");
  expect_error(parse(both + body.substr(header.size()), model, outputs, both.size()), ErrorCode::invalid_argument,
               "both");

  // The response: "label" as JSON, "probabilities" as binary after the JSON.
  std::vector<NamedTensor> results;
  results.push_back({"probabilities", tensor_of<float>({1, 3}, {0.1f, 0.7f, 0.2f})});
  results.push_back({"label", tensor_of<std::int64_t>({1}, {1})});
  auto response = encode_infer_response("densenet", "3", *parsed, results);
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  ASSERT_TRUE(response->json_header_length.has_value());
  const std::size_t json_length = *response->json_header_length;
  ASSERT_EQ(response->body.size(), json_length + 12);
  const json document = json::parse(response->body.substr(0, json_length));
  EXPECT_EQ(document["model_name"], "densenet");
  EXPECT_EQ(document["model_version"], "3");
  EXPECT_EQ(document["id"], "req-1");
  ASSERT_EQ(document["outputs"].size(), 2u);
  EXPECT_EQ(document["outputs"][0]["name"], "label");
  EXPECT_EQ(document["outputs"][0]["datatype"], "INT64");
  EXPECT_EQ(document["outputs"][0]["shape"], json::parse("[1]"));
  EXPECT_EQ(document["outputs"][0]["data"], json::parse("[1]"));
  EXPECT_EQ(document["outputs"][1]["name"], "probabilities");
  EXPECT_EQ(document["outputs"][1]["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(document["outputs"][1].contains("data"));
  EXPECT_EQ(std::memcmp(response->body.data() + json_length, results[0].tensor.bytes(), 12), 0);

  // "binary_data_output": every output binary, in order.
  InferRequest all_binary;
  all_binary.binary_outputs = true;
  auto response2 = encode_infer_response("densenet", "3", all_binary, results);
  ASSERT_TRUE(response2 && response2->json_header_length);
  EXPECT_EQ(response2->body.size(), *response2->json_header_length + 12 + 8);
  EXPECT_EQ(std::memcmp(response2->body.data() + *response2->json_header_length + 12, results[1].tensor.bytes(), 8), 0);
  auto flagged = parse(R"({"parameters":{"binary_data_output":true},"inputs":[{"name":"v","datatype":"FP32","shape":[1],"data":[1]}]})",
                       {info("v", DataType::float32, {1})});
  ASSERT_TRUE(flagged.has_value());
  EXPECT_TRUE(flagged->binary_outputs);

  // BOOL binary bytes must be 0 or 1.
  const std::string bool_header =
      R"({"inputs":[{"name":"b","datatype":"BOOL","shape":[3],"parameters":{"binary_data_size":3}}]})";
  const std::vector<TensorInfo> bool_model = {info("b", DataType::boolean, {3})};
  ASSERT_TRUE(parse(bool_header + std::string("\x01\x00\x01", 3), bool_model, {}, bool_header.size()).has_value());
  expect_error(parse(bool_header + std::string("\x01\x02\x01", 3), bool_model, {}, bool_header.size()),
               ErrorCode::invalid_argument, "BOOL");
}

TEST(OipCodecTest, RequestedOutputsFilterAndOrderTheResponse) {
  const std::vector<TensorInfo> model = {info("x", DataType::float32, {1})};
  const std::vector<TensorInfo> outputs = {info("a", DataType::float32, {1}), info("b", DataType::int32, {1}),
                                           info("c", DataType::uint8, {1})};
  auto request = parse(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"c"},{"name":"a"}]})",
                       model, outputs);
  ASSERT_TRUE(request.has_value()) << request.error().to_string();
  std::vector<NamedTensor> results;
  results.push_back({"a", tensor_of<float>({1}, {1.5f})});
  results.push_back({"b", tensor_of<std::int32_t>({1}, {2})});
  results.push_back({"c", tensor_of<std::uint8_t>({1}, {3})});
  auto response = encode_infer_response("m", "", *request, results);
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(response->json_header_length.has_value());
  const json document = json::parse(response->body);
  EXPECT_FALSE(document.contains("model_version"));
  EXPECT_FALSE(document.contains("id"));
  ASSERT_EQ(document["outputs"].size(), 2u);
  EXPECT_EQ(document["outputs"][0]["name"], "c");
  EXPECT_EQ(document["outputs"][0]["data"], json::parse("[3]"));
  EXPECT_EQ(document["outputs"][1]["name"], "a");
  EXPECT_EQ(document["outputs"][1]["data"], json::parse("[1.5]"));

  // No "outputs" in the request: all of them.
  InferRequest all;
  auto everything = encode_infer_response("m", "", all, results);
  ASSERT_TRUE(everything.has_value());
  EXPECT_EQ(json::parse(everything->body)["outputs"].size(), 3u);

  // A requested output the model run did not produce.
  InferRequest missing;
  missing.requested_outputs = {"d"};
  auto refused = encode_infer_response("m", "", missing, results);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::internal);

  // Strings are escaped.
  InferRequest with_id;
  with_id.id = "quote\" backslash\\ \n";
  auto escaped = encode_infer_response("m\"odel", "1", with_id, results);
  ASSERT_TRUE(escaped.has_value());
  const json escaped_document = json::parse(escaped->body);
  EXPECT_EQ(escaped_document["id"], with_id.id);
  EXPECT_EQ(escaped_document["model_name"], "m\"odel");
}

// ---- robustness ----

TEST(OipCodecTest, TruncatedAndMutatedBodiesNeverCrash) {
  const std::vector<TensorInfo> model = {info("image", DataType::float32, {-1, 2}), info("n", DataType::int64, {1})};
  const std::string header = R"({"id":"r","inputs":[{"name":"image","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]},)"
                             R"({"name":"n","datatype":"INT64","shape":[1],"parameters":{"binary_data_size":8}}],)"
                             R"("outputs":[{"name":"image","parameters":{"binary_data":true}}]})";
  std::string body = header + std::string(8, '\x05');
  ASSERT_TRUE(parse(body, model, model, header.size()).has_value());
  // Every truncation, with the header length kept (binary cut short) and clamped (JSON cut short).
  for (std::size_t length = 0; length < body.size(); ++length) {
    const std::string cut = body.substr(0, length);
    EXPECT_FALSE(parse(cut, model, model, header.size()).has_value());
    EXPECT_FALSE(parse(cut, model, model, std::min(length, header.size())).has_value());
    EXPECT_FALSE(parse(cut, model, model).has_value());
  }
  // Random byte mutations: any result is fine, as long as nothing crashes or throws.
  std::mt19937 random(7);
  const char alphabet[] = "{}[],:\"0123456789-+.eEtrufalsn \\\x01\xff";
  std::size_t accepted = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string mutated = body;
    const int changes = 1 + static_cast<int>(random() % 4);
    for (int c = 0; c < changes; ++c) {
      mutated[random() % header.size()] = alphabet[random() % (sizeof(alphabet) - 1)];
    }
    auto result = parse(mutated, model, model, header.size());
    accepted += result.has_value();
  }
  std::cout << "[ mutations ] " << accepted << " of 5000 mutated bodies still parsed\n";
}

TEST(OipCodecTest, DeeplyNestedJsonIsRefused) {
  const std::vector<TensorInfo> model = {info("x", DataType::float32, {1})};
  std::string deep_data = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":)" + std::string(100000, '[') +
                          std::string(100000, ']') + "}]}";
  expect_error(parse(deep_data, model), ErrorCode::invalid_argument, "nested too deeply");
  std::string deep_member = R"({"inputs":[],"extra":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(parse(deep_member, model), ErrorCode::invalid_json, "nested too deeply");
}

TEST(OipCodecTest, AcceptsExactlyTheJsonNlohmannAccepts) {
  // Differential check of the reader against nlohmann::json::accept on random fragments placed where
  // they cannot affect validation ("extra" is ignored; "id" must be a string and is compared).
  const std::vector<TensorInfo> model = {info("x", DataType::float32, {1})};
  const std::string input = R"({"name":"x","datatype":"FP32","shape":[1],"data":[1]})";
  const std::vector<std::string> pieces = {
      "{", "}", "[", "]", ",", ":", "\"", "\"k\"", "\"a\":", "1", "-", "0", "01", "1.5", "1e5", "1E+5", "1e", ".",
      "-0", "true", "false", "null", "tru", "nul", " ", "\n", "\t", "\\", "\\n", "\\\"", "\\/", "\\u0041", "\\u00e9",
      "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\u12", "\\x", "\xc3\xa9", "\xc3", "\xe2\x82\xac", "\xed\xa0\x80",
      "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80\xaf", "\x01", "\x7f", "\xff", "abc"};
  std::mt19937 random(11);
  int compared = 0;
  int accepted = 0;
  int failures = 0;
  for (int round = 0; round < 40000 && failures < 10; ++round) {
    std::string fragment;
    const int count = 1 + static_cast<int>(random() % 10);
    for (int i = 0; i < count; ++i) fragment += pieces[random() % pieces.size()];
    const bool in_id = round % 2 == 1;
    const std::string body = in_id ? R"({"id":")" + fragment + R"(","inputs":[)" + input + "]}"
                                   : R"({"inputs":[)" + input + R"(],"extra":)" + fragment + "}";
    auto mine = parse(body, model);
    if (!mine && (mine.error().detail.starts_with("duplicate member") ||
                  mine.error().detail.find("\"id\" must be a string") != std::string::npos)) {
      continue;  // nlohmann accepts duplicate members; a non-string id is valid JSON we refuse
    }
    const bool theirs = json::accept(body);
    ++compared;
    accepted += theirs;
    if (mine.has_value() != theirs) {
      ++failures;
      ADD_FAILURE() << "nlohmann " << (theirs ? "accepts" : "refuses") << " but we "
                    << (mine ? "accept" : "refuse (" + mine.error().to_string() + ")") << ": " << body;
    } else if (mine && in_id) {
      EXPECT_EQ(mine->id, json::parse(body)["id"].get<std::string>()) << body;
    }
  }
  std::cout << "[ differential ] " << compared << " bodies compared, " << accepted << " valid\n";
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(compared - accepted, 1000);
}

// A random JSON number token: sign, integer digits, fraction, exponent.
std::string random_number(std::mt19937& random, int max_exponent) {
  std::string token = random() % 2 ? "-" : "";
  const auto digits = [&](int count, bool leading_nonzero) {
    for (int i = 0; i < count; ++i) {
      token += static_cast<char>('0' + (i == 0 && leading_nonzero ? 1 + random() % 9 : random() % 10));
    }
  };
  if (random() % 4 == 0) {
    token += '0';
  } else {
    digits(1 + static_cast<int>(random() % 20), true);
  }
  if (random() % 2) {
    token += '.';
    digits(1 + static_cast<int>(random() % 25), false);
  }
  if (random() % 2) {
    token += random() % 2 ? 'e' : 'E';
    const int exponent = static_cast<int>(random() % (2 * max_exponent + 1)) - max_exponent;
    token += (exponent < 0 ? "-" : (random() % 2 ? "+" : "")) + std::to_string(std::abs(exponent));
  }
  return token;
}

TEST(OipCodecTest, NumbersAreCorrectlyRoundedFromTheirText) {
  std::mt19937 random(3);
  for (DataType type : {DataType::float64, DataType::float32}) {
    SCOPED_TRACE(std::string(oip_datatype(type)));
    const std::vector<TensorInfo> model = {info("x", type, {1})};
    const std::string head = std::string(R"({"inputs":[{"name":"x","datatype":")") + std::string(oip_datatype(type)) +
                             R"(","shape":[1],"data":[)";
    int refused = 0;
    for (int round = 0; round < 20000; ++round) {
      const std::string token = random_number(random, type == DataType::float64 ? 400 : 60);
      auto parsed = parse(head + token + "]}]}", model);
      // The C library's strtod/strtof round correctly too: they must agree bit for bit.
      if (type == DataType::float64) {
        const double expected = std::strtod(token.c_str(), nullptr);
        if (!std::isfinite(expected)) {
          ++refused;
          ASSERT_FALSE(parsed.has_value()) << token;
          continue;
        }
        ASSERT_TRUE(parsed.has_value()) << token << ": " << parsed.error().to_string();
        ASSERT_EQ(std::bit_cast<std::uint64_t>(parsed->inputs[0].tensor.values<double>()[0]),
                  std::bit_cast<std::uint64_t>(expected))
            << token;
      } else {
        const float expected = std::strtof(token.c_str(), nullptr);
        if (!std::isfinite(expected)) {
          ++refused;
          ASSERT_FALSE(parsed.has_value()) << token;
          continue;
        }
        ASSERT_TRUE(parsed.has_value()) << token << ": " << parsed.error().to_string();
        ASSERT_EQ(std::bit_cast<std::uint32_t>(parsed->inputs[0].tensor.values<float>()[0]),
                  std::bit_cast<std::uint32_t>(expected))
            << token;
      }
    }
    EXPECT_GT(refused, 0);  // some tokens overflowed and were refused as out of range
  }
}

TEST(OipCodecTest, IntegerLimitsAreExact) {
  struct Case {
    const char* type;
    const char* token;
    bool ok;
  };
  const Case cases[] = {
      {"UINT8", "255", true},   {"UINT8", "256", false},  {"UINT8", "-0", true},   {"UINT8", "-1", false},
      {"INT8", "-128", true},   {"INT8", "-129", false},  {"INT8", "127", true},   {"INT8", "1e2", false},
      {"INT16", "-32768", true}, {"INT16", "32768", false}, {"UINT16", "65535", true}, {"UINT16", "65536", false},
      {"INT32", "-2147483648", true}, {"INT32", "2147483648", false}, {"UINT32", "4294967295", true},
      {"UINT32", "4294967296", false}, {"INT64", "-9223372036854775808", true},
      {"INT64", "9223372036854775808", false}, {"INT64", "-9223372036854775809", false},
      {"UINT64", "18446744073709551615", true}, {"UINT64", "18446744073709551616", false},
      {"UINT64", "1.0", false}, {"FP16", "65504", true}, {"FP16", "65520", false}, {"FP32", "3.4028235e38", true},
      {"FP32", "3.4028236e38", false}, {"FP32", "1e-50", true}, {"FP64", "1e308", true}, {"FP64", "1e309", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.type) + " " + c.token);
    const DataType type = *datatype_from_oip(c.type);
    const std::vector<TensorInfo> model = {info("x", type, {1})};
    // Both paths: "datatype" before "data" (converted while reading) and after (converted at the end).
    for (bool datatype_first : {true, false}) {
      const std::string member = std::string(R"("datatype":")") + c.type + "\"";
      const std::string data = std::string(R"("data":[)") + c.token + "]";
      const std::string body = R"({"inputs":[{"name":"x","shape":[1],)" +
                               (datatype_first ? member + "," + data : data + "," + member) + "}]}";
      auto parsed = parse(body, model);
      EXPECT_EQ(parsed.has_value(), c.ok) << (parsed ? "accepted" : parsed.error().to_string());
      if (!c.ok && !parsed) {
        EXPECT_EQ(parsed.error().code, ErrorCode::invalid_argument);
      }
    }
  }
}

// ---- metadata ----

TEST(OipCodecTest, ModelMetadataFollowsTheSpec) {
  const std::vector<TensorInfo> inputs = {info("image", DataType::float32, {-1, 3, 224, 224})};
  const std::vector<TensorInfo> outputs = {info("probabilities", DataType::float32, {-1, 1000}),
                                           info("mask", DataType::uint8, {-1, 224, 224})};
  const std::vector<std::string> versions = {"1", "2"};
  const json metadata = model_metadata("densenet", versions, inputs, outputs);
  const json expected = json::parse(R"({
    "name": "densenet", "versions": ["1", "2"], "platform": "cloister-onnx",
    "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 224, 224]}],
    "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 1000]},
                {"name": "mask", "datatype": "UINT8", "shape": [-1, 224, 224]}]})");
  EXPECT_EQ(metadata, expected) << metadata.dump(2);
}

// ---- timing (printed, not asserted) ----

TEST(OipCodecTest, TimingOfADenseNetSizedRequest) {
  using Clock = std::chrono::steady_clock;
  const std::vector<TensorInfo> model = {info("image", DataType::float32, {-1, 3, 224, 224})};
  std::mt19937 random(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);  // a normalised image
  std::vector<float> pixels(3 * 224 * 224);
  for (float& pixel : pixels) pixel = normal(random);
  std::vector<NamedTensor> tensors;
  tensors.push_back({"image", tensor_of<float>({1, 3, 224, 224}, pixels)});

  const auto milliseconds = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const auto best_of = [&](auto&& work) {
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      work();
      best = std::min(best, milliseconds(Clock::now() - start));
    }
    return best;
  };

  for (bool binary : {false, true}) {
    EncodedResponse response;
    const double encode_ms = best_of([&] { response = encode(tensors, binary); });
    const RequestBody request = as_request(response);
    Result<InferRequest> parsed;
    const double parse_ms = best_of([&] { parsed = parse(request.body, model, {}, request.header); });
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    EXPECT_TRUE(same_bytes(parsed->inputs[0].tensor, tensors[0].tensor));
    std::cout << "[ timing ] [1,3,224,224] FP32 " << (binary ? "binary" : "JSON  ") << ": body "
              << request.body.size() << " bytes, parse " << parse_ms << " ms, encode " << encode_ms << " ms\n";
    if (!binary) {
      std::size_t elements = 0;
      const double dom_ms = best_of([&] { elements = json::parse(request.body)["inputs"][0]["data"].size(); });
      EXPECT_EQ(elements, pixels.size());
      std::cout << "[ timing ]   peer: nlohmann::json::parse (DOM) of the same JSON " << dom_ms << " ms\n";
    }
  }
}

}  // namespace
}  // namespace cloister::infer
