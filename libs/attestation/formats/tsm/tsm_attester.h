#pragma once
// The configfs-tsm attester: evidence from Linux's TSM report interface (kernel ≥ 6.7,
// Documentation/ABI/testing/configfs-tsm-report) for the `tdx` and `snp` formats.
//
// One request, on a report directory <root>/<name> whose attribute files the kernel creates with it:
//   1. read `provider` ("tdx_guest" for tdx, "sev_guest" for snp): any other → unsupported_format;
//   2. read `generation` g;
//   3. (snp, when configured) write `privlevel` (the VMPL); write the 64 report-data bytes to `inblob`;
//   4. read `outblob` (the kernel generates the report or quote now), and for snp `auxblob` (the
//      host's certificate table, possibly empty or absent);
//   5. read `generation` again: it must be g + the number of our writes, else another writer raced
//      us and the outblob may answer its inblob (conflict; the attester retries a bounded number of
//      times);
//   6. the report data inside the outblob must be the bytes written (evidence_malformed otherwise).
// By default each request creates its own directory (mkdir) and removes it (rmdir) afterwards; with
// `report_name` set it uses that existing directory (e.g. created by an administrator and chowned to
// the service user, when the service may not mkdir in configfs) and leaves it in place.
//
// Evidence: tdx → the outblob (a DCAP quote v4/v5); snp → the outblob (the 1184-byte report)
// followed by the auxblob certificate table when it is non-empty (formats/snp/snp_report.h).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cloister/attestation/attester.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation::tsm {

inline constexpr std::string_view kDefaultRoot = "/sys/kernel/config/tsm/report";
inline constexpr std::string_view kProviderTdx = "tdx_guest";
inline constexpr std::string_view kProviderSev = "sev_guest";
// The largest outblob / auxblob read (the kernel's internal maximum is 32 KiB).
inline constexpr std::size_t kMaxBlobSize = 1024 * 1024;

struct TsmAttesterOptions {
  std::filesystem::path root{std::string(kDefaultRoot)};
  // Empty: a fresh directory per request. Set: use <root>/<report_name>, which must exist.
  std::string report_name;
  // snp: the VMPL written to `privlevel` before `inblob` (0..3); unset = the kernel's default.
  std::optional<std::uint32_t> privlevel;
  // snp: append the auxblob certificate table (VCEK/VLEK, ASK, ARK) to the evidence when non-empty.
  bool include_auxblob = true;
  // Requests tried when the generation check finds another writer (1..10).
  int max_attempts = 3;
};

// What one request on a report directory returned.
struct TsmReport {
  std::string provider;     // `provider`, without the trailing newline
  crypto::Bytes outblob;
  crypto::Bytes auxblob;    // empty when absent
  std::uint64_t generation_before = 0;
  std::uint64_t generation_after = 0;
};

// Steps 1–5 above on an existing report directory. expected_provider empty = any. io_error when an
// attribute cannot be read or written, unsupported_format for another provider, conflict when the
// generation moved by other than our writes, invalid_argument for inblob larger than 64 bytes or a
// privlevel above 3.
Result<TsmReport> request_report(const std::filesystem::path& report_directory, crypto::BytesView inblob,
                                 std::string_view expected_provider, std::optional<std::uint32_t> privlevel = {},
                                 bool read_auxblob = true);

class TsmAttester final : public Attester {
 public:
  // format "tdx" or "snp" (unsupported_format otherwise); unavailable when the root is not a
  // directory (no configfs-tsm here), invalid_argument for bad options.
  static Result<TsmAttester> create(std::string_view format, TsmAttesterOptions options);

  std::string_view format_id() const override;
  // invalid_argument unless 64 bytes; otherwise request_report's errors (conflict after
  // max_attempts raced requests), evidence_malformed when the outblob does not carry report_data
  // or the auxblob is not a certificate table.
  Result<crypto::Bytes> evidence(crypto::BytesView report_data) override;

 private:
  TsmAttester(std::string format, std::string provider, TsmAttesterOptions options)
      : format_(std::move(format)), provider_(std::move(provider)), options_(std::move(options)) {}

  Result<crypto::Bytes> attempt(crypto::BytesView report_data);

  std::string format_;
  std::string provider_;
  TsmAttesterOptions options_;
};

}  // namespace cloister::attestation::tsm
