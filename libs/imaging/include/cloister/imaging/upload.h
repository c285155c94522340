#pragma once
// Image uploads as HTTP bodies (what cloister-infer's diagnose and cloister-platform's studies take):
// one DICOM object (application/dicom), a DICOM series (multipart/related or multipart/form-data of
// application/dicom parts, as DICOMweb STOW-RS sends them), image/png, image/jpeg, or
// application/octet-stream (sniffed).

#include "cloister/core/error.h"
#include "cloister/imaging/image.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::imaging {

struct BodyPart {
  std::string content_type;
  std::string_view body;  // a view into the request body
};

// Splits a multipart body (RFC 2046) by the boundary of its Content-Type. bad_request for a malformed
// body or a missing boundary; invalid_argument past max_parts.
Result<std::vector<BodyPart>> split_multipart(std::string_view content_type, std::string_view body,
                                              std::size_t max_parts = 2048);

// Decodes an upload by its content type (see the file comment). unsupported_media_type for any other
// type or a series part that is not DICOM; the decoders' errors otherwise.
Result<Image> decode_upload(std::string_view content_type, std::string_view body, const DecodeLimits& limits = {});

// The media type of a Content-Type value: lower case, without parameters ("image/png").
std::string media_type_of(std::string_view content_type);

}  // namespace cloister::imaging
