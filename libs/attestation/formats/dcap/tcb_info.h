#pragma once
// Intel PCS TCB info (v2: SGX; v3: SGX and TDX) and enclave identity (v2: QE, TD_QE) documents,
// parsed from the exact JSON text Intel signed (the value of "tcbInfo" / "enclaveIdentity").

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation::dcap {

inline constexpr std::string_view kTcbInfoIdSgx = "SGX";
inline constexpr std::string_view kTcbInfoIdTdx = "TDX";
inline constexpr std::string_view kQeIdentityIdSgx = "QE";
inline constexpr std::string_view kQeIdentityIdTdx = "TD_QE";

// A TCB level of the platform (tcbInfo.tcbLevels[]).
struct TcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pce_svn = 0;
  std::optional<std::array<std::uint8_t, 16>> tdx_components;  // TDX TCB info v3
  std::string tcb_date;
  std::string status;  // one of Intel's TCB statuses (claims.h tcb_status::k*)
  std::vector<std::string> advisory_ids;
};

// A TCB level of an enclave identity or TDX module identity: keyed by ISVSVN.
struct IdentityTcbLevel {
  std::uint16_t isv_svn = 0;
  std::string tcb_date;
  std::string status;  // "UpToDate", "OutOfDate", "Revoked" (and Intel's other TCB statuses)
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", ... (empty for the default tdxModule)
  std::array<std::uint8_t, 48> mr_signer{};
  std::array<std::uint8_t, 8> attributes{};
  std::array<std::uint8_t, 8> attributes_mask{};
  std::vector<IdentityTcbLevel> tcb_levels;  // empty for the default tdxModule
};

struct TcbInfo {
  std::string id;  // "SGX" or "TDX" (v2 has no id: "SGX")
  int version = 0;
  std::int64_t issue_date = 0;   // Unix seconds
  std::int64_t next_update = 0;  // Unix seconds
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pce_id{};
  std::uint32_t tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> tcb_levels;
};

struct EnclaveIdentity {
  std::string id;  // "QE" or "TD_QE" (or "QVE", which Cloister does not use)
  int version = 0;
  std::int64_t issue_date = 0;
  std::int64_t next_update = 0;
  std::uint32_t tcb_evaluation_data_number = 0;
  // MISCSELECT and its mask as the hex gives them: the report's 4 bytes in report (little-endian)
  // order, as Intel's QVL sample data (dstack-teekit/sgx) shows.
  std::array<std::uint8_t, 4> misc_select{};
  std::array<std::uint8_t, 4> misc_select_mask{};
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 16> attributes_mask{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::uint16_t isv_prod_id = 0;
  std::vector<IdentityTcbLevel> tcb_levels;
};

// bad_encoding for text that is not such a document (unknown version, wrong member types, bad hex
// or timestamps, unknown TCB status, not exactly 16 components, no TCB level).
Result<TcbInfo> parse_tcb_info(std::string_view json);
Result<EnclaveIdentity> parse_enclave_identity(std::string_view json);

}  // namespace cloister::attestation::dcap
