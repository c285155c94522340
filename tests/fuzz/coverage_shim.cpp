// Coverage feedback for libFuzzer from GCC's instrumentation.
//
// g++ -fsanitize-coverage=trace-pc calls __sanitizer_cov_trace_pc() at the start of every basic
// block (and trace-cmp calls __sanitizer_cov_trace_cmp*, which libFuzzer implements itself).
// libFuzzer no longer consumes trace-pc, so this shim keeps AFL-style edge counters — a hash of the
// caller's address xor the previous block's — in an array registered as "inline 8-bit counters",
// the form clang's -fsanitize=fuzzer produces. Nothing here is instrumented (no_sanitize_coverage),
// or the callback would call itself.

#include <cstddef>
#include <cstdint>

#define CLOISTER_NOT_INSTRUMENTED \
  __attribute__((no_sanitize_coverage, no_sanitize("address", "undefined"), used))

extern "C" void __sanitizer_cov_8bit_counters_init(std::uint8_t* begin, std::uint8_t* end);

namespace {

constexpr std::size_t kCounterCount = std::size_t{1} << 16;
alignas(64) std::uint8_t counters[kCounterCount];
thread_local std::uintptr_t previous_location = 0;

CLOISTER_NOT_INSTRUMENTED __attribute__((constructor)) void register_counters() {
  __sanitizer_cov_8bit_counters_init(counters, counters + kCounterCount);
}

}  // namespace

extern "C" CLOISTER_NOT_INSTRUMENTED void __sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  const std::uintptr_t location = (pc * 0x9E3779B97F4A7C15ull) >> 48;  // 16 well-mixed bits
  ++counters[(location ^ previous_location) & (kCounterCount - 1)];
  previous_location = location >> 1;
}

// trace-cmp also reports floating-point comparisons, which libFuzzer does not take.
extern "C" CLOISTER_NOT_INSTRUMENTED void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" CLOISTER_NOT_INSTRUMENTED void __sanitizer_cov_trace_cmpd(double, double) {}
