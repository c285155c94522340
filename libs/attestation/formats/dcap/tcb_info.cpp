#include "formats/dcap/tcb_info.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cloister/attestation/claims.h"
#include "cloister/crypto/hash.h"
#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::dcap {
namespace {

using nlohmann::json;

std::unexpected<Error> bad(std::string_view document, std::string_view what) {
  return fail(ErrorCode::bad_encoding, std::string(document) + ": " + std::string(what));
}

// Typed member access that never throws; `document` names the document in errors.
class Object {
 public:
  Object(const json& value, std::string_view document) : value_(value), document_(document) {}

  bool has(std::string_view name) const { return value_.is_object() && value_.contains(name); }

  Result<const json*> member(std::string_view name) const {
    if (!value_.is_object()) return bad(document_, "not a JSON object");
    auto found = value_.find(name);
    if (found == value_.end()) return bad(document_, "member \"" + std::string(name) + "\" missing");
    return &*found;
  }
  Result<std::string> string(std::string_view name) const {
    DCAP_TRY(value, member(name));
    if (!value->is_string()) return bad(document_, "member \"" + std::string(name) + "\" is not a string");
    return value->get<std::string>();
  }
  Result<std::uint64_t> unsigned_int(std::string_view name, std::uint64_t max) const {
    DCAP_TRY(value, member(name));
    if (!value->is_number_unsigned() || value->get<std::uint64_t>() > max) {
      return bad(document_,
                 "member \"" + std::string(name) + "\" is not an integer in [0, " + std::to_string(max) + "]");
    }
    return value->get<std::uint64_t>();
  }
  template <std::size_t N>
  Status hex(std::string_view name, std::array<std::uint8_t, N>& out) const {
    DCAP_TRY(text, string(name));
    auto bytes = crypto::hex_decode(text);
    if (!bytes || bytes->size() != N) {
      return bad(document_, "member \"" + std::string(name) + "\" is not " + std::to_string(N) + " bytes of hex");
    }
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return {};
  }
  Result<std::int64_t> time(std::string_view name) const {
    DCAP_TRY(text, string(name));
    auto parsed = detail::parse_pcs_time(text);
    if (!parsed) return bad(document_, "member \"" + std::string(name) + "\" is not a PCS timestamp");
    return *parsed;
  }
  Result<const json*> array(std::string_view name) const {
    DCAP_TRY(value, member(name));
    if (!value->is_array()) return bad(document_, "member \"" + std::string(name) + "\" is not an array");
    return value;
  }
  Result<std::vector<std::string>> advisory_ids() const {
    std::vector<std::string> out;
    if (!has("advisoryIDs")) return out;
    DCAP_TRY(ids, array("advisoryIDs"));
    for (const auto& id : *ids) {
      if (!id.is_string()) return bad(document_, "advisoryIDs holds a non-string");
      out.push_back(id.get<std::string>());
    }
    return out;
  }

 private:
  const json& value_;
  std::string_view document_;
};

Result<json> parse_object(std::string_view text, std::string_view document) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return bad(document, "not a JSON object");
  return value;
}

Status check_status(std::string_view document, const std::string& status) {
  if (!tcb_status::is_known(status) || status == tcb_status::kSimulated) {
    return bad(document, "unknown TCB status");
  }
  return {};
}

Result<std::array<std::uint8_t, 16>> components(const json& value, std::string_view document) {
  if (!value.is_array() || value.size() != 16) return bad(document, "TCB components are not an array of 16");
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) {
    Object component(value[i], document);
    DCAP_TRY(svn, component.unsigned_int("svn", 255));
    out[i] = static_cast<std::uint8_t>(svn);
  }
  return out;
}

Result<TcbLevel> parse_tcb_level(const json& value, int version, bool tdx) {
  constexpr std::string_view kDocument = "TCB info level";
  Object level(value, kDocument);
  DCAP_TRY(tcb_json, level.member("tcb"));
  Object tcb(*tcb_json, kDocument);
  TcbLevel out;
  if (version == 2) {
    for (std::size_t i = 0; i < 16; ++i) {
      char name[24];
      std::snprintf(name, sizeof name, "sgxtcbcomp%02zusvn", i + 1);
      DCAP_TRY(svn, tcb.unsigned_int(name, 255));
      out.sgx_components[i] = static_cast<std::uint8_t>(svn);
    }
  } else {
    DCAP_TRY(sgx, tcb.member("sgxtcbcomponents"));
    DCAP_TRY(sgx_components, components(*sgx, kDocument));
    out.sgx_components = sgx_components;
    if (tdx) {
      DCAP_TRY(tdx_json, tcb.member("tdxtcbcomponents"));
      DCAP_TRY(tdx_components, components(*tdx_json, kDocument));
      out.tdx_components = tdx_components;
    }
  }
  DCAP_TRY(pce_svn, tcb.unsigned_int("pcesvn", 0xffff));
  out.pce_svn = static_cast<std::uint16_t>(pce_svn);
  DCAP_TRY(date, level.string("tcbDate"));
  out.tcb_date = date;
  DCAP_TRY(status, level.string("tcbStatus"));
  DCAP_CHECK(check_status(kDocument, status));
  out.status = status;
  DCAP_TRY(advisories, level.advisory_ids());
  out.advisory_ids = advisories;
  return out;
}

Result<std::vector<IdentityTcbLevel>> parse_identity_levels(const Object& parent, std::string_view document) {
  DCAP_TRY(levels, parent.array("tcbLevels"));
  if (levels->empty()) return bad(document, "no TCB level");
  std::vector<IdentityTcbLevel> out;
  for (const auto& value : *levels) {
    Object level(value, document);
    DCAP_TRY(tcb_json, level.member("tcb"));
    DCAP_TRY(isv_svn, Object(*tcb_json, document).unsigned_int("isvsvn", 0xffff));
    DCAP_TRY(date, level.string("tcbDate"));
    DCAP_TRY(status, level.string("tcbStatus"));
    DCAP_CHECK(check_status(document, status));
    DCAP_TRY(advisories, level.advisory_ids());
    out.push_back(IdentityTcbLevel{static_cast<std::uint16_t>(isv_svn), date, status, advisories});
  }
  return out;
}

Result<TdxModuleIdentity> parse_module_identity(const json& value, bool with_levels) {
  constexpr std::string_view kDocument = "TCB info TDX module";
  Object module(value, kDocument);
  TdxModuleIdentity out;
  if (with_levels) {
    DCAP_TRY(id, module.string("id"));
    out.id = id;
  }
  DCAP_CHECK(module.hex("mrsigner", out.mr_signer));
  DCAP_CHECK(module.hex("attributes", out.attributes));
  DCAP_CHECK(module.hex("attributesMask", out.attributes_mask));
  if (with_levels) {
    DCAP_TRY(levels, parse_identity_levels(module, kDocument));
    out.tcb_levels = levels;
  }
  return out;
}

}  // namespace

Result<TcbInfo> parse_tcb_info(std::string_view text) {
  constexpr std::string_view kDocument = "TCB info";
  DCAP_TRY(value, parse_object(text, kDocument));
  Object root(value, kDocument);
  TcbInfo out;
  DCAP_TRY(version, root.unsigned_int("version", 1000));
  if (version != 2 && version != 3) return bad(kDocument, "unsupported version " + std::to_string(version));
  out.version = static_cast<int>(version);
  if (version == 2) {
    out.id = std::string(kTcbInfoIdSgx);
  } else {
    DCAP_TRY(id, root.string("id"));
    if (id != kTcbInfoIdSgx && id != kTcbInfoIdTdx) return bad(kDocument, "unknown id");
    out.id = id;
  }
  const bool tdx = out.id == kTcbInfoIdTdx;
  DCAP_TRY(issue_date, root.time("issueDate"));
  DCAP_TRY(next_update, root.time("nextUpdate"));
  out.issue_date = issue_date;
  out.next_update = next_update;
  DCAP_CHECK(root.hex("fmspc", out.fmspc));
  DCAP_CHECK(root.hex("pceId", out.pce_id));
  DCAP_TRY(evaluation, root.unsigned_int("tcbEvaluationDataNumber", 0xffffffffu));
  out.tcb_evaluation_data_number = static_cast<std::uint32_t>(evaluation);
  if (tdx) {
    DCAP_TRY(module_json, root.member("tdxModule"));
    DCAP_TRY(module, parse_module_identity(*module_json, false));
    out.tdx_module = module;
    if (root.has("tdxModuleIdentities")) {
      DCAP_TRY(identities, root.array("tdxModuleIdentities"));
      for (const auto& identity_json : *identities) {
        DCAP_TRY(identity, parse_module_identity(identity_json, true));
        out.tdx_module_identities.push_back(std::move(identity));
      }
    }
  }
  DCAP_TRY(levels, root.array("tcbLevels"));
  if (levels->empty()) return bad(kDocument, "no TCB level");
  for (const auto& level_json : *levels) {
    DCAP_TRY(level, parse_tcb_level(level_json, out.version, tdx));
    out.tcb_levels.push_back(std::move(level));
  }
  return out;
}

Result<EnclaveIdentity> parse_enclave_identity(std::string_view text) {
  constexpr std::string_view kDocument = "QE identity";
  DCAP_TRY(value, parse_object(text, kDocument));
  Object root(value, kDocument);
  EnclaveIdentity out;
  DCAP_TRY(version, root.unsigned_int("version", 1000));
  if (version != 2) return bad(kDocument, "unsupported version " + std::to_string(version));
  out.version = 2;
  DCAP_TRY(id, root.string("id"));
  out.id = id;
  DCAP_TRY(issue_date, root.time("issueDate"));
  DCAP_TRY(next_update, root.time("nextUpdate"));
  out.issue_date = issue_date;
  out.next_update = next_update;
  DCAP_TRY(evaluation, root.unsigned_int("tcbEvaluationDataNumber", 0xffffffffu));
  out.tcb_evaluation_data_number = static_cast<std::uint32_t>(evaluation);
  DCAP_CHECK(root.hex("miscselect", out.misc_select));
  DCAP_CHECK(root.hex("miscselectMask", out.misc_select_mask));
  DCAP_CHECK(root.hex("attributes", out.attributes));
  DCAP_CHECK(root.hex("attributesMask", out.attributes_mask));
  DCAP_CHECK(root.hex("mrsigner", out.mr_signer));
  DCAP_TRY(isv_prod_id, root.unsigned_int("isvprodid", 0xffff));
  out.isv_prod_id = static_cast<std::uint16_t>(isv_prod_id);
  DCAP_TRY(levels, parse_identity_levels(root, kDocument));
  out.tcb_levels = levels;
  return out;
}

}  // namespace cloister::attestation::dcap
