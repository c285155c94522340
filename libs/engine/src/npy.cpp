#include "cloister/engine/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

namespace cloister::engine {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kMaxHeaderBytes = 1 << 16;

struct DescriptorEntry {
  std::string_view descr;
  DataType type;
};
// Little-endian descriptors ('|' for one-byte types; '=' is native, little-endian here).
constexpr DescriptorEntry kDescriptors[] = {
    {"f4", DataType::float32}, {"f8", DataType::float64}, {"f2", DataType::float16},
    {"i1", DataType::int8},    {"u1", DataType::uint8},   {"i2", DataType::int16},
    {"u2", DataType::uint16},  {"i4", DataType::int32},   {"u4", DataType::uint32},
    {"i8", DataType::int64},   {"u8", DataType::uint64},  {"b1", DataType::boolean},
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

// Finds the value text of 'key' in the header dict: up to the next top-level ',' or '}'.
std::optional<std::string_view> dict_value(std::string_view header, std::string_view key) {
  for (char quote : {'\'', '"'}) {
    std::string quoted = std::string(1, quote) + std::string(key) + std::string(1, quote);
    auto at = header.find(quoted);
    if (at == std::string_view::npos) continue;
    auto colon = header.find(':', at + quoted.size());
    if (colon == std::string_view::npos) return std::nullopt;
    std::size_t start = colon + 1;
    int depth = 0;
    for (std::size_t i = start; i < header.size(); ++i) {
      char c = header[i];
      if (c == '(' || c == '[') ++depth;
      if (c == ')' || c == ']') --depth;
      if (depth < 0 || (depth == 0 && (c == ',' || c == '}'))) return trim(header.substr(start, i - start));
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string type_descriptor(DataType type) {
  for (const auto& entry : kDescriptors) {
    if (entry.type == type) {
      char order = data_type_size(type) == 1 ? '|' : '<';
      return std::string(1, order) + std::string(entry.descr);
    }
  }
  return {};
}

}  // namespace

Result<Tensor> parse_npy(std::span<const std::byte> bytes) {
  auto text = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.size() < 10 || text.substr(0, kMagic.size()) != kMagic) return fail(ErrorCode::bad_request, "not a .npy file");
  auto major = static_cast<unsigned char>(text[6]);
  std::size_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length = static_cast<unsigned char>(text[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(text[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (text.size() < 12) return fail(ErrorCode::bad_request, ".npy header truncated");
    for (int i = 0; i < 4; ++i) header_length |= static_cast<std::size_t>(static_cast<unsigned char>(text[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return fail(ErrorCode::bad_request, ".npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_length > kMaxHeaderBytes || header_start + header_length > text.size()) {
    return fail(ErrorCode::bad_request, ".npy header truncated");
  }
  auto header = text.substr(header_start, header_length);

  auto descr = dict_value(header, "descr");
  auto fortran = dict_value(header, "fortran_order");
  auto shape_text = dict_value(header, "shape");
  if (!descr || !fortran || !shape_text) return fail(ErrorCode::bad_request, ".npy header lacks descr, fortran_order or shape");
  if (*fortran != "False") return fail(ErrorCode::bad_request, ".npy files in Fortran order are not supported");

  std::string_view d = *descr;
  if (d.size() < 2 || (d.front() != '\'' && d.front() != '"') || d.back() != d.front()) {
    return fail(ErrorCode::bad_request, ".npy descr is malformed");
  }
  d = d.substr(1, d.size() - 2);
  if (d.size() != 3 || (d[0] != '<' && d[0] != '|' && d[0] != '=')) {
    return fail(ErrorCode::engine_unsupported_data_type, ".npy dtype '" + std::string(d) + "' is not supported (little-endian numeric types only)");
  }
  std::optional<DataType> type;
  for (const auto& entry : kDescriptors) {
    if (entry.descr == d.substr(1)) type = entry.type;
  }
  if (!type) return fail(ErrorCode::engine_unsupported_data_type, ".npy dtype '" + std::string(d) + "' is not supported");

  std::string_view s = *shape_text;
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return fail(ErrorCode::bad_request, ".npy shape is malformed");
  s = s.substr(1, s.size() - 2);
  Shape shape;
  while (!(s = trim(s)).empty()) {
    std::int64_t value = 0;
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
      if (value > (std::int64_t{1} << 50)) return fail(ErrorCode::bad_request, ".npy shape dimension too large");
      value = value * 10 + (s[digits] - '0');
      ++digits;
    }
    if (digits == 0) return fail(ErrorCode::bad_request, ".npy shape is malformed");
    shape.push_back(value);
    if (shape.size() > 32) return fail(ErrorCode::bad_request, ".npy shape has too many dimensions");
    s = trim(s.substr(digits));
    if (!s.empty()) {
      if (s.front() != ',') return fail(ErrorCode::bad_request, ".npy shape is malformed");
      s.remove_prefix(1);
    }
  }
  std::int64_t count = shape_element_count(shape);
  if (count < 0) return fail(ErrorCode::bad_request, ".npy shape is too large");
  std::size_t data_start = header_start + header_length;
  std::size_t available = text.size() - data_start;
  auto element = data_type_size(*type);
  if (static_cast<std::uint64_t>(count) > available / element || static_cast<std::size_t>(count) * element != available) {
    return fail(ErrorCode::bad_request, ".npy data size does not match its shape " + shape_to_string(shape));
  }
  return Tensor::from_bytes(*type, std::move(shape), bytes.subspan(data_start));
}

Result<Tensor> read_npy_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return fail(ErrorCode::io_error, "cannot open " + path.string());
  std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return fail(ErrorCode::io_error, "cannot read " + path.string());
  auto tensor = parse_npy(std::as_bytes(std::span(data.data(), data.size())));
  if (!tensor) return std::unexpected(Error{tensor.error().code, path.string() + ": " + tensor.error().detail});
  return tensor;
}

std::string to_npy(const Tensor& tensor) {
  std::string header = "{'descr': '" + type_descriptor(tensor.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < tensor.shape().size(); ++i) {
    header += std::to_string(tensor.shape()[i]);
    header += (tensor.shape().size() == 1 || i + 1 < tensor.shape().size()) ? ", " : "";
  }
  if (tensor.shape().size() == 1) header.pop_back();
  header += "), }";
  // Pad with spaces so that magic + 4 + header + '\n' is a multiple of 64.
  std::size_t total = kMagic.size() + 4 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(tensor.bytes()), tensor.byte_size());
  return out;
}

Status write_npy_file(const std::filesystem::path& path, const Tensor& tensor) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return fail(ErrorCode::io_error, "cannot create " + path.string());
  auto data = to_npy(tensor);
  file.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!file) return fail(ErrorCode::io_error, "cannot write " + path.string());
  return {};
}

}  // namespace cloister::engine
