// Every file of pydicom's test corpus (python3-pydicom) through decode(): an explicit expectation per
// file, and a check that the table covers the whole directory (a new file must be classified here).
// Reference values were computed once with /usr/bin/python3 + pydicom 2.3 (numpy handler; rescale
// via pydicom.pixel_data_handlers.util.apply_modality_lut, YBR via convert_color_space) and are
// hard-coded below.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/imaging/image.h"
#include "test_support.h"

namespace cloister::imaging {
namespace {

using test::corpus_dir;
using test::read_bytes;
using test::view;

struct Expectation {
  std::string_view path;           // relative to the corpus; ending in '/' covers a whole folder
  std::optional<ErrorCode> error;  // nullopt: decodes to an image of the size below
  std::int64_t depth = 0, height = 0, width = 0, channels = 0;
  std::string_view why = {};
};

Expectation image(std::string_view path, std::int64_t depth, std::int64_t height, std::int64_t width,
                  std::int64_t channels) {
  return Expectation{path, std::nullopt, depth, height, width, channels};
}
Expectation error(std::string_view path, ErrorCode code, std::string_view why) {
  return Expectation{path, code, 0, 0, 0, 0, why};
}

const std::vector<Expectation>& expectations() {
  static const std::vector<Expectation> table = {
      // JPEG 2000 (no decoder in this DCMTK build).
      error("693_J2KI.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000"),
      error("GDCMJ2K_TextGBR.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000 lossless"),
      error("J2K_pixelrep_mismatch.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000 lossless"),
      error("JPEG2000-embedded-sequence-delimiter.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000"),
      error("JPEG2000.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000"),
      error("MR_small_jp2klossless.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000 lossless"),
      error("SC_rgb_gdcm_KY.dcm", ErrorCode::image_unsupported_encoding, "JPEG 2000"),
      // Images.
      image("CT_small.dcm", 1, 128, 128, 1),
      image("ExplVR_BigEnd.dcm", 1, 60, 80, 3),  // big endian, RGB, planar configuration 1
      image("JPEG-lossy.dcm", 1, 1024, 256, 1),  // JPEG extended 12-bit
      image("JPGExtended.dcm", 1, 1024, 256, 1),
      image("MR_small.dcm", 1, 64, 64, 1),
      image("MR_small_RLE.dcm", 1, 64, 64, 1),
      image("MR_small_bigendian.dcm", 1, 64, 64, 1),
      image("MR_small_expb.dcm", 1, 64, 64, 1),
      image("MR_small_implicit.dcm", 1, 64, 64, 1),
      image("MR_small_jpeg_ls_lossless.dcm", 1, 64, 64, 1),
      image("MR_small_padded.dcm", 1, 64, 64, 1),
      image("SC_jpeg_no_color_transform.dcm", 1, 256, 256, 3),    // RGB-coded baseline, ids 0,1,2
      image("SC_jpeg_no_color_transform_2.dcm", 1, 256, 256, 3),  // RGB-coded, Adobe transform 0
      image("SC_rgb_dcmtk_+eb+cr.dcm", 1, 100, 100, 3),
      image("SC_rgb_dcmtk_+eb+cy+n1.dcm", 1, 100, 100, 3),
      image("SC_rgb_dcmtk_+eb+cy+n2.dcm", 1, 100, 100, 3),
      image("SC_rgb_dcmtk_+eb+cy+np.dcm", 1, 100, 100, 3),
      image("SC_rgb_dcmtk_+eb+cy+s2.dcm", 1, 100, 100, 3),
      image("SC_rgb_dcmtk_+eb+cy+s4.dcm", 1, 100, 100, 3),
      image("SC_rgb_jpeg.dcm", 1, 256, 256, 3),  // implicit-VR data set under an explicit TS (tolerated)
      image("SC_rgb_jpeg_app14_dcmd.dcm", 1, 256, 256, 3),
      image("SC_rgb_jpeg_dcmd.dcm", 1, 256, 256, 3),
      image("SC_rgb_jpeg_dcmtk.dcm", 1, 100, 100, 3),
      image("SC_rgb_jpeg_gdcm.dcm", 1, 100, 100, 3),        // JPEG lossless
      image("SC_rgb_jpeg_lossy_gdcm.dcm", 1, 100, 100, 3),  // YCbCr-coded, labelled RGB
      image("SC_rgb_rle.dcm", 1, 100, 100, 3),
      image("SC_rgb_rle_16bit.dcm", 1, 100, 100, 3),
      image("SC_rgb_rle_16bit_2frame.dcm", 2, 100, 100, 3),
      image("SC_rgb_rle_2frame.dcm", 2, 100, 100, 3),
      image("SC_rgb_rle_32bit.dcm", 1, 100, 100, 3),
      image("SC_rgb_rle_32bit_2frame.dcm", 2, 100, 100, 3),
      image("SC_rgb_small_odd.dcm", 1, 3, 3, 3),
      image("SC_rgb_small_odd_jpeg.dcm", 1, 3, 3, 3),
      image("SC_ybr_full_422_uncompressed.dcm", 1, 100, 100, 3),
      image("image_dfl.dcm", 1, 512, 512, 1),     // deflated explicit VR little endian
      image("liver_1frame.dcm", 1, 512, 512, 1),  // SEG, 1 bit allocated
      image("liver_expb_1frame.dcm", 1, 512, 512, 1),
      image("rtdose.dcm", 15, 10, 10, 1),
      image("rtdose_1frame.dcm", 1, 10, 10, 1),
      image("rtdose_expb.dcm", 15, 10, 10, 1),
      image("rtdose_expb_1frame.dcm", 1, 10, 10, 1),
      image("rtdose_rle.dcm", 15, 10, 10, 1),  // GDCM wrote most elements as UN (read with dictionary VRs)
      image("rtdose_rle_1frame.dcm", 1, 10, 10, 1),
      // Objects without an image.
      error("ExplVR_BigEndNoMeta.dcm", ErrorCode::image_no_pixel_data, "RT ion plan, no preamble"),
      error("ExplVR_LitEndNoMeta.dcm", ErrorCode::image_no_pixel_data, "RT ion plan, no preamble"),
      error("UN_sequence.dcm", ErrorCode::image_no_pixel_data, "one private sequence"),
      error("empty_charset_LEI.dcm", ErrorCode::image_no_pixel_data, "no image"),
      error("no_meta_group_length.dcm", ErrorCode::image_no_pixel_data, "no image"),
      error("priv_SQ.dcm", ErrorCode::image_no_pixel_data, "no image"),
      error("reportsi.dcm", ErrorCode::image_no_pixel_data, "SR"),
      error("reportsi_with_empty_number_tags.dcm", ErrorCode::image_no_pixel_data, "SR"),
      error("rtplan.dcm", ErrorCode::image_no_pixel_data, "RT plan"),
      error("rtstruct.dcm", ErrorCode::image_no_pixel_data, "RT structure set, no preamble"),
      error("test-SR.dcm", ErrorCode::image_no_pixel_data, "comprehensive SR"),
      error("waveform_ecg.dcm", ErrorCode::image_no_pixel_data, "ECG waveform"),
      // Malformed or truncated.
      error("MR_truncated.dcm", ErrorCode::image_decode_failed, "Pixel Data cut short"),
      error("rtplan_truncated.dcm", ErrorCode::image_decode_failed, "cut inside a sequence"),
      error("badVR.dcm", ErrorCode::image_decode_failed, "Number of Frames '1A'"),
      error("meta_missing_tsyntax.dcm", ErrorCode::image_decode_failed, "Pixel Data without Rows"),
      error("nested_priv_SQ.dcm", ErrorCode::image_decode_failed, "Pixel Data without Rows"),
      // Not DICOM (or not recognisable as DICOM).
      error("no_meta.dcm", ErrorCode::unsupported_media_type, "data set missing its first byte"),
      error("README.txt", ErrorCode::unsupported_media_type, "text"),
      error("rtplan.dump", ErrorCode::unsupported_media_type, "text"),
      error("rtstruct.dump", ErrorCode::unsupported_media_type, "text"),
      error("test1.json", ErrorCode::unsupported_media_type, "JSON"),
      error("test_PN.json", ErrorCode::unsupported_media_type, "JSON"),
      error("zipMR.gz", ErrorCode::unsupported_media_type, "gzip"),
      // DICOMDIR test tree.
      error("dicomdirtests/DICOMDIR", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-bigEnd", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-empty.dcm", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-implicit", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-nooffset", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-nopatient", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/DICOMDIR-reordered", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/README.txt", ErrorCode::unsupported_media_type, "text"),
      error("dicomdirtests/TINY_ALPHA/DICOMDIR", ErrorCode::image_no_pixel_data, "DICOMDIR"),
      error("dicomdirtests/TINY_ALPHA/README", ErrorCode::unsupported_media_type, "text"),
      error("dicomdirtests/TINY_ALPHA/PT000000/", ErrorCode::image_no_pixel_data, "CT objects stripped of pixels"),
      image("dicomdirtests/77654033/CR1/", 1, 16, 16, 1),  // MONOCHROME1, rescale 0.684 / 200
      image("dicomdirtests/77654033/CR2/", 1, 16, 16, 1),
      image("dicomdirtests/77654033/CR3/", 1, 16, 16, 1),
      image("dicomdirtests/77654033/CT2/", 1, 16, 16, 1),
      image("dicomdirtests/98892001/CT2N/", 1, 16, 16, 1),
      image("dicomdirtests/98892001/CT5N/", 1, 16, 16, 1),
      image("dicomdirtests/98892003/MR1/", 1, 16, 16, 1),
      image("dicomdirtests/98892003/MR2/", 1, 16, 16, 1),
      image("dicomdirtests/98892003/MR700/", 1, 16, 16, 1),
  };
  return table;
}

// The entry for a file: the exact path, else the longest folder entry above it.
const Expectation* find_expectation(const std::string& relative) {
  const Expectation* best = nullptr;
  for (const Expectation& e : expectations()) {
    if (e.path == relative) return &e;
    if (e.path.ends_with('/') && relative.starts_with(e.path) &&
        (best == nullptr || e.path.size() > best->path.size())) {
      best = &e;
    }
  }
  return best;
}

#define REQUIRE_CORPUS()                                                                                     \
  do {                                                                                                       \
    if (corpus_dir().empty()) {                                                                              \
      GTEST_SKIP() << "pydicom test files not installed (python3-pydicom): " << CLOISTER_PYDICOM_TEST_FILES; \
    }                                                                                                        \
  } while (false)

Image decode_file(const std::string& name) {
  auto result = decode(view(read_bytes(corpus_dir() / name)));
  if (!result) ADD_FAILURE() << name << ": " << result.error().to_string();
  return result.value_or(Image{});
}

TEST(DicomCorpus, EveryFileMatchesItsExpectation) {
  REQUIRE_CORPUS();
  std::vector<std::string> unclassified;
  std::set<std::string_view> used;
  int images = 0, errors = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus_dir())) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = std::filesystem::relative(entry.path(), corpus_dir()).generic_string();
    const Expectation* expected = find_expectation(relative);
    if (expected == nullptr) {
      unclassified.push_back(relative);
      continue;
    }
    used.insert(expected->path);
    SCOPED_TRACE(relative);
    const auto bytes = read_bytes(entry.path());
    auto result = decode(view(bytes));
    if (expected->error) {
      ++errors;
      ASSERT_FALSE(result.has_value()) << "decoded, expected " << error_name(*expected->error) << " (" << expected->why
                                       << ")";
      EXPECT_EQ(result.error().code, *expected->error) << result.error().to_string();
      EXPECT_FALSE(result.error().detail.empty());
      if (*expected->error == ErrorCode::image_unsupported_encoding) {
        EXPECT_NE(result.error().detail.find("1.2.840.10008.1.2.4.9"), std::string::npos)
            << "the detail names the transfer syntax: " << result.error().detail;
      }
      continue;
    }
    ++images;
    ASSERT_TRUE(result.has_value()) << result.error().to_string();
    const Image& im = *result;
    EXPECT_EQ(im.depth, expected->depth);
    EXPECT_EQ(im.height, expected->height);
    EXPECT_EQ(im.width, expected->width);
    EXPECT_EQ(im.channels, expected->channels);
    EXPECT_EQ(static_cast<std::int64_t>(im.voxels.size()), im.voxel_count());
    EXPECT_EQ(im.source_format, "dicom");
    EXPECT_FALSE(im.transfer_syntax.empty());
    EXPECT_TRUE(std::all_of(im.voxels.begin(), im.voxels.end(), [](float v) { return std::isfinite(v); }));
    // The size agrees with what DCMTK's own data set says.
    const auto geometry = test::dcmtk_geometry(entry.path());
    EXPECT_EQ(im.height, geometry.rows);
    EXPECT_EQ(im.width, geometry.columns);
    EXPECT_EQ(im.depth, geometry.frames);
    EXPECT_EQ(im.channels, geometry.samples);
  }
  EXPECT_TRUE(unclassified.empty()) << "files missing from the expectation table: "
                                    << ::testing::PrintToString(unclassified);
  for (const Expectation& e : expectations()) {
    EXPECT_TRUE(used.contains(e.path)) << "stale table entry: " << e.path;
  }
  EXPECT_GE(images, 70);
  EXPECT_GE(errors, 80);
}

TEST(DicomCorpus, TruncationNamesTheElement) {
  REQUIRE_CORPUS();
  auto mr = decode(view(read_bytes(corpus_dir() / "MR_truncated.dcm")));
  ASSERT_FALSE(mr.has_value());
  EXPECT_EQ(mr.error().detail, "DICOM: truncated at element (7FE0,0010)");
  auto plan = decode(view(read_bytes(corpus_dir() / "rtplan_truncated.dcm")));
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().detail, "DICOM: truncated at element (300A,00B0)");
}

// MR_small in every lossless transfer syntax of the corpus decodes to the same voxels.
TEST(DicomCorpus, LosslessTransferSyntaxesOfMrSmallAreIdentical) {
  REQUIRE_CORPUS();
  const Image reference = decode_file("MR_small.dcm");
  ASSERT_EQ(reference.voxels.size(), 64u * 64u);
  const std::map<std::string, std::string> variants = {
      {"MR_small_implicit.dcm", "1.2.840.10008.1.2"},
      {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},
      {"MR_small_expb.dcm", "1.2.840.10008.1.2.2"},
      {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5"},
      {"MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"},
      {"MR_small_padded.dcm", "1.2.840.10008.1.2.1"},
  };
  for (const auto& [name, syntax] : variants) {
    SCOPED_TRACE(name);
    const Image variant = decode_file(name);
    EXPECT_EQ(variant.transfer_syntax, syntax);
    EXPECT_EQ(variant.voxels, reference.voxels);
    EXPECT_EQ(variant.modality, "MR");
  }
}

TEST(DicomCorpus, MrSmallValuesMatchPydicom) {
  REQUIRE_CORPUS();
  const Image im = decode_file("MR_small.dcm");
  ASSERT_EQ(im.voxels.size(), 4096u);
  EXPECT_EQ(im.at(0, 0, 0), 905);
  EXPECT_EQ(im.at(0, 32, 32), 182);
  EXPECT_EQ(im.at(0, 63, 63), 862);
  EXPECT_EQ(im.at(0, 10, 50), 1104);
  EXPECT_EQ(*std::min_element(im.voxels.begin(), im.voxels.end()), 127);
  EXPECT_EQ(*std::max_element(im.voxels.begin(), im.voxels.end()), 2145);
  double sum = 0;
  for (float v : im.voxels) sum += v;
  EXPECT_EQ(sum, 2125338.0);
  EXPECT_EQ(im.bits_stored, 16);
  EXPECT_NEAR(im.row_spacing_mm, 0.3125, 1e-9);
  ASSERT_TRUE(im.window_center.has_value());
  EXPECT_EQ(*im.window_center, 600);
  EXPECT_EQ(*im.window_width, 1600);
}

// 16-bit signed CT, rescale slope 1 intercept -1024: Hounsfield units.
TEST(DicomCorpus, CtSmallIsInHounsfieldUnits) {
  REQUIRE_CORPUS();
  const Image im = decode_file("CT_small.dcm");
  EXPECT_EQ(im.modality, "CT");
  EXPECT_EQ(im.at(0, 0, 0), -849);
  EXPECT_EQ(im.at(0, 64, 64), 904);
  EXPECT_EQ(im.at(0, 127, 127), -115);
  EXPECT_EQ(im.at(0, 10, 100), 203);
  EXPECT_EQ(*std::min_element(im.voxels.begin(), im.voxels.end()), -896);
  EXPECT_EQ(*std::max_element(im.voxels.begin(), im.voxels.end()), 1167);
  double sum = 0;
  for (float v : im.voxels) sum += v;
  EXPECT_EQ(sum, -1950906.0);
  EXPECT_NEAR(im.row_spacing_mm, 0.661468, 1e-6);
  EXPECT_EQ(im.slice_spacing_mm, 5);  // Spacing Between Slices
}

TEST(DicomCorpus, RtDoseMultiFrameAgreesAcrossEncodings) {
  REQUIRE_CORPUS();
  const Image dose = decode_file("rtdose.dcm");
  ASSERT_EQ(dose.depth, 15);
  EXPECT_EQ(dose.at(0, 0, 0), 1249000);
  EXPECT_EQ(dose.at(14, 9, 9), 799000);
  EXPECT_EQ(dose.at(7, 5, 5), 975000);
  EXPECT_EQ(dose.slice_spacing_mm, 5);  // Grid Frame Offset Vector
  EXPECT_EQ(dose.bits_stored, 32);
  for (const char* name : {"rtdose_expb.dcm", "rtdose_rle.dcm"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(decode_file(name).voxels, dose.voxels);
  }
  const std::vector<float> first(dose.voxels.begin(), dose.voxels.begin() + 100);
  for (const char* name : {"rtdose_1frame.dcm", "rtdose_expb_1frame.dcm", "rtdose_rle_1frame.dcm"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(decode_file(name).voxels, first);
  }
}

// SC_rgb*: ten horizontal colour bars (pydicom's reference pattern), read at column 50.
TEST(DicomCorpus, ScRgbColourBarsInEveryEncoding) {
  REQUIRE_CORPUS();
  struct Bar {
    int row;
    int rgb[3];
  };
  const Bar bars[] = {{5, {255, 0, 0}},      {15, {255, 128, 128}}, {25, {0, 255, 0}}, {35, {128, 255, 128}},
                      {45, {0, 0, 255}},     {55, {128, 128, 255}}, {65, {0, 0, 0}},   {75, {64, 64, 64}},
                      {85, {192, 192, 192}}, {95, {255, 255, 255}}};
  struct Variant {
    const char* name;
    double scale;      // 8-bit value → sample value
    double tolerance;  // lossy JPEG / YCbCr round trips
  };
  const Variant variants[] = {
      {"SC_rgb_rle.dcm", 1, 0},
      {"SC_rgb_rle_2frame.dcm", 1, 0},
      {"SC_rgb_rle_16bit.dcm", 257, 0},
      {"SC_rgb_rle_16bit_2frame.dcm", 257, 0},
      {"SC_rgb_rle_32bit.dcm", 16843009, 0},
      {"SC_rgb_rle_32bit_2frame.dcm", 16843009, 0},
      {"SC_rgb_jpeg_gdcm.dcm", 1, 0},        // JPEG lossless
      {"SC_rgb_dcmtk_+eb+cr.dcm", 1, 0},     // baseline, RGB-coded (Adobe transform 0)
      {"SC_rgb_dcmtk_+eb+cy+n1.dcm", 1, 6},  // baseline YBR_FULL
      {"SC_rgb_dcmtk_+eb+cy+n2.dcm", 1, 6},
      {"SC_rgb_dcmtk_+eb+cy+np.dcm", 1, 6},  // YBR_FULL_422
      {"SC_rgb_dcmtk_+eb+cy+s2.dcm", 1, 6},
      {"SC_rgb_dcmtk_+eb+cy+s4.dcm", 1, 6},
      {"SC_rgb_jpeg_dcmtk.dcm", 1, 6},
      {"SC_rgb_jpeg_lossy_gdcm.dcm", 1, 6},  // YCbCr-coded although labelled RGB
      {"SC_ybr_full_422_uncompressed.dcm", 1, 6},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    const Image im = decode_file(v.name);
    ASSERT_EQ(im.channels, 3);
    ASSERT_EQ(im.height, 100);
    for (const Bar& bar : bars) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_NEAR(im.at(0, bar.row, 50, c), bar.rgb[c] * v.scale, v.tolerance * v.scale + 1e-3 * v.scale)
            << "row " << bar.row << " channel " << c;
      }
    }
    if (im.depth == 2) {  // the second frame is the first inverted
      const double maximum = 255 * v.scale;
      const std::size_t frame = im.voxels.size() / 2;
      for (std::size_t i = 0; i < frame; ++i) {
        ASSERT_NEAR(static_cast<double>(im.voxels[i]) + im.voxels[frame + i], maximum, 1e-6 * maximum) << i;
      }
    }
  }
}

// YBR_FULL_422 (uncompressed) converted to RGB exactly as pydicom's convert_color_space does.
TEST(DicomCorpus, YbrFull422MatchesPydicomConversion) {
  REQUIRE_CORPUS();
  const Image im = decode_file("SC_ybr_full_422_uncompressed.dcm");
  const int expected[][4] = {{5, 254, 0, 0},      {15, 255, 127, 127}, {25, 0, 255, 5}, {35, 129, 255, 129},
                             {45, 0, 0, 254},     {55, 128, 127, 255}, {65, 0, 0, 0},   {75, 64, 64, 64},
                             {85, 192, 192, 192}, {95, 255, 255, 255}};
  for (const auto& e : expected) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(im.at(0, e[0], 50, c), e[1 + c]) << "row " << e[0];
  }
}

TEST(DicomCorpus, BigEndianPlanarRgbMatchesPydicom) {
  REQUIRE_CORPUS();
  const Image im = decode_file("ExplVR_BigEnd.dcm");
  const int expected[][5] = {
      {0, 0, 171, 171, 171}, {30, 40, 255, 255, 0}, {59, 79, 255, 232, 0}, {10, 20, 255, 255, 0}};
  for (const auto& e : expected) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(im.at(0, e[0], e[1], c), e[2 + c]);
  }
  double sum = 0;
  for (float v : im.voxels) sum += v;
  EXPECT_EQ(sum, 2470716.0);
  const Image odd = decode_file("SC_rgb_small_odd.dcm");
  const int rows[3][3] = {{166, 141, 52}, {63, 87, 176}, {158, 158, 158}};
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 3; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(odd.at(0, y, x, c), rows[y][c]);
    }
  }
  const Image odd_jpeg = decode_file("SC_rgb_small_odd_jpeg.dcm");
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 3; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(odd_jpeg.at(0, y, x, c), rows[y][c], 6);
    }
  }
}

// The 256×256 tile in its JPEG encodings against its uncompressed copies.
TEST(DicomCorpus, JpegColourModelsAgreeWithUncompressedCopies) {
  REQUIRE_CORPUS();
  auto max_difference = [](const Image& a, const Image& b) {
    EXPECT_EQ(a.voxels.size(), b.voxels.size());
    float worst = 0;
    for (std::size_t i = 0; i < std::min(a.voxels.size(), b.voxels.size()); ++i) {
      worst = std::max(worst, std::abs(a.voxels[i] - b.voxels[i]));
    }
    return worst;
  };
  const Image plain = decode_file("SC_rgb_jpeg_dcmd.dcm");  // uncompressed
  EXPECT_EQ(plain.at(0, 0, 0, 0), 244);
  EXPECT_EQ(plain.at(0, 128, 128, 1), 244);
  EXPECT_LE(max_difference(decode_file("SC_rgb_jpeg.dcm"), plain), 2);
  EXPECT_LE(max_difference(decode_file("SC_jpeg_no_color_transform.dcm"), plain), 2);
  EXPECT_LE(max_difference(decode_file("SC_jpeg_no_color_transform_2.dcm"), decode_file("SC_rgb_jpeg_app14_dcmd.dcm")),
            2);
  // 12-bit JPEG extended: the fixed and the original file give the same image.
  const Image lossy = decode_file("JPEG-lossy.dcm");
  EXPECT_EQ(lossy.bits_stored, 12);
  EXPECT_EQ(lossy.voxels, decode_file("JPGExtended.dcm").voxels);
}

TEST(DicomCorpus, DeflatedSegmentationAndMonochrome1) {
  REQUIRE_CORPUS();
  const Image deflated = decode_file("image_dfl.dcm");
  EXPECT_EQ(deflated.transfer_syntax, "1.2.840.10008.1.2.1.99");
  EXPECT_EQ(deflated.at(0, 0, 0), 213);
  EXPECT_EQ(deflated.at(0, 256, 256), 65);
  EXPECT_EQ(deflated.at(0, 100, 300), 70);
  double sum = 0;
  for (float v : deflated.voxels) sum += v;
  EXPECT_EQ(sum, 33322688.0);

  const Image liver = decode_file("liver_1frame.dcm");
  EXPECT_EQ(liver.bits_stored, 1);
  EXPECT_EQ(std::count(liver.voxels.begin(), liver.voxels.end(), 1.0f), 36233);
  EXPECT_EQ(liver.at(0, 256, 256), 1);
  EXPECT_EQ(decode_file("liver_expb_1frame.dcm").voxels, liver.voxels);

  const Image cr = decode_file("dicomdirtests/77654033/CR1/6154");
  EXPECT_TRUE(cr.monochrome1);
  EXPECT_EQ(cr.bits_stored, 12);
  EXPECT_FLOAT_EQ(cr.at(0, 0, 0), static_cast<float>(1994 * 0.684 + 200));  // stored 1994, slope 0.684
  EXPECT_FLOAT_EQ(cr.at(0, 8, 8), 1920.26f);
  ASSERT_TRUE(cr.window_center.has_value());
  EXPECT_EQ(*cr.window_center, 1600);
  EXPECT_EQ(*cr.window_width, 2800);
}

}  // namespace
}  // namespace cloister::imaging
