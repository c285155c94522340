// decode(): picks the decoder from the leading bytes.

#include <cstring>

#include "cloister/imaging/image.h"

namespace cloister::imaging {
namespace {

bool starts_with(std::span<const std::byte> bytes, std::size_t offset, std::string_view magic) {
  return bytes.size() >= offset + magic.size() && std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// A DICOM data set without preamble starts with a group 0002 (file meta) or 0008 (identifying) element,
// in either byte order.
bool looks_like_bare_dicom(std::span<const std::byte> bytes) {
  if (bytes.size() < 8) return false;
  const unsigned b0 = std::to_integer<unsigned>(bytes[0]);
  const unsigned b1 = std::to_integer<unsigned>(bytes[1]);
  const unsigned little = b0 | (b1 << 8);
  const unsigned big = (b0 << 8) | b1;
  return little == 0x0002 || little == 0x0008 || big == 0x0002 || big == 0x0008;
}

}  // namespace

Result<Image> decode(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  if (starts_with(bytes, 128, "DICM")) return decode_dicom(bytes, limits);
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1a\n")) return decode_png(bytes, limits);
  if (starts_with(bytes, 0, "\xFF\xD8\xFF")) return decode_jpeg(bytes, limits);
  if (looks_like_bare_dicom(bytes)) return decode_dicom(bytes, limits);
  return fail(ErrorCode::unsupported_media_type, "not a DICOM, PNG or JPEG image");
}

}  // namespace cloister::imaging
