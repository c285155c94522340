// DICOM decoding through DCMTK, from memory only: parse (a buffer stream over the caller's bytes),
// decompress the encapsulated transfer syntaxes DCMTK has decoders for (RLE, JPEG, JPEG-LS), then extract the stored
// values ourselves (exact Modality LUT / rescale in double precision, colour models converted to RGB).
// Error details name tags and transfer syntaxes only: never a value (values may be PHI).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcvr.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include "cloister/imaging/image.h"

namespace cloister::imaging {
namespace {

constexpr std::string_view kDeflatedUid = "1.2.840.10008.1.2.1.99";

// ---------------------------------------------------------------------------------------------
// DCMTK set-up: once per process. Decoders registered once; logging off (nothing to stderr, and
// DCMTK messages may quote element values).

std::once_flag g_dcmtk_once;
bool g_dictionary_loaded = false;

void initialize_dcmtk() {
  std::call_once(g_dcmtk_once, [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    // Tolerate two common writer errors: elements stored as UN (GDCM) are read with their dictionary
    // VR, and implicit-VR elements inside an explicit-VR data set are read as implicit.
    dcmEnableUnknownVRConversion.set(OFTrue);
    dcmAcceptUnexpectedImplicitEncoding.set(OFTrue);
    DcmRLEDecoderRegistration::registerCodecs();
    // JPEG colour: no conversion in the codec; jpeg_colour_model() decides from the stream's markers
    // and the header (neither libjpeg's guess nor the DICOM header alone is right for every writer).
    DJDecoderRegistration::registerCodecs(EDC_never);
    DJLSDecoderRegistration::registerCodecs();
    g_dictionary_loaded = dcmDataDict.isDictionaryLoaded();
  });
}

std::string tag_text(const DcmTagKey& key) { return fmt::format("({:04X},{:04X})", key.getGroup(), key.getElement()); }

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\0')) s.remove_prefix(1);
  return std::string(s);
}

// ---------------------------------------------------------------------------------------------
// Deflated Explicit VR Little Endian: inflated here with a size cap before DCMTK sees it, so a
// small upload cannot expand into gigabytes (DCMTK's own zlib filter has no bound).

struct FileMetaScan {
  std::string transfer_syntax;
  std::size_t dataset_offset = 0;
};

std::uint16_t le16(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) | (std::to_integer<unsigned>(b[at + 1]) << 8));
}
std::uint32_t le32(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint32_t>(le16(b, at)) | (static_cast<std::uint32_t>(le16(b, at + 2)) << 16);
}

// Walks the (explicit VR little endian) file meta group after "DICM"; nullopt when there is no
// preamble or the group does not parse (DCMTK then reports what is wrong).
std::optional<FileMetaScan> scan_file_meta(std::span<const std::byte> b) {
  if (b.size() < 132 || std::memcmp(b.data() + 128, "DICM", 4) != 0) return std::nullopt;
  FileMetaScan scan;
  std::size_t pos = 132;
  while (pos + 8 <= b.size() && le16(b, pos) == 0x0002) {
    const std::uint16_t element = le16(b, pos + 2);
    const char vr[2] = {static_cast<char>(b[pos + 4]), static_cast<char>(b[pos + 5])};
    static constexpr std::array<std::string_view, 13> kLongForm = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ",
                                                                   "UT", "UN", "UC", "UR", "SV", "UV"};
    const bool long_form = std::find(kLongForm.begin(), kLongForm.end(), std::string_view(vr, 2)) != kLongForm.end();
    std::size_t header = 8;
    std::size_t length = le16(b, pos + 6);
    if (long_form) {
      if (pos + 12 > b.size()) return std::nullopt;
      header = 12;
      length = le32(b, pos + 8);
    }
    if (length == 0xFFFFFFFFu || length > b.size() - pos - header) return std::nullopt;
    if (element == 0x0010) {
      scan.transfer_syntax = trim(std::string_view(reinterpret_cast<const char*>(b.data() + pos + header), length));
    }
    pos += header + length;
  }
  scan.dataset_offset = pos;
  return scan;
}

Result<std::vector<std::byte>> inflate_capped(std::span<const std::byte> in, std::size_t cap) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return fail(ErrorCode::internal, "DICOM: zlib initialisation failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  std::vector<std::byte> out;
  std::size_t chunk = std::clamp<std::size_t>(in.size() * 4, 64 * 1024, 16 * 1024 * 1024);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (out.size() >= cap) {
      return fail(ErrorCode::invalid_argument, "DICOM: the deflated data set inflates beyond the size limit");
    }
    const std::size_t old_size = out.size();
    out.resize(std::min(cap, old_size + chunk));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    zs.avail_out = static_cast<uInt>(out.size() - old_size);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (rc == Z_STREAM_END) return out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      // The input ends without a final deflate block: hand DCMTK what there is (it reports a
      // truncated element, if one is).
      return out;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return fail(ErrorCode::image_decode_failed, "DICOM: corrupt deflated data set");
    }
    chunk = std::min<std::size_t>(chunk * 2, 64 * 1024 * 1024);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing.
//
// DCMTK allocates an element's declared length before reading it unless the stream can hand out a
// factory to re-read the value later; a plain DcmInputBufferStream cannot, so a corrupt 32-bit length
// would allocate up to 4 GiB. MemoryStream gives DCMTK such a factory (over the same bytes): every
// value over kMaxEagerRead bytes is skipped over at parse time (a length past the end fails there,
// without allocating) and read from memory when it is used.

constexpr Uint32 kMaxEagerRead = 4096;

class MemoryStreamFactory final : public DcmInputStreamFactory {
 public:
  MemoryStreamFactory(const void* data, offile_off_t size, offile_off_t offset)
      : data_(data), size_(size), offset_(offset) {}
  DcmInputStream* create() const override;
  DcmInputStreamFactory* clone() const override { return new MemoryStreamFactory(*this); }
  DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

 private:
  const void* data_;
  offile_off_t size_;
  offile_off_t offset_;
};

class MemoryStream final : public DcmInputBufferStream {
 public:
  MemoryStream(const void* data, offile_off_t size) : data_(data), size_(size) {
    setBuffer(data, size);
    setEos();
  }
  DcmInputStreamFactory* newFactory() const override { return new MemoryStreamFactory(data_, size_, tell()); }

 private:
  const void* data_;
  offile_off_t size_;
};

DcmInputStream* MemoryStreamFactory::create() const {
  auto* stream = new MemoryStream(data_, size_);
  stream->skip(offset_);
  return stream;
}

struct ParsedObject {
  std::vector<std::byte> inflated_bytes;  // deflated objects: the inflated data set (DCMTK reads it lazily)
  std::unique_ptr<DcmFileFormat> file;    // the usual case
  std::unique_ptr<DcmDataset> inflated;   // deflated objects: the data set read on its own
  DcmDataset* dataset = nullptr;
  std::string transfer_syntax;
};

// The element a failed read stopped in: the last one inserted (data sets are kept in tag order).
std::string failing_element(DcmItem* item) {
  if (item == nullptr || item->card() == 0) return {};
  DcmElement* last = item->getElement(item->card() - 1);
  return last == nullptr ? std::string() : tag_text(last->getTag());
}

Error read_failure(const OFCondition& condition, DcmItem* meta, DcmItem* dataset) {
  std::string where = failing_element(dataset);
  std::string part = "element ";
  if (where.empty()) {
    where = failing_element(meta);
    if (where.empty()) return Error{ErrorCode::image_decode_failed, "DICOM: not a readable DICOM stream"};
    part = "file meta element ";
  }
  if (condition == EC_StreamNotifyClient || condition == EC_InvalidStream) {
    return Error{ErrorCode::image_decode_failed, "DICOM: truncated at " + part + where};
  }
  return Error{ErrorCode::image_decode_failed,
               fmt::format("DICOM: malformed at {}{} ({})", part, where, condition.text())};
}

Result<ParsedObject> parse(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  ParsedObject parsed;
  if (auto meta = scan_file_meta(bytes); meta && meta->transfer_syntax == kDeflatedUid) {
    // Room for the pixel data of the largest allowed image (4 bytes a sample) plus 64 MiB of the rest.
    const std::int64_t voxels = std::clamp<std::int64_t>(limits.max_voxels, 0, std::int64_t{1} << 40);
    const std::size_t cap = static_cast<std::size_t>(voxels) * 4 + (std::size_t{64} << 20);
    auto inflated = inflate_capped(bytes.subspan(meta->dataset_offset), cap);
    if (!inflated) return std::unexpected(inflated.error());
    parsed.inflated_bytes = std::move(*inflated);
    parsed.inflated = std::make_unique<DcmDataset>();
    MemoryStream stream(parsed.inflated_bytes.data(), static_cast<offile_off_t>(parsed.inflated_bytes.size()));
    parsed.inflated->transferInit();
    const OFCondition condition = parsed.inflated->read(stream, EXS_LittleEndianExplicit, EGL_noChange, kMaxEagerRead);
    parsed.inflated->transferEnd();
    if (condition.bad()) return std::unexpected(read_failure(condition, nullptr, parsed.inflated.get()));
    parsed.dataset = parsed.inflated.get();
    parsed.transfer_syntax = std::string(kDeflatedUid);
    return parsed;
  }

  // DCMTK would inflate a deflated data set itself, without a bound: only ever through the path above.
  static constexpr std::string_view kDeflatedPattern = kDeflatedUid;
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()), std::min<std::size_t>(bytes.size(), 65536));
  if (head.find(kDeflatedPattern) != std::string_view::npos) {
    return fail(ErrorCode::image_decode_failed,
                "DICOM: deflated transfer syntax with unreadable file meta information");
  }

  parsed.file = std::make_unique<DcmFileFormat>();
  MemoryStream stream(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  parsed.file->transferInit();
  const OFCondition condition = parsed.file->read(stream, EXS_Unknown, EGL_noChange, kMaxEagerRead);
  parsed.file->transferEnd();
  if (condition.bad()) {
    return std::unexpected(read_failure(condition, parsed.file->getMetaInfo(), parsed.file->getDataset()));
  }
  parsed.dataset = parsed.file->getDataset();
  if (parsed.dataset == nullptr || parsed.dataset->card() == 0) {
    return fail(ErrorCode::image_decode_failed, "DICOM: the stream holds no data set");
  }
  OFString uid;
  if (DcmMetaInfo* meta = parsed.file->getMetaInfo();
      meta != nullptr && meta->findAndGetOFString(DCM_TransferSyntaxUID, uid).good() && !uid.empty()) {
    parsed.transfer_syntax = trim(uid.c_str());
  } else {
    parsed.transfer_syntax = DcmXfer(parsed.dataset->getOriginalXfer()).getXferID();
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Attribute access.

std::optional<long> get_integer(DcmItem& item, const DcmTagKey& key, unsigned long position = 0) {
  OFString text;
  if (item.findAndGetOFString(key, text, position).bad()) return std::nullopt;
  const std::string value = trim(text.c_str());
  if (value.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return std::nullopt;
  return parsed;
}

std::optional<double> get_real(DcmItem& item, const DcmTagKey& key, unsigned long position = 0) {
  Float64 value = 0;
  if (item.findAndGetFloat64(key, value, position).bad() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string get_string(DcmItem& item, const DcmTagKey& key) {
  OFString text;
  if (item.findAndGetOFString(key, text).bad()) return {};
  return trim(text.c_str());
}

// The macro item (e.g. Pixel Measures) of a functional-groups object for one frame: per-frame
// first, then shared. nullptr when neither holds it.
DcmItem* functional_group(DcmItem& dataset, long frame, const DcmTagKey& macro) {
  DcmItem* group = nullptr;
  DcmItem* item = nullptr;
  if (dataset.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, group, frame).good() && group != nullptr &&
      group->findAndGetSequenceItem(macro, item, 0).good() && item != nullptr) {
    return item;
  }
  if (dataset.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, group, 0).good() && group != nullptr &&
      group->findAndGetSequenceItem(macro, item, 0).good() && item != nullptr) {
    return item;
  }
  return nullptr;
}

// A Modality LUT or palette LUT: descriptor (entries, first mapped value, bits) + 16-bit data.
struct LookupTable {
  long first = 0;
  int bits = 16;
  std::vector<std::uint16_t> entries;

  double map(long stored) const {
    const long index = std::clamp<long>(stored - first, 0, static_cast<long>(entries.size()) - 1);
    return entries[static_cast<std::size_t>(index)];
  }
};

Result<LookupTable> read_lut(DcmItem& item, const DcmTagKey& descriptor_key, const DcmTagKey& data_key,
                             std::string_view what) {
  const auto count = get_integer(item, descriptor_key, 0);
  const auto first = get_integer(item, descriptor_key, 1);
  const auto bits = get_integer(item, descriptor_key, 2);
  const Uint16* data = nullptr;
  unsigned long words = 0;
  if (!count || !first || !bits || item.findAndGetUint16Array(data_key, data, &words).bad() || data == nullptr) {
    return fail(ErrorCode::image_decode_failed, fmt::format("DICOM: invalid {} {}", what, tag_text(descriptor_key)));
  }
  LookupTable lut;
  const unsigned long entries = *count == 0 ? 65536 : static_cast<unsigned long>(*count);
  lut.first = *first;
  lut.bits = static_cast<int>(*bits);
  if (*count < 0 || (lut.bits != 8 && lut.bits != 16)) {
    return fail(ErrorCode::image_decode_failed, fmt::format("DICOM: invalid {} {}", what, tag_text(descriptor_key)));
  }
  lut.entries.resize(entries);
  if (words >= entries) {
    for (unsigned long i = 0; i < entries; ++i) {
      std::uint16_t v = data[i];
      if (lut.bits == 8 && v > 0xFF) v = static_cast<std::uint16_t>(v >> 8);  // 8-bit values in the high byte
      lut.entries[i] = v;
    }
  } else if (lut.bits == 8 && words * 2 >= entries) {  // 8-bit entries packed two per word
    for (unsigned long i = 0; i < entries; ++i) {
      lut.entries[i] = static_cast<std::uint16_t>((data[i / 2] >> ((i % 2) * 8)) & 0xFF);
    }
  } else {
    return fail(ErrorCode::image_decode_failed,
                fmt::format("DICOM: {} {} holds fewer entries than its descriptor", what, tag_text(data_key)));
  }
  return lut;
}

// ---------------------------------------------------------------------------------------------
// Lossy JPEG colour. The JPEG stream of a lossy colour image is YCbCr or RGB coded, and writers disagree
// on how to say which: the Adobe APP14 transform flag and a JFIF APP0 are authoritative; component ids
// 1,2,3 mean YCbCr (JFIF without the marker: GDCM's lossy output, labelled "RGB") and 'R','G','B'
// mean RGB; otherwise the DICOM Photometric Interpretation decides (true RGB streams with ids 0,1,2
// are labelled "RGB" - libjpeg alone would guess YCbCr for them).

enum class JpegColour { unknown, ycbcr, rgb };

JpegColour scan_jpeg_colour(const Uint8* data, std::size_t size) {
  if (data == nullptr || size < 4 || data[0] != 0xFF || data[1] != 0xD8) return JpegColour::unknown;
  std::size_t i = 2;
  bool jfif = false;
  int adobe_transform = -1;
  while (i + 4 <= size && data[i] == 0xFF) {
    const Uint8 marker = data[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const std::size_t length = (static_cast<std::size_t>(data[i + 2]) << 8) | data[i + 3];
    if (length < 2 || i + 2 + length > size) break;
    const Uint8* payload = data + i + 4;
    const std::size_t payload_size = length - 2;
    if (marker == 0xE0 && payload_size >= 5 && std::memcmp(payload, "JFIF", 4) == 0) jfif = true;
    if (marker == 0xEE && payload_size >= 12 && std::memcmp(payload, "Adobe", 5) == 0) adobe_transform = payload[11];
    const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (start_of_frame) {
      if (adobe_transform == 0) return JpegColour::rgb;
      if (adobe_transform > 0 || jfif) return JpegColour::ycbcr;
      if (payload_size < 6 + 3 * 3 || payload[5] != 3) return JpegColour::unknown;
      const Uint8 a = payload[6], b = payload[9], c = payload[12];
      if (a == 1 && b == 2 && c == 3) return JpegColour::ycbcr;
      if (a == 'R' && b == 'G' && c == 'B') return JpegColour::rgb;
      return JpegColour::unknown;
    }
    if (marker == 0xDA) break;
    i += 2 + length;
  }
  return JpegColour::unknown;
}

// The colour coding of the first frame of lossy-JPEG pixel data (unknown for anything else).
JpegColour jpeg_colour_model(DcmElement* pixel_element, E_TransferSyntax original) {
  const DcmXfer xfer(original);
  if (xfer.getJPEGProcess8Bit() == 0 || !xfer.isLossy()) return JpegColour::unknown;
  auto* pixel_data = dynamic_cast<DcmPixelData*>(pixel_element);
  DcmPixelSequence* sequence = nullptr;
  if (pixel_data == nullptr || pixel_data->getEncapsulatedRepresentation(original, nullptr, sequence).bad() ||
      sequence == nullptr) {
    return JpegColour::unknown;
  }
  DcmPixelItem* fragment = nullptr;  // item 0 is the Basic Offset Table
  Uint8* data = nullptr;
  if (sequence->card() < 2 || sequence->getItem(fragment, 1).bad() || fragment == nullptr ||
      fragment->getUint8Array(data).bad()) {
    return JpegColour::unknown;
  }
  return scan_jpeg_colour(data, fragment->getLength());
}

// DCMTK 3.6.7's JPEG decoder first walks each frame's marker segments to find the bit depth
// (DJCodecDecoder::scanJpegDataForBitDepth) and never returns on some malformed headers (found by
// tests/fuzz/image_decode_fuzz: a hang, i.e. a denial of service on one crafted upload). So every
// fragment that starts a JPEG stream (SOI) is walked here first, strictly and with guaranteed
// progress: marker segments with in-bounds lengths up to a frame header (SOFn); anything else before
// it — a standalone marker other than SOI, a bad length, no SOF — is refused.
Status check_jpeg_headers(DcmElement* pixel_element, E_TransferSyntax original) {
  const DcmXfer xfer(original);
  if (xfer.getJPEGProcess8Bit() == 0) return {};  // not a dcmjpeg transfer syntax (JPEG-LS, RLE, ...)
  auto* pixel_data = dynamic_cast<DcmPixelData*>(pixel_element);
  DcmPixelSequence* sequence = nullptr;
  if (pixel_data == nullptr || pixel_data->getEncapsulatedRepresentation(original, nullptr, sequence).bad() ||
      sequence == nullptr) {
    return {};  // DCMTK reports this itself
  }
  const auto refuse = [](const char* why) {
    return fail(ErrorCode::image_decode_failed, std::string("DICOM: malformed JPEG header (") + why + ")");
  };
  for (unsigned long index = 1; index < sequence->card(); ++index) {  // item 0 is the Basic Offset Table
    DcmPixelItem* fragment = nullptr;
    Uint8* data = nullptr;
    if (sequence->getItem(fragment, index).bad() || fragment == nullptr || fragment->getUint8Array(data).bad() ||
        data == nullptr) {
      continue;
    }
    const std::size_t size = fragment->getLength();
    const bool starts_stream = size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
    if (index == 1 && !starts_stream) return refuse("the first fragment does not start with SOI");
    if (!starts_stream) continue;
    std::size_t offset = 2;
    bool frame_header = false;
    while (!frame_header) {
      if (offset + 4 > size) return refuse("no frame header");
      if (data[offset] != 0xFF) return refuse("a marker was expected");
      const Uint8 marker = data[offset + 1];
      if (marker == 0xFF) {  // fill byte
        ++offset;
        continue;
      }
      if ((marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)) {
        frame_header = true;
        continue;
      }
      if (marker == 0x01 || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD9)) {
        return refuse("a standalone marker before the frame header");
      }
      const std::size_t length = (static_cast<std::size_t>(data[offset + 2]) << 8) | data[offset + 3];
      if (length < 2 || offset + 2 + length > size) return refuse("a segment length out of range");
      offset += 2 + length;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Pixel description and extraction.

enum class ColourModel { monochrome1, monochrome2, rgb, ybr_full, ybr_full_422, palette };

struct PixelDescription {
  long rows = 0, columns = 0, frames = 1, samples = 1;
  long bits_allocated = 0, bits_stored = 0, high_bit = 0;
  bool is_signed = false;
  long planar = 0;
  std::string photometric;
  ColourModel colour = ColourModel::monochrome2;
};

// A value echoed in an error detail only when it is one of the standard's defined terms (an
// arbitrary string from the file could be anything, patient data included).
std::string defined_term(const std::string& photometric) {
  static constexpr std::array<std::string_view, 14> kTerms = {
      "MONOCHROME1",  "MONOCHROME2",     "PALETTE COLOR",   "RGB",     "HSV",     "ARGB", "CMYK", "YBR_FULL",
      "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "XYB"};
  return std::find(kTerms.begin(), kTerms.end(), photometric) != kTerms.end() ? photometric : "(non-standard)";
}

// A UID echoed in an error detail only when it looks like one (digits and dots).
std::string uid_text(const std::string& uid) {
  const bool plain = !uid.empty() && uid.size() <= 64 &&
                     std::all_of(uid.begin(), uid.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
  return plain ? uid : "(malformed UID)";
}

Error missing(const DcmTagKey& key, std::string_view name) {
  return Error{ErrorCode::image_decode_failed, fmt::format("DICOM: missing or invalid {} {}", name, tag_text(key))};
}

// Rows, Columns, Number of Frames, Samples per Pixel: enough to bound the work before decompressing.
Result<PixelDescription> read_geometry(DcmItem& ds) {
  PixelDescription d;
  const auto rows = get_integer(ds, DCM_Rows);
  if (!rows || *rows < 1 || *rows > 65535) return std::unexpected(missing(DCM_Rows, "Rows"));
  const auto columns = get_integer(ds, DCM_Columns);
  if (!columns || *columns < 1 || *columns > 65535) return std::unexpected(missing(DCM_Columns, "Columns"));
  d.rows = *rows;
  d.columns = *columns;
  if (ds.tagExistsWithValue(DCM_NumberOfFrames)) {
    const auto frames = get_integer(ds, DCM_NumberOfFrames);
    if (!frames || *frames < 1) return std::unexpected(missing(DCM_NumberOfFrames, "Number of Frames"));
    d.frames = *frames;
  }
  d.samples = get_integer(ds, DCM_SamplesPerPixel).value_or(1);
  if (d.samples != 1 && d.samples != 3) {
    return fail(ErrorCode::image_unsupported_encoding,
                fmt::format("DICOM: Samples per Pixel (0028,0002) of {} is not supported", d.samples));
  }
  return d;
}

// The rest of the description, read after decompression (codecs update Photometric Interpretation
// and Planar Configuration).
Status read_encoding(DcmItem& ds, PixelDescription& d, bool float_data) {
  if (float_data) {
    d.bits_allocated = d.bits_stored = 32;
    d.high_bit = 31;
    d.is_signed = true;
  } else {
    const auto allocated = get_integer(ds, DCM_BitsAllocated);
    if (!allocated || (*allocated != 1 && *allocated != 8 && *allocated != 16 && *allocated != 32)) {
      return std::unexpected(missing(DCM_BitsAllocated, "Bits Allocated"));
    }
    d.bits_allocated = *allocated;
    d.bits_stored = get_integer(ds, DCM_BitsStored).value_or(d.bits_allocated);
    if (d.bits_stored < 1 || d.bits_stored > d.bits_allocated) {
      return std::unexpected(missing(DCM_BitsStored, "Bits Stored"));
    }
    d.high_bit = get_integer(ds, DCM_HighBit).value_or(d.bits_stored - 1);
    if (d.high_bit + 1 < d.bits_stored || d.high_bit >= d.bits_allocated) d.high_bit = d.bits_stored - 1;
    const long representation = get_integer(ds, DCM_PixelRepresentation).value_or(0);
    if (representation != 0 && representation != 1) {
      return std::unexpected(missing(DCM_PixelRepresentation, "Pixel Representation"));
    }
    d.is_signed = representation == 1;
  }
  d.planar = d.samples == 3 ? get_integer(ds, DCM_PlanarConfiguration).value_or(0) : 0;
  if (d.planar != 0 && d.planar != 1) return std::unexpected(missing(DCM_PlanarConfiguration, "Planar Configuration"));

  d.photometric = get_string(ds, DCM_PhotometricInterpretation);
  if (d.photometric.empty()) d.photometric = d.samples == 3 ? "RGB" : "MONOCHROME2";
  const std::string& p = d.photometric;
  if (d.samples == 1 && p == "MONOCHROME1") {
    d.colour = ColourModel::monochrome1;
  } else if (d.samples == 1 && p == "MONOCHROME2") {
    d.colour = ColourModel::monochrome2;
  } else if (d.samples == 1 && p == "PALETTE COLOR" && !float_data) {
    d.colour = ColourModel::palette;
  } else if (d.samples == 3 && p == "RGB") {
    d.colour = ColourModel::rgb;
  } else if (d.samples == 3 && p == "YBR_FULL") {
    d.colour = ColourModel::ybr_full;
  } else if (d.samples == 3 && p == "YBR_FULL_422" && d.planar == 0 && d.columns % 2 == 0 && d.bits_allocated >= 8) {
    d.colour = ColourModel::ybr_full_422;
  } else {
    return fail(ErrorCode::image_unsupported_encoding,
                fmt::format("DICOM: Photometric Interpretation {} with {} sample(s) per pixel is not supported",
                            defined_term(p), d.samples));
  }
  if (float_data && d.colour != ColourModel::monochrome1 && d.colour != ColourModel::monochrome2) {
    return fail(ErrorCode::image_unsupported_encoding, "DICOM: colour Float Pixel Data is not supported");
  }
  return {};
}

// Reads raw stored samples (masked to Bits Stored at High Bit, sign-extended) from little-endian bytes.
class SampleReader {
 public:
  SampleReader(const std::uint8_t* data, const PixelDescription& d)
      : data_(data),
        bits_(static_cast<int>(d.bits_allocated)),
        shift_(static_cast<int>(d.high_bit + 1 - d.bits_stored)),
        mask_(d.bits_stored >= 32 ? 0xFFFFFFFFu : ((1u << d.bits_stored) - 1u)),
        sign_bit_(d.is_signed ? (1ull << (d.bits_stored - 1)) : 0),
        range_(1ll << d.bits_stored) {}

  std::int64_t operator()(std::size_t i) const {
    std::uint32_t v = 0;
    switch (bits_) {
      case 1: v = (data_[i >> 3] >> (i & 7)) & 1u; break;
      case 8: v = data_[i]; break;
      case 16: v = static_cast<std::uint32_t>(data_[2 * i] | (data_[2 * i + 1] << 8)); break;
      default:
        v = static_cast<std::uint32_t>(data_[4 * i]) | (static_cast<std::uint32_t>(data_[4 * i + 1]) << 8) |
            (static_cast<std::uint32_t>(data_[4 * i + 2]) << 16) | (static_cast<std::uint32_t>(data_[4 * i + 3]) << 24);
        break;
    }
    v = (v >> shift_) & mask_;
    if (sign_bit_ != 0 && (v & sign_bit_) != 0) return static_cast<std::int64_t>(v) - range_;
    return static_cast<std::int64_t>(v);
  }

 private:
  const std::uint8_t* data_;
  int bits_;
  int shift_;
  std::uint32_t mask_;
  std::uint64_t sign_bit_;
  std::int64_t range_;
};

// Full-range YCbCr (JPEG/JFIF coefficients, as DICOM YBR_FULL) → RGB, rounded and clamped.
void ybr_to_rgb(double y, double cb, double cr, double offset, double maximum, float* out) {
  cb -= offset;
  cr -= offset;
  const double rgb[3] = {y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb};
  for (int c = 0; c < 3; ++c) {
    const double v = std::clamp(std::round(rgb[c]), 0.0, maximum);
    out[c] = v > 0 ? static_cast<float>(v) : 0.0f;  // never -0
  }
}

struct Rescale {
  double slope = 1, intercept = 0;
};

Rescale rescale_for_frame(DcmItem& ds, long frame) {
  Rescale r;
  if (ds.tagExistsWithValue(DCM_RescaleSlope) || ds.tagExistsWithValue(DCM_RescaleIntercept)) {
    r.slope = get_real(ds, DCM_RescaleSlope).value_or(1.0);
    r.intercept = get_real(ds, DCM_RescaleIntercept).value_or(0.0);
  } else if (DcmItem* item = functional_group(ds, frame, DCM_PixelValueTransformationSequence)) {
    r.slope = get_real(*item, DCM_RescaleSlope).value_or(1.0);
    r.intercept = get_real(*item, DCM_RescaleIntercept).value_or(0.0);
  }
  return r;
}

void read_spatial_attributes(DcmItem& ds, const PixelDescription& d, Image& image) {
  auto spacing_from = [&](DcmItem& item, const DcmTagKey& key) {
    const auto row = get_real(item, key, 0);
    const auto column = get_real(item, key, 1);
    if (row && column && *row > 0 && *column > 0) {
      image.row_spacing_mm = *row;
      image.column_spacing_mm = *column;
      return true;
    }
    return false;
  };
  DcmItem* measures = functional_group(ds, 0, DCM_PixelMeasuresSequence);
  if (!spacing_from(ds, DCM_PixelSpacing) && !(measures != nullptr && spacing_from(*measures, DCM_PixelSpacing))) {
    spacing_from(ds, DCM_ImagerPixelSpacing);
  }

  const auto offset0 = get_real(ds, DCM_GridFrameOffsetVector, 0);
  const auto offset1 = get_real(ds, DCM_GridFrameOffsetVector, 1);
  std::optional<double> between = get_real(ds, DCM_SpacingBetweenSlices);
  if (!between && measures != nullptr) between = get_real(*measures, DCM_SpacingBetweenSlices);
  if (d.frames > 1 && offset0 && offset1 && *offset1 != *offset0) {
    image.slice_spacing_mm = std::abs(*offset1 - *offset0);
  } else if (between && *between > 0) {
    image.slice_spacing_mm = *between;
  } else if (d.frames > 1) {
    DcmItem* p0 = functional_group(ds, 0, DCM_PlanePositionSequence);
    DcmItem* p1 = functional_group(ds, 1, DCM_PlanePositionSequence);
    if (p0 != nullptr && p1 != nullptr && p0 != p1) {
      double squared = 0;
      bool complete = true;
      for (unsigned long i = 0; i < 3; ++i) {
        const auto a = get_real(*p0, DCM_ImagePositionPatient, i);
        const auto b = get_real(*p1, DCM_ImagePositionPatient, i);
        if (!a || !b)
          complete = false;
        else
          squared += (*b - *a) * (*b - *a);
      }
      if (complete) image.slice_spacing_mm = std::sqrt(squared);
    }
  }

  auto window_from = [&](DcmItem& item) {
    const auto centre = get_real(item, DCM_WindowCenter, 0);
    const auto width = get_real(item, DCM_WindowWidth, 0);
    if (centre && width && *width >= 1) {
      image.window_center = *centre;
      image.window_width = *width;
      return true;
    }
    return false;
  };
  if (!window_from(ds)) {
    if (DcmItem* voi = functional_group(ds, 0, DCM_FrameVOILUTSequence)) window_from(*voi);
  }
}

Result<Image> decode_dataset(DcmDataset& ds, const std::string& transfer_syntax, const DecodeLimits& limits) {
  const E_TransferSyntax original = ds.getOriginalXfer();
  const DcmXfer original_xfer(original);
  DcmElement* pixel_element = nullptr;
  bool float_data = false;
  if (ds.findAndGetElement(DCM_PixelData, pixel_element).bad() || pixel_element == nullptr ||
      (!original_xfer.isEncapsulated() && pixel_element->getLength() == 0)) {
    pixel_element = nullptr;
    if (ds.findAndGetElement(DCM_FloatPixelData, pixel_element).good() && pixel_element != nullptr &&
        pixel_element->getLength() > 0) {
      float_data = true;
    } else if (ds.tagExistsWithValue(DCM_DoubleFloatPixelData)) {
      return fail(ErrorCode::image_unsupported_encoding, "DICOM: Double Float Pixel Data (7FE0,0009) is not supported");
    } else {
      return fail(ErrorCode::image_no_pixel_data, "DICOM: the object has no Pixel Data (7FE0,0010)");
    }
  }

  auto geometry = read_geometry(ds);
  if (!geometry) return std::unexpected(geometry.error());
  PixelDescription d = *geometry;
  const std::int64_t frame_voxels = static_cast<std::int64_t>(d.rows) * d.columns * d.samples;  // < 2^34
  if (d.frames > limits.max_voxels / frame_voxels) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("DICOM: the image has {} frames of {} voxels, more than the limit of {} voxels", d.frames,
                            frame_voxels, limits.max_voxels));
  }

  // Decompress (encapsulated transfer syntaxes) with the registered DCMTK decoders.
  JpegColour jpeg_colour = JpegColour::unknown;
  if (!float_data && original_xfer.isEncapsulated()) {
    if (!DcmCodecList::canChangeCoding(original, EXS_LittleEndianExplicit)) {
      return fail(ErrorCode::image_unsupported_encoding,
                  fmt::format("DICOM: transfer syntax {} ({}) is not supported", uid_text(transfer_syntax),
                              original_xfer.getXferName()));
    }
    if (auto checked = check_jpeg_headers(pixel_element, original); !checked) return std::unexpected(checked.error());
    jpeg_colour = jpeg_colour_model(pixel_element, original);
    const OFCondition condition = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (condition.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      return fail(ErrorCode::image_decode_failed,
                  fmt::format("DICOM: could not decompress the {} pixel data ({})", original_xfer.getXferName(),
                              condition.bad() ? condition.text() : "no uncompressed representation"));
    }
    if (ds.findAndGetElement(DCM_PixelData, pixel_element).bad() || pixel_element == nullptr) {
      return fail(ErrorCode::image_decode_failed, "DICOM: decompression left no Pixel Data");
    }
  } else if (original == EXS_Unknown) {
    return fail(ErrorCode::image_unsupported_encoding,
                fmt::format("DICOM: transfer syntax {} is not supported", uid_text(transfer_syntax)));
  }
  if (auto status = read_encoding(ds, d, float_data); !status) return std::unexpected(status.error());
  if (d.samples == 3 && (d.colour == ColourModel::rgb || d.colour == ColourModel::ybr_full)) {
    if (jpeg_colour == JpegColour::ycbcr) d.colour = ColourModel::ybr_full;
    if (jpeg_colour == JpegColour::rgb) d.colour = ColourModel::rgb;
  }

  // The stored bytes, little endian (DCMTK swaps OW words on big-endian input).
  const std::size_t pixels = static_cast<std::size_t>(d.rows) * static_cast<std::size_t>(d.columns);
  const std::size_t raw_samples_per_frame =
      pixels * (d.colour == ColourModel::ybr_full_422 ? 2 : static_cast<std::size_t>(d.samples));
  const std::size_t raw_samples = raw_samples_per_frame * static_cast<std::size_t>(d.frames);
  const std::size_t needed = (raw_samples * static_cast<std::size_t>(d.bits_allocated) + 7) / 8;
  const std::size_t available = pixel_element->getLength();
  if (available < needed) {
    return fail(ErrorCode::image_decode_failed, fmt::format("DICOM: {} holds {} bytes, the image needs {}",
                                                            tag_text(pixel_element->getTag()), available, needed));
  }
  std::vector<std::uint8_t> raw(needed + (needed & 1));
  const Uint32 request = static_cast<Uint32>(std::min(raw.size(), available));
  if (OFCondition c = pixel_element->getPartialValue(raw.data(), 0, request, nullptr, EBO_LittleEndian); c.bad()) {
    return fail(ErrorCode::image_decode_failed,
                fmt::format("DICOM: could not read {} ({})", tag_text(pixel_element->getTag()), c.text()));
  }
  if (d.bits_allocated == 32 && !float_data && original_xfer.isBigEndian() && pixel_element->getVR() == EVR_OW) {
    // 32-bit cells in big-endian OW: DCMTK swapped each 16-bit word; put the high word back on top.
    for (std::size_t i = 0; i + 3 < raw.size(); i += 4) {
      std::swap(raw[i], raw[i + 2]);
      std::swap(raw[i + 1], raw[i + 3]);
    }
  }

  Image image;
  image.source_format = "dicom";
  image.transfer_syntax = transfer_syntax;
  image.modality = get_string(ds, DCM_Modality);
  image.study_instance_uid = get_string(ds, DCM_StudyInstanceUID);
  image.series_instance_uid = get_string(ds, DCM_SeriesInstanceUID);
  image.sop_class_uid = get_string(ds, DCM_SOPClassUID);
  image.depth = d.frames;
  image.height = d.rows;
  image.width = d.columns;
  image.channels = (d.samples == 3 || d.colour == ColourModel::palette) ? 3 : 1;
  image.bits_stored = static_cast<int>(d.bits_stored);
  image.monochrome1 = d.colour == ColourModel::monochrome1;
  image.voxels.resize(static_cast<std::size_t>(image.voxel_count()));
  read_spatial_attributes(ds, d, image);

  float* out = image.voxels.data();
  const SampleReader sample(raw.data(), d);
  switch (d.colour) {
    case ColourModel::monochrome1:
    case ColourModel::monochrome2: {
      std::optional<LookupTable> modality_lut;
      if (DcmItem* item = nullptr;
          !float_data && ds.findAndGetSequenceItem(DCM_ModalityLUTSequence, item, 0).good() && item != nullptr) {
        auto lut = read_lut(*item, DCM_LUTDescriptor, DCM_LUTData, "Modality LUT");
        if (!lut) return std::unexpected(lut.error());
        modality_lut = std::move(*lut);
      }
      for (long f = 0; f < d.frames; ++f) {
        const std::size_t base = static_cast<std::size_t>(f) * pixels;
        if (float_data) {
          const Rescale r = rescale_for_frame(ds, f);
          for (std::size_t i = 0; i < pixels; ++i) {
            float value;
            std::memcpy(&value, raw.data() + 4 * (base + i), sizeof value);
            out[base + i] = static_cast<float>(value * r.slope + r.intercept);
          }
        } else if (modality_lut) {
          for (std::size_t i = 0; i < pixels; ++i) {
            out[base + i] = static_cast<float>(modality_lut->map(static_cast<long>(sample(base + i))));
          }
        } else {
          const Rescale r = rescale_for_frame(ds, f);
          for (std::size_t i = 0; i < pixels; ++i) {
            out[base + i] = static_cast<float>(static_cast<double>(sample(base + i)) * r.slope + r.intercept);
          }
        }
      }
      if (modality_lut) image.bits_stored = modality_lut->bits;
      break;
    }
    case ColourModel::palette: {
      std::array<LookupTable, 3> luts;
      const std::array<std::pair<DcmTagKey, DcmTagKey>, 3> keys = {
          std::pair{DCM_RedPaletteColorLookupTableDescriptor, DCM_RedPaletteColorLookupTableData},
          std::pair{DCM_GreenPaletteColorLookupTableDescriptor, DCM_GreenPaletteColorLookupTableData},
          std::pair{DCM_BluePaletteColorLookupTableDescriptor, DCM_BluePaletteColorLookupTableData}};
      for (std::size_t c = 0; c < 3; ++c) {
        if (!ds.tagExistsWithValue(keys[c].second)) {
          return fail(ErrorCode::image_unsupported_encoding,
                      "DICOM: PALETTE COLOR without (non-segmented) Palette Color Lookup Table Data");
        }
        auto lut = read_lut(ds, keys[c].first, keys[c].second, "Palette Color Lookup Table");
        if (!lut) return std::unexpected(lut.error());
        luts[c] = std::move(*lut);
      }
      for (std::size_t i = 0; i < raw_samples; ++i) {
        const long index = static_cast<long>(sample(i));
        for (std::size_t c = 0; c < 3; ++c) out[3 * i + c] = static_cast<float>(luts[c].map(index));
      }
      image.bits_stored = luts[0].bits;
      break;
    }
    case ColourModel::rgb:
    case ColourModel::ybr_full: {
      const double offset = static_cast<double>(1ull << (d.bits_stored - 1));
      const double maximum = static_cast<double>((1ull << d.bits_stored) - 1);
      for (long f = 0; f < d.frames; ++f) {
        const std::size_t base = static_cast<std::size_t>(f) * pixels * 3;
        for (std::size_t i = 0; i < pixels; ++i) {
          double s[3];
          for (std::size_t c = 0; c < 3; ++c) {
            const std::size_t index = d.planar == 1 ? base + c * pixels + i : base + 3 * i + c;
            s[c] = static_cast<double>(sample(index));
          }
          float* voxel = out + base + 3 * i;
          if (d.colour == ColourModel::rgb) {
            for (std::size_t c = 0; c < 3; ++c) voxel[c] = static_cast<float>(s[c]);
          } else {
            ybr_to_rgb(s[0], s[1], s[2], offset, maximum, voxel);
          }
        }
      }
      break;
    }
    case ColourModel::ybr_full_422: {
      // Each pair of pixels in a row: Y1 Y2 Cb Cr.
      const double offset = static_cast<double>(1ull << (d.bits_stored - 1));
      const double maximum = static_cast<double>((1ull << d.bits_stored) - 1);
      for (std::size_t pair = 0; pair < raw_samples / 4; ++pair) {
        const double y0 = static_cast<double>(sample(4 * pair));
        const double y1 = static_cast<double>(sample(4 * pair + 1));
        const double cb = static_cast<double>(sample(4 * pair + 2));
        const double cr = static_cast<double>(sample(4 * pair + 3));
        ybr_to_rgb(y0, cb, cr, offset, maximum, out + 6 * pair);
        ybr_to_rgb(y1, cb, cr, offset, maximum, out + 6 * pair + 3);
      }
      break;
    }
  }
  return image;
}

// Geometry a series is sorted by.
struct SeriesObject {
  Image image;
  std::optional<std::array<double, 3>> position;
  std::optional<std::array<double, 6>> orientation;
  std::optional<long> instance_number;
  std::string photometric;
};

template <std::size_t N>
std::optional<std::array<double, N>> get_vector(DcmItem& ds, const DcmTagKey& key) {
  std::array<double, N> v{};
  for (std::size_t i = 0; i < N; ++i) {
    const auto value = get_real(ds, key, i);
    if (!value) return std::nullopt;
    v[i] = *value;
  }
  return v;
}

Result<SeriesObject> decode_object(std::span<const std::byte> bytes, const DecodeLimits& limits, bool with_geometry) {
  initialize_dcmtk();
  if (!g_dictionary_loaded) {
    return fail(ErrorCode::internal, "DICOM: the DCMTK data dictionary is not loaded (install libdcmtk's dicom.dic)");
  }
  try {
    auto parsed = parse(bytes, limits);
    if (!parsed) return std::unexpected(parsed.error());
    auto image = decode_dataset(*parsed->dataset, parsed->transfer_syntax, limits);
    if (!image) return std::unexpected(image.error());
    SeriesObject object{std::move(*image), std::nullopt, std::nullopt, std::nullopt, {}};
    if (with_geometry) {
      DcmDataset& ds = *parsed->dataset;
      object.position = get_vector<3>(ds, DCM_ImagePositionPatient);
      object.orientation = get_vector<6>(ds, DCM_ImageOrientationPatient);
      if (DcmItem* p = functional_group(ds, 0, DCM_PlanePositionSequence); !object.position && p != nullptr) {
        object.position = get_vector<3>(*p, DCM_ImagePositionPatient);
      }
      if (DcmItem* o = functional_group(ds, 0, DCM_PlaneOrientationSequence); !object.orientation && o != nullptr) {
        object.orientation = get_vector<6>(*o, DCM_ImageOrientationPatient);
      }
      object.instance_number = get_integer(ds, DCM_InstanceNumber);
      object.photometric = get_string(ds, DCM_PhotometricInterpretation);
    }
    return object;
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::invalid_argument, "DICOM: the object needs more memory than is available");
  } catch (const std::exception&) {
    return fail(ErrorCode::image_decode_failed, "DICOM: the decoder failed on malformed input");
  }
}

}  // namespace

Result<Image> decode_dicom(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  auto object = decode_object(bytes, limits, false);
  if (!object) return std::unexpected(object.error());
  return std::move(object->image);
}

Result<Image> decode_dicom_series(std::span<const std::span<const std::byte>> objects, const DecodeLimits& limits) {
  if (objects.empty()) return fail(ErrorCode::invalid_argument, "DICOM series: no objects");
  if (objects.size() == 1) return decode_dicom(objects[0], limits);

  std::vector<SeriesObject> slices;
  slices.reserve(objects.size());
  std::int64_t total = 0;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    auto object = decode_object(objects[i], limits, true);
    if (!object) {
      Error error = object.error();
      error.detail = fmt::format("DICOM series object {}: {}", i, error.detail);
      return std::unexpected(std::move(error));
    }
    const Image& first = slices.empty() ? object->image : slices.front().image;
    const Image& image = object->image;
    if (image.depth != 1) {
      return fail(
          ErrorCode::image_series_inconsistent,
          fmt::format("DICOM series object {} has {} frames; a series takes single-frame objects", i, image.depth));
    }
    if (image.height != first.height || image.width != first.width || image.channels != first.channels) {
      return fail(ErrorCode::image_series_inconsistent,
                  fmt::format("DICOM series object {} is {}x{}x{} (rows x columns x samples), object 0 is {}x{}x{}", i,
                              image.height, image.width, image.channels, first.height, first.width, first.channels));
    }
    if (!slices.empty() && object->photometric != slices.front().photometric) {
      return fail(ErrorCode::image_series_inconsistent,
                  fmt::format("DICOM series object {} differs in Photometric Interpretation (0028,0004)", i));
    }
    total += image.voxel_count();
    if (total > limits.max_voxels) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("DICOM series: more than the limit of {} voxels", limits.max_voxels));
    }
    slices.push_back(std::move(*object));
  }

  // Order: positions projected on the slice normal; else Instance Number; else as given.
  const bool positioned = std::all_of(slices.begin(), slices.end(), [](const SeriesObject& s) {
    return s.position.has_value() && s.orientation.has_value();
  });
  std::vector<double> keys(slices.size());
  std::vector<std::size_t> order(slices.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  double spacing = 0;
  if (positioned) {
    const auto& o = *slices.front().orientation;
    for (std::size_t i = 1; i < slices.size(); ++i) {
      const auto& other = *slices[i].orientation;
      for (std::size_t k = 0; k < 6; ++k) {
        if (std::abs(other[k] - o[k]) > 1e-3) {
          return fail(ErrorCode::image_series_inconsistent,
                      fmt::format("DICOM series object {} differs in Image Orientation (Patient) (0020,0037)", i));
        }
      }
    }
    const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                          o[0] * o[4] - o[1] * o[3]};
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const auto& p = *slices[i].position;
      keys[i] = p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (std::abs(keys[order[i]] - keys[order[i - 1]]) < 1e-4) {
        return fail(ErrorCode::image_series_inconsistent,
                    fmt::format("DICOM series objects {} and {} share a position (0020,0032)", order[i - 1], order[i]));
      }
    }
    // Uniform spacing: a gap that differs from the median by more than 10% (a missing slice, a
    // second stack) would silently distort a volume.
    std::vector<double> gaps;
    for (std::size_t i = 1; i < order.size(); ++i) gaps.push_back(keys[order[i]] - keys[order[i - 1]]);
    std::vector<double> sorted_gaps = gaps;
    std::nth_element(sorted_gaps.begin(), sorted_gaps.begin() + static_cast<std::ptrdiff_t>(sorted_gaps.size() / 2),
                     sorted_gaps.end());
    spacing = sorted_gaps[sorted_gaps.size() / 2];
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      if (std::abs(gaps[i] - spacing) > std::max(0.01, 0.1 * spacing)) {
        return fail(ErrorCode::image_series_inconsistent,
                    fmt::format("DICOM series: uneven slice spacing ({:.3f} mm between objects {} and {}, median "
                                "{:.3f} mm)",
                                gaps[i], order[i], order[i + 1], spacing));
      }
    }
  } else if (std::all_of(slices.begin(), slices.end(),
                         [](const SeriesObject& s) { return s.instance_number.has_value(); })) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return *slices[a].instance_number < *slices[b].instance_number;
    });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (*slices[order[i]].instance_number == *slices[order[i - 1]].instance_number) {
        return fail(
            ErrorCode::image_series_inconsistent,
            fmt::format("DICOM series objects {} and {} share an Instance Number (0020,0013)", order[i - 1], order[i]));
      }
    }
  }

  Image volume = slices[order.front()].image;
  volume.depth = static_cast<std::int64_t>(slices.size());
  volume.voxels.clear();
  volume.voxels.reserve(static_cast<std::size_t>(total));
  for (std::size_t index : order) {
    const auto& v = slices[index].image.voxels;
    volume.voxels.insert(volume.voxels.end(), v.begin(), v.end());
  }
  volume.slice_spacing_mm = positioned ? spacing : slices[order.front()].image.slice_spacing_mm;
  return volume;
}

}  // namespace cloister::imaging
