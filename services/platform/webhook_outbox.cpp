#include "webhook_outbox.h"

#include "record_cipher.h"

#include "cloister/core/log.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/sqlite/database.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <stdexcept>

namespace cloister::platform {

namespace {

using sqlite::Database;

constexpr std::string_view kWebhooksTable = "webhooks";
constexpr std::string_view kSecretField = "secret";
constexpr std::string_view kEventIdPrefix = "evt_";
constexpr std::size_t kEventIdRandomBytes = 16;
constexpr std::size_t kMaxTenantBytes = 128;
constexpr std::size_t kMaxTypeBytes = 64;
constexpr std::size_t kMaxErrorBytes = 512;
constexpr std::size_t kMaxResponseBytes = 64 * 1024;
constexpr std::size_t kMaxEventsListed = 1000;
constexpr std::int64_t kLeaseMarginSeconds = 30;
constexpr double kJitter = 0.2;
constexpr std::string_view kUserAgent = "cloister-platform-webhooks/1";

constexpr std::string_view kStatePending = "pending";
constexpr std::string_view kStateDelivered = "delivered";
constexpr std::string_view kStateFailed = "failed";
constexpr std::string_view kStateSkipped = "skipped";

constexpr std::string_view kSchema =
    "CREATE TABLE IF NOT EXISTS webhooks ("
    " tenant_id TEXT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " secret BLOB NOT NULL,"
    " enabled INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " event_id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL,"
    " last_status INTEGER,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " delivered_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);"
    "CREATE INDEX IF NOT EXISTS outbox_by_tenant ON outbox (tenant_id, id);";

RecordLocation secret_location(std::string_view tenant) { return {tenant, kWebhooksTable, tenant, kSecretField}; }

Status check_tenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > kMaxTenantBytes) {
    return fail(ErrorCode::invalid_argument, "a tenant id must be 1-128 bytes");
  }
  for (unsigned char c : tenant) {
    if (c < 0x20 || c == 0x7f) return fail(ErrorCode::invalid_argument, "a tenant id must not hold control characters");
  }
  return {};
}

Status check_type(std::string_view type) {
  if (type.empty() || type.size() > kMaxTypeBytes) {
    return fail(ErrorCode::invalid_argument, "an event type must be 1-64 characters");
  }
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return fail(ErrorCode::invalid_argument, "an event type must be of [a-z0-9._-]");
  }
  return {};
}

Status check_url(std::string_view url, bool allow_plain_http) {
  constexpr std::string_view kHttps = "https://";
  constexpr std::string_view kHttp = "http://";
  if (url.size() > WebhookOutbox::kMaxUrlBytes) {
    return fail(ErrorCode::invalid_argument, "the webhook URL is too long");
  }
  std::string_view rest;
  if (url.starts_with(kHttps)) {
    rest = url.substr(kHttps.size());
  } else if (url.starts_with(kHttp)) {
    if (!allow_plain_http) return fail(ErrorCode::invalid_argument, "the webhook URL must be https://");
    rest = url.substr(kHttp.size());
  } else {
    return fail(ErrorCode::invalid_argument, "the webhook URL must be https://");
  }
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) {
      return fail(ErrorCode::invalid_argument, "the webhook URL must not hold spaces, control or non-ASCII characters");
    }
  }
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.front() == ':') {
    return fail(ErrorCode::invalid_argument, "the webhook URL has no host");
  }
  if (authority.find('@') != std::string_view::npos) {
    return fail(ErrorCode::invalid_argument, "the webhook URL must not carry credentials; the signing secret authenticates");
  }
  if (url.find('#') != std::string_view::npos) {
    return fail(ErrorCode::invalid_argument, "the webhook URL must not have a fragment");
  }
  return {};
}

// RFC 3339 in UTC, seconds precision: 2024-01-31T08:00:00Z.
std::string rfc3339(std::int64_t unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  if (gmtime_r(&time, &parts) == nullptr) return "1970-01-01T00:00:00Z";
  char buffer[32];
  std::size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(buffer, length);
}

std::string clip(std::string text) {
  if (text.size() > kMaxErrorBytes) text.resize(kMaxErrorBytes);
  return text;
}

// A uniform double in [0, 1) from the CSPRNG (jitter needs no more, and no seeding state).
double unit_random() {
  auto bytes = crypto::random_bytes(4);
  std::uint32_t value = 0;
  for (auto byte : bytes) value = (value << 8) | byte;
  return static_cast<double>(value) / 4294967296.0;
}

// min(backoff_max, backoff_initial · 2^(attempts−1)) ± 20 %, in whole seconds (at least 1).
std::int64_t backoff_seconds(const WebhookOptions& options, int attempts) {
  double delay_ms = static_cast<double>(std::max<std::int64_t>(0, options.backoff_initial.count()));
  const double max_ms = static_cast<double>(std::max<std::int64_t>(0, options.backoff_max.count()));
  for (int i = 1; i < attempts && delay_ms < max_ms; ++i) delay_ms *= 2;
  delay_ms = std::min(delay_ms, max_ms);
  delay_ms *= 1.0 - kJitter + 2 * kJitter * unit_random();
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(delay_ms / 1000.0)));
}

std::int64_t lease_seconds(const WebhookOptions& options) {
  auto total = options.connect_timeout + options.request_timeout;
  return std::chrono::ceil<std::chrono::seconds>(total).count() + kLeaseMarginSeconds;
}

// "v1=" + hex(HMAC-SHA256(key, id "." timestamp "." body)).
std::string sign(crypto::BytesView key, std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(id.size() + timestamp.size() + body.size() + 2);
  message.append(id).append(".").append(timestamp).append(".").append(body);
  return std::string(kWebhookSignatureVersion) +
         crypto::hex_encode(crypto::hmac(crypto::HashAlgorithm::sha256, key, crypto::as_bytes(message)));
}

void log_storage_error(std::string_view what, const Error& error) {
  log::error("webhook outbox storage failed", {{"operation", what}, {"error", error.to_string()}});
}

}  // namespace

// --- metrics ---------------------------------------------------------------------------------

struct WebhookOutbox::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : deliveries(prometheus::BuildCounter()
                       .Name("cloister_webhook_deliveries_total")
                       .Help("Webhook delivery outcomes: delivered, retry (an attempt failed, another is scheduled), "
                             "failed (attempts exhausted) or skipped (no enabled webhook)")
                       .Register(registry)),
        delivered(deliveries.Add({{"outcome", "delivered"}})),
        retry(deliveries.Add({{"outcome", "retry"}})),
        failed(deliveries.Add({{"outcome", "failed"}})),
        skipped(deliveries.Add({{"outcome", "skipped"}})),
        pending(prometheus::BuildGauge()
                    .Name("cloister_webhook_outbox_pending")
                    .Help("Events waiting in the webhook outbox, as of the last delivery pass")
                    .Register(registry)
                    .Add({})) {}

  prometheus::Family<prometheus::Counter>& deliveries;
  prometheus::Counter& delivered;
  prometheus::Counter& retry;
  prometheus::Counter& failed;
  prometheus::Counter& skipped;
  prometheus::Gauge& pending;
};

// An event claimed for delivery, with its receiver. The secret is wiped when it goes.
struct WebhookOutbox::Claimed {
  std::int64_t id = 0;
  std::string event_id;
  std::string tenant;
  std::string type;
  std::string payload;
  int attempts = 0;
  std::int64_t created_at = 0;
  std::string url;
  Sensitive<crypto::Bytes> secret;
  std::optional<Error> secret_error;

  Claimed() = default;
  Claimed(Claimed&&) noexcept = default;
  Claimed& operator=(Claimed&&) noexcept = default;
  ~Claimed() { crypto::cleanse(secret.reveal()); }
};

// --- static parts ----------------------------------------------------------------------------

Status WebhookOutbox::create_schema(Database& database) { return database.execute(std::string(kSchema)); }

Result<std::int64_t> WebhookOutbox::enqueue(Database& database, std::string_view tenant, std::string_view type,
                                            const nlohmann::json& payload, const Clock& clock) {
  if (auto ok = check_tenant(tenant); !ok) return std::unexpected(ok.error());
  if (auto ok = check_type(type); !ok) return std::unexpected(ok.error());
  if (!payload.is_object()) return fail(ErrorCode::invalid_argument, "an event payload must be a JSON object");
  std::string text;
  try {
    text = payload.dump();
  } catch (const nlohmann::json::exception&) {
    return fail(ErrorCode::invalid_argument, "an event payload must be valid UTF-8");
  }
  if (text.size() > kMaxPayloadBytes) return fail(ErrorCode::invalid_argument, "an event payload is too large");

  const auto now = clock.unix_seconds();
  const std::string event_id = std::string(kEventIdPrefix) + crypto::random_hex(kEventIdRandomBytes);
  auto insert = database.prepare(
      "INSERT INTO outbox (event_id, tenant_id, type, payload, state, attempts, next_attempt_at, last_error, created_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, '', ?6)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, std::string_view(event_id)).bind(2, tenant).bind(3, type).bind(4, std::string_view(text));
  insert->bind(5, kStatePending).bind(6, now);
  if (auto done = insert->run(); !done) return std::unexpected(done.error());
  return database.last_insert_rowid();
}

std::string WebhookOutbox::signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                                     std::string_view body) {
  return sign(crypto::as_bytes(secret), id, timestamp, body);
}

bool WebhookOutbox::verify_signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                                     std::string_view body, std::string_view header) {
  const std::string expected = signature(secret, id, timestamp, body);
  bool verified = false;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto entry = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (!entry.starts_with(kWebhookSignatureVersion)) continue;
    // Every entry is compared in full (no early exit on a match).
    if (crypto::equal_constant_time(crypto::as_bytes(expected), crypto::as_bytes(entry))) verified = true;
  }
  return verified;
}

// --- the outbox ------------------------------------------------------------------------------

namespace {

http::ClientOptions client_options(const WebhookOptions& options) {
  http::ClientOptions client;
  client.ca_pem = options.ca_pem;
  client.connect_timeout = options.connect_timeout;
  client.request_timeout = options.request_timeout;
  client.max_attempts = 1;  // the outbox retries, with backoff
  client.plaintext = options.allow_plain_http;
  client.max_response_bytes = kMaxResponseBytes;
  return client;
}

}  // namespace

WebhookOutbox::WebhookOutbox(std::shared_ptr<Database> database, std::shared_ptr<const RecordCipher> cipher,
                             WebhookOptions options, const Clock& clock, prometheus::Registry& registry)
    : database_(std::move(database)),
      cipher_(std::move(cipher)),
      options_(std::move(options)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)),
      client_(client_options(options_)) {
  if (!database_ || !cipher_) throw std::invalid_argument("WebhookOutbox needs a database and a record cipher");
  options_.max_attempts = std::max(1, options_.max_attempts);
  options_.batch = std::max<std::size_t>(1, options_.batch);
  refresh_pending();
}

WebhookOutbox::~WebhookOutbox() { stop(); }

Status WebhookOutbox::configure(std::string_view tenant, std::string_view url, const Sensitive<std::string>& secret,
                                bool enabled) {
  if (auto ok = check_tenant(tenant); !ok) return ok;
  if (auto ok = check_url(url, options_.allow_plain_http); !ok) return ok;
  const auto& value = secret.reveal();
  if (value.size() < kMinSecretBytes || value.size() > kMaxSecretBytes) {
    return fail(ErrorCode::invalid_argument, "a webhook secret must be 16-256 bytes");
  }
  auto sealed = cipher_->seal(secret_location(tenant), crypto::as_bytes(value));
  if (!sealed) return std::unexpected(sealed.error());

  auto lock = database_->lock();
  auto upsert = database_->prepare(
      "INSERT INTO webhooks (tenant_id, url, secret, enabled, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
      " ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
      " enabled = excluded.enabled, updated_at = excluded.updated_at");
  if (!upsert) return std::unexpected(upsert.error());
  upsert->bind(1, tenant).bind(2, url).bind_blob(3, *sealed);
  upsert->bind(4, std::int64_t{enabled ? 1 : 0}).bind(5, clock_.unix_seconds());
  if (auto done = upsert->run(); !done) return done;
  log::info("webhook configured", {{"tenant", tenant}, {"enabled", enabled}});
  return {};
}

Result<std::optional<WebhookConfigView>> WebhookOutbox::config(std::string_view tenant) const {
  auto lock = database_->lock();
  auto select = database_->prepare("SELECT url, enabled, updated_at FROM webhooks WHERE tenant_id = ?1");
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<WebhookConfigView>{};
  WebhookConfigView view;
  view.tenant = std::string(tenant);
  view.url = select->column_text(0);
  view.enabled = select->column_int(1) != 0;
  view.updated_at = select->column_int(2);
  return std::optional<WebhookConfigView>(std::move(view));
}

Status WebhookOutbox::remove(std::string_view tenant) {
  auto lock = database_->lock();
  auto erase = database_->prepare("DELETE FROM webhooks WHERE tenant_id = ?1 RETURNING tenant_id");
  if (!erase) return std::unexpected(erase.error());
  erase->bind(1, tenant);
  auto row = erase->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "the tenant has no webhook");
  if (auto done = erase->run(); !done) return done;
  log::info("webhook removed", {{"tenant", tenant}});
  return {};
}

Result<std::vector<OutboxEvent>> WebhookOutbox::events(std::string_view tenant, std::size_t limit) const {
  limit = std::clamp<std::size_t>(limit, 1, kMaxEventsListed);
  auto lock = database_->lock();
  auto select = database_->prepare(
      "SELECT id, event_id, tenant_id, type, payload, state, attempts, next_attempt_at, last_status, last_error,"
      " created_at, delivered_at FROM outbox WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2");
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboxEvent> out;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    OutboxEvent event;
    event.id = select->column_int(0);
    event.event_id = select->column_text(1);
    event.tenant = select->column_text(2);
    event.type = select->column_text(3);
    event.payload = nlohmann::json::parse(select->column_text(4), nullptr, false);
    if (event.payload.is_discarded()) event.payload = nlohmann::json::object();
    event.state = select->column_text(5);
    event.attempts = static_cast<int>(select->column_int(6));
    event.next_attempt_at = select->column_int(7);
    if (!select->column_is_null(8)) event.last_status = static_cast<int>(select->column_int(8));
    event.last_error = select->column_text(9);
    event.created_at = select->column_int(10);
    if (!select->column_is_null(11)) event.delivered_at = select->column_int(11);
    out.push_back(std::move(event));
  }
  return out;
}

// Step 1: under the lock, in one transaction: skip events without an enabled receiver, lease the
// others. Returns the leased ones; `settled` counts the skipped.
std::vector<WebhookOutbox::Claimed> WebhookOutbox::claim(std::int64_t now, std::size_t& settled) {
  std::vector<Claimed> claimed;
  std::vector<std::pair<std::int64_t, std::string>> skipped;  // row id, event id
  std::vector<std::string> skipped_tenants;

  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  auto fail_claim = [&](const Error& error) {
    log_storage_error("claim", error);
    return std::vector<Claimed>{};
  };
  if (auto begun = transaction.begin(); !begun) return fail_claim(begun.error());
  {
    auto select = database_->prepare(
        "SELECT o.id, o.event_id, o.tenant_id, o.type, o.payload, o.attempts, o.created_at, w.url, w.secret, w.enabled"
        " FROM outbox o LEFT JOIN webhooks w ON w.tenant_id = o.tenant_id"
        " WHERE o.state = ?1 AND o.next_attempt_at <= ?2 ORDER BY o.id LIMIT ?3");
    if (!select) return fail_claim(select.error());
    select->bind(1, kStatePending).bind(2, now).bind(3, static_cast<std::int64_t>(options_.batch));
    while (true) {
      auto row = select->step();
      if (!row) return fail_claim(row.error());
      if (!*row) break;
      const bool has_receiver = !select->column_is_null(7) && select->column_int(9) != 0;
      if (!has_receiver) {
        skipped.emplace_back(select->column_int(0), select->column_text(1));
        skipped_tenants.push_back(select->column_text(2));
        continue;
      }
      Claimed event;
      event.id = select->column_int(0);
      event.event_id = select->column_text(1);
      event.tenant = select->column_text(2);
      event.type = select->column_text(3);
      event.payload = select->column_text(4);
      event.attempts = static_cast<int>(select->column_int(5));
      event.created_at = select->column_int(6);
      event.url = select->column_text(7);
      auto sealed = select->column_blob(8);
      auto secret = cipher_->open(secret_location(event.tenant), sealed);
      if (secret) {
        event.secret = Sensitive<crypto::Bytes>(std::move(*secret));
      } else {
        event.secret_error = Error{secret.error().code, "the webhook secret could not be opened"};
      }
      claimed.push_back(std::move(event));
    }
  }
  for (const auto& [id, event_id] : skipped) {
    auto update = database_->prepare(
        "UPDATE outbox SET state = ?1, last_error = 'no enabled webhook for the tenant' WHERE id = ?2");
    if (!update) return fail_claim(update.error());
    update->bind(1, kStateSkipped).bind(2, id);
    if (auto done = update->run(); !done) return fail_claim(done.error());
  }
  const std::int64_t lease_until = now + lease_seconds(options_);
  for (const auto& event : claimed) {
    auto update = database_->prepare("UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2");
    if (!update) return fail_claim(update.error());
    update->bind(1, lease_until).bind(2, event.id);
    if (auto done = update->run(); !done) return fail_claim(done.error());
  }
  if (auto committed = transaction.commit(); !committed) return fail_claim(committed.error());
  lock.unlock();

  for (std::size_t i = 0; i < skipped.size(); ++i) {
    metrics_->skipped.Increment();
    log::info("webhook event skipped",
              {{"event_id", skipped[i].second}, {"tenant", skipped_tenants[i]}, {"outcome", "skipped"}});
  }
  settled += skipped.size();
  return claimed;
}

// Step 3: the outcome of one attempt. status: the HTTP status, 0 when there was no response.
void WebhookOutbox::record(const Claimed& event, int status, const std::string& error) {
  const auto now = clock_.unix_seconds();
  const int attempts = event.attempts + 1;
  const bool delivered = status >= 200 && status <= 299;
  const bool exhausted = !delivered && attempts >= options_.max_attempts;
  std::string_view state = delivered ? kStateDelivered : exhausted ? kStateFailed : kStatePending;
  const std::int64_t next_attempt_at = delivered || exhausted ? now : now + backoff_seconds(options_, attempts);

  {
    auto lock = database_->lock();
    auto update = database_->prepare(
        "UPDATE outbox SET state = ?1, attempts = ?2, next_attempt_at = ?3, last_status = ?4, last_error = ?5,"
        " delivered_at = ?6 WHERE id = ?7 AND state = ?8");
    if (!update) {
      log_storage_error("record", update.error());
      return;
    }
    update->bind(1, state).bind(2, static_cast<std::int64_t>(attempts)).bind(3, next_attempt_at);
    update->bind(4, static_cast<std::int64_t>(status)).bind(5, std::string_view(delivered ? std::string() : clip(error)));
    update->bind(6, delivered ? std::optional<std::int64_t>(now) : std::nullopt).bind(7, event.id).bind(8, kStatePending);
    if (auto done = update->run(); !done) {
      log_storage_error("record", done.error());
      return;
    }
  }

  nlohmann::json fields = {{"event_id", event.event_id}, {"tenant", event.tenant}, {"status", status},
                           {"attempts", attempts}};
  if (delivered) {
    metrics_->delivered.Increment();
    fields["outcome"] = "delivered";
    log::info("webhook delivered", fields);
  } else if (exhausted) {
    metrics_->failed.Increment();
    fields["outcome"] = "failed";
    fields["error"] = clip(error);
    log::error("webhook delivery failed; attempts exhausted", fields);
  } else {
    metrics_->retry.Increment();
    fields["outcome"] = "retry";
    fields["error"] = clip(error);
    fields["next_attempt_at"] = next_attempt_at;
    log::warn("webhook delivery failed; will retry", fields);
  }
}

// Gives back the leases of events claimed but not tried (stop() during a pass).
void WebhookOutbox::release(const std::vector<Claimed>& events, std::size_t from) {
  if (from >= events.size()) return;
  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  for (std::size_t i = from; i < events.size(); ++i) {
    auto update = database_->prepare("UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND state = ?3");
    if (!update) {
      log_storage_error("release", update.error());
      return;
    }
    update->bind(1, now).bind(2, events[i].id).bind(3, kStatePending);
    if (auto done = update->run(); !done) {
      log_storage_error("release", done.error());
      return;
    }
  }
}

void WebhookOutbox::refresh_pending() {
  auto lock = database_->lock();
  auto count = database_->prepare("SELECT COUNT(*) FROM outbox WHERE state = ?1");
  if (!count) return;  // no schema yet
  count->bind(1, kStatePending);
  auto row = count->step();
  if (row && *row) metrics_->pending.Set(static_cast<double>(count->column_int(0)));
}

std::size_t WebhookOutbox::deliver_due() {
  std::lock_guard pass(pass_mutex_);
  std::size_t settled = 0;
  auto claimed = claim(clock_.unix_seconds(), settled);

  // Step 2, without the database lock.
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    if (stopping_) {
      release(claimed, i);
      break;
    }
    const auto& event = claimed[i];
    if (event.secret_error) {
      record(event, 0, event.secret_error->to_string());
      ++settled;
      continue;
    }
    auto data = nlohmann::json::parse(event.payload, nullptr, false);
    if (data.is_discarded()) data = nlohmann::json::object();
    const nlohmann::json envelope = {{"id", event.event_id},
                                     {"type", event.type},
                                     {"tenant", event.tenant},
                                     {"created_at", rfc3339(event.created_at)},
                                     {"data", std::move(data)}};
    std::string body = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string timestamp = std::to_string(clock_.unix_seconds());
    http::HeaderList headers = {{"Content-Type", std::string(http::kJsonContentType)},
                                {"User-Agent", std::string(kUserAgent)},
                                {std::string(kWebhookIdHeader), event.event_id},
                                {std::string(kWebhookTimestampHeader), timestamp},
                                {std::string(kWebhookSignatureHeader), sign(event.secret.reveal(), event.event_id, timestamp, body)}};
    auto response = client_.request("POST", event.url, headers, std::move(body));
    if (response) {
      record(event, response->status, "HTTP " + std::to_string(response->status));
    } else {
      record(event, 0, response.error().to_string());
    }
    ++settled;
  }
  refresh_pending();
  return settled;
}

// --- the delivery thread ----------------------------------------------------------------------

void WebhookOutbox::start() {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void WebhookOutbox::notify() {
  {
    std::lock_guard lock(thread_mutex_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

void WebhookOutbox::stop() {
  std::thread thread;
  {
    std::lock_guard lock(thread_mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  thread.join();
  std::lock_guard lock(thread_mutex_);
  stopping_ = false;
}

void WebhookOutbox::run() {
  std::unique_lock lock(thread_mutex_);
  while (!stopping_) {
    wake_requested_ = false;
    lock.unlock();
    try {
      deliver_due();
    } catch (const std::exception& error) {
      log::error("webhook delivery pass failed", {{"error", error.what()}});
    }
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_.load() || wake_requested_; });
  }
}

}  // namespace cloister::platform
