#include "oip_codec.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string.h>  // explicit_bzero
#include <type_traits>
#include <utility>

namespace cloister::infer {

static_assert(std::endian::native == std::endian::little, "binary tensor data is little-endian");

using engine::DataType;
using engine::NamedTensor;
using engine::Tensor;
using engine::TensorInfo;
using json = nlohmann::json;

namespace {

// ---- 16-bit floats (IEEE half and bfloat16), round to nearest even ----

std::uint16_t float_to_half(float value) {
  constexpr std::uint32_t kF32Infinity = 255u << 23;
  constexpr std::uint32_t kF16Limit = (127u + 16u) << 23;  // 65536: everything above rounds to Inf
  constexpr std::uint32_t kDenormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = bits & 0x80000000u;
  bits ^= sign;
  std::uint16_t half;
  if (bits >= kF16Limit) {
    half = bits > kF32Infinity ? 0x7e00 : 0x7c00;
  } else if (bits < (113u << 23)) {
    // Subnormal or zero: let the FPU round the mantissa into place.
    const float aligned = std::bit_cast<float>(bits) + std::bit_cast<float>(kDenormMagic);
    half = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(aligned) - kDenormMagic);
  } else {
    const std::uint32_t mantissa_odd = (bits >> 13) & 1u;
    bits += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu;
    bits += mantissa_odd;
    half = static_cast<std::uint16_t>(bits >> 13);
  }
  return static_cast<std::uint16_t>(half | (sign >> 16));
}

float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // zero or subnormal
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float bfloat16_to_float(std::uint16_t value) { return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16); }

bool half_is_infinite(std::uint16_t half) { return (half & 0x7fffu) == 0x7c00u; }
bool bfloat16_is_infinite(std::uint16_t value) { return (value & 0x7fffu) == 0x7f80u; }

// ---- buffers for request data (patient data): wiped when grown and when released ----

void wipe_bytes(void* data, std::size_t size) {
  if (data != nullptr && size > 0) explicit_bzero(data, size);
}

class WipedBuffer {
 public:
  WipedBuffer() = default;
  WipedBuffer(const WipedBuffer&) = delete;
  WipedBuffer& operator=(const WipedBuffer&) = delete;
  WipedBuffer(WipedBuffer&& other) noexcept
      : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0)) {}
  WipedBuffer& operator=(WipedBuffer&&) = delete;
  ~WipedBuffer() { wipe_bytes(data_.get(), capacity_); }

  void reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    auto grown = std::make_unique_for_overwrite<std::byte[]>(capacity);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    wipe_bytes(data_.get(), capacity_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }
  // Room for `bytes` more; returns where to write them.
  std::byte* extend(std::size_t bytes) {
    if (size_ + bytes > capacity_) reserve(std::max<std::size_t>({64, capacity_ * 2, size_ + bytes}));
    std::byte* at = data_.get() + size_;
    size_ += bytes;
    return at;
  }
  const std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// One JSON value of a "data" array before it is known which type it must become.
struct Scalar {
  enum class Kind : std::uint8_t { signed_integer, unsigned_integer, floating, boolean };
  Kind kind;
  union {
    std::int64_t signed_value;
    std::uint64_t unsigned_value;
    double floating_value;
    bool boolean_value;
  };
};

enum class Conversion { ok, wrong_kind, out_of_range };

template <class T>
Conversion to_integer(const Scalar& scalar, T& out) {
  switch (scalar.kind) {
    case Scalar::Kind::signed_integer:
      if (!std::in_range<T>(scalar.signed_value)) return Conversion::out_of_range;
      out = static_cast<T>(scalar.signed_value);
      return Conversion::ok;
    case Scalar::Kind::unsigned_integer:
      if (!std::in_range<T>(scalar.unsigned_value)) return Conversion::out_of_range;
      out = static_cast<T>(scalar.unsigned_value);
      return Conversion::ok;
    default: return Conversion::wrong_kind;
  }
}

Conversion to_double(const Scalar& scalar, double& out) {
  switch (scalar.kind) {
    case Scalar::Kind::signed_integer: out = static_cast<double>(scalar.signed_value); return Conversion::ok;
    case Scalar::Kind::unsigned_integer: out = static_cast<double>(scalar.unsigned_value); return Conversion::ok;
    case Scalar::Kind::floating:
      if (!std::isfinite(scalar.floating_value)) return Conversion::out_of_range;
      out = scalar.floating_value;
      return Conversion::ok;
    default: return Conversion::wrong_kind;
  }
}

Conversion to_float(const Scalar& scalar, float& out) {
  double value = 0;
  if (Conversion c = to_double(scalar, value); c != Conversion::ok) return c;
  // Below FLT_MAX + half an ulp the conversion rounds to a finite float.
  if (!(std::fabs(value) < 0x1.ffffffp+127)) return Conversion::out_of_range;
  out = static_cast<float>(value);
  return Conversion::ok;
}

template <class T>
void store(std::byte* at, T value) {
  std::memcpy(at, &value, sizeof(T));
}

// Converts one JSON value into one element of `type` at `at`.
Conversion convert(const Scalar& scalar, DataType type, std::byte* at) {
  Conversion c = Conversion::ok;
  switch (type) {
    case DataType::float32: {
      float value = 0;
      if ((c = to_float(scalar, value)) == Conversion::ok) store(at, value);
      return c;
    }
    case DataType::float64: {
      double value = 0;
      if ((c = to_double(scalar, value)) == Conversion::ok) store(at, value);
      return c;
    }
    case DataType::float16: {
      float value = 0;
      if ((c = to_float(scalar, value)) != Conversion::ok) return c;
      const std::uint16_t half = float_to_half(value);
      if (half_is_infinite(half)) return Conversion::out_of_range;
      store(at, half);
      return c;
    }
    case DataType::bfloat16: {
      float value = 0;
      if ((c = to_float(scalar, value)) != Conversion::ok) return c;
      const std::uint16_t bf = float_to_bfloat16(value);
      if (bfloat16_is_infinite(bf)) return Conversion::out_of_range;
      store(at, bf);
      return c;
    }
    case DataType::boolean:
      if (scalar.kind != Scalar::Kind::boolean) return Conversion::wrong_kind;
      store<std::uint8_t>(at, scalar.boolean_value ? 1 : 0);
      return c;
#define CLOISTER_INTEGER_CASE(enumerator, type_name)                       \
  case DataType::enumerator: {                                             \
    type_name value = 0;                                                   \
    if ((c = to_integer(scalar, value)) == Conversion::ok) store(at, value); \
    return c;                                                              \
  }
      CLOISTER_INTEGER_CASE(int8, std::int8_t)
      CLOISTER_INTEGER_CASE(uint8, std::uint8_t)
      CLOISTER_INTEGER_CASE(int16, std::int16_t)
      CLOISTER_INTEGER_CASE(uint16, std::uint16_t)
      CLOISTER_INTEGER_CASE(int32, std::int32_t)
      CLOISTER_INTEGER_CASE(uint32, std::uint32_t)
      CLOISTER_INTEGER_CASE(int64, std::int64_t)
      CLOISTER_INTEGER_CASE(uint64, std::uint64_t)
#undef CLOISTER_INTEGER_CASE
  }
  return Conversion::wrong_kind;
}

std::string conversion_message(Conversion c, DataType type) {
  const std::string name(oip_datatype(type));
  if (c == Conversion::out_of_range) return "holds a value out of range for " + name;
  switch (type) {
    case DataType::boolean: return "must hold true/false for BOOL";
    case DataType::float32:
    case DataType::float64:
    case DataType::float16:
    case DataType::bfloat16: return "must hold numbers for " + name;
    default: return "must hold integers for " + name;
  }
}

// Short, printable excerpt of a client-supplied name for error details.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "'";
  for (char ch : text.substr(0, kMax)) out += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  if (text.size() > kMax) out += "...";
  return out + "'";
}

std::size_t saturating_multiply(std::size_t a, std::size_t b) {
  std::size_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::numeric_limits<std::size_t>::max();
  return product;
}

// ---- numbers from their JSON text (already validated by JsonReader) ----

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal exponent of the first significant digit of a number token ("123" → 2, "0.05" → -2,
// "1e5" → 5); 0 for zero. Only used to tell overflow from underflow.
std::int64_t decimal_magnitude(std::string_view token) {
  constexpr std::int64_t kCap = 1'000'000'000;
  std::size_t i = token.starts_with('-') ? 1 : 0;
  bool significant = false;
  std::int64_t magnitude = 0;
  for (; i < token.size() && is_digit(token[i]); ++i) {
    if (significant) {
      magnitude = std::min(magnitude + 1, kCap);
    } else if (token[i] != '0') {
      significant = true;
    }
  }
  if (i < token.size() && token[i] == '.') {
    std::int64_t zeros = 0;
    for (++i; i < token.size() && is_digit(token[i]); ++i) {
      if (significant) continue;
      if (token[i] == '0') {
        zeros = std::min(zeros + 1, kCap);
      } else {
        significant = true;
        magnitude = -(zeros + 1);
      }
    }
  }
  if (!significant) return 0;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) negative = token[i++] == '-';
    std::int64_t exponent = 0;
    for (; i < token.size(); ++i) exponent = std::min(exponent * 10 + (token[i] - '0'), kCap);
    magnitude += negative ? -exponent : exponent;
  }
  return magnitude;
}

// Correctly rounded; ±Inf above the range of double, ±0 below it.
double parse_double(std::string_view token) {
  double value = 0;
  if (std::from_chars(token.data(), token.data() + token.size(), value).ec == std::errc()) return value;
  const double magnitude = decimal_magnitude(token) > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return token.starts_with('-') ? -magnitude : magnitude;
}

// Correctly rounded (once, from the text); false above the range of float, ±0 below it.
bool parse_float(std::string_view token, float& out) {
  if (std::from_chars(token.data(), token.data() + token.size(), out).ec == std::errc()) return true;
  if (decimal_magnitude(token) > 0) return false;
  out = token.starts_with('-') ? -0.0f : 0.0f;
  return true;
}

Scalar scalar_from_number(std::string_view token, bool is_integer) {
  Scalar scalar{Scalar::Kind::floating, {}};
  const char* first = token.data();
  const char* last = first + token.size();
  if (is_integer) {
    if (token.starts_with('-')) {
      if (std::from_chars(first, last, scalar.signed_value).ec == std::errc()) {
        scalar.kind = Scalar::Kind::signed_integer;
        return scalar;
      }
    } else if (std::from_chars(first, last, scalar.unsigned_value).ec == std::errc()) {
      scalar.kind = Scalar::Kind::unsigned_integer;
      return scalar;
    }
  }
  scalar.kind = Scalar::Kind::floating;  // also integers beyond 64 bits, as nlohmann does
  scalar.floating_value = parse_double(token);
  return scalar;
}

template <class T>
Conversion integer_from_number(std::string_view token, std::byte* at) {
  const char* first = token.data();
  const char* last = first + token.size();
  T value{};
  if constexpr (std::is_unsigned_v<T>) {
    if (token.starts_with('-')) {
      if (!std::all_of(first + 1, last, [](char c) { return c == '0'; })) return Conversion::out_of_range;
      store(at, T{0});  // "-0"
      return Conversion::ok;
    }
  }
  const auto result = std::from_chars(first, last, value);
  if (result.ec != std::errc() || result.ptr != last) return Conversion::out_of_range;
  store(at, value);
  return Conversion::ok;
}

// Converts a JSON number straight from its text into one element of `type` at `at`.
Conversion convert_number(std::string_view token, bool is_integer, DataType type, std::byte* at) {
  switch (type) {
    case DataType::float32: {
      float value = 0;
      if (!parse_float(token, value)) return Conversion::out_of_range;
      store(at, value);
      return Conversion::ok;
    }
    case DataType::float64: {
      const double value = parse_double(token);
      if (!std::isfinite(value)) return Conversion::out_of_range;
      store(at, value);
      return Conversion::ok;
    }
    case DataType::float16: {
      float value = 0;
      if (!parse_float(token, value)) return Conversion::out_of_range;
      const std::uint16_t half = float_to_half(value);
      if (half_is_infinite(half)) return Conversion::out_of_range;
      store(at, half);
      return Conversion::ok;
    }
    case DataType::bfloat16: {
      float value = 0;
      if (!parse_float(token, value)) return Conversion::out_of_range;
      const std::uint16_t bf = float_to_bfloat16(value);
      if (bfloat16_is_infinite(bf)) return Conversion::out_of_range;
      store(at, bf);
      return Conversion::ok;
    }
    case DataType::boolean: return Conversion::wrong_kind;
    case DataType::int8: return is_integer ? integer_from_number<std::int8_t>(token, at) : Conversion::wrong_kind;
    case DataType::uint8: return is_integer ? integer_from_number<std::uint8_t>(token, at) : Conversion::wrong_kind;
    case DataType::int16: return is_integer ? integer_from_number<std::int16_t>(token, at) : Conversion::wrong_kind;
    case DataType::uint16: return is_integer ? integer_from_number<std::uint16_t>(token, at) : Conversion::wrong_kind;
    case DataType::int32: return is_integer ? integer_from_number<std::int32_t>(token, at) : Conversion::wrong_kind;
    case DataType::uint32: return is_integer ? integer_from_number<std::uint32_t>(token, at) : Conversion::wrong_kind;
    case DataType::int64: return is_integer ? integer_from_number<std::int64_t>(token, at) : Conversion::wrong_kind;
    case DataType::uint64: return is_integer ? integer_from_number<std::uint64_t>(token, at) : Conversion::wrong_kind;
  }
  return Conversion::wrong_kind;
}

// ---- a strict RFC 8259 JSON reader ----
//
// Drives a handler with events (start_object, key, end_object, start_array, end_array, string,
// boolean, null, number(text, is_integer), syntax_error(position)); a handler returning false stops
// the read. Numbers are passed as their validated text so that "data" values are converted once,
// straight into the tensor's type (std::from_chars: correctly rounded and several times faster than
// the strtod behind nlohmann's parser). Strings are checked like nlohmann's lexer does: escapes,
// surrogate pairs, no control characters, well-formed UTF-8 (RFC 3629). Iterative: nesting costs
// heap, never stack.
template <class Handler>
class JsonReader {
 public:
  static constexpr std::size_t kMaxNesting = 1024;  // the handler refuses far earlier

  JsonReader(std::string_view text, Handler& handler) : text_(text), handler_(handler) {}

  bool read() {
    std::vector<char> open;  // '{' or '[' per open container
    bool want_value = true;
    while (true) {
      skip_whitespace();
      if (want_value) {
        if (at_end()) return syntax_error();
        const char c = text_[position_];
        if (c == '{' || c == '[') {
          ++position_;
          const bool object = c == '{';
          if (!(object ? handler_.start_object() : handler_.start_array())) return false;
          skip_whitespace();
          if (next_is(object ? '}' : ']')) {
            ++position_;
            if (!(object ? handler_.end_object() : handler_.end_array())) return false;
            want_value = false;
            continue;
          }
          if (open.size() >= kMaxNesting) return syntax_error();
          open.push_back(c);
          if (object && !read_key()) return false;
          continue;
        }
        if (!read_scalar()) return false;
        want_value = false;
        continue;
      }
      if (open.empty()) return at_end() || syntax_error();
      if (at_end()) return syntax_error();
      const char c = text_[position_];
      if (c == ',') {
        ++position_;
        if (open.back() == '{') {
          skip_whitespace();
          if (!read_key()) return false;
        }
        want_value = true;
      } else if (c == '}' && open.back() == '{') {
        ++position_;
        open.pop_back();
        if (!handler_.end_object()) return false;
      } else if (c == ']' && open.back() == '[') {
        ++position_;
        open.pop_back();
        if (!handler_.end_array()) return false;
      } else {
        return syntax_error();
      }
    }
  }

 private:
  bool at_end() const { return position_ >= text_.size(); }
  bool next_is(char c) const { return position_ < text_.size() && text_[position_] == c; }
  bool digit_next() const { return position_ < text_.size() && is_digit(text_[position_]); }
  void skip_digits() {
    while (digit_next()) ++position_;
  }
  void skip_whitespace() {
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
      ++position_;
    }
  }
  bool syntax_error() {
    handler_.syntax_error(position_);
    return false;
  }

  bool read_key() {
    if (!next_is('"')) return syntax_error();
    if (!read_string(buffer_) || !handler_.key(buffer_)) return false;
    skip_whitespace();
    if (!next_is(':')) return syntax_error();
    ++position_;
    return true;
  }

  bool read_scalar() {
    switch (text_[position_]) {
      case '"':
        return read_string(buffer_) && handler_.string(buffer_);
      case 't': return read_literal("true") && handler_.boolean(true);
      case 'f': return read_literal("false") && handler_.boolean(false);
      case 'n': return read_literal("null") && handler_.null();
      default: return read_number();
    }
  }

  bool read_literal(std::string_view word) {
    if (text_.substr(position_, word.size()) != word) return syntax_error();
    position_ += word.size();
    return true;
  }

  bool read_number() {
    const std::size_t start = position_;
    bool is_integer = true;
    if (next_is('-')) ++position_;
    if (next_is('0')) {
      ++position_;
    } else if (digit_next()) {
      skip_digits();
    } else {
      return syntax_error();
    }
    if (next_is('.')) {
      ++position_;
      is_integer = false;
      if (!digit_next()) return syntax_error();
      skip_digits();
    }
    if (next_is('e') || next_is('E')) {
      ++position_;
      is_integer = false;
      if (next_is('+') || next_is('-')) ++position_;
      if (!digit_next()) return syntax_error();
      skip_digits();
    }
    return handler_.number(text_.substr(start, position_ - start), is_integer);
  }

  bool read_string(std::string& out) {
    ++position_;  // the opening quote
    out.clear();
    while (true) {
      const std::size_t run = position_;
      while (position_ < text_.size()) {
        const auto c = static_cast<unsigned char>(text_[position_]);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        ++position_;
      }
      out.append(text_.data() + run, position_ - run);
      if (at_end()) return syntax_error();
      const auto c = static_cast<unsigned char>(text_[position_]);
      if (c == '"') {
        ++position_;
        return true;
      }
      if (c == '\\') {
        if (!read_escape(out)) return false;
      } else if (c < 0x20) {
        return syntax_error();
      } else if (!read_utf8(out)) {
        return false;
      }
    }
  }

  bool read_hex4(std::uint32_t& value) {
    if (text_.size() - position_ < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[position_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  bool read_escape(std::string& out) {
    ++position_;  // the backslash
    if (at_end()) return syntax_error();
    const char e = text_[position_++];
    switch (e) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: return syntax_error();
    }
    std::uint32_t code = 0;
    if (!read_hex4(code)) return syntax_error();
    if (code >= 0xDC00 && code <= 0xDFFF) return syntax_error();  // a lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (text_.substr(position_, 2) != "\\u") return syntax_error();
      position_ += 2;
      if (!read_hex4(low) || low < 0xDC00 || low > 0xDFFF) return syntax_error();
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
    return true;
  }

  // One well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
  bool read_utf8(std::string& out) {
    const auto lead = static_cast<unsigned char>(text_[position_]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return syntax_error();
    }
    if (text_.size() - position_ < length) return syntax_error();
    for (std::size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text_[position_ + k]);
      if (byte < (k == 1 ? low : 0x80) || byte > (k == 1 ? high : 0xBF)) return syntax_error();
    }
    out.append(text_.data() + position_, length);
    position_ += length;
    return true;
  }

  std::string_view text_;
  Handler& handler_;
  std::size_t position_ = 0;
  std::string buffer_;
};

// ---- the request handler: a small DOM for everything but "data", which streams into buffers ----

// What one input's "data" array held.
struct InputData {
  bool present = false;
  std::optional<DataType> type;  // known when "data" started: values converted on the fly into `typed`
  WipedBuffer typed;             // converted elements
  WipedBuffer pending;           // Scalars, when the type was not known yet
  std::size_t count = 0;         // leaf values
  std::size_t max_level = 0;     // deepest array (1: flat)
  std::size_t leaf_level = 0;    // level of the arrays holding the values (0: none yet)
  std::vector<std::size_t> lengths;  // the length every array of a level has (index level - 1)
};

class RequestReader {
 public:
  static constexpr std::size_t kMaxDepth = 64;       // JSON nesting outside "data"
  static constexpr std::size_t kMaxDataLevels = 32;  // nesting inside "data"

  RequestReader(std::size_t max_elements, std::size_t max_total)
      : max_elements_(max_elements), max_total_(max_total) {}

  // JsonReader events.
  bool null() {
    if (in_data_) return data_refused("must not hold null");
    return add(json(nullptr));
  }
  bool boolean(bool value) {
    if (in_data_) {
      Scalar scalar{Scalar::Kind::boolean, {}};
      scalar.boolean_value = value;
      return leaf(&scalar, {}, false);
    }
    return add(json(value));
  }
  bool number(std::string_view token, bool is_integer) {
    if (in_data_) return leaf(nullptr, token, is_integer);
    const Scalar scalar = scalar_from_number(token, is_integer);
    switch (scalar.kind) {
      case Scalar::Kind::signed_integer: return add(json(scalar.signed_value));
      case Scalar::Kind::unsigned_integer: return add(json(scalar.unsigned_value));
      default:
        // Beyond the range of double (as nlohmann refuses it too).
        if (!std::isfinite(scalar.floating_value)) return refuse(ErrorCode::invalid_json, "a number is out of range");
        return add(json(scalar.floating_value));
    }
  }
  bool string(std::string& value) {
    if (in_data_) return data_refused("must not hold strings (BYTES is not supported)");
    return add(json(std::move(value)));
  }
  bool start_object() {
    if (in_data_) return data_refused("must not hold objects");
    json* object = add_container(json::object());
    if (object == nullptr) return false;
    if (stack_.size() == 3 && stack_[1] == inputs_) {
      current_input_ = data_.size();
      data_.emplace_back();
    }
    return true;
  }
  bool key(std::string& name) {
    if (stack_.size() == 3 && stack_[1] == inputs_ && name == "data") {
      if (data_[current_input_].present) return refuse(ErrorCode::invalid_json, "an input has two \"data\" members");
      data_next_ = true;
      return true;
    }
    if (stack_.back()->contains(name)) return refuse(ErrorCode::invalid_json, "duplicate member " + printable(name));
    key_ = std::move(name);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array() {
    if (data_next_) return begin_data();
    if (in_data_) return open_data_level();
    const bool is_inputs = stack_.size() == 1 && key_ == "inputs";  // key_ is consumed by add_container
    json* array = add_container(json::array());
    if (array == nullptr) return false;
    if (is_inputs) inputs_ = array;
    return true;
  }
  bool end_array() {
    if (in_data_) return close_data_level();
    stack_.pop_back();
    return true;
  }
  void syntax_error(std::size_t position) {
    // The offending text may be request data: only the position goes into the detail.
    refuse(ErrorCode::invalid_json, "malformed JSON near byte " + std::to_string(position));
  }

  const std::optional<Error>& error() const { return error_; }
  json& root() { return root_; }
  // Data of the i-th element of "inputs" (each element that is an object got one).
  std::vector<InputData>& data() { return data_; }
  const json* inputs_array() const { return inputs_; }

 private:
  bool refuse(ErrorCode code, std::string detail) {
    if (!error_) error_ = Error{code, std::move(detail)};
    return false;
  }
  std::string input_label() const {
    const json& input = *stack_.back();
    auto name = input.find("name");
    if (name != input.end() && name->is_string()) return "input " + printable(name->get_ref<const std::string&>());
    return "inputs[" + std::to_string(current_input_) + "]";
  }
  bool data_refused(const std::string& why) {
    return refuse(ErrorCode::invalid_argument, input_label() + ": \"data\" " + why);
  }

  // Adds a scalar to the DOM.
  bool add(json value) {
    if (data_next_) return refuse(ErrorCode::invalid_json, input_label() + ": \"data\" must be an array");
    if (stack_.empty()) return refuse(ErrorCode::invalid_json, "the body must be a JSON object");
    json& parent = *stack_.back();
    if (parent.is_object()) {
      parent.emplace(std::move(key_), std::move(value));
    } else {
      parent.push_back(std::move(value));
    }
    return true;
  }
  json* add_container(json value) {
    if (data_next_) {
      refuse(ErrorCode::invalid_json, input_label() + ": \"data\" must be an array");
      return nullptr;
    }
    json* added = nullptr;
    if (stack_.empty()) {
      if (!value.is_object() || has_root_) {
        refuse(ErrorCode::invalid_json, "the body must be a JSON object");
        return nullptr;
      }
      root_ = std::move(value);
      has_root_ = true;
      added = &root_;
    } else {
      if (stack_.size() >= kMaxDepth) {
        refuse(ErrorCode::invalid_json, "JSON nested too deeply");
        return nullptr;
      }
      json& parent = *stack_.back();
      if (parent.is_object()) {
        added = &parent.emplace(std::move(key_), std::move(value)).first.value();
      } else {
        parent.push_back(std::move(value));
        added = &parent.back();
      }
    }
    stack_.push_back(added);
    return added;
  }

  bool begin_data() {
    data_next_ = false;
    in_data_ = true;
    InputData& data = data_[current_input_];
    data.present = true;
    // When "datatype" came first (the usual order), convert values as they arrive.
    const json& input = *stack_.back();
    if (auto type = input.find("datatype"); type != input.end() && type->is_string()) {
      if (auto parsed = datatype_from_oip(type->get_ref<const std::string&>())) data.type = *parsed;
    }
    if (data.type) {
      if (auto shape = input.find("shape"); shape != input.end() && shape->is_array()) {
        std::vector<std::int64_t> dims;
        for (const json& dim : *shape) {
          if (dim.is_number_integer()) dims.push_back(dim.get<std::int64_t>());
        }
        const std::int64_t count = engine::shape_element_count(dims);
        if (dims.size() == shape->size() && count > 0 && static_cast<std::uint64_t>(count) <= max_elements_) {
          data.typed.reserve(static_cast<std::size_t>(count) * engine::data_type_size(*data.type));
        }
      }
    }
    level_ = 0;
    counts_.clear();
    return open_data_level();
  }
  bool open_data_level() {
    InputData& data = data_[current_input_];
    if (!counts_.empty()) ++counts_.back();
    counts_.push_back(0);
    ++level_;
    if (level_ > kMaxDataLevels) return data_refused("is nested too deeply");
    if (data.leaf_level != 0 && level_ > data.leaf_level) return data_refused("is not a regular nested array");
    data.max_level = std::max(data.max_level, level_);
    if (data.lengths.size() < level_) data.lengths.push_back(kUnset);
    return true;
  }
  bool close_data_level() {
    InputData& data = data_[current_input_];
    const std::size_t length = counts_.back();
    counts_.pop_back();
    std::size_t& expected = data.lengths[level_ - 1];
    if (expected == kUnset) {
      expected = length;
    } else if (expected != length) {
      return data_refused("is not a regular nested array");
    }
    --level_;
    if (level_ == 0) in_data_ = false;
    return true;
  }
  // One value of a "data" array: a boolean (`scalar`) or a number (`token`).
  bool leaf(const Scalar* scalar, std::string_view token, bool is_integer) {
    InputData& data = data_[current_input_];
    ++counts_.back();
    if (data.leaf_level == 0) {
      if (data.max_level > level_) return data_refused("is not a regular nested array");
      data.leaf_level = level_;
    } else if (data.leaf_level != level_) {
      return data_refused("is not a regular nested array");
    }
    if (++data.count > max_elements_ || ++total_ > max_total_) {
      return refuse(ErrorCode::payload_too_large,
                    input_label() + ": \"data\" holds more than " + std::to_string(max_elements_) + " elements");
    }
    if (data.type) {
      std::byte* at = data.typed.extend(engine::data_type_size(*data.type));
      const Conversion c = scalar ? convert(*scalar, *data.type, at) : convert_number(token, is_integer, *data.type, at);
      if (c != Conversion::ok) {
        return data_refused(conversion_message(c, *data.type) + " (element " + std::to_string(data.count - 1) + ")");
      }
    } else {
      const Scalar value = scalar ? *scalar : scalar_from_number(token, is_integer);
      std::memcpy(data.pending.extend(sizeof(Scalar)), &value, sizeof(Scalar));
    }
    return true;
  }

  static constexpr std::size_t kUnset = std::numeric_limits<std::size_t>::max();

  const std::size_t max_elements_;
  const std::size_t max_total_;
  std::optional<Error> error_;
  json root_;
  bool has_root_ = false;
  std::vector<json*> stack_;
  std::string key_;
  const json* inputs_ = nullptr;
  std::vector<InputData> data_;
  std::size_t current_input_ = 0;
  bool data_next_ = false;
  bool in_data_ = false;
  std::size_t level_ = 0;
  std::vector<std::size_t> counts_;  // children of each open "data" array
  std::size_t total_ = 0;
};

// ---- validation of the parsed request ----

const TensorInfo* find_info(std::span<const TensorInfo> infos, std::string_view name, std::size_t& index) {
  for (std::size_t i = 0; i < infos.size(); ++i) {
    if (infos[i].name == name) {
      index = i;
      return &infos[i];
    }
  }
  return nullptr;
}

std::string dims_text(std::span<const std::int64_t> shape) { return engine::shape_to_string(shape); }

// An input as declared in the JSON, validated against the model.
struct DeclaredInput {
  std::size_t model_index = 0;
  engine::Shape shape;
  std::size_t elements = 0;
  std::optional<std::size_t> binary_size;
  InputData* data = nullptr;
};

Result<DeclaredInput> declare_input(const json& input, std::size_t position, std::span<const TensorInfo> model_inputs,
                                    std::vector<bool>& seen, std::size_t max_elements, InputData* data) {
  const std::string where = "inputs[" + std::to_string(position) + "]";
  if (!input.is_object()) return fail(ErrorCode::invalid_json, where + " must be an object");
  auto name_it = input.find("name");
  if (name_it == input.end() || !name_it->is_string()) {
    return fail(ErrorCode::invalid_json, where + " lacks a string \"name\"");
  }
  const std::string& name = name_it->get_ref<const std::string&>();
  const std::string label = "input " + printable(name);

  DeclaredInput declared;
  const TensorInfo* info = find_info(model_inputs, name, declared.model_index);
  if (info == nullptr) return fail(ErrorCode::invalid_argument, "unknown " + label);
  if (seen[declared.model_index]) return fail(ErrorCode::invalid_argument, label + " is given more than once");
  seen[declared.model_index] = true;

  auto type_it = input.find("datatype");
  if (type_it == input.end() || !type_it->is_string()) {
    return fail(ErrorCode::invalid_json, label + " lacks a string \"datatype\"");
  }
  auto type = datatype_from_oip(type_it->get_ref<const std::string&>());
  if (!type) return fail(ErrorCode::invalid_argument, label + ": " + type.error().detail);
  if (*type != info->dtype) {
    return fail(ErrorCode::invalid_argument, label + " has datatype " + std::string(oip_datatype(*type)) +
                                                 "; the model expects " + std::string(oip_datatype(info->dtype)));
  }

  auto shape_it = input.find("shape");
  if (shape_it == input.end() || !shape_it->is_array()) {
    return fail(ErrorCode::invalid_json, label + " lacks an array \"shape\"");
  }
  for (const json& dim : *shape_it) {
    if (!dim.is_number_integer()) return fail(ErrorCode::invalid_json, label + ": \"shape\" must hold integers");
    if (dim.is_number_unsigned() && dim.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return fail(ErrorCode::invalid_argument, label + ": a dimension is too large");
    }
    declared.shape.push_back(dim.get<std::int64_t>());
  }
  if (declared.shape.size() != info->shape.size()) {
    return fail(ErrorCode::invalid_argument, label + " has shape " + dims_text(declared.shape) + "; the model expects " +
                                                 dims_text(info->shape));
  }
  for (std::size_t d = 0; d < declared.shape.size(); ++d) {
    const std::int64_t expected = info->shape[d];
    const std::int64_t given = declared.shape[d];
    if ((expected >= 0 && given != expected) || (expected < 0 && given < 1)) {
      return fail(ErrorCode::invalid_argument, label + " has shape " + dims_text(declared.shape) +
                                                   "; the model expects " + dims_text(info->shape) +
                                                   " (-1: any size >= 1)");
    }
  }
  const std::int64_t count = engine::shape_element_count(declared.shape);
  if (count < 0 || static_cast<std::uint64_t>(count) > max_elements) {
    return fail(ErrorCode::payload_too_large, label + " has shape " + dims_text(declared.shape) + ", more than " +
                                                  std::to_string(max_elements) + " elements");
  }
  declared.elements = static_cast<std::size_t>(count);

  if (auto params = input.find("parameters"); params != input.end()) {
    if (!params->is_object()) return fail(ErrorCode::invalid_json, label + ": \"parameters\" must be an object");
    if (auto size = params->find("binary_data_size"); size != params->end()) {
      if (!size->is_number_unsigned()) {
        return fail(ErrorCode::invalid_json, label + ": \"binary_data_size\" must be a non-negative integer");
      }
      const std::size_t expected_bytes = saturating_multiply(declared.elements, engine::data_type_size(info->dtype));
      if (size->get<std::uint64_t>() != expected_bytes) {
        return fail(ErrorCode::invalid_argument, label + ": \"binary_data_size\" is " +
                                                     std::to_string(size->get<std::uint64_t>()) + "; shape " +
                                                     dims_text(declared.shape) + " of " +
                                                     std::string(oip_datatype(info->dtype)) + " needs " +
                                                     std::to_string(expected_bytes));
      }
      declared.binary_size = expected_bytes;
    }
  }

  const bool has_data = data != nullptr && data->present;
  if (has_data && declared.binary_size) {
    return fail(ErrorCode::invalid_argument, label + " has both \"data\" and \"binary_data_size\"");
  }
  if (!has_data && !declared.binary_size) return fail(ErrorCode::invalid_argument, label + " has no \"data\"");
  if (has_data) {
    const std::size_t rank = declared.shape.size();
    bool layout_ok = false;
    if (data->max_level <= 1) {
      layout_ok = data->count == declared.elements;
    } else if (data->max_level == rank) {
      layout_ok = data->count == declared.elements;
      for (std::size_t d = 0; d < rank; ++d) {
        layout_ok = layout_ok && data->lengths[d] == static_cast<std::size_t>(declared.shape[d]);
      }
    }
    if (!layout_ok) {
      return fail(ErrorCode::invalid_argument, label + ": \"data\" does not match shape " + dims_text(declared.shape) +
                                                   " (" + std::to_string(data->count) + " elements; nested " +
                                                   std::to_string(data->max_level) + " deep)");
    }
    declared.data = data;
  }
  return declared;
}

Result<Tensor> tensor_from_json_data(const DeclaredInput& declared, const TensorInfo& info) {
  InputData& data = *declared.data;
  Tensor tensor(info.dtype, declared.shape);
  const std::size_t element_size = engine::data_type_size(info.dtype);
  if (data.type) {
    if (tensor.byte_size() > 0) std::memcpy(tensor.bytes(), data.typed.data(), tensor.byte_size());
    return tensor;
  }
  const std::byte* raw = data.pending.data();
  for (std::size_t i = 0; i < data.count; ++i) {
    Scalar scalar;
    std::memcpy(&scalar, raw + i * sizeof(Scalar), sizeof(Scalar));
    const Conversion c = convert(scalar, info.dtype, tensor.bytes() + i * element_size);
    if (c != Conversion::ok) {
      wipe_bytes(tensor.bytes(), tensor.byte_size());
      return fail(ErrorCode::invalid_argument, "input " + printable(info.name) + ": \"data\" " +
                                                   conversion_message(c, info.dtype) + " (element " +
                                                   std::to_string(i) + ")");
    }
  }
  return tensor;
}

// ---- encoding ----

void append_json_string(std::string& out, std::string_view text) {
  out += json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Most characters one element takes in JSON ("-1.17549435e-38", "-2.2250738585072014e-308", "false", ...).
std::size_t max_json_chars(DataType type) {
  switch (type) {
    case DataType::float32:
    case DataType::float16:
    case DataType::bfloat16: return 16;
    case DataType::float64: return 25;
    case DataType::int8: return 4;
    case DataType::uint8: return 3;
    case DataType::int16: return 6;
    case DataType::uint16: return 5;
    case DataType::int32: return 11;
    case DataType::uint32: return 10;
    case DataType::int64:
    case DataType::uint64: return 20;
    case DataType::boolean: return 5;
  }
  return 25;
}

template <class T>
char* write_number(char* cursor, char* end, T value) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) {
      std::memcpy(cursor, "null", 4);  // NaN and ±Inf have no JSON form
      return cursor + 4;
    }
    if (value == 0 && std::signbit(value)) {
      std::memcpy(cursor, "-0.0", 4);  // "-0" would read back as the integer 0
      return cursor + 4;
    }
  }
  return std::to_chars(cursor, end, value).ptr;  // shortest form that reads back exactly
}

template <class T, class Convert>
char* write_values(char* cursor, char* end, const std::byte* bytes, std::size_t count, Convert convert) {
  for (std::size_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, bytes + i * sizeof(T), sizeof(T));
    if (i) *cursor++ = ',';
    cursor = write_number(cursor, end, convert(value));
  }
  return cursor;
}

// Appends the tensor's values as a flat JSON array, written in place into `out`.
void append_data(std::string& out, const Tensor& tensor) {
  const std::byte* bytes = tensor.bytes();
  const auto count = static_cast<std::size_t>(tensor.element_count());
  const std::size_t start = out.size();
  out.resize(start + 2 + count * (max_json_chars(tensor.dtype()) + 1));
  char* cursor = out.data() + start;
  char* const end = out.data() + out.size();
  const auto same = [](auto value) { return value; };
  *cursor++ = '[';
  switch (tensor.dtype()) {
    case DataType::float32: cursor = write_values<float>(cursor, end, bytes, count, same); break;
    case DataType::float64: cursor = write_values<double>(cursor, end, bytes, count, same); break;
    case DataType::float16: cursor = write_values<std::uint16_t>(cursor, end, bytes, count, half_to_float); break;
    case DataType::bfloat16: cursor = write_values<std::uint16_t>(cursor, end, bytes, count, bfloat16_to_float); break;
    case DataType::int8:
      cursor = write_values<std::int8_t>(cursor, end, bytes, count, [](std::int8_t v) { return int{v}; });
      break;
    case DataType::uint8:
      cursor = write_values<std::uint8_t>(cursor, end, bytes, count, [](std::uint8_t v) { return unsigned{v}; });
      break;
    case DataType::int16: cursor = write_values<std::int16_t>(cursor, end, bytes, count, same); break;
    case DataType::uint16: cursor = write_values<std::uint16_t>(cursor, end, bytes, count, same); break;
    case DataType::int32: cursor = write_values<std::int32_t>(cursor, end, bytes, count, same); break;
    case DataType::uint32: cursor = write_values<std::uint32_t>(cursor, end, bytes, count, same); break;
    case DataType::int64: cursor = write_values<std::int64_t>(cursor, end, bytes, count, same); break;
    case DataType::uint64: cursor = write_values<std::uint64_t>(cursor, end, bytes, count, same); break;
    case DataType::boolean:
      for (std::size_t i = 0; i < count; ++i) {
        if (i) *cursor++ = ',';
        const bool value = std::to_integer<std::uint8_t>(bytes[i]) != 0;
        std::memcpy(cursor, value ? "true" : "false", value ? 4 : 5);
        cursor += value ? 4 : 5;
      }
      break;
  }
  *cursor++ = ']';
  out.resize(static_cast<std::size_t>(cursor - out.data()));
}

}  // namespace

std::string_view oip_datatype(DataType type) {
  switch (type) {
    case DataType::float32: return "FP32";
    case DataType::float64: return "FP64";
    case DataType::float16: return "FP16";
    case DataType::bfloat16: return "BF16";
    case DataType::int8: return "INT8";
    case DataType::uint8: return "UINT8";
    case DataType::int16: return "INT16";
    case DataType::uint16: return "UINT16";
    case DataType::int32: return "INT32";
    case DataType::uint32: return "UINT32";
    case DataType::int64: return "INT64";
    case DataType::uint64: return "UINT64";
    case DataType::boolean: return "BOOL";
  }
  return "UNKNOWN";
}

Result<DataType> datatype_from_oip(std::string_view name) {
  static constexpr DataType kAll[] = {DataType::float32, DataType::float64, DataType::float16, DataType::bfloat16,
                                      DataType::int8,    DataType::uint8,   DataType::int16,   DataType::uint16,
                                      DataType::int32,   DataType::uint32,  DataType::int64,   DataType::uint64,
                                      DataType::boolean};
  for (DataType type : kAll) {
    if (oip_datatype(type) == name) return type;
  }
  if (name == "BYTES") return fail(ErrorCode::invalid_argument, "datatype BYTES (string tensors) is not supported");
  return fail(ErrorCode::invalid_argument, "unknown datatype " + printable(name));
}

Result<InferRequest> parse_infer_request(std::string_view body, std::optional<std::size_t> json_header_length,
                                         std::span<const TensorInfo> model_inputs,
                                         std::span<const TensorInfo> model_outputs, std::size_t max_elements) {
  std::string_view json_text = body;
  std::string_view binary;
  if (json_header_length) {
    if (*json_header_length == 0 || *json_header_length > body.size()) {
      return fail(ErrorCode::bad_request, std::string(kInferenceHeaderContentLength) + " is " +
                                              std::to_string(*json_header_length) + " for a body of " +
                                              std::to_string(body.size()) + " bytes");
    }
    json_text = body.substr(0, *json_header_length);
    binary = body.substr(*json_header_length);
  }

  try {
    RequestReader reader(max_elements, saturating_multiply(max_elements, std::max<std::size_t>(1, model_inputs.size())));
    const bool parsed = JsonReader<RequestReader>(json_text, reader).read();
    if (!parsed || reader.error()) {
      if (reader.error()) return std::unexpected(*reader.error());
      return fail(ErrorCode::invalid_json, "malformed JSON");
    }
    const json& root = reader.root();
    if (!root.is_object()) return fail(ErrorCode::invalid_json, "the body must be a JSON object");

    InferRequest request;
    if (auto id = root.find("id"); id != root.end()) {
      if (!id->is_string()) return fail(ErrorCode::invalid_json, "\"id\" must be a string");
      request.id = id->get<std::string>();
    }
    if (auto params = root.find("parameters"); params != root.end()) {
      if (!params->is_object()) return fail(ErrorCode::invalid_json, "\"parameters\" must be an object");
      if (auto flag = params->find("binary_data_output"); flag != params->end()) {
        if (!flag->is_boolean()) return fail(ErrorCode::invalid_json, "\"binary_data_output\" must be a boolean");
        request.binary_outputs = flag->get<bool>();
      }
    }

    auto inputs_it = root.find("inputs");
    if (inputs_it == root.end() || !inputs_it->is_array() || &*inputs_it != reader.inputs_array()) {
      return fail(ErrorCode::invalid_json, "the request lacks an array \"inputs\"");
    }
    std::vector<bool> seen(model_inputs.size(), false);
    std::vector<DeclaredInput> declared;
    declared.reserve(inputs_it->size());
    std::size_t object_index = 0;  // reader data is kept for object elements only
    for (std::size_t i = 0; i < inputs_it->size(); ++i) {
      const json& input = (*inputs_it)[i];
      InputData* data = input.is_object() ? &reader.data()[object_index++] : nullptr;
      auto one = declare_input(input, i, model_inputs, seen, max_elements, data);
      if (!one) return std::unexpected(one.error());
      declared.push_back(std::move(*one));
    }
    for (std::size_t i = 0; i < model_inputs.size(); ++i) {
      if (!seen[i]) return fail(ErrorCode::invalid_argument, "input " + printable(model_inputs[i].name) + " is missing");
    }

    if (auto outputs = root.find("outputs"); outputs != root.end()) {
      if (!outputs->is_array()) return fail(ErrorCode::invalid_json, "\"outputs\" must be an array");
      for (std::size_t i = 0; i < outputs->size(); ++i) {
        const json& output = (*outputs)[i];
        const std::string where = "outputs[" + std::to_string(i) + "]";
        if (!output.is_object()) return fail(ErrorCode::invalid_json, where + " must be an object");
        auto name_it = output.find("name");
        if (name_it == output.end() || !name_it->is_string()) {
          return fail(ErrorCode::invalid_json, where + " lacks a string \"name\"");
        }
        const std::string& name = name_it->get_ref<const std::string&>();
        std::size_t index = 0;
        if (find_info(model_outputs, name, index) == nullptr) {
          return fail(ErrorCode::invalid_argument, "unknown output " + printable(name));
        }
        if (std::find(request.requested_outputs.begin(), request.requested_outputs.end(), name) !=
            request.requested_outputs.end()) {
          return fail(ErrorCode::invalid_argument, "output " + printable(name) + " is requested more than once");
        }
        request.requested_outputs.push_back(name);
        if (auto params = output.find("parameters"); params != output.end()) {
          if (!params->is_object()) return fail(ErrorCode::invalid_json, where + ": \"parameters\" must be an object");
          if (auto flag = params->find("binary_data"); flag != params->end()) {
            if (!flag->is_boolean()) return fail(ErrorCode::invalid_json, where + ": \"binary_data\" must be a boolean");
            if (flag->get<bool>()) request.binary_output_names.push_back(name);
          }
        }
      }
    }

    // Binary framing: the sizes, in the order of the JSON inputs, must cover the bytes after the JSON exactly.
    std::size_t binary_total = 0;
    bool any_binary = false;
    for (const DeclaredInput& input : declared) {
      if (!input.binary_size) continue;
      any_binary = true;
      if (__builtin_add_overflow(binary_total, *input.binary_size, &binary_total)) {
        return fail(ErrorCode::bad_request, "the binary data sizes overflow");
      }
    }
    if (any_binary && !json_header_length) {
      return fail(ErrorCode::bad_request,
                  "\"binary_data_size\" needs the " + std::string(kInferenceHeaderContentLength) + " header");
    }
    if (binary_total != binary.size()) {
      return fail(ErrorCode::bad_request, "the binary data sizes add up to " + std::to_string(binary_total) +
                                              " bytes but " + std::to_string(binary.size()) +
                                              " bytes follow the JSON");
    }

    std::vector<std::optional<Tensor>> tensors(model_inputs.size());
    std::size_t offset = 0;
    for (const DeclaredInput& input : declared) {
      const TensorInfo& info = model_inputs[input.model_index];
      if (input.binary_size) {
        Tensor tensor(info.dtype, input.shape);
        if (*input.binary_size > 0) std::memcpy(tensor.bytes(), binary.data() + offset, *input.binary_size);
        offset += *input.binary_size;
        if (info.dtype == DataType::boolean) {
          const std::byte* bytes = tensor.bytes();
          for (std::size_t i = 0; i < input.elements; ++i) {
            if (std::to_integer<std::uint8_t>(bytes[i]) > 1) {
              wipe_bytes(tensor.bytes(), tensor.byte_size());
              for (auto& done : tensors) {
                if (done) wipe_bytes(done->bytes(), done->byte_size());
              }
              return fail(ErrorCode::invalid_argument, "input " + printable(info.name) +
                                                           ": BOOL binary data must hold bytes 0 or 1");
            }
          }
        }
        tensors[input.model_index] = std::move(tensor);
      } else {
        auto tensor = tensor_from_json_data(input, info);
        if (!tensor) {
          for (auto& done : tensors) {
            if (done) wipe_bytes(done->bytes(), done->byte_size());
          }
          return std::unexpected(tensor.error());
        }
        tensors[input.model_index] = std::move(*tensor);
      }
    }
    request.inputs.reserve(model_inputs.size());
    for (std::size_t i = 0; i < model_inputs.size(); ++i) {
      request.inputs.push_back({model_inputs[i].name, std::move(*tensors[i])});
    }
    return request;
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::unavailable, "not enough memory for the request");
  } catch (const std::exception&) {
    return fail(ErrorCode::invalid_json, "the request could not be parsed");
  }
}

Result<EncodedResponse> encode_infer_response(std::string_view model_name, std::string_view model_version,
                                              const InferRequest& request, std::span<const NamedTensor> outputs) {
  std::vector<const NamedTensor*> selected;
  if (request.requested_outputs.empty()) {
    for (const NamedTensor& output : outputs) selected.push_back(&output);
  } else {
    for (const std::string& name : request.requested_outputs) {
      auto it = std::find_if(outputs.begin(), outputs.end(), [&](const NamedTensor& o) { return o.name == name; });
      if (it == outputs.end()) return fail(ErrorCode::internal, "the model did not produce output " + printable(name));
      selected.push_back(&*it);
    }
  }
  const auto is_binary = [&](const std::string& name) {
    return request.binary_outputs || std::find(request.binary_output_names.begin(), request.binary_output_names.end(),
                                               name) != request.binary_output_names.end();
  };

  std::size_t reserve = 256 + model_name.size() + model_version.size() + request.id.size();
  std::size_t binary_bytes = 0;
  bool any_binary = false;
  for (const NamedTensor* output : selected) {
    reserve += 128 + output->name.size();
    if (is_binary(output->name)) {
      any_binary = true;
      binary_bytes += output->tensor.byte_size();
    } else {
      reserve += static_cast<std::size_t>(output->tensor.element_count()) * (max_json_chars(output->tensor.dtype()) + 1);
    }
  }

  EncodedResponse response;
  std::string& out = response.body;
  out.reserve(reserve + binary_bytes);
  out += "{\"model_name\":";
  append_json_string(out, model_name);
  if (!model_version.empty()) {
    out += ",\"model_version\":";
    append_json_string(out, model_version);
  }
  if (!request.id.empty()) {
    out += ",\"id\":";
    append_json_string(out, request.id);
  }
  out += ",\"outputs\":[";
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const NamedTensor& output = *selected[i];
    if (i) out += ',';
    out += "{\"name\":";
    append_json_string(out, output.name);
    out += ",\"datatype\":\"";
    out += oip_datatype(output.tensor.dtype());
    out += "\",\"shape\":[";
    for (std::size_t d = 0; d < output.tensor.rank(); ++d) {
      if (d) out += ',';
      out += std::to_string(output.tensor.shape()[d]);
    }
    out += ']';
    if (is_binary(output.name)) {
      out += ",\"parameters\":{\"binary_data_size\":";
      out += std::to_string(output.tensor.byte_size());
      out += '}';
    } else {
      out += ",\"data\":";
      append_data(out, output.tensor);
    }
    out += '}';
  }
  out += "]}";
  if (any_binary) {
    response.json_header_length = out.size();
    for (const NamedTensor* output : selected) {
      if (!is_binary(output->name)) continue;
      const auto bytes = output->tensor.byte_span();
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
  }
  return response;
}

nlohmann::json model_metadata(std::string_view name, std::span<const std::string> versions,
                              std::span<const TensorInfo> inputs, std::span<const TensorInfo> outputs) {
  const auto describe = [](std::span<const TensorInfo> infos) {
    json list = json::array();
    for (const TensorInfo& info : infos) {
      list.push_back({{"name", info.name}, {"datatype", std::string(oip_datatype(info.dtype))}, {"shape", info.shape}});
    }
    return list;
  };
  json versions_list = json::array();
  for (const std::string& version : versions) versions_list.push_back(version);
  return {{"name", std::string(name)},
          {"versions", std::move(versions_list)},
          {"platform", "cloister-onnx"},
          {"inputs", describe(inputs)},
          {"outputs", describe(outputs)}};
}

}  // namespace cloister::infer
