#include "cloister/imaging/upload.h"

#include <algorithm>
#include <cctype>

namespace cloister::imaging {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string media_type(std::string_view content_type) { return lower(trim(content_type.substr(0, content_type.find(';')))); }

// A parameter of a Content-Type value (quoted or not), "" when absent.
std::string parameter(std::string_view content_type, std::string_view name) {
  std::size_t position = content_type.find(';');
  while (position != std::string_view::npos) {
    auto rest = content_type.substr(position + 1);
    auto next = rest.find(';');
    auto item = trim(rest.substr(0, next));
    auto equals = item.find('=');
    if (equals != std::string_view::npos && lower(trim(item.substr(0, equals))) == name) {
      auto value = trim(item.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    position = next == std::string_view::npos ? next : position + 1 + next;
  }
  return {};
}

}  // namespace

std::string media_type_of(std::string_view content_type) { return media_type(content_type); }

Result<std::vector<BodyPart>> split_multipart(std::string_view content_type, std::string_view body,
                                              std::size_t max_parts) {
  const auto boundary = parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) return fail(ErrorCode::bad_request, "multipart: no valid boundary parameter");
  const std::string delimiter = "--" + boundary;
  std::vector<BodyPart> parts;
  auto position = body.find(delimiter);
  if (position == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: the first boundary is missing");
  while (true) {
    position += delimiter.size();
    if (body.substr(position, 2) == "--") return parts;  // the close delimiter
    // The rest of the boundary line (transport padding), then CRLF.
    auto line_end = body.find("\r\n", position);
    if (line_end == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: truncated boundary line");
    position = line_end + 2;
    auto headers_end = body.find("\r\n\r\n", position);
    std::string content_type_value;
    if (body.substr(position, 2) == "\r\n") {
      headers_end = position - 2;  // no headers
    } else if (headers_end == std::string_view::npos) {
      return fail(ErrorCode::bad_request, "multipart: truncated part headers");
    }
    for (auto headers = body.substr(position, headers_end + 2 - position); !headers.empty();) {
      auto end = headers.find("\r\n");
      auto line = headers.substr(0, end);
      headers = end == std::string_view::npos ? std::string_view() : headers.substr(end + 2);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "content-type") {
        content_type_value = std::string(trim(line.substr(colon + 1)));
      }
    }
    const auto content = headers_end + 4;
    auto next = body.find("\r\n" + delimiter, content);
    if (next == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: a part has no closing boundary");
    if (parts.size() == max_parts) {
      return fail(ErrorCode::invalid_argument, "multipart: more than " + std::to_string(max_parts) + " parts");
    }
    parts.push_back({content_type_value, body.substr(content, next - content)});
    position = next + 2;
  }
}

Result<Image> decode_upload(std::string_view content_type, std::string_view body, const DecodeLimits& limits) {
  const auto type = media_type(content_type);
  auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  if (type.rfind("multipart/", 0) == 0) {
    auto parts = split_multipart(content_type, body);
    if (!parts) return std::unexpected(parts.error());
    if (parts->empty()) return fail(ErrorCode::bad_request, "the multipart body has no parts");
    std::vector<std::span<const std::byte>> objects;
    for (const auto& part : *parts) {
      const auto part_type = media_type(part.content_type);
      if (!part_type.empty() && part_type != "application/dicom" && part_type != "application/octet-stream") {
        return fail(ErrorCode::unsupported_media_type, "a series is made of application/dicom parts, not " + part_type);
      }
      objects.push_back(std::as_bytes(std::span(part.body.data(), part.body.size())));
    }
    if (objects.size() == 1) return decode_dicom(objects.front(), limits);
    return decode_dicom_series(objects, limits);
  }
  if (type == "application/dicom") return decode_dicom(bytes, limits);
  if (type == "image/png") return decode_png(bytes, limits);
  if (type == "image/jpeg") return decode_jpeg(bytes, limits);
  if (type == "application/octet-stream" || type.empty()) return decode(bytes, limits);
  return fail(ErrorCode::unsupported_media_type,
              "an image upload is application/dicom, a multipart DICOM series, image/png or image/jpeg, not " + type);
}

}  // namespace cloister::imaging
