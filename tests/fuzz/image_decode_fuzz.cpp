// Fuzzes the image decoders with untrusted bytes, as cloister-infer's diagnose endpoint receives
// them: content sniffing, DICOM through DCMTK (every transfer syntax it decodes, sequences,
// deflate, multi-frame), PNG and JPEG, and series assembly from two objects. Any crash, sanitizer
// report or exception is a finding; errors are the expected outcome for most inputs.
// Seeds: python3-pydicom's DICOM test files (scripts/fuzz.sh adds them) and tests/fuzz/corpus/image_decode/.

#include <cstddef>
#include <cstdint>
#include <span>

#include "cloister/imaging/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace imaging = cloister::imaging;
  const auto bytes = std::as_bytes(std::span(data, size));
  imaging::DecodeLimits limits;
  limits.max_voxels = 16 * 1024 * 1024;  // keeps each run small; the limit itself is part of what is tested
  (void)imaging::decode(bytes, limits);
  if (size > 1 && (data[0] & 1) == 0) {
    // The same bytes as two objects of a series (split in the middle).
    const std::span<const std::byte> parts[] = {bytes.first(size / 2), bytes.subspan(size / 2)};
    (void)imaging::decode_dicom_series(parts, limits);
  }
  return 0;
}
