#include "batcher.h"

#include "cloister/core/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cloister::infer {
namespace {

using namespace std::chrono_literals;
using engine::NamedTensor;
using engine::Tensor;
using Clock = std::chrono::steady_clock;

// Upper bound for every wait of these tests: reached only when something is broken.
constexpr auto kPatience = 30s;

Clock::time_point far_deadline() { return Clock::now() + 120s; }

// A request of `n` rows of `width` floats: row r, column c holds base + r * width + c.
std::vector<NamedTensor> make_request(std::int64_t n, std::int64_t width, float base) {
  std::vector<float> values(static_cast<std::size_t>(n * width));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = base + static_cast<float>(i);
  std::vector<NamedTensor> inputs;
  inputs.push_back({"x", Tensor::from_values<float>({n, width}, std::span<const float>(values))});
  return inputs;
}

// Checks that `outputs` is exactly the doubled request made by make_request(n, width, base).
void expect_doubled(const Result<std::vector<NamedTensor>>& outputs, std::int64_t n, std::int64_t width, float base) {
  ASSERT_TRUE(outputs.has_value()) << outputs.error().to_string();
  ASSERT_EQ(outputs->size(), 1u);
  const Tensor& y = (*outputs)[0].tensor;
  EXPECT_EQ((*outputs)[0].name, "y");
  ASSERT_EQ(y.shape(), (engine::Shape{n, width}));
  const auto values = y.values<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(values[i], 2 * (base + static_cast<float>(i))) << "element " << i;
  }
}

// Blocks the model run that enters it until the test opens it.
class Gate {
 public:
  void enter_and_wait() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait_for(lock, kPatience, [&] { return open_; });
  }
  bool wait_entered() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool open_ = false;
};

constexpr float kGateMarker = -1000;  // a request whose first value is this blocks in the gate

// A model that doubles input "x" into output "y" and records every batch it runs.
class DoublingModel {
 public:
  struct Batch {
    std::int64_t items;
    std::int64_t width;
    std::vector<float> values;
  };

  Batcher::RunFn run_fn() {
    return [this](std::span<const NamedTensor> inputs) -> Result<std::vector<NamedTensor>> {
      const Tensor& x = inputs[0].tensor;
      const auto values = x.values<float>();
      {
        std::lock_guard lock(mutex_);
        batches_.push_back({x.shape()[0], x.shape()[1], std::vector<float>(values.begin(), values.end())});
      }
      if (!values.empty() && values[0] == kGateMarker) gate.enter_and_wait();
      if (fail_batches_of_several && x.shape()[0] > 1) {
        return fail(ErrorCode::engine_input_invalid, "refused by the test model");
      }
      std::vector<float> doubled(values.begin(), values.end());
      for (float& v : doubled) v *= 2;
      engine::Shape shape = x.shape();
      if (wrong_leading_dimension) shape = {1, static_cast<std::int64_t>(doubled.size())};
      std::vector<NamedTensor> outputs;
      outputs.push_back({"y", Tensor::from_values<float>(shape, std::span<const float>(doubled))});
      return outputs;
    };
  }

  std::vector<Batch> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  bool saw_value(float value) {
    std::lock_guard lock(mutex_);
    for (const Batch& batch : batches_) {
      for (float v : batch.values) {
        if (v == value) return true;
      }
    }
    return false;
  }

  Gate gate;
  std::atomic<bool> fail_batches_of_several = false;
  std::atomic<bool> wrong_leading_dimension = false;

 private:
  std::mutex mutex_;
  std::vector<Batch> batches_;
};

using Future = std::future<Result<std::vector<NamedTensor>>>;

Future submit_async(Batcher& batcher, std::vector<NamedTensor> inputs,
                    Clock::time_point deadline = far_deadline()) {
  return std::async(std::launch::async, [&batcher, inputs = std::move(inputs), deadline]() mutable {
    return batcher.submit(std::move(inputs), deadline);
  });
}

Result<std::vector<NamedTensor>> get(Future& future) {
  if (future.wait_for(kPatience) != std::future_status::ready) {
    ADD_FAILURE() << "a request did not finish";
    return fail(ErrorCode::internal, "timed out in the test");
  }
  return future.get();
}

// Waits (bounded) until `depth` requests are queued.
bool wait_for_queue_depth(const Batcher& batcher, std::size_t depth) {
  const auto give_up = Clock::now() + kPatience;
  while (Clock::now() < give_up) {
    if (batcher.queue_depth() == depth) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Starts a request that blocks the (single) worker in the model until model.gate.open().
Future start_gate(Batcher& batcher, DoublingModel& model) {
  auto future = submit_async(batcher, make_request(1, 3, kGateMarker));
  EXPECT_TRUE(model.gate.wait_entered());
  return future;
}

BatchOptions options(std::size_t max_batch_size, std::chrono::microseconds max_delay, std::size_t max_queue = 64) {
  BatchOptions result;
  result.max_batch_size = max_batch_size;
  result.max_delay = max_delay;
  result.max_queue = max_queue;
  result.workers = 1;
  return result;
}

TEST(BatcherTest, SingleRequestRunsAndComesBack) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  expect_doubled(batcher.submit(make_request(2, 3, 10), far_deadline()), 2, 3, 10);
  const auto batches = model.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].items, 2);
}

TEST(BatcherTest, ConcurrentRequestsAreBatchedAndEachGetsItsOwnRows) {
  DoublingModel model;
  // The window is far longer than the test: the batch leaves because it is full (4 × 2 = 8 items).
  Batcher batcher("m:1", model.run_fn(), options(8, std::chrono::seconds(60)), nullptr);
  std::vector<Future> futures;
  for (int r = 0; r < 4; ++r) futures.push_back(submit_async(batcher, make_request(2, 3, 1000.0f * (r + 1))));
  for (int r = 0; r < 4; ++r) expect_doubled(get(futures[r]), 2, 3, 1000.0f * (r + 1));
  const auto batches = model.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].items, 8);
}

TEST(BatcherTest, AdaptiveDelayRunsALoneRequestAtOnceAndBatchesUnderLoad) {
  DoublingModel model;
  BatchOptions opts = options(8, std::chrono::seconds(60));
  opts.adaptive_delay = true;
  Batcher batcher("m:1", model.run_fn(), opts, nullptr);
  // Alone on an idle model: it runs without waiting out the 60 s window (its 30 s deadline would
  // fire first if it waited).
  auto alone = batcher.submit(make_request(1, 3, 5.0f), std::chrono::steady_clock::now() + std::chrono::seconds(30));
  ASSERT_TRUE(alone) << alone.error().to_string();
  expect_doubled(alone, 1, 3, 5.0f);
  // Requests queued together still batch (the batch leaves when full: 4 × 2 = 8 items).
  auto gate = start_gate(batcher, model);
  std::vector<Future> futures;
  for (int r = 0; r < 4; ++r) futures.push_back(submit_async(batcher, make_request(2, 3, 1000.0f * (r + 1))));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 4));
  model.gate.open();
  expect_doubled(get(gate), 1, 3, kGateMarker);
  for (int r = 0; r < 4; ++r) expect_doubled(get(futures[r]), 2, 3, 1000.0f * (r + 1));
  const auto batches = model.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].items, 8);
}

TEST(BatcherTest, ManyThreadsWithSeveralWorkersEachGetTheirOwnRows) {
  DoublingModel model;
  BatchOptions opts = options(8, 500us, 1000);
  opts.workers = 3;
  Batcher batcher("m:1", model.run_fn(), opts, nullptr);
  constexpr int kThreads = 16;
  constexpr int kRequestsEach = 20;
  std::atomic<int> wrong = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::int64_t n = 1 + (t + i) % 3;
        const float base = static_cast<float>(t * 100000 + i * 100);
        auto result = batcher.submit(make_request(n, 4, base), far_deadline());
        if (!result || (*result)[0].tensor.shape() != engine::Shape{n, 4}) {
          ++wrong;
          continue;
        }
        const auto values = (*result)[0].tensor.values<float>();
        for (std::size_t k = 0; k < values.size(); ++k) {
          if (values[k] != 2 * (base + static_cast<float>(k))) {
            ++wrong;
            break;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  std::int64_t items = 0;
  for (const auto& batch : model.batches()) {
    EXPECT_LE(batch.items, 8);
    items += batch.items;
  }
  std::int64_t expected = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRequestsEach; ++i) expected += 1 + (t + i) % 3;
  }
  EXPECT_EQ(items, expected);
}

TEST(BatcherTest, IncompatibleShapesAreNeverMixedAndKeepTheirOrder) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  // Queue, in this order: A1 (width 3), B1 (width 5), A2 (width 3), B2 (width 5).
  std::vector<Future> futures;
  const std::int64_t widths[] = {3, 5, 3, 5};
  for (int r = 0; r < 4; ++r) {
    futures.push_back(submit_async(batcher, make_request(1, widths[r], 100.0f * (r + 1))));
    ASSERT_TRUE(wait_for_queue_depth(batcher, static_cast<std::size_t>(r + 1)));
  }
  model.gate.open();
  expect_doubled(get(gate), 1, 3, kGateMarker);
  for (int r = 0; r < 4; ++r) expect_doubled(get(futures[r]), 1, widths[r], 100.0f * (r + 1));

  const auto batches = model.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].width, 3);
  EXPECT_EQ(batches[1].items, 2);
  EXPECT_EQ(batches[1].values.front(), 100.0f);  // A1 first, then A2
  EXPECT_EQ(batches[1].values[3], 300.0f);
  EXPECT_EQ(batches[2].width, 5);
  EXPECT_EQ(batches[2].items, 2);
  EXPECT_EQ(batches[2].values.front(), 200.0f);
}

TEST(BatcherTest, DifferentInputNamesOrTypesAreIncompatible) {
  DoublingModel model;
  std::atomic<int> runs = 0;
  auto doubling = model.run_fn();
  Batcher batcher(
      "m:1",
      [&](std::span<const NamedTensor> inputs) -> Result<std::vector<NamedTensor>> {
        ++runs;
        if (inputs[0].name != "x" || inputs[0].tensor.dtype() != engine::DataType::float32) {
          std::vector<NamedTensor> echo(inputs.begin(), inputs.end());
          return echo;
        }
        return doubling(inputs);
      },
      options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  auto renamed = make_request(1, 3, 1);
  renamed[0].name = "other";
  std::vector<NamedTensor> integers;
  integers.push_back({"x", Tensor::from_values<std::int32_t>({1, 3}, {7, 8, 9})});
  auto f1 = submit_async(batcher, std::move(renamed));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 1));
  auto f2 = submit_async(batcher, std::move(integers));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 2));
  auto f3 = submit_async(batcher, make_request(1, 3, 50));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 3));
  model.gate.open();
  ASSERT_TRUE(get(gate).has_value());
  auto r1 = get(f1);
  auto r2 = get(f2);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ((*r1)[0].name, "other");
  EXPECT_EQ((*r2)[0].tensor.values<std::int32_t>()[2], 9);
  expect_doubled(get(f3), 1, 3, 50);
  EXPECT_EQ(runs.load(), 4);  // gate, then each of the three alone
}

TEST(BatcherTest, RequestLargerThanMaxBatchRunsAlone) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(4, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  auto small1 = submit_async(batcher, make_request(1, 3, 10));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 1));
  auto big = submit_async(batcher, make_request(6, 3, 500));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 2));
  auto small2 = submit_async(batcher, make_request(1, 3, 20));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 3));
  model.gate.open();
  ASSERT_TRUE(get(gate).has_value());
  expect_doubled(get(small1), 1, 3, 10);
  expect_doubled(get(big), 6, 3, 500);
  expect_doubled(get(small2), 1, 3, 20);
  bool big_alone = false;
  for (const auto& batch : model.batches()) {
    if (batch.items == 6) big_alone = batch.values.front() == 500.0f && batch.values.size() == 18;
    EXPECT_TRUE(batch.items <= 4 || batch.items == 6);
  }
  EXPECT_TRUE(big_alone);
}

TEST(BatcherTest, FullQueueAnswersTooManyRequests) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us, 2), nullptr);
  auto gate = start_gate(batcher, model);
  auto f1 = submit_async(batcher, make_request(1, 3, 100));
  auto f2 = submit_async(batcher, make_request(1, 3, 200));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 2));
  auto refused = batcher.submit(make_request(1, 3, 300), far_deadline());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::too_many_requests);
  model.gate.open();
  ASSERT_TRUE(get(gate).has_value());
  expect_doubled(get(f1), 1, 3, 100);
  expect_doubled(get(f2), 1, 3, 200);
  EXPECT_FALSE(model.saw_value(300));
}

TEST(BatcherTest, DeadlinePassedWhileQueuedDropsTheRequest) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  auto late = batcher.submit(make_request(1, 3, 777), Clock::now() + 20ms);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, ErrorCode::deadline_exceeded);
  EXPECT_EQ(batcher.queue_depth(), 0u);
  model.gate.open();
  ASSERT_TRUE(get(gate).has_value());
  // Another request after the gate proves the worker went on; the dropped one never ran.
  expect_doubled(batcher.submit(make_request(1, 3, 5), far_deadline()), 1, 3, 5);
  EXPECT_FALSE(model.saw_value(777));
  EXPECT_EQ(model.batches().size(), 2u);
}

TEST(BatcherTest, DeadlineInThePastIsRefusedAtOnce) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto result = batcher.submit(make_request(1, 3, 1), Clock::now() - 1ms);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::deadline_exceeded);
  EXPECT_TRUE(model.batches().empty());
}

TEST(BatcherTest, DeadlinePassedWhileRunningReturnsButTheBatchGoesOn) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto running = submit_async(batcher, make_request(1, 3, kGateMarker), Clock::now() + 300ms);
  ASSERT_TRUE(model.gate.wait_entered());
  auto result = get(running);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::deadline_exceeded);
  model.gate.open();
  expect_doubled(batcher.submit(make_request(1, 3, 5), far_deadline()), 1, 3, 5);
}

TEST(BatcherTest, RunErrorReachesEveryRequestOfTheBatch) {
  DoublingModel model;
  model.fail_batches_of_several = true;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  std::vector<Future> futures;
  for (int r = 0; r < 3; ++r) {
    futures.push_back(submit_async(batcher, make_request(1, 3, 10.0f * (r + 1))));
    ASSERT_TRUE(wait_for_queue_depth(batcher, static_cast<std::size_t>(r + 1)));
  }
  model.gate.open();
  ASSERT_TRUE(get(gate).has_value());
  for (auto& future : futures) {
    auto result = get(future);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::engine_input_invalid);
    EXPECT_EQ(result.error().detail, "refused by the test model");
  }
  const auto batches = model.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].items, 3);
}

TEST(BatcherTest, OutputWithWrongLeadingDimensionFailsTheBatch) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  model.wrong_leading_dimension = true;
  auto f1 = submit_async(batcher, make_request(1, 3, 1));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 1));
  auto f2 = submit_async(batcher, make_request(2, 3, 2));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 2));
  model.gate.open();
  (void)get(gate);
  for (Future* future : {&f1, &f2}) {
    auto result = get(*future);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::engine_execution_failed);
  }
}

TEST(BatcherTest, ThrowingRunFailsTheBatchWithoutCrashing) {
  Batcher batcher(
      "m:1",
      [](std::span<const NamedTensor>) -> Result<std::vector<NamedTensor>> { throw std::runtime_error("boom"); },
      options(8, 0us), nullptr);
  auto result = batcher.submit(make_request(1, 3, 1), far_deadline());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::engine_execution_failed);
}

TEST(BatcherTest, InvalidRequestsAreRefused) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  std::vector<NamedTensor> scalar;
  scalar.push_back({"x", Tensor::scalar(1.0f)});
  auto r1 = batcher.submit(std::move(scalar), far_deadline());
  ASSERT_FALSE(r1.has_value());
  EXPECT_EQ(r1.error().code, ErrorCode::invalid_argument);

  auto mismatched = make_request(2, 3, 1);
  mismatched.push_back({"z", Tensor(engine::DataType::float32, {3, 3})});
  auto r2 = batcher.submit(std::move(mismatched), far_deadline());
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code, ErrorCode::invalid_argument);

  auto r3 = batcher.submit({}, far_deadline());
  ASSERT_FALSE(r3.has_value());
  EXPECT_EQ(r3.error().code, ErrorCode::invalid_argument);

  std::vector<NamedTensor> empty_batch;
  empty_batch.push_back({"x", Tensor(engine::DataType::float32, {0, 3})});
  auto r4 = batcher.submit(std::move(empty_batch), far_deadline());
  ASSERT_FALSE(r4.has_value());
  EXPECT_EQ(r4.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(model.batches().empty());
}

TEST(BatcherTest, StopFailsQueuedRequestsWaitsForTheRunningBatchAndJoins) {
  DoublingModel model;
  Batcher batcher("m:1", model.run_fn(), options(8, 0us), nullptr);
  auto gate = start_gate(batcher, model);
  auto f1 = submit_async(batcher, make_request(1, 3, 100));
  auto f2 = submit_async(batcher, make_request(1, 3, 200));
  ASSERT_TRUE(wait_for_queue_depth(batcher, 2));
  auto stopper = std::async(std::launch::async, [&] { batcher.stop(); });
  for (Future* future : {&f1, &f2}) {
    auto result = get(*future);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  }
  // stop() waits for the running batch, which finishes normally.
  EXPECT_EQ(stopper.wait_for(0s), std::future_status::timeout);
  model.gate.open();
  ASSERT_EQ(stopper.wait_for(kPatience), std::future_status::ready);
  expect_doubled(get(gate), 1, 3, kGateMarker);

  auto after = batcher.submit(make_request(1, 3, 3), far_deadline());
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, ErrorCode::unavailable);
  batcher.stop();  // idempotent
  EXPECT_FALSE(model.saw_value(100));
  EXPECT_FALSE(model.saw_value(200));
}

TEST(BatcherTest, MetricsAppearInTheRegistry) {
  Metrics metrics;
  auto shared = make_batcher_metrics(metrics.registry());
  DoublingModel model;
  Batcher batcher("densenet:1", model.run_fn(), options(8, 0us), shared);
  Batcher other("unet:2", model.run_fn(), options(8, 0us), shared);
  expect_doubled(batcher.submit(make_request(3, 3, 1), far_deadline()), 3, 3, 1);
  expect_doubled(other.submit(make_request(1, 3, 1), far_deadline()), 1, 3, 1);
  EXPECT_FALSE(batcher.submit({}, far_deadline()).has_value());

  const std::string text = metrics.serialize();
  for (const char* expected : {
           "cloister_infer_queue_depth{model=\"densenet:1\"} 0",
           "cloister_infer_batch_size_bucket{model=\"densenet:1\",le=\"4\"} 1",
           "cloister_infer_batch_size_bucket{model=\"densenet:1\",le=\"2\"} 0",
           "cloister_infer_queue_wait_seconds_count{model=\"densenet:1\"} 1",
           "cloister_infer_compute_seconds_count{model=\"densenet:1\"} 1",
           "cloister_infer_compute_seconds_bucket{model=\"densenet:1\",le=\"0.0005\"}",
           "cloister_infer_compute_seconds_bucket{model=\"densenet:1\",le=\"10\"}",
           "cloister_infer_requests_total{model=\"densenet:1\",outcome=\"ok\"} 1",
           "cloister_infer_requests_total{model=\"densenet:1\",outcome=\"invalid_argument\"} 1",
           "cloister_infer_requests_total{model=\"unet:2\",outcome=\"ok\"} 1",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\n" << text;
  }
  // A second call on the same registry shares the families.
  EXPECT_NE(make_batcher_metrics(metrics.registry()), nullptr);
}

}  // namespace
}  // namespace cloister::infer
