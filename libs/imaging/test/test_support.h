#pragma once
// Helpers shared by the imaging tests: corpus files, DICOM objects built or edited in memory with
// DCMTK, PNG/JPEG files written with libpng/libjpeg.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

class DcmDataset;

namespace cloister::imaging::test {

using Bytes = std::vector<std::byte>;

// pydicom's test files (python3-pydicom); empty when absent.
std::filesystem::path corpus_dir();
Bytes read_bytes(const std::filesystem::path& path);
Bytes to_bytes(std::string_view text);
std::span<const std::byte> view(const Bytes& bytes);

// Reads a DICOM object with DCMTK, lets `edit` change its data set, writes it back (same transfer
// syntax unless `transfer_syntax_uid` is given: "1.2.840.10008.1.2.1" explicit LE, ".1.2" implicit,
// ".1.2.1.99" deflated), all in memory.
Bytes edit_dicom(const Bytes& object, const std::function<void(DcmDataset&)>& edit,
                 const std::string& transfer_syntax_uid = "1.2.840.10008.1.2.1");
// A new single-object DICOM (explicit VR LE) whose data set `fill` populates (SOP class/instance UIDs
// are added).
Bytes make_dicom(const std::function<void(DcmDataset&)>& fill,
                 const std::string& transfer_syntax_uid = "1.2.840.10008.1.2.1");
// Rows/Columns/Number of Frames/Samples per Pixel as DCMTK reads them from a file (0 when absent).
struct DcmtkGeometry {
  long rows = 0, columns = 0, frames = 0, samples = 0;
};
DcmtkGeometry dcmtk_geometry(const std::filesystem::path& path);

// A PNG written with libpng's low-level API: colour_type PNG_COLOR_TYPE_*, bit_depth 1..16, rows of
// packed big-endian samples as libpng takes them; palette as RGB triplets; trns as libpng's tRNS.
std::string write_png_raw(std::uint32_t width, std::uint32_t height, int colour_type, int bit_depth, bool interlaced,
                          const std::vector<std::uint8_t>& packed_rows, const std::vector<std::uint8_t>& palette = {},
                          const std::vector<std::uint8_t>& trns = {});
// A baseline JPEG (quality 100 by default) of 8-bit gray (components 1) or RGB (3) samples.
std::string write_jpeg(std::uint32_t width, std::uint32_t height, int components,
                       const std::vector<std::uint8_t>& samples, int quality = 100, bool progressive = false);

}  // namespace cloister::imaging::test
