#include "engine_command.h"

#include "cloister/engine/npy.h"
#include "cloister/engine/session.h"

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <numeric>

namespace cloister::cli {

namespace {

using engine::NamedTensor;
using engine::Session;
using engine::SessionOptions;
using engine::Tensor;

int report(const Error& error) {
  std::cerr << "error: " << error.to_string() << "\n";
  return 1;
}

// NAME=FILE.npy → named tensors.
Result<std::vector<NamedTensor>> read_inputs(const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs;
  for (const auto& spec : specs) {
    auto equals = spec.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == spec.size()) {
      return fail(ErrorCode::invalid_argument, "--input wants NAME=FILE.npy, not '" + spec + "'");
    }
    auto tensor = engine::read_npy_file(spec.substr(equals + 1));
    if (!tensor) return std::unexpected(tensor.error());
    inputs.push_back(NamedTensor{spec.substr(0, equals), std::move(*tensor)});
  }
  return inputs;
}

// The file name for an output: the ONNX name, with characters that could leave the directory or
// upset a shell replaced by '_'.
std::string output_file_name(const std::string& name) {
  std::string safe;
  for (char c : name) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (safe.empty() || safe == "." || safe == "..") safe = "_" + safe;
  return safe + ".npy";
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

Tensor random_input(const engine::TensorInfo& info, std::uint32_t seed) {
  engine::Shape shape = info.shape;
  for (auto& d : shape) d = d < 0 ? 1 : d;
  Tensor tensor(info.dtype, shape);
  std::uint32_t state = seed * 2654435761u + 12345u;
  for (std::int64_t i = 0; i < tensor.element_count(); ++i) {
    state = state * 1664525u + 1013904223u;
    const float value = static_cast<float>(state >> 8) / static_cast<float>(1 << 24);
    if (info.dtype == engine::DataType::float32) tensor.data<float>()[i] = value * 2 - 1;
    else if (info.dtype == engine::DataType::float64) tensor.data<double>()[i] = value * 2 - 1;
  }
  return tensor;  // integer and bool inputs stay zero (valid indices)
}

}  // namespace

int run_engine_run(const EngineRunOptions& options) {
  SessionOptions session_options;
  session_options.threads = options.threads;
  session_options.warm_up = false;  // one run: warming up would only double the work
  auto session = Session::load_file(options.model, session_options);
  if (!session) return report(session.error());
  auto inputs = read_inputs(options.inputs);
  if (!inputs) return report(inputs.error());
  auto outputs = (*session)->run(*inputs);
  if (!outputs) return report(outputs.error());
  std::error_code error;
  std::filesystem::create_directories(options.output_dir, error);
  if (error) return report(Error{ErrorCode::io_error, "cannot create " + options.output_dir + ": " + error.message()});
  for (const auto& output : *outputs) {
    auto path = std::filesystem::path(options.output_dir) / output_file_name(output.name);
    if (auto status = engine::write_npy_file(path, output.tensor); !status) return report(status.error());
    std::cout << output.name << " " << engine::data_type_name(output.tensor.dtype()) << " "
              << engine::shape_to_string(output.tensor.shape()) << " " << path.string() << "\n";
  }
  return 0;
}

int run_engine_bench(const EngineBenchOptions& options) {
  if (options.runs < 1 || options.warmup < 0 || options.threads < 0) {
    return report(Error{ErrorCode::invalid_argument, "--runs must be positive, --warmup and --threads not negative"});
  }
  SessionOptions session_options;
  session_options.threads = options.threads;
  const auto load_start = std::chrono::steady_clock::now();
  auto session = Session::load_file(options.model, session_options);
  if (!session) return report(session.error());
  const double load_ms = milliseconds_since(load_start);
  auto given = read_inputs(options.inputs);
  if (!given) return report(given.error());
  std::vector<NamedTensor> inputs = std::move(*given);
  std::uint32_t seed = 1;
  for (const auto& info : (*session)->inputs()) {
    bool present = std::any_of(inputs.begin(), inputs.end(), [&](const NamedTensor& t) { return t.name == info.name; });
    if (!present) inputs.push_back(NamedTensor{info.name, random_input(info, seed++)});
  }
  for (int i = 0; i < options.warmup; ++i) {
    if (auto result = (*session)->run(inputs); !result) return report(result.error());
  }
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto result = (*session)->run(inputs);
    const double elapsed = milliseconds_since(start);
    if (!result) return report(result.error());
    times.push_back(elapsed);
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2] : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  const auto stats = (*session)->stats();
  nlohmann::json line = {{"model", options.model},
                         {"threads", options.threads},
                         {"runs", options.runs},
                         {"median_ms", median},
                         {"min_ms", sorted.front()},
                         {"mean_ms", std::accumulate(times.begin(), times.end(), 0.0) / static_cast<double>(times.size())},
                         {"max_ms", sorted.back()},
                         {"load_ms", load_ms},
                         {"gflops", stats.flops / (median * 1e6)},
                         {"steps", stats.steps},
                         {"fused_nodes", stats.fused_nodes},
                         {"reorders", stats.reorders},
                         {"arena_bytes", stats.arena_bytes},
                         {"peak_rss_kb", peak_rss_kb()}};
  if (options.profile) {
    auto profile = (*session)->profile(inputs);
    if (!profile) return report(profile.error());
    for (const auto& step : *profile) {
      nlohmann::json entry = {{"step", step.name}, {"kind", step.kind}, {"ms", step.milliseconds}};
      if (step.flops > 0) entry["gflops"] = step.flops / (step.milliseconds * 1e6);
      std::cout << entry.dump() << "\n";
    }
  }
  std::cout << line.dump() << std::endl;
  return 0;
}

EngineCommands add_engine_commands(CLI::App& app) {
  EngineCommands commands;
  auto* engine = app.add_subcommand("engine", "The ONNX inference engine (NumPy .npy tensors)");
  engine->require_subcommand(1);
  auto& run = *commands.run_options;
  commands.run = engine->add_subcommand("run", "Run a model once; write DIR/<output name>.npy per output");
  commands.run->add_option("--model", run.model, "The ONNX model")->required();
  commands.run->add_option("--input", run.inputs, "NAME=FILE.npy (repeat for each graph input)");
  commands.run->add_option("--output-dir", run.output_dir, "Directory for the outputs")->required();
  commands.run->add_option("--threads", run.threads, "Threads (0: all cores)")->capture_default_str();
  auto& bench = *commands.bench_options;
  commands.bench = engine->add_subcommand("bench", "Time a model; print one JSON line (median_ms, min_ms, ...)");
  commands.bench->add_option("--model", bench.model, "The ONNX model")->required();
  commands.bench->add_option("--threads", bench.threads, "Threads (0: all cores)")->capture_default_str();
  commands.bench->add_option("--runs", bench.runs, "Timed runs")->capture_default_str();
  commands.bench->add_option("--warmup", bench.warmup, "Untimed runs first")->capture_default_str();
  commands.bench->add_option("--input", bench.inputs, "NAME=FILE.npy (others: random data)");
  commands.bench->add_flag("--profile", bench.profile, "Also print one JSON line per step");
  return commands;
}

int run_engine_command(const EngineCommands& commands) {
  if (commands.run && commands.run->parsed()) return run_engine_run(*commands.run_options);
  if (commands.bench && commands.bench->parsed()) return run_engine_bench(*commands.bench_options);
  return -1;
}

}  // namespace cloister::cli
