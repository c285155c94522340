#pragma once
// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded, as JOSE uses it). Decoders are strict:
// one canonical encoding per byte string, anything else fails with bad_encoding.

#include <string>
#include <string_view>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

std::string base64_encode(BytesView data);
// Padding required; no whitespace, no characters outside the alphabet, non-zero trailing bits refused.
Result<Bytes> base64_decode(std::string_view text);

std::string base64url_encode(BytesView data);
// No padding; '+', '/', '=' refused; lengths ≡ 1 (mod 4) and non-zero trailing bits refused.
Result<Bytes> base64url_decode(std::string_view text);

}  // namespace cloister::crypto
