#include "formats/dcap/quote.h"

#include <algorithm>
#include <string>

#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::dcap {
namespace {

// A bounded cursor: every read checks the remaining size first, so nothing outside the view is
// ever touched; a failed read leaves the reader failed.
class Reader {
 public:
  explicit Reader(BytesView data) : data_(data) {}

  std::size_t position() const { return position_; }
  std::size_t remaining() const { return data_.size() - position_; }

  Result<BytesView> take(std::size_t size, std::string_view what) {
    if (size > remaining()) {
      return fail(ErrorCode::evidence_malformed, "quote too short for the " + std::string(what) + " (needs " +
                                                     std::to_string(size) + " bytes at offset " +
                                                     std::to_string(position_) + ")");
    }
    BytesView part = data_.subspan(position_, size);
    position_ += size;
    return part;
  }
  Result<std::uint16_t> u16(std::string_view what) {
    auto part = take(2, what);
    if (!part) return std::unexpected(part.error());
    return static_cast<std::uint16_t>((*part)[0] | ((*part)[1] << 8));
  }
  Result<std::uint32_t> u32(std::string_view what) {
    auto part = take(4, what);
    if (!part) return std::unexpected(part.error());
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>((*part)[i]) << (8 * i);
    return value;
  }
  template <std::size_t N>
  Status array(std::array<std::uint8_t, N>& out, std::string_view what) {
    auto part = take(N, what);
    if (!part) return std::unexpected(part.error());
    std::copy(part->begin(), part->end(), out.begin());
    return {};
  }

 private:
  BytesView data_;
  std::size_t position_ = 0;
};

std::uint16_t le16(BytesView in, std::size_t offset) {
  return static_cast<std::uint16_t>(in[offset] | (in[offset + 1] << 8));
}
std::uint32_t le32(BytesView in, std::size_t offset) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(in[offset + i]) << (8 * i);
  return value;
}
template <std::size_t N>
void copy_at(BytesView in, std::size_t offset, std::array<std::uint8_t, N>& out) {
  auto part = in.subspan(offset, N);
  std::copy(part.begin(), part.end(), out.begin());
}

TdReportBody parse_td_body(BytesView body) {
  // The caller checked body.size() is kTdReport10Size or kTdReport15Size.
  TdReportBody td;
  copy_at(body, 0, td.tee_tcb_svn);
  copy_at(body, 16, td.mr_seam);
  copy_at(body, 64, td.mr_signer_seam);
  copy_at(body, 112, td.seam_attributes);
  copy_at(body, 120, td.td_attributes);
  copy_at(body, 128, td.xfam);
  copy_at(body, 136, td.mr_td);
  copy_at(body, 184, td.mr_config_id);
  copy_at(body, 232, td.mr_owner);
  copy_at(body, 280, td.mr_owner_config);
  for (std::size_t i = 0; i < 4; ++i) copy_at(body, 328 + 48 * i, td.rtmr[i]);
  copy_at(body, 520, td.report_data);
  if (body.size() == kTdReport15Size) {
    td.tee_tcb_svn2.emplace();
    copy_at(body, 584, *td.tee_tcb_svn2);
    td.mr_service_td.emplace();
    copy_at(body, 600, *td.mr_service_td);
  }
  return td;
}

Status set_body(Quote& quote, BodyType type, BytesView body) {
  switch (type) {
    case BodyType::sgx: {
      DCAP_TRY(sgx, parse_sgx_report_body(body));
      quote.sgx_body = sgx;
      return {};
    }
    case BodyType::td10:
    case BodyType::td15: {
      const std::size_t expected = type == BodyType::td10 ? kTdReport10Size : kTdReport15Size;
      if (body.size() != expected) {
        return fail(ErrorCode::evidence_malformed, "TD report body of " + std::to_string(body.size()) +
                                                       " bytes (expected " + std::to_string(expected) + ")");
      }
      quote.td_body = parse_td_body(body);
      return {};
    }
  }
  return fail(ErrorCode::evidence_malformed, "unknown quote body type");
}

// QE report, its signature, QE auth data and the certification data that must fill `in` exactly.
Status parse_qe_report_certification(Quote& quote, BytesView in, bool nested) {
  Reader reader(in);
  DCAP_TRY(qe_report, reader.take(kSgxReportBodySize, "QE report"));
  quote.qe_report_raw.assign(qe_report.begin(), qe_report.end());
  DCAP_TRY(parsed_qe_report, parse_sgx_report_body(qe_report));
  quote.qe_report = parsed_qe_report;
  DCAP_CHECK(reader.array(quote.qe_report_signature, "QE report signature"));
  DCAP_TRY(auth_size, reader.u16("QE auth data size"));
  DCAP_TRY(auth_data, reader.take(auth_size, "QE auth data"));
  quote.qe_auth_data.assign(auth_data.begin(), auth_data.end());
  DCAP_TRY(type, reader.u16("certification data type"));
  DCAP_TRY(size, reader.u32("certification data size"));
  if (type == kCertificationQeReport || type == 0 || type > 16) {
    return fail(ErrorCode::evidence_malformed, "unsupported certification data type " + std::to_string(type) +
                                                   (nested ? " inside the QE report certification data" : ""));
  }
  DCAP_TRY(data, reader.take(size, "certification data"));
  if (reader.remaining() != 0) {
    return fail(ErrorCode::evidence_malformed,
                std::to_string(reader.remaining()) + " unaccounted bytes after the certification data");
  }
  quote.certification_type = type;
  quote.certification_data.assign(data.begin(), data.end());
  return {};
}

Status parse_signature_data(Quote& quote, BytesView in) {
  Reader reader(in);
  DCAP_CHECK(reader.array(quote.signature, "quote signature"));
  DCAP_CHECK(reader.array(quote.attestation_key, "attestation key"));
  if (quote.header.version == 3) {
    DCAP_TRY(rest, reader.take(reader.remaining(), "QE report"));
    return parse_qe_report_certification(quote, rest, false);
  }
  DCAP_TRY(type, reader.u16("certification data type"));
  DCAP_TRY(size, reader.u32("certification data size"));
  if (type != kCertificationQeReport) {
    return fail(ErrorCode::evidence_malformed,
                "certification data type " + std::to_string(type) + " (a v4/v5 quote carries type 6)");
  }
  if (size != reader.remaining()) {
    return fail(ErrorCode::evidence_malformed, "QE report certification data size " + std::to_string(size) +
                                                   " does not match the " + std::to_string(reader.remaining()) +
                                                   " bytes left in the signature data");
  }
  DCAP_TRY(rest, reader.take(size, "QE report certification data"));
  return parse_qe_report_certification(quote, rest, true);
}

}  // namespace

std::uint64_t SgxReportBody::flags() const {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(attributes[i]) << (8 * i);
  return value;
}

const std::array<std::uint8_t, kReportDataSize>& Quote::report_data() const {
  return td_body ? td_body->report_data : sgx_body.value().report_data;
}

Result<SgxReportBody> parse_sgx_report_body(BytesView bytes) {
  if (bytes.size() != kSgxReportBodySize) {
    return fail(ErrorCode::evidence_malformed,
                "SGX report body of " + std::to_string(bytes.size()) + " bytes (expected 384)");
  }
  SgxReportBody body;
  copy_at(bytes, 0, body.cpu_svn);
  body.misc_select = le32(bytes, 16);
  copy_at(bytes, 32, body.isv_ext_prod_id);
  copy_at(bytes, 48, body.attributes);
  copy_at(bytes, 64, body.mr_enclave);
  copy_at(bytes, 128, body.mr_signer);
  copy_at(bytes, 192, body.config_id);
  body.isv_prod_id = le16(bytes, 256);
  body.isv_svn = le16(bytes, 258);
  body.config_svn = le16(bytes, 260);
  copy_at(bytes, 304, body.isv_family_id);
  copy_at(bytes, 320, body.report_data);
  return body;
}

Result<Quote> parse_quote(BytesView bytes) {
  if (bytes.size() > kMaxQuoteSize) {
    return fail(ErrorCode::evidence_malformed,
                "quote of " + std::to_string(bytes.size()) + " bytes exceeds " + std::to_string(kMaxQuoteSize));
  }
  Quote quote;
  Reader reader(bytes);
  DCAP_TRY(version, reader.u16("header"));
  DCAP_TRY(key_type, reader.u16("header"));
  DCAP_TRY(tee_type, reader.u32("header"));
  DCAP_TRY(qe_svn, reader.u16("header"));
  DCAP_TRY(pce_svn, reader.u16("header"));
  quote.header = QuoteHeader{version, key_type, tee_type, qe_svn, pce_svn, {}, {}};
  DCAP_CHECK(reader.array(quote.header.qe_vendor_id, "header"));
  DCAP_CHECK(reader.array(quote.header.user_data, "header"));
  if (version < 3 || version > 5) {
    return fail(ErrorCode::evidence_malformed, "unsupported quote version " + std::to_string(version));
  }
  if (version == 3) quote.header.tee_type = kTeeTypeSgx;  // reserved (att_key_data_0) in v3
  if (version > 3 && tee_type != kTeeTypeSgx && tee_type != kTeeTypeTdx) {
    return fail(ErrorCode::evidence_malformed, "unknown TEE type " + std::to_string(tee_type));
  }

  BodyType body_type = BodyType::sgx;
  std::size_t body_size = kSgxReportBodySize;
  if (version == 5) {
    DCAP_TRY(type, reader.u16("body type"));
    DCAP_TRY(size, reader.u32("body size"));
    if (type < 1 || type > 3) {
      return fail(ErrorCode::evidence_malformed, "unknown quote body type " + std::to_string(type));
    }
    body_type = static_cast<BodyType>(type);
    body_size = size;
  } else if (tee_type == kTeeTypeTdx && version == 4) {
    body_type = BodyType::td10;
    body_size = kTdReport10Size;
  }
  if ((body_type == BodyType::sgx) != (quote.header.tee_type == kTeeTypeSgx)) {
    return fail(ErrorCode::evidence_malformed, "the quote body type does not match the TEE type");
  }
  quote.body_type = body_type;
  DCAP_TRY(body, reader.take(body_size, "report body"));
  DCAP_CHECK(set_body(quote, body_type, body));
  const std::size_t signed_size = reader.position();
  quote.signed_data.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signed_size));

  DCAP_TRY(signature_size, reader.u32("signature data length"));
  DCAP_TRY(signature_data, reader.take(signature_size, "signature data"));
  DCAP_CHECK(parse_signature_data(quote, signature_data));
  quote.size = reader.position();
  quote.trailing_size = reader.remaining();
  return quote;
}

}  // namespace cloister::attestation::dcap
