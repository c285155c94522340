#pragma once
// Attester: the attester side of an evidence format — produces evidence about the running process.

#include <string_view>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation {

class Attester {
 public:
  virtual ~Attester() = default;

  virtual std::string_view format_id() const = 0;

  // Evidence whose report data is exactly `report_data` (kReportDataSize = 64 bytes, usually
  // report_data_for(runtime data)); invalid_argument for any other size.
  virtual Result<crypto::Bytes> evidence(crypto::BytesView report_data) = 0;
};

}  // namespace cloister::attestation
