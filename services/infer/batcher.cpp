#include "batcher.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string.h>  // explicit_bzero
#include <utility>

namespace cloister::infer {

using engine::NamedTensor;
using engine::Tensor;
using Clock = std::chrono::steady_clock;

class BatcherMetrics {
 public:
  explicit BatcherMetrics(prometheus::Registry& registry)
      : queue_depth(prometheus::BuildGauge()
                        .Name("cloister_infer_queue_depth")
                        .Help("Requests waiting in a model's batching queue")
                        .Register(registry)),
        batch_size(prometheus::BuildHistogram()
                       .Name("cloister_infer_batch_size")
                       .Help("Items (sum of the leading dimension) per model run")
                       .Register(registry)),
        queue_wait(prometheus::BuildHistogram()
                       .Name("cloister_infer_queue_wait_seconds")
                       .Help("Time a request waited in the batching queue before its batch started")
                       .Register(registry)),
        compute(prometheus::BuildHistogram()
                    .Name("cloister_infer_compute_seconds")
                    .Help("Time one batch spent in the model")
                    .Register(registry)),
        requests(prometheus::BuildCounter()
                     .Name("cloister_infer_requests_total")
                     .Help("Inference requests through the batcher by outcome (ok or the error code)")
                     .Register(registry)) {}

  prometheus::Family<prometheus::Gauge>& queue_depth;
  prometheus::Family<prometheus::Histogram>& batch_size;
  prometheus::Family<prometheus::Histogram>& queue_wait;
  prometheus::Family<prometheus::Histogram>& compute;
  prometheus::Family<prometheus::Counter>& requests;
};

std::shared_ptr<BatcherMetrics> make_batcher_metrics(prometheus::Registry& registry) {
  return std::make_shared<BatcherMetrics>(registry);
}

namespace {

const prometheus::Histogram::BucketBoundaries& batch_size_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {1, 2, 4, 8, 16, 32, 64};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& seconds_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Overwrites the tensors' buffers (patient data) before they are released, then drops them.
void wipe(std::vector<NamedTensor>& tensors) {
  for (auto& named : tensors) {
    Tensor& tensor = named.tensor;
    if (tensor.bytes() != nullptr && tensor.byte_size() > 0) explicit_bzero(tensor.bytes(), tensor.byte_size());
  }
  tensors.clear();
}

bool same_layout(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Tensor& x = a[i].tensor;
    const Tensor& y = b[i].tensor;
    if (a[i].name != b[i].name || x.dtype() != y.dtype() || x.rank() != y.rank()) return false;
    if (!std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) return false;
  }
  return true;
}

}  // namespace

struct Batcher::Request {
  std::vector<NamedTensor> inputs;
  std::int64_t items = 0;
  Clock::time_point enqueued;
  std::condition_variable done_cv;
  bool queued = false;     // in queue_
  bool done = false;       // result is set
  bool abandoned = false;  // the caller returned (deadline) while its batch ran
  Result<std::vector<NamedTensor>> result;
};

struct Batcher::ModelMetrics {
  std::shared_ptr<BatcherMetrics> shared;
  std::string label;
  prometheus::Gauge& queue_depth;
  prometheus::Histogram& batch_size;
  prometheus::Histogram& queue_wait;
  prometheus::Histogram& compute;
  prometheus::Counter& ok;

  ModelMetrics(std::shared_ptr<BatcherMetrics> metrics, std::string model)
      : shared(std::move(metrics)),
        label(std::move(model)),
        queue_depth(shared->queue_depth.Add({{"model", label}})),
        batch_size(shared->batch_size.Add({{"model", label}}, batch_size_buckets())),
        queue_wait(shared->queue_wait.Add({{"model", label}}, seconds_buckets())),
        compute(shared->compute.Add({{"model", label}}, seconds_buckets())),
        ok(shared->requests.Add({{"model", label}, {"outcome", "ok"}})) {}
};

Batcher::Batcher(std::string model_label, RunFn run, BatchOptions options, std::shared_ptr<BatcherMetrics> metrics)
    : model_label_(std::move(model_label)), run_(std::move(run)), options_(options) {
  if (!run_) throw std::invalid_argument("Batcher needs a run function");
  if (metrics) metrics_ = std::make_unique<ModelMetrics>(std::move(metrics), model_label_);
  const std::size_t workers = std::max<std::size_t>(1, options_.workers);
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

Batcher::~Batcher() { stop(); }

std::size_t Batcher::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Batcher::update_queue_gauge_locked() {
  if (metrics_) metrics_->queue_depth.Set(static_cast<double>(queue_.size()));
}

void Batcher::record_outcome(const Result<std::vector<NamedTensor>>& result) {
  if (!metrics_) return;
  if (result) {
    metrics_->ok.Increment();
  } else {
    metrics_->shared->requests.Add({{"model", metrics_->label}, {"outcome", std::string(result.error().name())}})
        .Increment();
  }
}

Result<std::vector<NamedTensor>> Batcher::submit(std::vector<NamedTensor> inputs, Clock::time_point deadline) {
  auto result = enqueue_and_wait(std::move(inputs), deadline);
  record_outcome(result);
  return result;
}

Result<std::vector<NamedTensor>> Batcher::enqueue_and_wait(std::vector<NamedTensor> inputs,
                                                           Clock::time_point deadline) {
  if (inputs.empty()) return fail(ErrorCode::invalid_argument, "a request needs at least one input");
  std::int64_t items = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& tensor = inputs[i].tensor;
    if (tensor.rank() == 0) {
      wipe(inputs);
      return fail(ErrorCode::invalid_argument, "input '" + inputs[i].name + "' has rank 0 (no batch dimension)");
    }
    const std::int64_t n = tensor.shape()[0];
    if (n < 1 || (i > 0 && n != items)) {
      std::string name = inputs[i].name;
      wipe(inputs);
      return fail(ErrorCode::invalid_argument,
                  "input '" + name + "': every input needs the same leading dimension >= 1");
    }
    items = n;
  }

  auto request = std::make_shared<Request>();
  request->inputs = std::move(inputs);
  request->items = items;

  std::unique_lock lock(mutex_);
  const auto now = Clock::now();
  std::optional<Error> refusal;
  if (stopping_) {
    refusal = Error{ErrorCode::unavailable, "the model's batcher is stopped"};
  } else if (now >= deadline) {
    refusal = Error{ErrorCode::deadline_exceeded, "the deadline passed before the request was queued"};
  } else if (queue_.size() >= options_.max_queue) {
    refusal = Error{ErrorCode::too_many_requests, "the model's queue is full"};
  }
  if (refusal) {
    lock.unlock();
    wipe(request->inputs);
    return std::unexpected(std::move(*refusal));
  }

  request->enqueued = now;
  request->queued = true;
  queue_.push_back(request);
  update_queue_gauge_locked();
  queue_changed_.notify_all();

  request->done_cv.wait_until(lock, deadline, [&] { return request->done; });
  if (request->done) return std::move(request->result);

  if (request->queued) {
    // Still waiting for a batch: drop it; it never runs.
    queue_.erase(std::find(queue_.begin(), queue_.end(), request));
    request->queued = false;
    update_queue_gauge_locked();
    queue_changed_.notify_all();
    lock.unlock();
    wipe(request->inputs);
    return fail(ErrorCode::deadline_exceeded, "the deadline passed while the request was queued");
  }
  // Its batch is running: the worker wipes the inputs and discards this request's outputs.
  request->abandoned = true;
  return fail(ErrorCode::deadline_exceeded, "the deadline passed while the request's batch ran");
}

void Batcher::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    queue_changed_.wait(lock, [&] { return stopping_ || (!gathering_ && !queue_.empty()); });
    if (stopping_) return;

    gathering_ = true;
    std::vector<RequestPtr> batch;
    while (!stopping_ && !queue_.empty()) {
      Clock::time_point wake;
      batch = gather_locked(Clock::now(), wake);
      if (!batch.empty()) break;
      queue_changed_.wait_until(lock, wake);
    }
    gathering_ = false;
    queue_changed_.notify_all();
    if (batch.empty()) continue;

    lock.unlock();
    run_batch(batch);
    batch.clear();
    lock.lock();
  }
}

std::vector<Batcher::RequestPtr> Batcher::gather_locked(Clock::time_point now, Clock::time_point& wake) {
  const RequestPtr& first = queue_.front();
  const auto max_items = static_cast<std::int64_t>(std::max<std::size_t>(1, options_.max_batch_size));
  std::vector<std::size_t> selected = {0};
  std::int64_t total = first->items;
  bool full = total >= max_items;
  for (std::size_t i = 1; i < queue_.size() && !full; ++i) {
    const RequestPtr& candidate = queue_[i];
    if (!same_layout(first->inputs, candidate->inputs)) continue;  // stays queued, in order
    if (total + candidate->items > max_items) {
      full = true;
      break;
    }
    selected.push_back(i);
    total += candidate->items;
    full = total == max_items;
  }
  const Clock::time_point window_end = first->enqueued + options_.max_delay;
  const bool company_expected = !options_.adaptive_delay || queue_.size() > 1 || last_batch_requests_ > 1;
  if (!full && company_expected && now < window_end) {
    wake = window_end;
    return {};
  }

  std::vector<RequestPtr> batch;
  batch.reserve(selected.size());
  last_batch_requests_ = selected.size();
  for (std::size_t index : selected) batch.push_back(queue_[index]);
  for (auto it = selected.rbegin(); it != selected.rend(); ++it) queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(*it));
  for (const RequestPtr& request : batch) {
    request->queued = false;
    if (metrics_) metrics_->queue_wait.Observe(seconds_between(request->enqueued, now));
  }
  update_queue_gauge_locked();
  return batch;
}

void Batcher::run_batch(std::vector<RequestPtr>& batch) {
  std::int64_t total = 0;
  for (const RequestPtr& request : batch) total += request->items;

  std::vector<Result<std::vector<NamedTensor>>> results(batch.size());
  std::vector<NamedTensor> concatenated;
  auto started = Clock::now();
  try {
    Result<std::vector<NamedTensor>> outputs;
    if (batch.size() == 1) {
      outputs = run_(std::span<const NamedTensor>(batch.front()->inputs));
    } else {
      // One buffer per input; one memcpy per request per input.
      const auto& layout = batch.front()->inputs;
      concatenated.reserve(layout.size());
      for (std::size_t k = 0; k < layout.size(); ++k) {
        engine::Shape shape = layout[k].tensor.shape();
        shape[0] = total;
        Tensor joined(layout[k].tensor.dtype(), std::move(shape));
        std::byte* cursor = joined.bytes();
        for (const RequestPtr& request : batch) {
          const Tensor& part = request->inputs[k].tensor;
          if (part.byte_size() > 0) std::memcpy(cursor, part.bytes(), part.byte_size());
          cursor += part.byte_size();
        }
        concatenated.push_back({layout[k].name, std::move(joined)});
      }
      started = Clock::now();  // compute time excludes the concatenation
      outputs = run_(std::span<const NamedTensor>(concatenated));
    }
    if (metrics_) {
      metrics_->compute.Observe(seconds_between(started, Clock::now()));
      metrics_->batch_size.Observe(static_cast<double>(total));
    }

    if (!outputs) {
      for (auto& result : results) result = std::unexpected(outputs.error());
    } else if (batch.size() == 1) {
      results.front() = std::move(*outputs);
    } else {
      std::optional<Error> split_error;
      for (const NamedTensor& output : *outputs) {
        if (output.tensor.rank() == 0 || output.tensor.shape()[0] != total) {
          split_error = Error{ErrorCode::engine_execution_failed,
                              "output '" + output.name + "' has shape " + engine::shape_to_string(output.tensor.shape()) +
                                  ", which cannot be split into a batch of " + std::to_string(total)};
          break;
        }
      }
      if (split_error) {
        for (auto& result : results) result = std::unexpected(*split_error);
      } else {
        for (auto& result : results) result->reserve(outputs->size());
        for (const NamedTensor& output : *outputs) {
          const std::size_t item_bytes = output.tensor.byte_size() / static_cast<std::size_t>(total);
          const std::byte* cursor = output.tensor.bytes();
          for (std::size_t r = 0; r < batch.size(); ++r) {
            engine::Shape shape = output.tensor.shape();
            shape[0] = batch[r]->items;
            Tensor part(output.tensor.dtype(), std::move(shape));
            if (part.byte_size() > 0) std::memcpy(part.bytes(), cursor, part.byte_size());
            cursor += item_bytes * static_cast<std::size_t>(batch[r]->items);
            results[r]->push_back({output.name, std::move(part)});
          }
        }
      }
      wipe(*outputs);
    }
  } catch (const std::exception&) {
    for (auto& result : results) {
      if (result) wipe(*result);
      result = fail(ErrorCode::engine_execution_failed, "running the batch failed unexpectedly");
    }
  }

  wipe(concatenated);
  for (const RequestPtr& request : batch) wipe(request->inputs);

  std::vector<std::vector<NamedTensor>> discarded;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t r = 0; r < batch.size(); ++r) {
      Request& request = *batch[r];
      if (request.abandoned) {
        if (results[r]) discarded.push_back(std::move(*results[r]));
        continue;
      }
      request.result = std::move(results[r]);
      request.done = true;
      request.done_cv.notify_all();
    }
  }
  for (auto& outputs : discarded) wipe(outputs);
}

void Batcher::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  std::vector<RequestPtr> dropped;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      dropped.assign(queue_.begin(), queue_.end());
      queue_.clear();
      update_queue_gauge_locked();
      for (const RequestPtr& request : dropped) {
        request->queued = false;
        request->result = fail(ErrorCode::unavailable, "the model's batcher stopped");
        request->done = true;
        request->done_cv.notify_all();
      }
    }
    queue_changed_.notify_all();
  }
  // The callers only read `result`; the inputs are the batcher's to wipe.
  for (const RequestPtr& request : dropped) wipe(request->inputs);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

}  // namespace cloister::infer
