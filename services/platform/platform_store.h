#pragma once
// PlatformStore: the platform's records in SQLite (docs/platform.md, "Data at rest").
//
//   patients             (tenant_id, id) → version, times, resource = RecordCipher seal of the FHIR
//                        Patient at {tenant, "patients", id, "resource"}
//   patient_identifiers  blind indexes of each identifier ("system|value" and "|value"), so a search by
//                        identifier never needs the identifier in clear; (tenant, "system|value") is
//                        unique: one patient per hospital identifier
//   studies              one row per accepted study: its state (the durable job queue), attempts, the
//                        next attempt's time, the lease of a running attempt, the error of the last one,
//                        and sealed columns: image (the upload), facts (DICOM UIDs, modality), result
//                        (the provider's findings, receipt and token) and report (the FHIR Bundle)
//   audit                who did what to which record, when, from where: ids and codes only, no PHI
//
// Every PHI-bearing value is sealed with AES-256-GCM under the data key released to the attested
// platform; the tenant, table, record id and column are the associated data, so nothing moved between
// tenants, tables, records or columns opens. Tenants are separated in every query: a record of another
// tenant is indistinguishable from an absent one (not_found).
//
// Studies are the job queue: accepted (committed) before the 202 answer; claim() moves one due study
// to `running` with a lease; complete(), reschedule() or dead_letter() end the attempt, each in one
// transaction with its audit record and (for a report) the webhook outbox event. recover_running()
// returns attempts a killed process left running to the queue, so nothing accepted is lost.
//
// Thread-safe: every operation takes the database's lock for its transaction.

#include "record_cipher.h"

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/sqlite/database.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::platform {

// Who acts, for the audit trail (never PHI, never a token).
struct Actor {
  std::string tenant;
  std::string name;            // user name, "operator:<admin name>" or "system"
  std::string session_id;      // the session's public id ("" for operator and system)
  std::string remote_address;
  std::string request_id;
};

struct AuditEntry {
  std::int64_t seq = 0;
  std::string tenant;
  std::int64_t at = 0;
  std::string actor;
  std::string session_id;
  std::string action;         // e.g. "patient.create", "study.report.read", "login"
  std::string resource_type;  // "Patient", "Study", "User", … ("" when none)
  std::string resource_id;
  std::string outcome;        // "ok" or an error code
  std::string remote_address;
  std::string request_id;

  nlohmann::json to_json() const;
};

struct PatientRecord {
  std::string id;
  std::int64_t version = 0;
  std::int64_t created_at = 0, updated_at = 0;
  nlohmann::json resource;  // the stored Patient, without id/meta (fhir::with_meta adds them)
};

enum class StudyState { queued, running, completed, dead_letter };
std::string_view to_string(StudyState state);

struct StudyError {
  std::string code;    // a stable error code (docs/errors.md)
  std::string detail;  // PHI-free by contract of the services that produce it
  bool retryable = false;
};

struct Study {
  std::string tenant, id, patient_id, model, media_type;
  StudyState state = StudyState::queued;
  int attempts = 0;
  std::int64_t created_at = 0, updated_at = 0, next_attempt_at = 0, completed_at = 0;
  std::string submitted_by;
  std::optional<bool> positive;  // completed studies: a positive finding
  std::optional<StudyError> error;
  std::int64_t image_bytes = 0;

  // The status document (ids, state, times, error code; no PHI).
  nlohmann::json to_json() const;
};

// What a completed study holds (sealed at rest).
struct StudyResult {
  nlohmann::json diagnosis;  // the provider's answer
  nlohmann::json report;     // the FHIR Bundle
  std::string receipt;       // the provider's signed receipt (compact JWS)
  std::string provider_token;
  nlohmann::json provider;   // what the platform verified about the provider
};

// One claimed attempt.
struct Job {
  std::string tenant, study_id, patient_id, model, media_type;
  int attempt = 0;  // 1 for the first
  std::int64_t created_at = 0;
  std::string image;        // plaintext upload: the worker wipes it
  nlohmann::json facts;     // DICOM identity and modality
};

class PlatformStore {
 public:
  // Creates the schema (idempotent).
  static Result<std::unique_ptr<PlatformStore>> open(std::shared_ptr<sqlite::Database> database,
                                                     std::shared_ptr<const RecordCipher> cipher, const Clock& clock);

  // --- patients (resources already validated by fhir::validate_patient) ---
  // conflict when another patient of the tenant has one of its identifiers.
  Result<PatientRecord> create_patient(const Actor& actor, const nlohmann::json& resource);
  Result<PatientRecord> patient(const Actor& actor, std::string_view id);
  // version_conflict when if_match is given and is not the current version.
  Result<PatientRecord> update_patient(const Actor& actor, std::string_view id, const nlohmann::json& resource,
                                       std::optional<std::int64_t> if_match);
  // conflict while one of the patient's studies is queued or running; its studies go with it.
  Status delete_patient(const Actor& actor, std::string_view id);
  // system empty: any system.
  Result<std::vector<PatientRecord>> find_patients(const Actor& actor, const std::optional<std::string>& system,
                                                   std::string_view value);

  // --- studies ---
  // not_found for an unknown patient. The study is queued (due now) when this returns.
  Result<Study> create_study(const Actor& actor, std::string_view patient_id, std::string_view model,
                             std::string_view media_type, std::string_view image, const nlohmann::json& facts);
  Result<Study> study(const Actor& actor, std::string_view id);
  std::vector<Study> studies(const Actor& actor, const std::optional<std::string>& patient_id, std::size_t limit);
  // The upload (audited read).
  Result<std::string> study_image(const Actor& actor, std::string_view id, std::string* media_type);
  // study_not_ready until completed (audited read).
  Result<StudyResult> study_result(const Actor& actor, std::string_view id);
  // A dead-lettered study back to the queue (attempts reset): conflict in any other state.
  Result<Study> retry_study(const Actor& actor, std::string_view id);

  // --- the job queue (workers) ---
  // Running attempts back to queued (at start: no other process works on this database).
  Result<std::size_t> recover_running();
  // The oldest due queued study, now running with a lease until now + lease_seconds; nullopt when none.
  Result<std::optional<Job>> claim(std::int64_t lease_seconds);
  // Seconds until the next queued study is due (0: one is due now); nullopt when the queue is empty.
  std::optional<std::int64_t> next_due_in();
  // Ends an attempt. Each is one transaction with its audit record; complete() and dead_letter() also
  // enqueue the tenant's webhook event ("report.ready" / "study.failed") with `event` as its payload.
  Status complete(const Job& job, const StudyResult& result, bool positive, const nlohmann::json& event);
  Status reschedule(const Job& job, const StudyError& error, std::int64_t next_attempt_at);
  Status dead_letter(const Job& job, const StudyError& error, const nlohmann::json& event);
  // Studies per state (metrics).
  std::vector<std::pair<std::string, std::int64_t>> study_counts();

  // --- audit ---
  // One audit record, committed before this returns. Concurrent callers share one commit (group
  // commit: the first to arrive writes every record queued so far in one transaction, the others wait
  // for it), so audited reads do not pay one fsync each; none returns before its record is durable.
  Status record(const Actor& actor, std::string_view action, std::string_view resource_type,
                std::string_view resource_id, std::string_view outcome);
  // Entries of a tenant with seq > after, oldest first, at most limit.
  std::vector<AuditEntry> audit(std::string_view tenant, std::int64_t after, std::size_t limit);

  sqlite::Database& database() { return *database_; }

 private:
  PlatformStore(std::shared_ptr<sqlite::Database> database, std::shared_ptr<const RecordCipher> cipher,
                const Clock& clock);
  Status insert_audit(const Actor& actor, std::string_view action, std::string_view resource_type,
                      std::string_view resource_id, std::string_view outcome);
  Result<PatientRecord> read_patient(std::string_view tenant, std::string_view id);
  Status write_identifiers(std::string_view tenant, std::string_view patient_id, const nlohmann::json& resource);
  Result<Study> read_study(std::string_view tenant, std::string_view id);

  std::shared_ptr<sqlite::Database> database_;
  std::shared_ptr<const RecordCipher> cipher_;
  const Clock& clock_;

  // Group commit of audit records (record()).
  struct QueuedAudit;
  struct AuditQueue;
  std::unique_ptr<AuditQueue> audit_queue_;

 public:
  ~PlatformStore();
};

}  // namespace cloister::platform
