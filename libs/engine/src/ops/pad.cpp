// Pad: constant / reflect / edge / wrap padding (negative pads crop). Pads (input from opset 11,
// attribute before) must be known at compile time; the constant value is read at run time.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_pad(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& in = (*x)->shape;
  const std::size_t rank = in.size();
  auto mode_attribute = context.attribute_string("mode", "constant");
  if (!mode_attribute) return std::unexpected(mode_attribute.error());
  const std::string mode = *mode_attribute;
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") return context.invalid("mode '" + mode + "' is not valid");
  std::vector<std::int64_t> pads;
  double attribute_value = 0;
  if (context.opset() < 11) {
    auto attribute = context.attribute_ints(context.opset() < 2 ? "paddings" : "pads");
    if (!attribute) return std::unexpected(attribute.error());
    pads = *attribute;
    auto value = context.attribute_float("value", 0.0f);
    if (!value) return std::unexpected(value.error());
    attribute_value = *value;
  } else {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    pads = *values;
    if (context.has_input(2) && context.input(2)->dtype != (*x)->dtype) return context.invalid("constant_value must have the input's type");
  }
  std::vector<std::int64_t> axes;
  if (context.has_input(3)) {
    auto values = context.constant_ints(3);
    if (!values) return std::unexpected(values.error());
    for (auto value : *values) {
      auto axis = context.axis(value, rank);
      if (!axis) return std::unexpected(axis.error());
      axes.push_back(*axis);
    }
  } else {
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (pads.size() != 2 * axes.size()) return context.invalid("pads needs two entries per padded axis");
  for (auto p : pads) {
    if (p > (std::int64_t{1} << 40) || p < -(std::int64_t{1} << 40)) return context.invalid("pads are out of range");
  }
  std::vector<std::int64_t> begin(rank, 0), end(rank, 0);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    begin[static_cast<std::size_t>(axes[i])] = pads[i];
    end[static_cast<std::size_t>(axes[i])] = pads[i + axes.size()];
  }
  Shape out(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    out[d] = in[d] + begin[d] + end[d];
    if (out[d] < 0) return context.invalid("pads crop more than the input");
    if (mode != "constant" && in[d] == 0 && out[d] > 0) return context.invalid("cannot " + mode + "-pad an empty axis");
  }
  bool nothing = true;
  for (std::size_t d = 0; d < rank; ++d) nothing = nothing && begin[d] == 0 && end[d] == 0;
  if (nothing) return make_alias_kernel(**x, in);  // exporters emit all-zero Pads before pooling
  const DataType type = (*x)->dtype;
  const std::size_t size = data_type_size(type);
  const bool runtime_value = context.opset() >= 11 && context.has_input(2);
  const auto in_strides = strides_of(in);
  return make_kernel({output(type, out)}, [=](const RunContext& run) -> Status {
    const auto* src = static_cast<const std::byte*>(run.inputs[0]);
    auto* dst = static_cast<std::byte*>(run.outputs[0]);
    std::vector<std::byte> fill(size);
    if (runtime_value) {
      std::memcpy(fill.data(), run.inputs[2], size);
    } else {
      dispatch_type(type, [&]<class T>() {
        T value = static_cast<T>(attribute_value);
        std::memcpy(fill.data(), &value, size);
      });
    }
    const std::int64_t count = shape_element_count(out);
    std::vector<std::int64_t> coordinate(rank, 0);
    for (std::int64_t e = 0; e < count; ++e) {
      std::int64_t offset = 0;
      bool inside = true;
      for (std::size_t d = 0; d < rank; ++d) {
        std::int64_t c = coordinate[d] - begin[d];
        const std::int64_t n = in[d];
        if (c < 0 || c >= n) {
          if (mode == "constant") {
            inside = false;
            break;
          } else if (mode == "edge") {
            c = c < 0 ? 0 : n - 1;
          } else if (mode == "wrap") {
            c = ((c % n) + n) % n;
          } else {  // reflect
            const std::int64_t period = 2 * (n - 1);
            c = period == 0 ? 0 : ((c % period) + period) % period;
            if (c >= n) c = period - c;
          }
        }
        offset += c * in_strides[d];
      }
      std::memcpy(dst + e * static_cast<std::int64_t>(size), inside ? src + offset * static_cast<std::int64_t>(size) : fill.data(), size);
      for (std::size_t d = rank; d-- > 0;) {
        if (++coordinate[d] < out[d]) break;
        coordinate[d] = 0;
      }
    }
    return {};
  });
}

}  // namespace cloister::engine
