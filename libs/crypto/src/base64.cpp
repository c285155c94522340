#include "cloister/crypto/base64.h"

#include <array>

namespace cloister::crypto {
namespace {

constexpr std::string_view kStandard = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable make_table(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr DecodeTable kStandardTable = make_table(kStandard);
constexpr DecodeTable kUrlTable = make_table(kUrl);

std::string encode(BytesView data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t group = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    out.push_back(alphabet[group & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t group = std::uint32_t{data[i]} << 16;
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    std::uint32_t group = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes unpadded text (padding already stripped and validated by the caller).
Result<Bytes> decode_unpadded(std::string_view text, const DecodeTable& table) {
  if (text.size() % 4 == 1) return fail(ErrorCode::bad_encoding, "impossible base64 length");
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    const int value = table[static_cast<unsigned char>(c)];
    if (value < 0) return fail(ErrorCode::bad_encoding, "character outside the base64 alphabet");
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((group >> bits) & 0xff));
    }
  }
  // Leftover bits (2 or 4) must be zero: otherwise two texts would decode to the same bytes.
  if (bits > 0 && (group & ((1u << bits) - 1)) != 0) {
    return fail(ErrorCode::bad_encoding, "non-zero trailing bits in base64");
  }
  return out;
}

}  // namespace

std::string base64_encode(BytesView data) { return encode(data, kStandard, true); }

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return fail(ErrorCode::bad_encoding, "base64 length is not a multiple of 4");
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string_view body = text.substr(0, text.size() - padding);
  // Any '=' left in the body (a third '=' or padding in the middle) is outside the alphabet.
  return decode_unpadded(body, kStandardTable);
}

std::string base64url_encode(BytesView data) { return encode(data, kUrl, false); }

Result<Bytes> base64url_decode(std::string_view text) { return decode_unpadded(text, kUrlTable); }

}  // namespace cloister::crypto
