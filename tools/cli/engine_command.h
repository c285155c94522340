#pragma once
// `cloister engine run` and `cloister engine bench`: the ONNX executor (libs/engine) from the
// command line, with NumPy .npy files for tensors.

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cloister::cli {

struct EngineRunOptions {
  std::string model;                // the .onnx file
  std::vector<std::string> inputs;  // NAME=FILE.npy, one per graph input
  std::string output_dir;           // DIR/<output name>.npy per graph output
  int threads = 0;                  // 0: all cores
};
// Runs the model once; writes one .npy per graph output in the exact ONNX output shape.
// Exit 0, or 1 with "error: <code>: <detail>" on standard error.
int run_engine_run(const EngineRunOptions& options);

struct EngineBenchOptions {
  std::string model;
  int threads = 1;
  int runs = 20;                    // timed runs
  int warmup = 3;                   // untimed runs before them
  std::vector<std::string> inputs;  // optional NAME=FILE.npy; other inputs get random data (dynamic dims 1)
  bool profile = false;             // also print one JSON line per step (per-layer time)
};
// Prints one JSON line: {"model","threads","runs","median_ms","min_ms","mean_ms","max_ms",
// "load_ms","gflops","steps","arena_bytes","peak_rss_kb"}.
int run_engine_bench(const EngineBenchOptions& options);

// Registers `engine run` and `engine bench` on the application; run_engine_command() runs the one
// that was parsed (-1 when neither was).
struct EngineCommands {
  CLI::App* run = nullptr;
  CLI::App* bench = nullptr;
  std::shared_ptr<EngineRunOptions> run_options = std::make_shared<EngineRunOptions>();
  std::shared_ptr<EngineBenchOptions> bench_options = std::make_shared<EngineBenchOptions>();
};
EngineCommands add_engine_commands(CLI::App& app);
int run_engine_command(const EngineCommands& commands);

}  // namespace cloister::cli
