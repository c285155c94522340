#include "job_runner.h"

#include "fhir.h"

#include "cloister/core/log.h"
#include "cloister/crypto/random.h"

#include <openssl/crypto.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>

namespace cloister::platform {

namespace {

// The delay before attempt n+1 after n failed ones: initial·2^(n-1), capped, ±20 % jitter.
std::int64_t backoff_seconds(const JobOptions& options, int failed_attempts) {
  double delay = static_cast<double>(options.backoff_initial.count());
  for (int i = 1; i < failed_attempts && delay < static_cast<double>(options.backoff_max.count()); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(options.backoff_max.count()));
  const auto random = crypto::random_bytes(2);
  const double unit = static_cast<double>((random[0] << 8) | random[1]) / 65535.0;  // [0, 1]
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(delay * (0.8 + 0.4 * unit) + 0.5));
}

fhir::StudyFacts study_facts(const Job& job, std::int64_t issued_at, const std::string& receipt_jti) {
  fhir::StudyFacts facts;
  facts.study_id = job.study_id;
  facts.patient_id = job.patient_id;
  facts.submitted_at = job.created_at;
  facts.issued_at = issued_at;
  facts.media_type = job.media_type;
  auto text = [&](const char* name) -> std::optional<std::string> {
    if (job.facts.is_object() && job.facts.contains(name) && job.facts[name].is_string() &&
        !job.facts[name].get<std::string>().empty()) {
      return job.facts[name].get<std::string>();
    }
    return std::nullopt;
  };
  facts.study_instance_uid = text("study_instance_uid");
  facts.series_instance_uid = text("series_instance_uid");
  facts.sop_class_uid = text("sop_class_uid");
  facts.modality = text("modality");
  if (job.facts.is_object() && job.facts.contains("instances") && job.facts["instances"].is_number_integer()) {
    facts.instances = job.facts["instances"].get<std::int64_t>();
  }
  facts.receipt_jti = receipt_jti;
  return facts;
}

}  // namespace

JobRunner::JobRunner(PlatformStore& store, Diagnose diagnose, JobOptions options, const Clock& clock,
                     prometheus::Registry& registry, std::function<void()> on_event)
    : store_(store), diagnose_(std::move(diagnose)), options_(options), clock_(clock), on_event_(std::move(on_event)) {
  outcomes_ = &prometheus::BuildCounter()
                   .Name("cloister_platform_jobs_total")
                   .Help("Diagnosis attempts by outcome: completed, retry (with the error code), dead_letter")
                   .Register(registry);
  duration_ = &prometheus::BuildHistogram()
                   .Name("cloister_platform_job_seconds")
                   .Help("Time of one diagnosis attempt (provider call, receipt check, report, commit)")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  std::lock_guard lock(mutex_);
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.workers); ++i) threads_.emplace_back([this] { worker(); });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void JobRunner::notify() {
  {
    std::lock_guard lock(mutex_);
    ++notifications_;
  }
  wake_.notify_one();
}

void JobRunner::worker() {
  while (true) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      seen = notifications_;
    }
    if (run_once()) continue;
    // Nothing due: sleep until the next study is due (at most a second: a study accepted by another
    // worker's notify, a clock step), or a notification.
    const auto due = store_.next_due_in();
    const auto wait = std::chrono::seconds(std::clamp<std::int64_t>(due.value_or(1), 0, 1));
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait == std::chrono::seconds(0) ? std::chrono::milliseconds(50)
                                                         : std::chrono::milliseconds(wait),
                   [&] { return stopping_ || notifications_ != seen; });
  }
}

bool JobRunner::run_once() {
  auto job = store_.claim(options_.lease.count());
  if (!job) {
    log::error("claiming a study failed", {{"code", job.error().name()}});
    return false;
  }
  if (!*job) return false;
  process(**job);
  OPENSSL_cleanse((*job)->image.data(), (*job)->image.size());
  return true;
}

void JobRunner::process(Job& job) {
  const auto started = std::chrono::steady_clock::now();
  auto answer = diagnose_(job);
  // The webhook event: ids and states only, never PHI.
  auto event = [&job](nlohmann::json extra) {
    nlohmann::json out = {{"study", job.study_id}, {"model", job.model}};
    out.update(extra);
    return out;
  };
  Status stored;
  std::string outcome;
  if (answer) {
    auto facts = study_facts(job, clock_.unix_seconds(), answer->receipt_id);
    auto report = fhir::report_bundle(facts, answer->diagnosis);
    if (!report) {
      stored = store_.dead_letter(job, {std::string(report.error().name()), report.error().detail, false},
                                  event({{"state", "dead_letter"}, {"error", report.error().name()}}));
      outcome = "dead_letter";
    } else {
      const bool positive = fhir::has_positive_finding(facts, answer->diagnosis);
      StudyResult result{answer->diagnosis, std::move(*report), answer->receipt, answer->provider_token, answer->provider};
      stored = store_.complete(job, result,
                               positive, event({{"state", "completed"}, {"positive", positive}}));
      outcome = "completed";
    }
  } else {
    const auto& error = answer.error();
    StudyError failure{std::string(error.name()), error.detail, retryable(error.code)};
    if (failure.retryable && job.attempt < options_.max_attempts) {
      const auto next = clock_.unix_seconds() + backoff_seconds(options_, job.attempt);
      stored = store_.reschedule(job, failure, next);
      outcome = "retry";
    } else {
      stored = store_.dead_letter(job, failure,
                                  event({{"state", "dead_letter"}, {"error", failure.code}}));
      outcome = "dead_letter";
    }
    log::warn("diagnosis attempt failed", {{"study", job.study_id}, {"tenant", job.tenant}, {"attempt", job.attempt},
                                           {"code", failure.code}, {"outcome", outcome}});
  }
  if (!stored) {
    // The attempt stays running in the database; its lease expiry (or the next start) queues it again.
    log::error("recording a diagnosis attempt failed", {{"study", job.study_id}, {"code", stored.error().name()}});
    outcome = "store_failed";
  } else if (outcome != "retry") {
    log::info("study finished", {{"study", job.study_id}, {"tenant", job.tenant}, {"state", outcome}, {"attempt", job.attempt}});
    if (on_event_) on_event_();
  }
  outcomes_->Add({{"outcome", outcome}}).Increment();
  duration_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace cloister::platform
