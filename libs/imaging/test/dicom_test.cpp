// DICOM decoding beyond the corpus: objects built in memory with DCMTK (pixel encodings, LUTs,
// functional groups), series assembly, resource limits, robustness against truncated and corrupted
// input, and error details free of patient data.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <zlib.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcsequen.h"

#include "cloister/imaging/image.h"
#include "test_support.h"

namespace cloister::imaging {
namespace {

using test::Bytes;
using test::corpus_dir;
using test::make_dicom;
using test::read_bytes;
using test::view;

void put_mono16(DcmDataset& ds, int rows, int columns, const std::vector<Uint16>& pixels, int bits_stored = 16,
                bool is_signed = false, const char* photometric = "MONOCHROME2") {
  ds.putAndInsertString(DCM_Modality, "OT");
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(columns));
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, photometric);
  ds.putAndInsertUint16(DCM_BitsAllocated, 16);
  ds.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(bits_stored));
  ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits_stored - 1));
  ds.putAndInsertUint16(DCM_PixelRepresentation, is_signed ? 1 : 0);
  ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size()));
}

Image decode_ok(const Bytes& bytes) {
  auto result = decode(view(bytes));
  if (!result) ADD_FAILURE() << result.error().to_string();
  return result.value_or(Image{});
}

// A JPEG-encapsulated object (found by tests/fuzz/image_decode_fuzz) on which DCMTK 3.6.7's bit-depth
// scan of the JPEG header never returned: refused before DCMTK sees it.
TEST(Dicom, MalformedJpegHeadersAreRefusedBeforeDcmtkScansThem) {
  const auto bytes = read_bytes("tests/fuzz/corpus/image_decode/dcmtk-jpeg-bit-depth-scan-hang.dcm");
  ASSERT_FALSE(bytes.empty()) << "run from the repository root (ctest does)";
  auto image = decode(view(bytes));
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, ErrorCode::image_decode_failed);
  EXPECT_NE(image.error().detail.find("malformed JPEG header"), std::string::npos) << image.error().detail;
}

TEST(Dicom, Monochrome1WithRescaleIsExact) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 2, 3, {0, 1, 2, 100, 4095, 7}, 12, false, "MONOCHROME1");
    ds.putAndInsertString(DCM_RescaleSlope, "0.5");
    ds.putAndInsertString(DCM_RescaleIntercept, "-10.25");
    ds.putAndInsertString(DCM_WindowCenter, "40\\80");
    ds.putAndInsertString(DCM_WindowWidth, "400\\800");
    ds.putAndInsertString(DCM_PixelSpacing, "0.7\\0.9");
  });
  const Image im = decode_ok(bytes);
  EXPECT_TRUE(im.monochrome1);
  EXPECT_EQ(im.height, 2);
  EXPECT_EQ(im.width, 3);
  EXPECT_EQ(im.bits_stored, 12);
  EXPECT_EQ(im.voxels, (std::vector<float>{-10.25f, -9.75f, -9.25f, 39.75f, 2037.25f, -6.75f}));
  ASSERT_TRUE(im.window_center.has_value());
  EXPECT_EQ(*im.window_center, 40);  // the first window
  EXPECT_EQ(*im.window_width, 400);
  EXPECT_DOUBLE_EQ(im.row_spacing_mm, 0.7);
  EXPECT_DOUBLE_EQ(im.column_spacing_mm, 0.9);
  EXPECT_EQ(im.transfer_syntax, "1.2.840.10008.1.2.1");
}

TEST(Dicom, SignedBitsStoredAreMaskedAndSignExtended) {
  // 12 bits stored in 16, signed; the high nibble holds junk (e.g. overlay bits) that must be ignored.
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1, 4, {0xF7FF /* +2047 */, 0x0800 /* -2048 */, 0xAFFF /* -1 */, 0x1001 /* +1 */}, 12, true);
  });
  EXPECT_EQ(decode_ok(bytes).voxels, (std::vector<float>{2047, -2048, -1, 1}));
}

TEST(Dicom, HighBitShiftsStoredBits) {
  // 8 bits stored at bits 4..11 of each 16-bit cell.
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1, 2, {0x0FF0, 0x0120}, 8);
    ds.putAndInsertUint16(DCM_HighBit, 11);
  });
  EXPECT_EQ(decode_ok(bytes).voxels, (std::vector<float>{255, 18}));
}

TEST(Dicom, ModalityLutSequenceIsApplied) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1, 4, {10, 11, 12, 99});
    DcmItem* item = nullptr;
    ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_ModalityLUTSequence, item, -2).good());
    const Uint16 descriptor[3] = {3, 10, 16};
    item->putAndInsertUint16Array(DCM_LUTDescriptor, descriptor, 3);
    const Uint16 data[3] = {1000, 2000, 3000};
    item->putAndInsertUint16Array(DCM_LUTData, data, 3);
    ds.putAndInsertString(DCM_RescaleSlope, "5");  // ignored: the LUT wins
  });
  EXPECT_EQ(decode_ok(bytes).voxels, (std::vector<float>{1000, 2000, 3000, 3000}));
}

TEST(Dicom, PaletteColourIsExpandedToRgb) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    ds.putAndInsertUint16(DCM_Rows, 1);
    ds.putAndInsertUint16(DCM_Columns, 3);
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "PALETTE COLOR");
    ds.putAndInsertUint16(DCM_BitsAllocated, 8);
    ds.putAndInsertUint16(DCM_BitsStored, 8);
    ds.putAndInsertUint16(DCM_HighBit, 7);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    const Uint16 descriptor[3] = {3, 0, 16};
    const Uint16 red[3] = {65535, 0, 0}, green[3] = {0, 65535, 0}, blue[3] = {0, 0, 65535};
    ds.putAndInsertUint16Array(DCM_RedPaletteColorLookupTableDescriptor, descriptor, 3);
    ds.putAndInsertUint16Array(DCM_GreenPaletteColorLookupTableDescriptor, descriptor, 3);
    ds.putAndInsertUint16Array(DCM_BluePaletteColorLookupTableDescriptor, descriptor, 3);
    ds.putAndInsertUint16Array(DCM_RedPaletteColorLookupTableData, red, 3);
    ds.putAndInsertUint16Array(DCM_GreenPaletteColorLookupTableData, green, 3);
    ds.putAndInsertUint16Array(DCM_BluePaletteColorLookupTableData, blue, 3);
    const Uint8 indices[4] = {2, 0, 1, 0};
    ds.putAndInsertUint8Array(DCM_PixelData, indices, 4);
  });
  const Image im = decode_ok(bytes);
  EXPECT_EQ(im.channels, 3);
  EXPECT_EQ(im.bits_stored, 16);
  EXPECT_EQ(im.voxels, (std::vector<float>{0, 0, 65535, 65535, 0, 0, 0, 65535, 0}));
}

TEST(Dicom, EnhancedMultiFrameUsesPerFrameRescale) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1, 2, {1, 2, 1, 2});
    ds.putAndInsertString(DCM_NumberOfFrames, "2");
    DcmItem* shared = nullptr;
    ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, -2).good());
    DcmItem* measures = nullptr;
    shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, measures, -2);
    measures->putAndInsertString(DCM_PixelSpacing, "0.5\\0.25");
    measures->putAndInsertString(DCM_SpacingBetweenSlices, "3");
    for (int frame = 0; frame < 2; ++frame) {
      DcmItem* group = nullptr;
      ASSERT_TRUE(ds.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, group, -2).good());
      DcmItem* transform = nullptr;
      group->findOrCreateSequenceItem(DCM_PixelValueTransformationSequence, transform, -2);
      transform->putAndInsertString(DCM_RescaleSlope, frame == 0 ? "1" : "10");
      transform->putAndInsertString(DCM_RescaleIntercept, frame == 0 ? "0" : "-5");
    }
  });
  const Image im = decode_ok(bytes);
  EXPECT_EQ(im.depth, 2);
  EXPECT_EQ(im.voxels, (std::vector<float>{1, 2, 5, 15}));
  EXPECT_DOUBLE_EQ(im.row_spacing_mm, 0.5);
  EXPECT_DOUBLE_EQ(im.column_spacing_mm, 0.25);
  EXPECT_DOUBLE_EQ(im.slice_spacing_mm, 3);
}

TEST(Dicom, FloatPixelData) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    ds.putAndInsertString(DCM_Modality, "MR");
    ds.putAndInsertUint16(DCM_Rows, 1);
    ds.putAndInsertUint16(DCM_Columns, 3);
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    const Float32 values[3] = {-1.5f, 0.25f, 1e6f};
    ds.putAndInsertFloat32Array(DCM_FloatPixelData, values, 3);
  });
  const Image im = decode_ok(bytes);
  EXPECT_EQ(im.bits_stored, 32);
  EXPECT_EQ(im.voxels, (std::vector<float>{-1.5f, 0.25f, 1e6f}));
}

TEST(Dicom, ImplicitAndDeflatedEncodingsOfTheSameObjectAgree) {
  const auto fill = [](DcmDataset& ds) { put_mono16(ds, 2, 2, {1, 2, 3, 65535}); };
  const Image explicit_le = decode_ok(make_dicom(fill));
  const Image implicit_le = decode_ok(make_dicom(fill, "1.2.840.10008.1.2"));
  const Image deflated = decode_ok(make_dicom(fill, "1.2.840.10008.1.2.1.99"));
  EXPECT_EQ(explicit_le.voxels, (std::vector<float>{1, 2, 3, 65535}));
  EXPECT_EQ(implicit_le.voxels, explicit_le.voxels);
  EXPECT_EQ(deflated.voxels, explicit_le.voxels);
  EXPECT_EQ(deflated.transfer_syntax, "1.2.840.10008.1.2.1.99");
}

TEST(Dicom, UnsupportedPhotometricInterpretationIsNamed) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1, 1, {1});
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 4);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "CMYK");
  });
  auto result = decode(view(bytes));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::image_unsupported_encoding);
}

TEST(Dicom, ShortPixelDataFails) {
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 4, 4, {1, 2, 3});  // 3 of 16 pixels
  });
  auto result = decode(view(bytes));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::image_decode_failed);
  EXPECT_NE(result.error().detail.find("(7FE0,0010)"), std::string::npos) << result.error().detail;
}

TEST(Dicom, VoxelLimitIsCheckedBeforeDecompression) {
  // 60000 frames of 1000×1000 declared, a few bytes of RLE data present: refused on the header.
  const Bytes bytes = make_dicom([](DcmDataset& ds) {
    put_mono16(ds, 1000, 1000, {1, 2});
    ds.putAndInsertString(DCM_NumberOfFrames, "60000");
  });
  auto result = decode(view(bytes));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_argument) << result.error().to_string();

  if (corpus_dir().empty()) return;
  auto limited = decode(view(read_bytes(corpus_dir() / "MR_small_RLE.dcm")), DecodeLimits{.max_voxels = 4095});
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(decode(view(read_bytes(corpus_dir() / "MR_small_RLE.dcm")), DecodeLimits{.max_voxels = 4096}));
}

// A deflated data set that would inflate to 96 MiB of zeros is refused once past the cap.
TEST(Dicom, DeflateBombIsCapped) {
  std::string meta(128, '\0');
  meta += "DICM";
  const std::string uid = "1.2.840.10008.1.2.1.99";
  meta += std::string("\x02\x00\x10\x00UI", 6);
  meta.push_back(static_cast<char>(uid.size()));
  meta.push_back('\0');
  meta += uid;
  std::vector<unsigned char> zeros(96u << 20, 0);
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<unsigned char> packed(deflateBound(&zs, zeros.size()));
  zs.next_in = zeros.data();
  zs.avail_in = static_cast<uInt>(zeros.size());
  zs.next_out = packed.data();
  zs.avail_out = static_cast<uInt>(packed.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  packed.resize(zs.total_out);
  deflateEnd(&zs);
  Bytes bytes = test::to_bytes(meta);
  for (unsigned char c : packed) bytes.push_back(static_cast<std::byte>(c));
  ASSERT_LT(bytes.size(), 1u << 20);
  auto result = decode(view(bytes), DecodeLimits{.max_voxels = 1024});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_argument) << result.error().to_string();
}

// --- series ------------------------------------------------------------------------------------

std::vector<Bytes> folder_objects(const std::string& folder) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir() / folder)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  std::vector<Bytes> objects;
  for (const auto& path : paths) objects.push_back(read_bytes(path));
  return objects;
}

Result<Image> series(const std::vector<Bytes>& objects, const DecodeLimits& limits = {}) {
  std::vector<std::span<const std::byte>> views;
  for (const Bytes& object : objects) views.push_back(view(object));
  return decode_dicom_series(views, limits);
}

TEST(DicomSeries, RealCtSeriesIsSortedAlongTheNormal) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  // dicomdirtests/98892001/CT5N: five axial slices, z = 8.7625 (file 2062) down to -1.2375 (file 3353)
  // in steps of 2.5 mm; Instance Numbers 6..10 decrease with z (values read with pydicom).
  auto objects = folder_objects("dicomdirtests/98892001/CT5N");
  ASSERT_EQ(objects.size(), 5u);
  std::vector<float> first_pixels;  // pixel (0,0) of each file, in z order, raw 974/998/975/1034/991 - 1024
  for (auto stored : {991, 1034, 975, 998, 974}) first_pixels.push_back(static_cast<float>(stored - 1024));
  std::mt19937 shuffle_seed(7);
  for (int round = 0; round < 3; ++round) {
    std::shuffle(objects.begin(), objects.end(), shuffle_seed);
    auto volume = series(objects);
    ASSERT_TRUE(volume.has_value()) << volume.error().to_string();
    EXPECT_EQ(volume->depth, 5);
    EXPECT_NEAR(volume->slice_spacing_mm, 2.5, 1e-6);
    for (std::int64_t z = 0; z < 5; ++z) EXPECT_EQ(volume->at(z, 0, 0), first_pixels[static_cast<std::size_t>(z)]);
  }
}

TEST(DicomSeries, UnevenSpacingAndMixedOrientationsAreRefused) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  auto uneven = series(folder_objects("dicomdirtests/77654033/CT2"));  // z = -99.48, 103.02, 104.27, 105.52
  ASSERT_FALSE(uneven.has_value());
  EXPECT_EQ(uneven.error().code, ErrorCode::image_series_inconsistent);
  auto radial = series(folder_objects("dicomdirtests/98892003/MR700"));  // a radial stack: orientations differ
  ASSERT_FALSE(radial.has_value());
  EXPECT_EQ(radial.error().code, ErrorCode::image_series_inconsistent);
  EXPECT_NE(radial.error().detail.find("(0020,0037)"), std::string::npos);
}

Bytes mr_slice(const Bytes& mr, double z, long instance, bool with_position = true) {
  return test::edit_dicom(mr, [&](DcmDataset& ds) {
    if (with_position) {
      ds.putAndInsertString(DCM_ImagePositionPatient, ("0\\0\\" + std::to_string(z)).c_str());
      ds.putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    } else {
      delete ds.remove(DCM_ImagePositionPatient);
      delete ds.remove(DCM_ImageOrientationPatient);
    }
    ds.putAndInsertString(DCM_InstanceNumber, std::to_string(instance).c_str());
    // Mark each slice: pixel (0,0) = its instance number.
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ds.findAndGetUint16Array(DCM_PixelData, pixels, &count);
    std::vector<Uint16> copy(pixels, pixels + count);
    copy[0] = static_cast<Uint16>(instance);
    ds.putAndInsertUint16Array(DCM_PixelData, copy.data(), count);
  });
}

TEST(DicomSeries, SyntheticSlicesSortByPositionThenInstanceNumber) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  const Bytes mr = read_bytes(corpus_dir() / "MR_small.dcm");
  // Positions and Instance Numbers disagree: the position wins.
  auto by_position = series({mr_slice(mr, 6, 1), mr_slice(mr, -3, 2), mr_slice(mr, 0, 3), mr_slice(mr, 3, 4)});
  ASSERT_TRUE(by_position.has_value()) << by_position.error().to_string();
  EXPECT_EQ(by_position->depth, 4);
  EXPECT_DOUBLE_EQ(by_position->slice_spacing_mm, 3);
  std::vector<float> order;
  for (std::int64_t z = 0; z < 4; ++z) order.push_back(by_position->at(z, 0, 0));
  EXPECT_EQ(order, (std::vector<float>{2, 3, 4, 1}));
  EXPECT_EQ(by_position->height, 64);
  EXPECT_EQ(by_position->modality, "MR");

  // Without positions: Instance Number.
  auto by_number = series({mr_slice(mr, 0, 9, false), mr_slice(mr, 0, 7, false), mr_slice(mr, 0, 8, false)});
  ASSERT_TRUE(by_number.has_value()) << by_number.error().to_string();
  order.clear();
  for (std::int64_t z = 0; z < 3; ++z) order.push_back(by_number->at(z, 0, 0));
  EXPECT_EQ(order, (std::vector<float>{7, 8, 9}));

  // Duplicated position / Instance Number.
  auto duplicate = series({mr_slice(mr, 1, 1), mr_slice(mr, 2, 2), mr_slice(mr, 1, 3)});
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().code, ErrorCode::image_series_inconsistent);
  auto duplicate_number = series({mr_slice(mr, 0, 4, false), mr_slice(mr, 0, 4, false)});
  ASSERT_FALSE(duplicate_number.has_value());
  EXPECT_EQ(duplicate_number.error().code, ErrorCode::image_series_inconsistent);
}

TEST(DicomSeries, InconsistentObjectsAreRefused) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  const Bytes mr = read_bytes(corpus_dir() / "MR_small.dcm");
  const Bytes ct = read_bytes(corpus_dir() / "CT_small.dcm");
  auto sizes = series({mr, ct});
  ASSERT_FALSE(sizes.has_value());
  EXPECT_EQ(sizes.error().code, ErrorCode::image_series_inconsistent);
  auto frames = series({read_bytes(corpus_dir() / "rtdose.dcm"), read_bytes(corpus_dir() / "rtdose_1frame.dcm")});
  ASSERT_FALSE(frames.has_value());
  EXPECT_EQ(frames.error().code, ErrorCode::image_series_inconsistent);
  auto mixed = series({read_bytes(corpus_dir() / "SC_rgb_rle.dcm"), ct});
  ASSERT_FALSE(mixed.has_value());
  EXPECT_EQ(mixed.error().code, ErrorCode::image_series_inconsistent);
  // A bad member is reported with its index.
  auto bad = series({mr, read_bytes(corpus_dir() / "rtplan.dcm")});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::image_no_pixel_data);
  EXPECT_NE(bad.error().detail.find("object 1"), std::string::npos);
  // Limits apply to the whole volume.
  auto limited = series({mr_slice(mr, 0, 1), mr_slice(mr, 1, 2)}, DecodeLimits{.max_voxels = 5000});
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, ErrorCode::invalid_argument);
  // One object is decode_dicom; none is an error.
  auto single = series({read_bytes(corpus_dir() / "rtdose.dcm")});
  ASSERT_TRUE(single.has_value());
  EXPECT_EQ(single->depth, 15);
  EXPECT_FALSE(series({}).has_value());
}

// --- robustness ----------------------------------------------------------------------------------

void expect_sane(const Result<Image>& result) {
  if (result) {
    EXPECT_EQ(static_cast<std::int64_t>(result->voxels.size()), result->voxel_count());
  } else {
    EXPECT_FALSE(result.error().detail.empty());
  }
}

TEST(DicomRobustness, EveryTruncationFailsCleanly) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  for (const char* name : {"MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                           "JPGExtended.dcm", "image_dfl.dcm", "rtplan.dcm"}) {
    SCOPED_TRACE(name);
    const Bytes full = read_bytes(corpus_dir() / name);
    int failures = 0;
    for (std::size_t length = 0; length < full.size(); length += 97) {
      auto result = decode(std::span<const std::byte>(full.data(), length));
      expect_sane(result);
      failures += result ? 0 : 1;
    }
    EXPECT_GT(failures, 0);
  }
}

TEST(DicomRobustness, RandomByteFlipsNeverCrash) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  std::mt19937 random(20240611);
  for (const char* name : {"MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                           "SC_rgb_rle_16bit_2frame.dcm", "image_dfl.dcm", "rtdose_expb.dcm", "test-SR.dcm"}) {
    SCOPED_TRACE(name);
    const Bytes original = read_bytes(corpus_dir() / name);
    for (int round = 0; round < 300; ++round) {
      Bytes mutated = original;
      const int flips = 1 + static_cast<int>(random() % 8);
      for (int i = 0; i < flips; ++i) {
        // Half the flips land in the first 1 KiB, where the headers and lengths are.
        const std::size_t limit = (random() % 2 == 0) ? std::min<std::size_t>(1024, mutated.size()) : mutated.size();
        mutated[random() % limit] ^= static_cast<std::byte>(1u << (random() % 8));
      }
      expect_sane(decode(view(mutated), DecodeLimits{.max_voxels = 4 << 20}));
    }
  }
}

TEST(DicomRobustness, NothingIsWrittenToStderr) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  ::testing::internal::CaptureStderr();
  for (const char* name : {"MR_truncated.dcm", "badVR.dcm", "rtplan_truncated.dcm", "SC_rgb_jpeg.dcm", "JPEG-lossy.dcm",
                           "rtdose_rle.dcm", "JPEG2000.dcm", "nested_priv_SQ.dcm"}) {
    (void)decode(view(read_bytes(corpus_dir() / name)));
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// The service decodes requests in parallel: DCMTK's codecs (registered once) are shared.
TEST(DicomRobustness, ConcurrentDecodesAgree) {
  if (corpus_dir().empty()) GTEST_SKIP() << "pydicom test files not installed";
  const std::vector<std::string> names = {"MR_small_RLE.dcm",      "MR_small_jpeg_ls_lossless.dcm",
                                          "SC_rgb_jpeg_dcmtk.dcm", "JPGExtended.dcm",
                                          "image_dfl.dcm",         "CT_small.dcm"};
  std::vector<Bytes> files;
  std::vector<std::vector<float>> expected;
  for (const auto& name : names) {
    files.push_back(read_bytes(corpus_dir() / name));
    expected.push_back(decode_ok(files.back()).voxels);
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        for (std::size_t i = 0; i < files.size(); ++i) {
          const std::size_t k = (i + static_cast<std::size_t>(t)) % files.size();
          auto result = decode(view(files[k]));
          if (!result || result->voxels != expected[k]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// Error details name tags, never values: a patient name planted in a broken object never shows.
TEST(DicomRobustness, ErrorDetailsCarryNoPatientData) {
  const std::string secret = "ZZSECRETPATIENT";
  const Bytes object = make_dicom([&](DcmDataset& ds) {
    ds.putAndInsertString(DCM_PatientName, (secret + "^NAME").c_str());
    ds.putAndInsertString(DCM_PatientID, secret.c_str());
    put_mono16(ds, 8, 8, std::vector<Uint16>(64, 7));
  });
  int errors = 0;
  for (std::size_t length = 0; length < object.size(); length += 7) {
    auto result = decode(std::span<const std::byte>(object.data(), length));
    if (!result) {
      ++errors;
      EXPECT_EQ(result.error().detail.find(secret), std::string::npos) << result.error().detail;
    }
  }
  EXPECT_GT(errors, 10);
  std::mt19937 random(99);
  for (int round = 0; round < 300; ++round) {
    Bytes mutated = object;
    mutated[random() % mutated.size()] ^= static_cast<std::byte>(0xFF);
    auto result = decode(view(mutated));
    if (!result) {
      EXPECT_EQ(result.error().detail.find(secret), std::string::npos) << result.error().detail;
    }
  }
}

}  // namespace
}  // namespace cloister::imaging
