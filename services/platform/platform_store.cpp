#include "platform_store.h"

#include "fhir.h"
#include "webhook_outbox.h"

#include "cloister/core/log.h"
#include "cloister/crypto/random.h"

#include <openssl/crypto.h>

namespace cloister::platform {

namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr std::string_view kSchema =
    "CREATE TABLE IF NOT EXISTS patients ("
    " tenant_id TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, resource BLOB NOT NULL,"
    " PRIMARY KEY (tenant_id, id));"
    "CREATE TABLE IF NOT EXISTS patient_identifiers ("
    " tenant_id TEXT NOT NULL, digest BLOB NOT NULL, kind TEXT NOT NULL, patient_id TEXT NOT NULL,"
    " PRIMARY KEY (tenant_id, kind, digest, patient_id));"
    "CREATE UNIQUE INDEX IF NOT EXISTS patient_identifier_unique ON patient_identifiers (tenant_id, digest)"
    " WHERE kind = 'system|value';"
    "CREATE INDEX IF NOT EXISTS patient_identifier_by_patient ON patient_identifiers (tenant_id, patient_id);"
    "CREATE TABLE IF NOT EXISTS studies ("
    " tenant_id TEXT NOT NULL, id TEXT NOT NULL, patient_id TEXT NOT NULL, model TEXT NOT NULL,"
    " media_type TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " next_attempt_at INTEGER NOT NULL, lease_until INTEGER NOT NULL,"
    " error_code TEXT, error_detail TEXT, error_retryable INTEGER,"
    " submitted_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " completed_at INTEGER NOT NULL, positive INTEGER, image_bytes INTEGER NOT NULL,"
    " image BLOB NOT NULL, facts BLOB NOT NULL, result BLOB, report BLOB,"
    " PRIMARY KEY (tenant_id, id));"
    "CREATE INDEX IF NOT EXISTS studies_due ON studies (state, next_attempt_at);"
    "CREATE INDEX IF NOT EXISTS studies_by_patient ON studies (tenant_id, patient_id, created_at);"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, session_id TEXT NOT NULL, action TEXT NOT NULL, resource_type TEXT NOT NULL,"
    " resource_id TEXT NOT NULL, outcome TEXT NOT NULL, remote_address TEXT NOT NULL, request_id TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant_id, seq);";

constexpr std::string_view kStudyColumns =
    "tenant_id, id, patient_id, model, media_type, state, attempts, next_attempt_at, error_code, error_detail,"
    " error_retryable, submitted_by, created_at, updated_at, completed_at, positive, image_bytes";

constexpr std::size_t kMaxAuditField = 256;

std::string new_id() { return crypto::random_hex(16); }

// Overwrites a plaintext (PHI) before its memory is released.
void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

std::string to_text(const nlohmann::json& value) { return value.dump(); }

crypto::BytesView view(const std::string& text) { return crypto::as_bytes(text); }

std::optional<StudyState> state_from(std::string_view text) {
  if (text == "queued") return StudyState::queued;
  if (text == "running") return StudyState::running;
  if (text == "completed") return StudyState::completed;
  if (text == "dead_letter") return StudyState::dead_letter;
  return std::nullopt;
}

Study study_from_row(Statement& row) {
  Study study;
  study.tenant = row.column_text(0);
  study.id = row.column_text(1);
  study.patient_id = row.column_text(2);
  study.model = row.column_text(3);
  study.media_type = row.column_text(4);
  study.state = state_from(row.column_text(5)).value_or(StudyState::queued);
  study.attempts = static_cast<int>(row.column_int(6));
  study.next_attempt_at = row.column_int(7);
  if (!row.column_is_null(8)) {
    study.error = StudyError{row.column_text(8), row.column_text(9), row.column_int(10) != 0};
  }
  study.submitted_by = row.column_text(11);
  study.created_at = row.column_int(12);
  study.updated_at = row.column_int(13);
  study.completed_at = row.column_int(14);
  if (!row.column_is_null(15)) study.positive = row.column_int(15) != 0;
  study.image_bytes = row.column_int(16);
  return study;
}

// The identifier index entries of a patient: "system|value" (unique per tenant) and "|value".
std::vector<std::pair<std::string, std::string>> index_entries(const nlohmann::json& resource) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [system, value] : fhir::identifiers_of(resource)) {
    out.emplace_back("system|value", system + "|" + value);
    out.emplace_back("value", value);
  }
  return out;
}

}  // namespace

std::string_view to_string(StudyState state) {
  switch (state) {
    case StudyState::queued: return "queued";
    case StudyState::running: return "running";
    case StudyState::completed: return "completed";
    case StudyState::dead_letter: return "dead_letter";
  }
  return "queued";
}

nlohmann::json AuditEntry::to_json() const {
  nlohmann::json out = {{"seq", seq}, {"at", at}, {"actor", actor}, {"action", action}, {"outcome", outcome}};
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) out[name] = value;
  };
  add("session_id", session_id);
  add("resource_type", resource_type);
  add("resource_id", resource_id);
  add("remote_address", remote_address);
  add("request_id", request_id);
  return out;
}

nlohmann::json Study::to_json() const {
  nlohmann::json out = {{"id", id},           {"patient", patient_id},       {"model", model},
                        {"media_type", media_type}, {"state", std::string(to_string(state))},
                        {"attempts", attempts}, {"submitted_by", submitted_by}, {"created_at", created_at},
                        {"updated_at", updated_at}, {"image_bytes", image_bytes}};
  if (state == StudyState::queued) out["next_attempt_at"] = next_attempt_at;
  if (completed_at != 0) out["completed_at"] = completed_at;
  if (positive) out["positive"] = *positive;
  if (error) out["error"] = {{"code", error->code}, {"detail", error->detail}, {"retryable", error->retryable}};
  return out;
}

struct PlatformStore::QueuedAudit {
  Actor actor;
  std::string action, resource_type, resource_id, outcome;
};

struct PlatformStore::AuditQueue {
  std::mutex mutex;
  std::condition_variable flushed;
  std::vector<QueuedAudit> pending;
  bool flushing = false;
  std::uint64_t enqueued = 0;  // tickets handed out
  std::uint64_t done = 0;      // every ticket <= done is written (or failed)
  // The outcome of recent batches: (last ticket of the batch, status), for the waiters of a failed one.
  std::deque<std::pair<std::uint64_t, Status>> results;
};

PlatformStore::PlatformStore(std::shared_ptr<Database> database, std::shared_ptr<const RecordCipher> cipher,
                             const Clock& clock)
    : database_(std::move(database)), cipher_(std::move(cipher)), clock_(clock), audit_queue_(std::make_unique<AuditQueue>()) {}

PlatformStore::~PlatformStore() = default;

Result<std::unique_ptr<PlatformStore>> PlatformStore::open(std::shared_ptr<Database> database,
                                                           std::shared_ptr<const RecordCipher> cipher,
                                                           const Clock& clock) {
  {
    auto lock = database->lock();
    if (auto status = database->execute(std::string(kSchema)); !status) return std::unexpected(status.error());
    if (auto status = WebhookOutbox::create_schema(*database); !status) return std::unexpected(status.error());
  }
  return std::unique_ptr<PlatformStore>(new PlatformStore(std::move(database), std::move(cipher), clock));
}

// --- audit ---------------------------------------------------------------------------------

Status PlatformStore::insert_audit(const Actor& actor, std::string_view action, std::string_view resource_type,
                                   std::string_view resource_id, std::string_view outcome) {
  auto statement = database_->prepare(
      "INSERT INTO audit (tenant_id, at, actor, session_id, action, resource_type, resource_id, outcome,"
      " remote_address, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!statement) return std::unexpected(statement.error());
  // Names and ids can come from the request (a login's user name, a path's id): bounded, so nobody
  // fills the audit table with megabyte-long strings.
  auto bounded = [](std::string_view text) { return text.substr(0, kMaxAuditField); };
  return statement->bind(1, bounded(actor.tenant))
      .bind(2, clock_.unix_seconds())
      .bind(3, bounded(actor.name))
      .bind(4, bounded(actor.session_id))
      .bind(5, bounded(action))
      .bind(6, bounded(resource_type))
      .bind(7, bounded(resource_id))
      .bind(8, bounded(outcome))
      .bind(9, bounded(actor.remote_address))
      .bind(10, bounded(actor.request_id))
      .run();
}

Status PlatformStore::record(const Actor& actor, std::string_view action, std::string_view resource_type,
                             std::string_view resource_id, std::string_view outcome) {
  auto& queue = *audit_queue_;
  std::unique_lock lock(queue.mutex);
  queue.pending.push_back(QueuedAudit{actor, std::string(action), std::string(resource_type), std::string(resource_id),
                                      std::string(outcome)});
  const auto ticket = ++queue.enqueued;
  while (queue.done < ticket) {
    if (queue.flushing) {
      queue.flushed.wait(lock);
      continue;
    }
    // Leader: write everything queued so far in one transaction.
    queue.flushing = true;
    auto batch = std::move(queue.pending);
    queue.pending.clear();
    const auto last = queue.enqueued;
    lock.unlock();
    Status status;
    {
      auto db = database_->lock();
      Database::Transaction transaction(*database_);
      status = transaction.begin();
      for (const auto& entry : batch) {
        if (!status) break;
        status = insert_audit(entry.actor, entry.action, entry.resource_type, entry.resource_id, entry.outcome);
      }
      if (status) status = transaction.commit();
    }
    lock.lock();
    queue.flushing = false;
    queue.done = last;
    queue.results.emplace_back(last, status);
    while (queue.results.size() > 64) queue.results.pop_front();
    queue.flushed.notify_all();
  }
  // This ticket's batch: the first recorded batch that ends at or after it.
  for (const auto& [last, status] : queue.results) {
    if (last >= ticket) return status;
  }
  return fail(ErrorCode::internal, "the audit record's outcome is no longer known");
}

std::vector<AuditEntry> PlatformStore::audit(std::string_view tenant, std::int64_t after, std::size_t limit) {
  std::vector<AuditEntry> out;
  auto lock = database_->lock();
  auto statement = database_->prepare(
      "SELECT seq, tenant_id, at, actor, session_id, action, resource_type, resource_id, outcome, remote_address,"
      " request_id FROM audit WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  if (!statement) return out;
  statement->bind(1, tenant).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
  while (true) {
    auto row = statement->step();
    if (!row || !*row) break;
    out.push_back({statement->column_int(0), statement->column_text(1), statement->column_int(2),
                   statement->column_text(3), statement->column_text(4), statement->column_text(5),
                   statement->column_text(6), statement->column_text(7), statement->column_text(8),
                   statement->column_text(9), statement->column_text(10)});
  }
  return out;
}

// --- patients ------------------------------------------------------------------------------

Status PlatformStore::write_identifiers(std::string_view tenant, std::string_view patient_id,
                                        const nlohmann::json& resource) {
  auto removed = database_->prepare("DELETE FROM patient_identifiers WHERE tenant_id = ?1 AND patient_id = ?2");
  if (!removed) return std::unexpected(removed.error());
  if (auto status = removed->bind(1, tenant).bind(2, patient_id).run(); !status) return status;
  for (const auto& [kind, value] : index_entries(resource)) {
    auto inserted = database_->prepare(
        "INSERT OR IGNORE INTO patient_identifiers (tenant_id, digest, kind, patient_id) VALUES (?1, ?2, ?3, ?4)");
    if (!inserted) return std::unexpected(inserted.error());
    // Only the "system|value" kind is unique: a clash there is another patient with this identifier.
    if (kind == "system|value") {
      auto clash = database_->prepare(
          "SELECT patient_id FROM patient_identifiers WHERE tenant_id = ?1 AND kind = ?2 AND digest = ?3");
      if (!clash) return std::unexpected(clash.error());
      clash->bind(1, tenant).bind(2, kind).bind_blob(3, cipher_->blind_index(tenant, kind, value));
      auto row = clash->step();
      if (!row) return std::unexpected(row.error());
      if (*row && clash->column_text(0) != patient_id) {
        return fail(ErrorCode::conflict, "another patient of this hospital has one of these identifiers");
      }
    }
    auto status = inserted->bind(1, tenant)
                      .bind_blob(2, cipher_->blind_index(tenant, kind, value))
                      .bind(3, kind)
                      .bind(4, patient_id)
                      .run();
    if (!status) return status;
  }
  return {};
}

Result<PatientRecord> PlatformStore::read_patient(std::string_view tenant, std::string_view id) {
  auto statement = database_->prepare(
      "SELECT version, created_at, updated_at, resource FROM patients WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, tenant).bind(2, id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such patient");
  PatientRecord record;
  record.id = std::string(id);
  record.version = statement->column_int(0);
  record.created_at = statement->column_int(1);
  record.updated_at = statement->column_int(2);
  auto text = cipher_->open_text({tenant, "patients", id, "resource"}, statement->column_blob(3));
  if (!text) return std::unexpected(text.error());
  record.resource = nlohmann::json::parse(*text, nullptr, false);
  wipe(*text);
  if (!record.resource.is_object()) return fail(ErrorCode::internal, "a stored patient is malformed");
  return record;
}

Result<PatientRecord> PlatformStore::create_patient(const Actor& actor, const nlohmann::json& resource) {
  PatientRecord record;
  record.id = new_id();
  record.version = 1;
  record.created_at = record.updated_at = clock_.unix_seconds();
  record.resource = resource;
  auto sealed = cipher_->seal({actor.tenant, "patients", record.id, "resource"}, view(to_text(resource)));
  if (!sealed) return std::unexpected(sealed.error());
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return std::unexpected(status.error());
  auto statement = database_->prepare(
      "INSERT INTO patients (tenant_id, id, version, created_at, updated_at, resource) VALUES (?1, ?2, 1, ?3, ?3, ?4)");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, actor.tenant).bind(2, record.id).bind(3, record.created_at).bind_blob(4, *sealed).run();
      !status) {
    return std::unexpected(status.error());
  }
  if (auto status = write_identifiers(actor.tenant, record.id, resource); !status) return std::unexpected(status.error());
  if (auto status = insert_audit(actor, "patient.create", "Patient", record.id, "ok"); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = transaction.commit(); !status) return std::unexpected(status.error());
  return record;
}

Result<PatientRecord> PlatformStore::patient(const Actor& actor, std::string_view id) {
  Result<PatientRecord> found = fail(ErrorCode::internal, "unread");
  {
    auto lock = database_->lock();
    found = read_patient(actor.tenant, id);
  }
  if (!found) return found;
  if (auto status = record(actor, "patient.read", "Patient", id, "ok"); !status) return std::unexpected(status.error());
  return found;
}

Result<PatientRecord> PlatformStore::update_patient(const Actor& actor, std::string_view id,
                                                    const nlohmann::json& resource,
                                                    std::optional<std::int64_t> if_match) {
  auto sealed = cipher_->seal({actor.tenant, "patients", id, "resource"}, view(to_text(resource)));
  if (!sealed) return std::unexpected(sealed.error());
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return std::unexpected(status.error());
  auto current = read_patient(actor.tenant, id);
  if (!current) return current;
  if (if_match && *if_match != current->version) {
    return fail(ErrorCode::version_conflict, "the patient is at version " + std::to_string(current->version));
  }
  PatientRecord record = std::move(*current);
  record.version += 1;
  record.updated_at = clock_.unix_seconds();
  record.resource = resource;
  auto statement = database_->prepare(
      "UPDATE patients SET version = ?3, updated_at = ?4, resource = ?5 WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, actor.tenant)
                        .bind(2, id)
                        .bind(3, record.version)
                        .bind(4, record.updated_at)
                        .bind_blob(5, *sealed)
                        .run();
      !status) {
    return std::unexpected(status.error());
  }
  if (auto status = write_identifiers(actor.tenant, id, resource); !status) return std::unexpected(status.error());
  if (auto status = insert_audit(actor, "patient.update", "Patient", id, "ok"); !status) return std::unexpected(status.error());
  if (auto status = transaction.commit(); !status) return std::unexpected(status.error());
  return record;
}

Status PlatformStore::delete_patient(const Actor& actor, std::string_view id) {
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return status;
  auto exists = database_->prepare("SELECT 1 FROM patients WHERE tenant_id = ?1 AND id = ?2");
  if (!exists) return std::unexpected(exists.error());
  exists->bind(1, actor.tenant).bind(2, id);
  auto row = exists->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such patient");
  auto busy = database_->prepare(
      "SELECT COUNT(*) FROM studies WHERE tenant_id = ?1 AND patient_id = ?2 AND state IN ('queued', 'running')");
  if (!busy) return std::unexpected(busy.error());
  busy->bind(1, actor.tenant).bind(2, id);
  if (auto counted = busy->step(); !counted) return std::unexpected(counted.error());
  if (busy->column_int(0) > 0) return fail(ErrorCode::conflict, "the patient has studies in progress");
  for (const char* sql : {"DELETE FROM studies WHERE tenant_id = ?1 AND patient_id = ?2",
                          "DELETE FROM patient_identifiers WHERE tenant_id = ?1 AND patient_id = ?2",
                          "DELETE FROM patients WHERE tenant_id = ?1 AND id = ?2"}) {
    auto statement = database_->prepare(sql);
    if (!statement) return std::unexpected(statement.error());
    if (auto status = statement->bind(1, actor.tenant).bind(2, id).run(); !status) return status;
  }
  if (auto status = insert_audit(actor, "patient.delete", "Patient", id, "ok"); !status) return status;
  return transaction.commit();
}

Result<std::vector<PatientRecord>> PlatformStore::find_patients(const Actor& actor,
                                                                const std::optional<std::string>& system,
                                                                std::string_view value) {
  const std::string kind = system ? "system|value" : "value";
  const std::string key = system ? *system + "|" + std::string(value) : std::string(value);
  auto lock = database_->lock();
  auto statement = database_->prepare(
      "SELECT patient_id FROM patient_identifiers WHERE tenant_id = ?1 AND kind = ?2 AND digest = ?3"
      " ORDER BY patient_id LIMIT 100");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, actor.tenant).bind(2, kind).bind_blob(3, cipher_->blind_index(actor.tenant, kind, key));
  std::vector<std::string> ids;
  while (true) {
    auto row = statement->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    ids.push_back(statement->column_text(0));
  }
  std::vector<PatientRecord> out;
  for (const auto& id : ids) {
    auto record = read_patient(actor.tenant, id);
    if (!record) return std::unexpected(record.error());
    out.push_back(std::move(*record));
  }
  lock.unlock();  // the audit record joins a group commit
  if (auto status = record(actor, "patient.search", "Patient", "", "ok"); !status) return std::unexpected(status.error());
  return out;
}

// --- studies -------------------------------------------------------------------------------

Result<Study> PlatformStore::read_study(std::string_view tenant, std::string_view id) {
  auto statement = database_->prepare("SELECT " + std::string(kStudyColumns) +
                                      " FROM studies WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, tenant).bind(2, id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such study");
  return study_from_row(*statement);
}

Result<Study> PlatformStore::create_study(const Actor& actor, std::string_view patient_id, std::string_view model,
                                          std::string_view media_type, std::string_view image,
                                          const nlohmann::json& facts) {
  Study study;
  study.tenant = actor.tenant;
  study.id = new_id();
  study.patient_id = std::string(patient_id);
  study.model = std::string(model);
  study.media_type = std::string(media_type);
  study.created_at = study.updated_at = study.next_attempt_at = clock_.unix_seconds();
  study.submitted_by = actor.name;
  study.image_bytes = static_cast<std::int64_t>(image.size());
  auto sealed_image = cipher_->seal({actor.tenant, "studies", study.id, "image"}, crypto::as_bytes(image));
  if (!sealed_image) return std::unexpected(sealed_image.error());
  auto sealed_facts = cipher_->seal({actor.tenant, "studies", study.id, "facts"}, view(to_text(facts)));
  if (!sealed_facts) return std::unexpected(sealed_facts.error());

  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return std::unexpected(status.error());
  auto exists = database_->prepare("SELECT 1 FROM patients WHERE tenant_id = ?1 AND id = ?2");
  if (!exists) return std::unexpected(exists.error());
  exists->bind(1, actor.tenant).bind(2, patient_id);
  auto row = exists->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such patient");
  auto statement = database_->prepare(
      "INSERT INTO studies (tenant_id, id, patient_id, model, media_type, state, attempts, next_attempt_at,"
      " lease_until, submitted_by, created_at, updated_at, completed_at, image_bytes, image, facts)"
      " VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, ?6, 0, ?7, ?6, ?6, 0, ?8, ?9, ?10)");
  if (!statement) return std::unexpected(statement.error());
  auto status = statement->bind(1, actor.tenant)
                    .bind(2, study.id)
                    .bind(3, patient_id)
                    .bind(4, model)
                    .bind(5, media_type)
                    .bind(6, study.created_at)
                    .bind(7, actor.name)
                    .bind(8, study.image_bytes)
                    .bind_blob(9, *sealed_image)
                    .bind_blob(10, *sealed_facts)
                    .run();
  if (!status) return std::unexpected(status.error());
  if (auto audited = insert_audit(actor, "study.create", "Study", study.id, "ok"); !audited) {
    return std::unexpected(audited.error());
  }
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return study;
}

Result<Study> PlatformStore::study(const Actor& actor, std::string_view id) {
  auto lock = database_->lock();
  return read_study(actor.tenant, id);
}

std::vector<Study> PlatformStore::studies(const Actor& actor, const std::optional<std::string>& patient_id,
                                          std::size_t limit) {
  std::vector<Study> out;
  auto lock = database_->lock();
  auto statement = database_->prepare(
      "SELECT " + std::string(kStudyColumns) + " FROM studies WHERE tenant_id = ?1" +
      (patient_id ? " AND patient_id = ?3" : "") + " ORDER BY created_at DESC, id LIMIT ?2");
  if (!statement) return out;
  statement->bind(1, actor.tenant).bind(2, static_cast<std::int64_t>(limit));
  if (patient_id) statement->bind(3, *patient_id);
  while (true) {
    auto row = statement->step();
    if (!row || !*row) break;
    out.push_back(study_from_row(*statement));
  }
  return out;
}

Result<std::string> PlatformStore::study_image(const Actor& actor, std::string_view id, std::string* media_type) {
  auto lock = database_->lock();
  auto statement = database_->prepare("SELECT media_type, image FROM studies WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, actor.tenant).bind(2, id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such study");
  if (media_type) *media_type = statement->column_text(0);
  auto image = cipher_->open_text({actor.tenant, "studies", id, "image"}, statement->column_blob(1));
  if (!image) return image;
  lock.unlock();  // the audit record joins a group commit
  if (auto status = record(actor, "study.image.read", "Study", id, "ok"); !status) return std::unexpected(status.error());
  return image;
}

Result<StudyResult> PlatformStore::study_result(const Actor& actor, std::string_view id) {
  auto lock = database_->lock();
  auto statement = database_->prepare("SELECT state, result, report FROM studies WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, actor.tenant).bind(2, id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no such study");
  if (statement->column_text(0) != "completed") return fail(ErrorCode::study_not_ready, "the study is " + statement->column_text(0));
  auto result_text = cipher_->open_text({actor.tenant, "studies", id, "result"}, statement->column_blob(1));
  if (!result_text) return std::unexpected(result_text.error());
  auto report_text = cipher_->open_text({actor.tenant, "studies", id, "report"}, statement->column_blob(2));
  if (!report_text) return std::unexpected(report_text.error());
  auto document = nlohmann::json::parse(*result_text, nullptr, false);
  if (!document.is_object()) return fail(ErrorCode::internal, "a stored study result is malformed");
  StudyResult result;
  result.diagnosis = document.value("diagnosis", nlohmann::json::object());
  result.receipt = document.value("receipt", std::string());
  result.provider_token = document.value("provider_token", std::string());
  result.provider = document.value("provider", nlohmann::json::object());
  result.report = nlohmann::json::parse(*report_text, nullptr, false);
  lock.unlock();  // the audit record joins a group commit
  if (auto status = record(actor, "study.report.read", "Study", id, "ok"); !status) return std::unexpected(status.error());
  return result;
}

Result<Study> PlatformStore::retry_study(const Actor& actor, std::string_view id) {
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return std::unexpected(status.error());
  auto study = read_study(actor.tenant, id);
  if (!study) return study;
  if (study->state != StudyState::dead_letter) {
    return fail(ErrorCode::conflict, "only a dead-lettered study can be retried; this one is " +
                                         std::string(to_string(study->state)));
  }
  const auto now = clock_.unix_seconds();
  auto statement = database_->prepare(
      "UPDATE studies SET state = 'queued', attempts = 0, next_attempt_at = ?3, updated_at = ?3,"
      " error_code = NULL, error_detail = NULL, error_retryable = NULL WHERE tenant_id = ?1 AND id = ?2");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, actor.tenant).bind(2, id).bind(3, now).run(); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = insert_audit(actor, "study.retry", "Study", id, "ok"); !status) return std::unexpected(status.error());
  if (auto status = transaction.commit(); !status) return std::unexpected(status.error());
  study->state = StudyState::queued;
  study->attempts = 0;
  study->next_attempt_at = study->updated_at = now;
  study->error.reset();
  return study;
}

// --- the job queue -------------------------------------------------------------------------

Result<std::size_t> PlatformStore::recover_running() {
  auto lock = database_->lock();
  auto statement = database_->prepare(
      "UPDATE studies SET state = 'queued', next_attempt_at = ?1, lease_until = 0 WHERE state = 'running'");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, clock_.unix_seconds()).run(); !status) return std::unexpected(status.error());
  auto changes = database_->prepare("SELECT changes()");
  if (!changes) return std::unexpected(changes.error());
  if (auto row = changes->step(); !row) return std::unexpected(row.error());
  return static_cast<std::size_t>(changes->column_int(0));
}

Result<std::optional<Job>> PlatformStore::claim(std::int64_t lease_seconds) {
  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return std::unexpected(status.error());
  // Running attempts whose lease ran out (a worker that hung) are due again.
  auto expired = database_->prepare(
      "UPDATE studies SET state = 'queued', lease_until = 0 WHERE state = 'running' AND lease_until < ?1");
  if (!expired) return std::unexpected(expired.error());
  if (auto status = expired->bind(1, now).run(); !status) return std::unexpected(status.error());
  auto next = database_->prepare(
      "SELECT tenant_id, id, patient_id, model, media_type, attempts, created_at, image, facts FROM studies"
      " WHERE state = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, created_at LIMIT 1");
  if (!next) return std::unexpected(next.error());
  next->bind(1, now);
  auto row = next->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<Job>();
  Job job;
  job.tenant = next->column_text(0);
  job.study_id = next->column_text(1);
  job.patient_id = next->column_text(2);
  job.model = next->column_text(3);
  job.media_type = next->column_text(4);
  job.attempt = static_cast<int>(next->column_int(5)) + 1;
  job.created_at = next->column_int(6);
  auto image = cipher_->open_text({job.tenant, "studies", job.study_id, "image"}, next->column_blob(7));
  auto facts = cipher_->open_text({job.tenant, "studies", job.study_id, "facts"}, next->column_blob(8));
  if (!image || !facts) {
    // A record that does not open cannot be processed: dead-letter it instead of retrying forever.
    log::error("a study's sealed columns do not open", {{"study", job.study_id}, {"tenant", job.tenant}});
    auto dead = database_->prepare(
        "UPDATE studies SET state = 'dead_letter', error_code = 'decrypt_failed', error_detail = ?3,"
        " error_retryable = 0, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2");
    if (!dead) return std::unexpected(dead.error());
    if (auto status = dead->bind(1, job.tenant)
                          .bind(2, job.study_id)
                          .bind(3, "the stored upload does not decrypt under the platform's data key")
                          .bind(4, now)
                          .run();
        !status) {
      return std::unexpected(status.error());
    }
    if (auto status = transaction.commit(); !status) return std::unexpected(status.error());
    return std::optional<Job>();
  }
  job.image = std::move(*image);
  job.facts = nlohmann::json::parse(*facts, nullptr, false);
  auto claimed = database_->prepare(
      "UPDATE studies SET state = 'running', attempts = attempts + 1, lease_until = ?3, updated_at = ?4"
      " WHERE tenant_id = ?1 AND id = ?2");
  if (!claimed) return std::unexpected(claimed.error());
  if (auto status = claimed->bind(1, job.tenant).bind(2, job.study_id).bind(3, now + lease_seconds).bind(4, now).run();
      !status) {
    return std::unexpected(status.error());
  }
  if (auto status = transaction.commit(); !status) return std::unexpected(status.error());
  return std::optional<Job>(std::move(job));
}

std::optional<std::int64_t> PlatformStore::next_due_in() {
  auto lock = database_->lock();
  auto statement = database_->prepare("SELECT MIN(next_attempt_at) FROM studies WHERE state = 'queued'");
  if (!statement) return std::nullopt;
  auto row = statement->step();
  if (!row || !*row || statement->column_is_null(0)) return std::nullopt;
  return std::max<std::int64_t>(0, statement->column_int(0) - clock_.unix_seconds());
}

Status PlatformStore::complete(const Job& job, const StudyResult& result, bool positive, const nlohmann::json& event) {
  const nlohmann::json stored = {{"diagnosis", result.diagnosis},
                                 {"receipt", result.receipt},
                                 {"provider_token", result.provider_token},
                                 {"provider", result.provider}};
  auto sealed_result = cipher_->seal({job.tenant, "studies", job.study_id, "result"}, view(to_text(stored)));
  if (!sealed_result) return std::unexpected(sealed_result.error());
  auto sealed_report = cipher_->seal({job.tenant, "studies", job.study_id, "report"}, view(to_text(result.report)));
  if (!sealed_report) return std::unexpected(sealed_report.error());
  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return status;
  auto statement = database_->prepare(
      "UPDATE studies SET state = 'completed', lease_until = 0, updated_at = ?3, completed_at = ?3, positive = ?4,"
      " result = ?5, report = ?6, error_code = NULL, error_detail = NULL, error_retryable = NULL"
      " WHERE tenant_id = ?1 AND id = ?2 AND state = 'running'");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, job.tenant)
                        .bind(2, job.study_id)
                        .bind(3, now)
                        .bind(4, std::int64_t{positive ? 1 : 0})
                        .bind_blob(5, *sealed_result)
                        .bind_blob(6, *sealed_report)
                        .run();
      !status) {
    return status;
  }
  Actor system{job.tenant, "system", "", "", ""};
  if (auto status = insert_audit(system, "study.complete", "Study", job.study_id, "ok"); !status) return status;
  if (auto queued = WebhookOutbox::enqueue(*database_, job.tenant, "report.ready", event, clock_); !queued) {
    return std::unexpected(queued.error());
  }
  return transaction.commit();
}

Status PlatformStore::reschedule(const Job& job, const StudyError& error, std::int64_t next_attempt_at) {
  auto lock = database_->lock();
  auto statement = database_->prepare(
      "UPDATE studies SET state = 'queued', lease_until = 0, next_attempt_at = ?3, updated_at = ?4,"
      " error_code = ?5, error_detail = ?6, error_retryable = 1 WHERE tenant_id = ?1 AND id = ?2 AND state = 'running'");
  if (!statement) return std::unexpected(statement.error());
  return statement->bind(1, job.tenant)
      .bind(2, job.study_id)
      .bind(3, next_attempt_at)
      .bind(4, clock_.unix_seconds())
      .bind(5, error.code)
      .bind(6, error.detail)
      .run();
}

Status PlatformStore::dead_letter(const Job& job, const StudyError& error, const nlohmann::json& event) {
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto status = transaction.begin(); !status) return status;
  auto statement = database_->prepare(
      "UPDATE studies SET state = 'dead_letter', lease_until = 0, updated_at = ?3, error_code = ?4,"
      " error_detail = ?5, error_retryable = ?6 WHERE tenant_id = ?1 AND id = ?2 AND state = 'running'");
  if (!statement) return std::unexpected(statement.error());
  if (auto status = statement->bind(1, job.tenant)
                        .bind(2, job.study_id)
                        .bind(3, clock_.unix_seconds())
                        .bind(4, error.code)
                        .bind(5, error.detail)
                        .bind(6, std::int64_t{error.retryable ? 1 : 0})
                        .run();
      !status) {
    return status;
  }
  Actor system{job.tenant, "system", "", "", ""};
  if (auto status = insert_audit(system, "study.dead_letter", "Study", job.study_id, error.code); !status) return status;
  if (auto queued = WebhookOutbox::enqueue(*database_, job.tenant, "study.failed", event, clock_); !queued) {
    return std::unexpected(queued.error());
  }
  return transaction.commit();
}

std::vector<std::pair<std::string, std::int64_t>> PlatformStore::study_counts() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto lock = database_->lock();
  auto statement = database_->prepare("SELECT state, COUNT(*) FROM studies GROUP BY state");
  if (!statement) return out;
  while (true) {
    auto row = statement->step();
    if (!row || !*row) break;
    out.emplace_back(statement->column_text(0), statement->column_int(1));
  }
  return out;
}

}  // namespace cloister::platform
