#pragma once
// An injectable clock: validation code asks a Clock, never system_clock directly, so tests can
// check token and certificate validity windows at any instant.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cloister {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Seconds since the Unix epoch (what JWT claims use).
  std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start) : nanos_(start.time_since_epoch().count()) {}
  static ManualClock at_unix(std::int64_t seconds) {
    return ManualClock(time_point(std::chrono::seconds(seconds)));
  }
  time_point now() const override { return time_point(time_point::duration(nanos_.load())); }
  void set(time_point t) { nanos_ = t.time_since_epoch().count(); }
  void advance(std::chrono::nanoseconds d) { nanos_ += std::chrono::duration_cast<time_point::duration>(d).count(); }

 private:
  std::atomic<time_point::rep> nanos_;
};

}  // namespace cloister
