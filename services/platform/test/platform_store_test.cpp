// PlatformStore and JobRunner on a real SQLite file: tenant scoping, sealed columns (nothing in clear
// in the file), identifier search through blind indexes, the job queue's states, recovery after a
// crash, retries with backoff and the dead letter. The provider call is the JobRunner's Diagnose
// function: here a function that answers as the provider's documented outcomes do (the real provider
// is exercised in tests/integration/platform_service_test.cpp).
#include "job_runner.h"
#include "platform_store.h"

#include "cloister/core/temp_dir.h"
#include "cloister/crypto/random.h"

#include "test/file_bytes.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <set>
#include <thread>


namespace cloister::platform {
namespace {

constexpr const char* kCanary = "Quillonbard";

nlohmann::json patient(const std::string& mrn) {
  return {{"resourceType", "Patient"},
          {"identifier", {{{"system", "urn:mrn"}, {"value", mrn}}}},
          {"name", {{{"family", kCanary}}}}};
}

class PlatformStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    store_.reset();
    database_.reset();
    auto database = sqlite::Database::open(dir_.path() / "platform.sqlite3");
    ASSERT_TRUE(database) << database.error().to_string();
    database_ = std::move(*database);
    auto cipher = RecordCipher::create(key_);
    ASSERT_TRUE(cipher);
    auto store = PlatformStore::open(database_, std::make_shared<const RecordCipher>(std::move(*cipher)), clock_);
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = std::move(*store);
  }

  Actor actor(const std::string& tenant) { return Actor{tenant, "clerk", "s1", "127.0.0.1", "r1"}; }

  TempDir dir_{"platform-store-test"};
  ManualClock clock_ = ManualClock::at_unix(1'800'000'000);
  Sensitive<crypto::Bytes> key_{crypto::random_bytes(32)};
  std::shared_ptr<sqlite::Database> database_;
  std::unique_ptr<PlatformStore> store_;
};

TEST_F(PlatformStoreTest, PatientsAreScopedByTenantAndSealedAtRest) {
  auto created = store_->create_patient(actor("a"), patient("MRN-1"));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->version, 1);
  auto read = store_->patient(actor("a"), created->id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->resource["name"][0]["family"], kCanary);
  EXPECT_EQ(store_->patient(actor("b"), created->id).error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->update_patient(actor("b"), created->id, patient("MRN-1"), std::nullopt).error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->delete_patient(actor("b"), created->id).error().code, ErrorCode::not_found);

  // Search by identifier through the blind index, per tenant; one patient per identifier per tenant.
  auto found = store_->find_patients(actor("a"), std::string("urn:mrn"), "MRN-1");
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(store_->find_patients(actor("a"), std::nullopt, "MRN-1")->size(), 1u);
  EXPECT_TRUE(store_->find_patients(actor("b"), std::string("urn:mrn"), "MRN-1")->empty());
  EXPECT_EQ(store_->create_patient(actor("a"), patient("MRN-1")).error().code, ErrorCode::conflict);
  EXPECT_TRUE(store_->create_patient(actor("b"), patient("MRN-1"))) << "another hospital may use the same MRN";

  // Optimistic locking, and the identifier index follows updates.
  EXPECT_EQ(store_->update_patient(actor("a"), created->id, patient("MRN-2"), 5).error().code, ErrorCode::version_conflict);
  auto updated = store_->update_patient(actor("a"), created->id, patient("MRN-2"), 1);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->version, 2);
  EXPECT_TRUE(store_->find_patients(actor("a"), std::string("urn:mrn"), "MRN-1")->empty());
  EXPECT_EQ(store_->find_patients(actor("a"), std::string("urn:mrn"), "MRN-2")->size(), 1u);

  // The file holds neither the name nor the identifier (WAL included).
  database_->execute("PRAGMA wal_checkpoint(FULL)");
  const auto bytes = test_support::all_file_bytes(dir_.path());
  EXPECT_EQ(bytes.find(kCanary), std::string::npos);
  EXPECT_EQ(bytes.find("MRN-2"), std::string::npos);

  // The audit trail names actions and ids, never the data.
  auto audit = store_->audit("a", 0, 100);
  ASSERT_GE(audit.size(), 4u);
  EXPECT_EQ(audit.front().action, "patient.create");
  for (const auto& entry : audit) EXPECT_EQ(entry.to_json().dump().find(kCanary), std::string::npos);
  EXPECT_TRUE(store_->audit("c", 0, 100).empty());

  // A request-supplied name or id is bounded in the audit trail.
  Actor long_name = actor("a");
  long_name.name = std::string(100000, 'x');
  ASSERT_TRUE(store_->record(long_name, "login", "User", std::string(100000, 'y'), "invalid_credentials"));
  auto last = store_->audit("a", 0, 1000).back();
  EXPECT_EQ(last.actor.size(), 256u);
  EXPECT_EQ(last.resource_id.size(), 256u);
}

TEST_F(PlatformStoreTest, ASealedValueMovedToAnotherRecordDoesNotOpen) {
  auto first = store_->create_patient(actor("a"), patient("MRN-1")).value();
  auto second = store_->create_patient(actor("a"), patient("MRN-2")).value();
  // Swap the sealed resources of two records behind the store's back.
  ASSERT_TRUE(database_->execute(
      "UPDATE patients SET resource = (SELECT resource FROM patients WHERE id = '" + first.id + "') WHERE id = '" + second.id + "'"));
  EXPECT_EQ(store_->patient(actor("a"), second.id).error().code, ErrorCode::decrypt_failed);
  // Another data key opens nothing.
  key_ = Sensitive<crypto::Bytes>(crypto::random_bytes(32));
  open();
  EXPECT_EQ(store_->patient(actor("a"), first.id).error().code, ErrorCode::decrypt_failed);
}

TEST_F(PlatformStoreTest, StudiesMoveThroughTheQueueAndSurviveARestart) {
  auto owner = store_->create_patient(actor("a"), patient("MRN-1")).value();
  EXPECT_EQ(store_->create_study(actor("a"), "nobody", "m", "image/png", "png", {}).error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->create_study(actor("b"), owner.id, "m", "image/png", "png", {}).error().code, ErrorCode::not_found);
  auto study = store_->create_study(actor("a"), owner.id, "m", "image/png", "PIXELS-Quillonbard", {{"modality", "CT"}});
  ASSERT_TRUE(study) << study.error().to_string();
  EXPECT_EQ(study->state, StudyState::queued);
  EXPECT_EQ(store_->delete_patient(actor("a"), owner.id).error().code, ErrorCode::conflict);
  EXPECT_EQ(store_->study_result(actor("a"), study->id).error().code, ErrorCode::study_not_ready);

  auto job = store_->claim(60);
  ASSERT_TRUE(job && *job);
  EXPECT_EQ((*job)->image, "PIXELS-Quillonbard");
  EXPECT_EQ((*job)->attempt, 1);
  EXPECT_EQ((*job)->facts["modality"], "CT");
  EXPECT_FALSE(*store_->claim(60)) << "a running study is not claimed twice";
  EXPECT_EQ(store_->study(actor("a"), study->id)->state, StudyState::running);

  // The process dies here; at the next start the attempt goes back to the queue.
  open();
  auto recovered = store_->recover_running();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 1u);
  job = store_->claim(60);
  ASSERT_TRUE(job && *job);
  EXPECT_EQ((*job)->attempt, 2);

  // A retry later: not due before its time.
  ASSERT_TRUE(store_->reschedule(**job, {"upstream_failed", "provider down", true}, clock_.unix_seconds() + 30));
  EXPECT_FALSE(*store_->claim(60));
  EXPECT_EQ(store_->next_due_in(), 30);
  auto status = store_->study(actor("a"), study->id).value();
  EXPECT_EQ(status.state, StudyState::queued);
  EXPECT_EQ(status.error->code, "upstream_failed");
  clock_.advance(std::chrono::seconds(31));
  job = store_->claim(60);
  ASSERT_TRUE(job && *job);

  StudyResult result{{{"findings", nlohmann::json::array()}}, {{"resourceType", "Bundle"}}, "receipt", "token", {}};
  ASSERT_TRUE(store_->complete(**job, result, true, {{"study", study->id}}));
  auto done = store_->study(actor("a"), study->id).value();
  EXPECT_EQ(done.state, StudyState::completed);
  EXPECT_EQ(done.positive, true);
  EXPECT_FALSE(done.error);
  auto stored = store_->study_result(actor("a"), study->id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->receipt, "receipt");
  EXPECT_EQ(stored->report["resourceType"], "Bundle");
  EXPECT_EQ(store_->study_result(actor("b"), study->id).error().code, ErrorCode::not_found);
  std::string type;
  EXPECT_EQ(store_->study_image(actor("a"), study->id, &type).value(), "PIXELS-Quillonbard");
  EXPECT_EQ(type, "image/png");
  EXPECT_EQ(store_->retry_study(actor("a"), study->id).error().code, ErrorCode::conflict);

  // The report event sits in the outbox, written in the completing transaction.
  auto lock = database_->lock();
  auto events = database_->prepare("SELECT type FROM outbox WHERE tenant_id = 'a'");
  ASSERT_TRUE(events);
  ASSERT_TRUE(events->step().value());
  EXPECT_EQ(events->column_text(0), "report.ready");
}

TEST_F(PlatformStoreTest, ConcurrentAuditRecordsShareCommitsAndAreAllKept) {
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!store_->record(actor("a"), "patient.read", "Patient", std::to_string(t) + "-" + std::to_string(i), "ok")) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto entries = store_->audit("a", 0, 1000);
  EXPECT_EQ(entries.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> ids;
  for (const auto& entry : entries) ids.insert(entry.resource_id);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach)) << "each record once";
  // Durable: a new store on the same file sees them.
  open();
  EXPECT_EQ(store_->audit("a", 0, 1000).size(), static_cast<std::size_t>(kThreads * kEach));
}

class JobRunnerTest : public PlatformStoreTest {
 protected:
  prometheus::Registry registry_;
};

TEST_F(JobRunnerTest, RetriesProviderFailuresThenDeadLettersAndInputErrorsDeadLetterAtOnce) {
  auto owner = store_->create_patient(actor("a"), patient("MRN-1")).value();
  auto flaky = store_->create_study(actor("a"), owner.id, "m", "image/png", "a", {}).value();
  int calls = 0;
  JobOptions options;
  options.max_attempts = 3;
  options.backoff_initial = std::chrono::seconds(10);
  JobRunner runner(
      *store_,
      [&calls](const Job&) -> Result<ProviderAnswer> {
        ++calls;
        return fail(ErrorCode::upstream_timeout, "the provider did not answer");
      },
      options, clock_, registry_);
  EXPECT_TRUE(runner.run_once());
  auto status = store_->study(actor("a"), flaky.id).value();
  EXPECT_EQ(status.state, StudyState::queued);
  // Backoff: 10 s ± 20 %.
  EXPECT_GE(status.next_attempt_at - clock_.unix_seconds(), 8);
  EXPECT_LE(status.next_attempt_at - clock_.unix_seconds(), 12);
  EXPECT_FALSE(runner.run_once()) << "not due yet";
  clock_.advance(std::chrono::seconds(13));
  EXPECT_TRUE(runner.run_once());
  status = store_->study(actor("a"), flaky.id).value();
  EXPECT_GE(status.next_attempt_at - clock_.unix_seconds(), 16) << "the delay doubles";
  clock_.advance(std::chrono::seconds(30));
  EXPECT_TRUE(runner.run_once());
  status = store_->study(actor("a"), flaky.id).value();
  EXPECT_EQ(status.state, StudyState::dead_letter);
  EXPECT_EQ(status.error->code, "upstream_timeout");
  EXPECT_TRUE(status.error->retryable);
  EXPECT_EQ(calls, 3);

  // The hospital retries it; an input error dead-letters at the first attempt.
  ASSERT_TRUE(store_->retry_study(actor("a"), flaky.id));
  JobRunner strict(
      *store_, [](const Job&) -> Result<ProviderAnswer> { return fail(ErrorCode::image_decode_failed, "truncated"); },
      options, clock_, registry_);
  EXPECT_TRUE(strict.run_once());
  status = store_->study(actor("a"), flaky.id).value();
  EXPECT_EQ(status.state, StudyState::dead_letter);
  EXPECT_EQ(status.attempts, 1);
  EXPECT_FALSE(status.error->retryable);
}

}  // namespace
}  // namespace cloister::platform
