#include "nonce_store.h"

#include "cloister/crypto/random.h"

namespace cloister::attest {

NonceStore::NonceStore(const Clock& clock, std::chrono::seconds lifetime, std::size_t capacity)
    : clock_(clock), lifetime_(lifetime), capacity_(capacity) {}

std::string NonceStore::issue() {
  auto nonce = crypto::random_hex(16);
  std::lock_guard lock(mutex_);
  while (order_.size() >= capacity_) {
    expiry_.erase(order_.front());
    order_.pop_front();
  }
  expiry_[nonce] = clock_.unix_seconds() + lifetime_.count();
  order_.push_back(nonce);
  return nonce;
}

Status NonceStore::consume(const std::string& nonce) {
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(nonce);
  if (it == expiry_.end()) return fail(ErrorCode::nonce_invalid, "unknown or already used nonce");
  bool expired = it->second < clock_.unix_seconds();
  expiry_.erase(it);  // one use only, expired or not; `order_` entries are dropped lazily
  if (expired) return fail(ErrorCode::nonce_invalid, "expired nonce");
  return {};
}

}  // namespace cloister::attest
