// Measures this CPU's fp32 FMA peak: every thread runs independent chains of fused multiply-adds
// (AVX-512 when compiled with it, else AVX2). Prints one JSON line {"threads", "gflops", "isa"}.
//   g++ -O2 -march=native -fopenmp fma_peak.cpp -o fma_peak && ./fma_peak THREADS
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr int kChains = 12;  // enough independent accumulators to cover FMA latency x throughput

#if defined(__AVX512F__)
constexpr int kWidth = 16;
constexpr const char* kIsa = "avx512";
float run(long iterations) {
  __m512 acc[kChains];
#pragma GCC unroll 16
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 sum = acc[0];
#pragma GCC unroll 16
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_reduce_add_ps(sum);
}
#else
constexpr int kWidth = 8;
constexpr const char* kIsa = "avx2";
float run(long iterations) {
  __m256 acc[kChains];
#pragma GCC unroll 16
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 sum = acc[0];
#pragma GCC unroll 16
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0];
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const long iterations = 100'000'000;
  double best = 0;
  volatile float sink = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    { sink = sink + run(iterations / 4); }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double flops = 2.0 * kWidth * kChains * static_cast<double>(iterations / 4) * threads;
    if (flops / seconds > best) best = flops / seconds;
  }
  std::printf("{\"threads\": %d, \"gflops\": %.1f, \"isa\": \"%s\"}\n", threads, best / 1e9, kIsa);
  return 0;
}
