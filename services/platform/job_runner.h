#pragma once
// JobRunner: the diagnosis pipeline's workers (docs/platform.md, "Studies and the job queue").
//
// Each worker claims the oldest due study (PlatformStore::claim, with a lease), sends its image to
// the diagnostic provider (ProviderClient::diagnose: mutual attestation, sealed both ways, receipt
// verified), turns the findings into a FHIR DiagnosticReport bundle and completes the study — one
// transaction with the audit record and the tenant's webhook event. A failure the provider or the
// network may recover from is retried with exponential backoff (jitter ±20 %) up to max_attempts;
// then, or at once for a failure of the input itself (an image that does not decode), the study is
// dead-lettered with its error code, visible to the hospital, which may retry it.
//
// Nothing is lost to a crash: the study was committed before the 202, a killed attempt stays
// `running` in the database and recover_running() (at start) queues it again.

#include "platform_store.h"
#include "provider_client.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace cloister::platform {

struct JobOptions {
  int workers = 2;
  int max_attempts = 5;
  std::chrono::seconds backoff_initial{2};
  std::chrono::seconds backoff_max{300};
  std::chrono::seconds lease{600};  // a running attempt older than this is presumed dead
};

class JobRunner {
 public:
  // `diagnose` is the provider call (ProviderClient::diagnose in the service); `on_event` runs after a
  // study completes or is dead-lettered (wakes the webhook outbox).
  using Diagnose = std::function<Result<ProviderAnswer>(const Job&)>;
  JobRunner(PlatformStore& store, Diagnose diagnose, JobOptions options, const Clock& clock,
            prometheus::Registry& registry, std::function<void()> on_event = {});
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();
  // Waits for attempts in progress (the provider timeout bounds them); their studies stay running in
  // the database if the process dies instead, and are recovered at the next start.
  void stop();
  // A study was accepted: wake a worker.
  void notify();
  // Claims and processes one due study; false when none was due (tests, and the workers' loop).
  bool run_once();

 private:
  void worker();
  void process(Job& job);

  PlatformStore& store_;
  Diagnose diagnose_;
  JobOptions options_;
  const Clock& clock_;
  std::function<void()> on_event_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t notifications_ = 0;
  std::vector<std::thread> threads_;
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;
  prometheus::Histogram* duration_ = nullptr;
};

}  // namespace cloister::platform
