#pragma once
// Sensitive<T>: holds PHI, keys or tokens. It cannot be streamed, formatted or converted to JSON in
// clear — every such path prints "[redacted]" or does not compile. Read it only with reveal().

#include <fmt/format.h>

#include <ostream>
#include <utility>

namespace cloister {

inline constexpr const char* kRedacted = "[redacted]";

template <class T>
class Sensitive {
 public:
  Sensitive() = default;
  explicit Sensitive(T value) : value_(std::move(value)) {}

  // The one explicit way in: grep for reveal() to audit every use.
  const T& reveal() const& { return value_; }
  T& reveal() & { return value_; }
  T&& reveal() && { return std::move(value_); }

  friend std::ostream& operator<<(std::ostream& out, const Sensitive&) { return out << kRedacted; }
  friend bool operator==(const Sensitive& a, const Sensitive& b) { return a.value_ == b.value_; }

 private:
  T value_{};
};

}  // namespace cloister

template <class T>
struct fmt::formatter<cloister::Sensitive<T>> : fmt::formatter<const char*> {
  template <class FormatContext>
  auto format(const cloister::Sensitive<T>&, FormatContext& ctx) const {
    return fmt::formatter<const char*>::format(cloister::kRedacted, ctx);
  }
};
