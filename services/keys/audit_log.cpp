#include "audit_log.h"

#include "cloister/core/log.h"

#include <nlohmann/json.hpp>

namespace cloister::keys {
namespace {

constexpr std::size_t kMaxField = 1024;

std::string bounded(std::string text) {
  if (text.size() > kMaxField) text.resize(kMaxField);
  return text;
}

}  // namespace

nlohmann::json AuditEntry::to_json() const {
  nlohmann::json who = {{"type", actor_type}};
  if (!actor.empty()) who[actor_type == actor_type::kAdmin ? "name" : "jti"] = actor;
  if (!tee.empty()) who["tee"] = tee;
  if (!measurement.empty()) who["measurement"] = measurement;
  nlohmann::json out = {{"time", time}, {"who", std::move(who)}, {"action", action}, {"outcome", outcome}};
  if (id != 0) out["id"] = id;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) out[name] = value;
  };
  add("client", client);
  add("key", key);
  if (key_version) out["version"] = *key_version;
  add("code", code);
  add("rule", rule);
  add("detail", detail);
  add("request_id", request_id);
  return out;
}

AuditLog::AuditLog(std::shared_ptr<Database> database, const Clock& clock)
    : database_(std::move(database)), clock_(clock) {}

Status AuditLog::create_schema(Database& database) {
  return database.execute(
      "CREATE TABLE IF NOT EXISTS audit ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " time INTEGER NOT NULL,"
      " actor_type TEXT NOT NULL,"
      " actor TEXT NOT NULL,"
      " tee TEXT NOT NULL,"
      " measurement TEXT NOT NULL,"
      " client TEXT NOT NULL,"
      " action TEXT NOT NULL,"
      " key_name TEXT NOT NULL,"
      " key_version INTEGER,"
      " outcome TEXT NOT NULL,"
      " code TEXT NOT NULL,"
      " rule TEXT NOT NULL,"
      " detail TEXT NOT NULL,"
      " request_id TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS audit_by_key ON audit (key_name, id);");
}

Status AuditLog::insert(Database& database, AuditEntry& entry, const Clock& clock) {
  if (entry.time == 0) entry.time = clock.unix_seconds();
  auto statement = database.prepare(
      "INSERT INTO audit (time, actor_type, actor, tee, measurement, client, action, key_name, key_version, outcome,"
      " code, rule, detail, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!statement) return std::unexpected(statement.error());
  entry.actor = bounded(std::move(entry.actor));
  entry.detail = bounded(std::move(entry.detail));
  entry.rule = bounded(std::move(entry.rule));
  statement->bind(1, entry.time)
      .bind(2, entry.actor_type)
      .bind(3, entry.actor)
      .bind(4, bounded(entry.tee))
      .bind(5, bounded(entry.measurement))
      .bind(6, bounded(entry.client))
      .bind(7, entry.action)
      .bind(8, bounded(entry.key))
      .bind(9, entry.key_version)
      .bind(10, entry.outcome)
      .bind(11, entry.code)
      .bind(12, entry.rule)
      .bind(13, entry.detail)
      .bind(14, bounded(entry.request_id));
  if (auto done = statement->run(); !done) return done;
  entry.id = database.last_insert_rowid();
  return {};
}

void AuditLog::log_line(const AuditEntry& entry) {
  auto fields = entry.to_json();
  fields["audit"] = true;
  if (entry.outcome == audit_outcome::kOk) {
    log::info("key audit", fields);
  } else {
    log::warn("key audit", fields);
  }
}

Result<std::int64_t> AuditLog::append(AuditEntry entry) {
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
    if (auto inserted = insert(*database_, entry, clock_); !inserted) return std::unexpected(inserted.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  }
  log_line(entry);
  return entry.id;
}

Result<std::vector<AuditEntry>> AuditLog::recent(std::size_t limit, std::string_view key) const {
  if (limit == 0 || limit > kMaxList) return fail(ErrorCode::invalid_argument, "limit must be 1-1000");
  auto lock = database_->lock();
  auto statement = database_->prepare(
      key.empty() ? "SELECT id, time, actor_type, actor, tee, measurement, client, action, key_name, key_version, outcome,"
                    " code, rule, detail, request_id FROM audit ORDER BY id DESC LIMIT ?1"
                  : "SELECT id, time, actor_type, actor, tee, measurement, client, action, key_name, key_version, outcome,"
                    " code, rule, detail, request_id FROM audit WHERE key_name = ?2 ORDER BY id DESC LIMIT ?1");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, static_cast<std::int64_t>(limit));
  if (!key.empty()) statement->bind(2, key);
  std::vector<AuditEntry> entries;
  while (true) {
    auto row = statement->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    AuditEntry entry;
    entry.id = statement->column_int(0);
    entry.time = statement->column_int(1);
    entry.actor_type = statement->column_text(2);
    entry.actor = statement->column_text(3);
    entry.tee = statement->column_text(4);
    entry.measurement = statement->column_text(5);
    entry.client = statement->column_text(6);
    entry.action = statement->column_text(7);
    entry.key = statement->column_text(8);
    if (!statement->column_is_null(9)) entry.key_version = statement->column_int(9);
    entry.outcome = statement->column_text(10);
    entry.code = statement->column_text(11);
    entry.rule = statement->column_text(12);
    entry.detail = statement->column_text(13);
    entry.request_id = statement->column_text(14);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace cloister::keys
