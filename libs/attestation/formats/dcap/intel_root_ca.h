#pragma once
// The Intel SGX Root CA: the default trust anchor of the DCAP formats (sgx, tdx), pinned by key.
// SHA-256 fingerprint of the DER certificate:
// 44:A0:19:6B:2B:99:F8:89:B8:E1:49:E9:5B:80:7A:35:0E:74:24:96:43:99:E8:85:A7:CB:B8:CC:FA:B6:74:D3
// (serial 22650CD65A9D3489F383B49552BF501B392706AC, 2018-05-21T10:45:10Z – 2049-12-31T23:59:59Z);
// the same certificate as google/go-tdx-guest verify/trusted_root.pem and dcap-qvl's TrustedRootCA.der.

#include <string_view>

#include "cloister/crypto/x509.h"

namespace cloister::attestation::dcap {

extern const std::string_view kIntelSgxRootCaPem;

// The parsed certificate (parsed once; a parse failure is a build defect and throws).
const crypto::Certificate& intel_sgx_root_ca();

}  // namespace cloister::attestation::dcap
