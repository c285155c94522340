#pragma once
// Dynamic batching for one model version: concurrent requests are queued, compatible ones are
// concatenated along dimension 0, run once, and the outputs are split back per request.
//
//   Batcher batcher("densenet:1", [&](auto inputs) { return session->run(inputs); }, {}, metrics);
//   auto outputs = batcher.submit(std::move(inputs), std::chrono::steady_clock::now() + 5s);
//
// Request tensors are patient data: the batcher wipes every input buffer it owns (the request's own
// tensors and the concatenated batch) once the batch has run, and never logs tensor values.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "cloister/engine/tensor.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace prometheus {
class Registry;
}

namespace cloister::infer {

struct BatchOptions {
  std::size_t max_batch_size = 8;             // items (sum of the leading dimension) per run; 1: no batching
  std::chrono::microseconds max_delay{2000};  // how long the first queued request waits for company
  std::size_t max_queue = 64;                 // queued requests (not items); beyond → too_many_requests
  std::size_t workers = 1;                    // batches run concurrently (engine::Session::run is thread-safe)
  // Adaptive delay: a request alone in the queue of a model whose last batch held one request runs at
  // once (no load, no company to wait for); max_delay is waited only while requests arrive together
  // (others are queued, or the last batch held several). Off: every batch waits up to max_delay.
  bool adaptive_delay = false;
};

// Prometheus families shared by every model's batcher of one registry (label model="<name>:<version>"):
//   cloister_infer_queue_depth (gauge), cloister_infer_batch_size (histogram, 1 .. 64),
//   cloister_infer_queue_wait_seconds, cloister_infer_compute_seconds (histograms, 0.5 ms .. 10 s),
//   cloister_infer_requests_total{model,outcome} (outcome: ok or the error code name).
class BatcherMetrics;
std::shared_ptr<BatcherMetrics> make_batcher_metrics(prometheus::Registry& registry);

class Batcher {
 public:
  using RunFn = std::function<Result<std::vector<engine::NamedTensor>>(std::span<const engine::NamedTensor>)>;

  // `metrics` may be null (no metrics). Starts options.workers threads (at least one).
  Batcher(std::string model_label, RunFn run, BatchOptions options, std::shared_ptr<BatcherMetrics> metrics);
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one request (every input with the same leading dimension n >= 1) and waits for its outputs,
  // at most until `deadline`. Errors: too_many_requests when max_queue requests are waiting;
  // unavailable after stop(); deadline_exceeded when the deadline passes (while queued: the request is
  // dropped and never runs; while its batch runs: the batch goes on, this call returns);
  // invalid_argument when there are no inputs or they disagree on the leading dimension or are rank 0;
  // any error of RunFn for the batch (every request of that batch gets it); engine_execution_failed
  // when several requests ran together and an output's leading dimension is not the batch's total.
  // A request that runs alone gets RunFn's outputs as they are.
  Result<std::vector<engine::NamedTensor>> submit(std::vector<engine::NamedTensor> inputs,
                                                  std::chrono::steady_clock::time_point deadline);

  // Refuses new requests, fails queued ones with unavailable, waits for running batches, joins the
  // workers. Idempotent.
  void stop();

  std::size_t queue_depth() const;
  const BatchOptions& options() const { return options_; }

 private:
  struct Request;
  struct ModelMetrics;
  using RequestPtr = std::shared_ptr<Request>;

  Result<std::vector<engine::NamedTensor>> enqueue_and_wait(std::vector<engine::NamedTensor> inputs,
                                                            std::chrono::steady_clock::time_point deadline);
  void worker_loop();
  // With mutex_ held: the requests of the next batch (removed from the queue) or an empty vector when
  // the worker should wait (until `wake`) for more company.
  std::vector<RequestPtr> gather_locked(std::chrono::steady_clock::time_point now,
                                        std::chrono::steady_clock::time_point& wake);
  void run_batch(std::vector<RequestPtr>& batch);
  void update_queue_gauge_locked();
  void record_outcome(const Result<std::vector<engine::NamedTensor>>& result);

  const std::string model_label_;
  const RunFn run_;
  const BatchOptions options_;
  std::unique_ptr<ModelMetrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable queue_changed_;  // requests queued or removed, gatherer released, stop
  std::deque<RequestPtr> queue_;
  bool stopping_ = false;
  bool gathering_ = false;  // one worker at a time assembles a batch
  std::size_t last_batch_requests_ = 1;  // requests in the most recent batch (adaptive_delay)
  std::vector<std::thread> workers_;
  std::mutex stop_mutex_;  // serialises stop() (join outside mutex_)
};

}  // namespace cloister::infer
