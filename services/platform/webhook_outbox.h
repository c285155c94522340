#pragma once
// WebhookOutbox: how cloister-platform notifies hospital staff systems — signed webhooks from a
// durable outbox (the transactional-outbox pattern).
//
// Recording. A change that staff must hear about (a study's report is ready, …) records an event
// with enqueue() INSIDE the transaction that makes the change: the event exists if and only if the
// change committed. Nothing is sent from inside a transaction.
//
// Tables (create_schema; in the platform's one database):
//   webhooks(tenant_id TEXT PRIMARY KEY, url TEXT, secret BLOB, enabled INTEGER, updated_at INTEGER)
//     one receiver per tenant; the signing secret is sealed with RecordCipher at
//     {tenant, "webhooks", tenant, "secret"}, so the file never holds it in clear and a row copied
//     to another tenant does not open.
//   outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, tenant_id TEXT, type TEXT,
//          payload TEXT, state TEXT, attempts INTEGER, next_attempt_at INTEGER,
//          last_status INTEGER, last_error TEXT, created_at INTEGER, delivered_at INTEGER)
//     event_id is "evt_" + 32 random hex digits; state is pending | delivered | failed | skipped;
//     times are Unix seconds of the injected Clock.
//   Payload contract: NEVER PHI — a study id, a report status, a positive flag, timestamps. The
//   receiver fetches details through the authenticated API. Logs name event ids, tenants,
//   outcomes and statuses only: never the secret, never payload values.
//
// Delivery (deliver_due(), one pass; start() runs passes on a thread every poll_interval and at
// once on notify()):
//   1. claim: under Database::lock(), in one transaction, up to `batch` pending events whose
//      next_attempt_at <= now, oldest first. An event whose tenant has no enabled webhook becomes
//      `skipped` (final). The others get a lease — next_attempt_at = now + connect_timeout +
//      request_timeout + 30 s — so neither another pass nor another process sharing the file
//      claims them while they are in flight, and a crash mid-delivery only delays them.
//   2. deliver, WITHOUT the database lock: POST the body
//        {"id": event_id, "type": type, "tenant": tenant, "created_at": RFC 3339 UTC,
//         "data": payload}
//      as application/json with
//        Cloister-Webhook-Id         the event id
//        Cloister-Webhook-Timestamp  Unix seconds of this attempt
//        Cloister-Webhook-Signature  "v1=" + hex(HMAC-SHA256(secret, id "." timestamp "." body))
//      over TLS (the receiver's certificate must chain to ca_pem, or the system store when empty,
//      and name the host). Redirects are not followed.
//   3. record, under the lock: 2xx → delivered (delivered_at). Anything else (non-2xx, timeout,
//      refused connection, TLS failure) → attempts + 1, last_status (0 without a response),
//      last_error (never the response body), next_attempt_at = now +
//      min(backoff_max, backoff_initial · 2^(attempts−1)) ± 20 % jitter (rounded up to whole
//      seconds); the attempt that reaches max_attempts makes the event `failed` (final).
//   stop() waits for at most the one delivery in flight (bounded by the HTTP timeouts); events
//   claimed but not yet tried are released (due again at once).
//
// Semantics for receivers: AT-LEAST-ONCE. A crash between the receiver's 2xx and step 3, or a
// response lost on the network, sends the same event again with the same Cloister-Webhook-Id:
// receivers must dedupe by it. Order is not guaranteed (retries overtake nothing, but a retried
// event can arrive after a newer one); use created_at. Receivers verify the signature with the
// shared secret (verify_signature does exactly that) and should refuse timestamps far from their
// own clock (e.g. more than 5 minutes) to limit replays.
//
// Metrics: cloister_webhook_deliveries_total{outcome=delivered|retry|failed|skipped},
// cloister_webhook_outbox_pending (pending events, as of the last pass).

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/http/client.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace prometheus {
class Registry;
}

namespace cloister::sqlite {
class Database;
}

namespace cloister::platform {

class RecordCipher;

inline constexpr std::string_view kWebhookIdHeader = "Cloister-Webhook-Id";
inline constexpr std::string_view kWebhookTimestampHeader = "Cloister-Webhook-Timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "Cloister-Webhook-Signature";
inline constexpr std::string_view kWebhookSignatureVersion = "v1=";

struct WebhookOptions {
  std::string ca_pem;  // trust anchors for receivers; empty: the system store
  std::chrono::milliseconds connect_timeout{5000};   // TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{10000};  // sending the event + reading the answer
  int max_attempts = 8;                              // then the event is `failed`
  std::chrono::milliseconds backoff_initial{2000};
  std::chrono::milliseconds backoff_max{600000};
  std::chrono::milliseconds poll_interval{1000};
  std::size_t batch = 32;         // events claimed per pass
  bool allow_plain_http = false;  // http:// receivers (development only; refused by default)
};

// A tenant's receiver as the API shows it: never the secret.
struct WebhookConfigView {
  std::string tenant;
  std::string url;
  bool enabled = false;
  std::int64_t updated_at = 0;
};

// An outbox row as the API shows it (no secret; the payload holds no PHI by contract).
struct OutboxEvent {
  std::int64_t id = 0;
  std::string event_id;
  std::string tenant;
  std::string type;
  nlohmann::json payload;
  std::string state;  // pending | delivered | failed | skipped
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<int> last_status;  // HTTP status of the last attempt; 0: no response
  std::string last_error;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> delivered_at;
};

class WebhookOutbox {
 public:
  static constexpr std::size_t kMinSecretBytes = 16;
  static constexpr std::size_t kMaxSecretBytes = 256;
  static constexpr std::size_t kMaxUrlBytes = 2048;
  static constexpr std::size_t kMaxPayloadBytes = 16 * 1024;

  // CREATE TABLE IF NOT EXISTS for both tables and their indexes. Call at start-up (like the
  // other stores' schemas: before the database is shared, or under lock()).
  static Status create_schema(sqlite::Database& database);

  // Records an event for `tenant`; returns its row id. Call it INSIDE the caller's transaction
  // (the caller holds Database::lock() and an open Transaction): it takes no lock itself, and the
  // event is rolled back with the caller's change. type: 1–64 of [a-z0-9._-]; payload: a JSON
  // object of at most kMaxPayloadBytes serialised — ids and statuses only, NEVER PHI.
  // invalid_argument for a bad tenant, type or payload; io_error from SQLite.
  static Result<std::int64_t> enqueue(sqlite::Database& database, std::string_view tenant, std::string_view type,
                                      const nlohmann::json& payload, const Clock& clock);

  // Checks a Cloister-Webhook-Signature header (one or more comma-separated "v1=<hex>" entries;
  // any match verifies) in constant time. It does not check the timestamp's age.
  static bool verify_signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                               std::string_view body, std::string_view header);
  // The header value for these inputs: "v1=" + hex(HMAC-SHA256(secret, id "." timestamp "." body)).
  static std::string signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                               std::string_view body);

  // Throws std::invalid_argument when database or cipher is null (programmer error). Registers
  // the metric families in `registry`; the clock and registry must outlive the outbox.
  WebhookOutbox(std::shared_ptr<sqlite::Database> database, std::shared_ptr<const RecordCipher> cipher,
                WebhookOptions options, const Clock& clock, prometheus::Registry& registry);
  ~WebhookOutbox();  // stop()
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  // Sets the tenant's receiver (replacing any). url: https://host[:port]/path (http:// only with
  // allow_plain_http), at most kMaxUrlBytes, no spaces or control characters; secret:
  // kMinSecretBytes–kMaxSecretBytes. invalid_argument otherwise.
  Status configure(std::string_view tenant, std::string_view url, const Sensitive<std::string>& secret, bool enabled);
  // The receiver of a tenant, nullopt when none.
  Result<std::optional<WebhookConfigView>> config(std::string_view tenant) const;
  // not_found when the tenant has no receiver. Pending events are then skipped.
  Status remove(std::string_view tenant);

  // The tenant's latest events, newest first; limit is clamped to 1–1000.
  Result<std::vector<OutboxEvent>> events(std::string_view tenant, std::size_t limit) const;

  // One delivery pass (see the top of this file). Returns how many events it settled or
  // rescheduled (delivered, retried, failed or skipped). Passes are serialised.
  std::size_t deliver_due();

  // Starts the delivery thread (idempotent).
  void start();
  // Wakes the delivery thread for a pass now (e.g. after a commit that enqueued an event).
  void notify();
  // Stops and joins the delivery thread; waits for at most the delivery in flight. Idempotent.
  void stop();

 private:
  struct Claimed;
  struct Metrics;

  std::vector<Claimed> claim(std::int64_t now, std::size_t& settled);
  void record(const Claimed& event, int status, const std::string& error);
  void release(const std::vector<Claimed>& events, std::size_t from);
  void refresh_pending();
  void run();

  std::shared_ptr<sqlite::Database> database_;
  std::shared_ptr<const RecordCipher> cipher_;
  WebhookOptions options_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  http::Client client_;

  std::mutex pass_mutex_;  // one deliver_due() at a time
  std::mutex thread_mutex_;
  std::condition_variable wake_;
  bool wake_requested_ = false;  // under thread_mutex_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace cloister::platform
