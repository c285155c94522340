#include "openssl_util.h"

#include <stdexcept>

namespace cloister::crypto::detail {

const char* digest_name(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::sha256: return "SHA256";
    case HashAlgorithm::sha384: return "SHA384";
    case HashAlgorithm::sha512: return "SHA512";
  }
  throw std::invalid_argument("unknown hash algorithm");
}

const EVP_MD* evp_md(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::sha256: return EVP_sha256();
    case HashAlgorithm::sha384: return EVP_sha384();
    case HashAlgorithm::sha512: return EVP_sha512();
  }
  throw std::invalid_argument("unknown hash algorithm");
}

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace cloister::crypto::detail
