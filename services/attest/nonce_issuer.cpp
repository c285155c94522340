#include "nonce_issuer.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/core/private_files.h"

#include <charconv>
#include <vector>

namespace cloister::attest {
namespace {

constexpr std::string_view kPrefix = "n1.";
constexpr std::size_t kRandomBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxNonceSize = 128;

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

NonceIssuer::NonceIssuer(const Clock& clock, std::chrono::seconds lifetime, Sensitive<crypto::Bytes> key,
                         std::size_t max_used)
    : clock_(clock), lifetime_(lifetime), key_(std::move(key)), max_used_(max_used) {
  if (key_.reveal().size() < 16) throw std::invalid_argument("NonceIssuer: key too short");
}

Result<Sensitive<crypto::Bytes>> NonceIssuer::load_or_create_key(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    auto text = read_file(path, 1024);
    if (!text) return std::unexpected(text.error());
    auto key = crypto::base64url_decode(std::string_view(*text).substr(0, text->find('\n')));
    if (!key || key->size() != kKeyBytes) return fail(ErrorCode::config_invalid, path.string() + " is not a nonce key");
    return Sensitive<crypto::Bytes>(std::move(*key));
  }
  auto key = crypto::random_bytes(kKeyBytes);
  if (auto written = write_private_file(path, crypto::base64url_encode(key) + "\n"); !written) {
    return std::unexpected(written.error());
  }
  return Sensitive<crypto::Bytes>(std::move(key));
}

std::string NonceIssuer::mac(std::string_view message) const {
  return crypto::base64url_encode(crypto::hmac(crypto::HashAlgorithm::sha256, key_.reveal(), crypto::as_bytes(message)));
}

std::string NonceIssuer::issue() const {
  const std::int64_t expiry = clock_.unix_seconds() + lifetime_.count();
  std::string body = std::string(kPrefix) + std::to_string(expiry) + "." +
                     crypto::base64url_encode(crypto::random_bytes(kRandomBytes));
  return body + "." + mac(body);
}

Status NonceIssuer::check(std::string_view nonce) const {
  if (nonce.size() > kMaxNonceSize || !nonce.starts_with(kPrefix)) {
    return fail(ErrorCode::nonce_invalid, "not a nonce of this service");
  }
  auto parts = split(nonce, '.');
  if (parts.size() != 4) return fail(ErrorCode::nonce_invalid, "not a nonce of this service");
  const std::string_view body = nonce.substr(0, nonce.size() - parts[3].size() - 1);
  const std::string expected = mac(body);
  if (!crypto::equal_constant_time(crypto::as_bytes(expected), crypto::as_bytes(parts[3]))) {
    return fail(ErrorCode::nonce_invalid, "the nonce was not issued by this service");
  }
  std::int64_t expiry = 0;
  auto [end, error] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), expiry);
  if (error != std::errc() || end != parts[1].data() + parts[1].size()) {
    return fail(ErrorCode::nonce_invalid, "malformed nonce");
  }
  if (clock_.unix_seconds() > expiry) return fail(ErrorCode::nonce_invalid, "expired nonce");
  return {};
}

Status NonceIssuer::consume(std::string_view nonce) {
  if (auto checked = check(nonce); !checked) return checked;
  auto parts = split(nonce, '.');
  std::int64_t expiry = 0;
  std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), expiry);
  const std::int64_t now = clock_.unix_seconds();
  std::lock_guard lock(mutex_);
  if (now >= next_prune_ || used_.size() >= max_used_) {
    std::erase_if(used_, [&](const auto& entry) { return entry.second < now; });
    next_prune_ = now + 10;
  }
  std::string id(parts[2]);
  if (used_.contains(id)) return fail(ErrorCode::nonce_invalid, "the nonce was already used");
  if (used_.size() >= max_used_) return fail(ErrorCode::too_many_requests, "too many outstanding nonces");
  used_.emplace(std::move(id), expiry);
  return {};
}

std::size_t NonceIssuer::used_count() const {
  std::lock_guard lock(mutex_);
  return used_.size();
}

}  // namespace cloister::attest
