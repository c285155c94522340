#include "test_support.h"

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <png.h>
#include <jpeglib.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"

namespace cloister::imaging::test {

std::filesystem::path corpus_dir() {
  const std::filesystem::path dir = CLOISTER_PYDICOM_TEST_FILES;
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) ? dir : std::filesystem::path();
}

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes bytes(chars.size());
  if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

Bytes to_bytes(std::string_view text) {
  Bytes bytes(text.size());
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::span<const std::byte> view(const Bytes& bytes) { return {bytes.data(), bytes.size()}; }

namespace {

Bytes write_file_format(DcmFileFormat& file, const std::string& transfer_syntax_uid) {
  const E_TransferSyntax xfer = DcmXfer(transfer_syntax_uid.c_str()).getXfer();
  if (xfer == EXS_Unknown) throw std::runtime_error("unknown transfer syntax " + transfer_syntax_uid);
  const Uint32 length = file.calcElementLength(xfer, EET_ExplicitLength);
  std::vector<char> buffer(static_cast<std::size_t>(length) + (1 << 20));
  DcmOutputBufferStream stream(buffer.data(), static_cast<offile_off_t>(buffer.size()));
  file.transferInit();
  const OFCondition condition = file.write(stream, xfer, EET_ExplicitLength, nullptr);
  file.transferEnd();
  if (condition.bad()) throw std::runtime_error(std::string("DCMTK write failed: ") + condition.text());
  stream.flush();  // the deflate filter holds the end of a deflated data set
  void* data = nullptr;
  offile_off_t size = 0;
  stream.flushBuffer(data, size);
  Bytes bytes(static_cast<std::size_t>(size));
  std::memcpy(bytes.data(), data, bytes.size());
  return bytes;
}

}  // namespace

Bytes edit_dicom(const Bytes& object, const std::function<void(DcmDataset&)>& edit,
                 const std::string& transfer_syntax_uid) {
  DcmFileFormat file;
  DcmInputBufferStream stream;
  stream.setBuffer(object.data(), static_cast<offile_off_t>(object.size()));
  stream.setEos();
  file.transferInit();
  const OFCondition condition = file.read(stream);
  file.transferEnd();
  if (condition.bad()) throw std::runtime_error(std::string("DCMTK read failed: ") + condition.text());
  edit(*file.getDataset());
  file.getDataset()->loadAllDataIntoMemory();
  // The meta header is regenerated for the new transfer syntax.
  file.getMetaInfo()->clear();
  return write_file_format(file, transfer_syntax_uid);
}

Bytes make_dicom(const std::function<void(DcmDataset&)>& fill, const std::string& transfer_syntax_uid) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  char uid[100];
  ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  fill(ds);
  return write_file_format(file, transfer_syntax_uid);
}

DcmtkGeometry dcmtk_geometry(const std::filesystem::path& path) {
  DcmFileFormat file;
  DcmtkGeometry g;
  if (file.loadFile(path.c_str()).bad()) return g;
  DcmDataset& ds = *file.getDataset();
  Uint16 value = 0;
  if (ds.findAndGetUint16(DCM_Rows, value).good()) g.rows = value;
  if (ds.findAndGetUint16(DCM_Columns, value).good()) g.columns = value;
  if (ds.findAndGetUint16(DCM_SamplesPerPixel, value).good()) g.samples = value;
  Sint32 frames = 0;
  g.frames = ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() ? frames : 1;
  return g;
}

namespace {

struct PngSink {
  std::string out;
  char message[128] = {};
};

void png_sink_write(png_structp png, png_bytep data, std::size_t length) {
  static_cast<PngSink*>(png_get_io_ptr(png))->out.append(reinterpret_cast<const char*>(data), length);
}
void png_sink_flush(png_structp) {}
void png_sink_error(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<PngSink*>(png_get_error_ptr(png))->message, 128, "%s", message);
  png_longjmp(png, 1);
}

bool png_write_all(png_structp png, png_infop info, std::uint32_t width, std::uint32_t height, int colour_type,
                   int bit_depth, bool interlaced, png_bytepp rows, const std::uint8_t* palette, int palette_entries,
                   const std::uint8_t* trns, int trns_count) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, width, height, bit_depth, colour_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette_entries > 0) {
    png_color colours[256];
    for (int i = 0; i < palette_entries; ++i) {
      colours[i] = png_color{palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]};
    }
    png_set_PLTE(png, info, colours, palette_entries);
  }
  if (trns_count > 0) png_set_tRNS(png, info, trns, trns_count, nullptr);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct JpegSinkErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
};

void jpeg_sink_error(j_common_ptr info) { std::longjmp(reinterpret_cast<JpegSinkErrors*>(info->err)->jump, 1); }

bool jpeg_write_all(jpeg_compress_struct* info, JpegSinkErrors* errors, unsigned char** out, unsigned long* size,
                    std::uint32_t width, std::uint32_t height, int components, const std::uint8_t* samples, int quality,
                    bool progressive) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_compress(info);
  jpeg_mem_dest(info, out, size);
  info->image_width = width;
  info->image_height = height;
  info->input_components = components;
  info->in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(info);
  jpeg_set_quality(info, quality, TRUE);
  if (progressive) jpeg_simple_progression(info);
  jpeg_start_compress(info, TRUE);
  while (info->next_scanline < info->image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(samples + static_cast<std::size_t>(info->next_scanline) * width * components);
    jpeg_write_scanlines(info, &row, 1);
  }
  jpeg_finish_compress(info);
  return true;
}

}  // namespace

std::string write_png_raw(std::uint32_t width, std::uint32_t height, int colour_type, int bit_depth, bool interlaced,
                          const std::vector<std::uint8_t>& packed_rows, const std::vector<std::uint8_t>& palette,
                          const std::vector<std::uint8_t>& trns) {
  PngSink sink;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_sink_error, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &sink, png_sink_write, png_sink_flush);
  const std::size_t row_bytes = packed_rows.size() / height;
  std::vector<png_bytep> rows(height);
  for (std::uint32_t y = 0; y < height; ++y) rows[y] = const_cast<png_bytep>(packed_rows.data() + y * row_bytes);
  const bool ok =
      png_write_all(png, info, width, height, colour_type, bit_depth, interlaced, rows.data(), palette.data(),
                    static_cast<int>(palette.size() / 3), trns.data(), static_cast<int>(trns.size()));
  png_destroy_write_struct(&png, &info);
  if (!ok) throw std::runtime_error(std::string("libpng write failed: ") + sink.message);
  return sink.out;
}

std::string write_jpeg(std::uint32_t width, std::uint32_t height, int components,
                       const std::vector<std::uint8_t>& samples, int quality, bool progressive) {
  jpeg_compress_struct info{};
  JpegSinkErrors errors{};
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_sink_error;
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const bool ok =
      jpeg_write_all(&info, &errors, &out, &size, width, height, components, samples.data(), quality, progressive);
  jpeg_destroy_compress(&info);
  std::string result;
  if (ok) result.assign(reinterpret_cast<const char*>(out), size);
  std::free(out);
  if (!ok) throw std::runtime_error("libjpeg write failed");
  return result;
}

}  // namespace cloister::imaging::test
