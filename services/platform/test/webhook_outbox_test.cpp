// WebhookOutbox against real SQLite files and a real local HTTPS receiver (libs/http Server with a
// certificate from a throw-away CA), with the clock injected.

#include "webhook_outbox.h"

#include "record_cipher.h"

#include "cloister/core/metrics.h"
#include "cloister/core/temp_dir.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/http/server.h"
#include "cloister/sqlite/database.h"

#include "test/file_bytes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace cloister::platform {
namespace {

using test_support::all_file_bytes;

using namespace std::chrono_literals;
using sqlite::Database;

constexpr std::int64_t kStart = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr std::string_view kStartRfc3339 = "2023-11-14T22:13:20Z";
constexpr std::string_view kTenant = "hospital-a";
constexpr std::string_view kSecret = "whsec-0123456789abcdef-do-not-leak";
constexpr std::string_view kReceiverBody = "receiver-private-answer";

// --- a throw-away PKI (certificates are checked by OpenSSL against the real time) -------------

struct Pki {
  std::string ca_pem;
  std::string server_chain_pem;
  Sensitive<std::string> server_key_pem;
};

Pki make_pki() {
  const auto now = SystemClock::instance().unix_seconds();
  auto ca_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions ca_options;
  ca_options.common_name = "webhook test CA";
  ca_options.is_ca = true;
  ca_options.not_before_unix = now - 3600;
  ca_options.not_after_unix = now + 86400;
  auto ca = crypto::issue_certificate(ca_key.public_key(), ca_options, ca_key, nullptr).value();

  auto server_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions server_options;
  server_options.common_name = "localhost";
  server_options.dns_names = {"localhost"};
  server_options.ip_addresses = {"127.0.0.1"};
  server_options.not_before_unix = now - 3600;
  server_options.not_after_unix = now + 86400;
  server_options.client_auth = false;
  auto server = crypto::issue_certificate(server_key.public_key(), server_options, ca_key, &ca).value();
  return Pki{ca.pem(), server.pem(), server_key.pem()};
}

const Pki& pki() {
  static const Pki kPki = make_pki();
  return kPki;
}

const Pki& other_pki() {
  static const Pki kPki = make_pki();
  return kPki;
}

// --- the receiver: a hospital system's endpoint ------------------------------------------------

struct Delivery {
  std::string content_type;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string body;
  bool verified = false;
};

class Receiver {
 public:
  explicit Receiver(std::string secret, const Pki& identity = pki()) : secret_(std::move(secret)) {
    http::Router router;
    router.add("POST", "/hooks/cloister", [this](const http::Request& request) -> Result<http::Response> {
      return receive(request);
    });
    http::ServerOptions options;
    options.tls.certificate_chain_pem = identity.server_chain_pem;
    options.tls.private_key_pem = identity.server_key_pem;
    options.threads = 1;
    options.handler_threads = 2;
    options.service_name = "webhook-receiver";
    server_ = std::make_unique<http::Server>(std::move(options), std::move(router), nullptr);
    auto started = server_->start();
    if (!started) throw std::runtime_error("receiver did not start: " + started.error().to_string());
  }
  ~Receiver() { server_->stop(1s); }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()) + "/hooks/cloister"; }

  // Statuses to answer with, in order; 200 once they are used up.
  void script(std::initializer_list<int> statuses) {
    std::lock_guard lock(mutex_);
    statuses_.assign(statuses);
  }
  void always(int status) {
    std::lock_guard lock(mutex_);
    always_ = status;
  }

  std::vector<Delivery> deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }

  // Bounded wait for `count` deliveries.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return deliveries_.size() >= count; });
  }

 private:
  Result<http::Response> receive(const http::Request& request) {
    Delivery delivery;
    auto text = [&](std::string_view name) { return std::string(request.header(name).value_or("")); };
    delivery.content_type = text("Content-Type");
    delivery.id = text(kWebhookIdHeader);
    delivery.timestamp = text(kWebhookTimestampHeader);
    delivery.signature = text(kWebhookSignatureHeader);
    delivery.body = request.body;
    delivery.verified =
        WebhookOutbox::verify_signature(secret_, delivery.id, delivery.timestamp, delivery.body, delivery.signature);
    int status = 200;
    {
      std::lock_guard lock(mutex_);
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      } else if (always_) {
        status = *always_;
      }
      deliveries_.push_back(std::move(delivery));
    }
    arrived_.notify_all();
    return http::text_response(status, std::string(kReceiverBody));
  }

  std::string secret_;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<int> statuses_;
  std::optional<int> always_;
  std::vector<Delivery> deliveries_;
};

// --- helpers -----------------------------------------------------------------------------------


// A port with nothing listening: bound, then closed.
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("bind failed");
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A counter's value in the text format ("name{outcome="x"} 3"); -1 when absent.
double sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

double deliveries_metric(Metrics& metrics, std::string_view outcome) {
  return sample(metrics.serialize(), "cloister_webhook_deliveries_total{outcome=\"" + std::string(outcome) + "\"}");
}

class WebhookOutboxTest : public ::testing::Test {
 protected:
  WebhookOutboxTest() {
    open_database();
    auto cipher = RecordCipher::create(Sensitive<crypto::Bytes>(crypto::random_bytes(32)));
    cipher_ = std::make_shared<const RecordCipher>(std::move(cipher.value()));
  }

  void open_database() {
    database_ = std::shared_ptr<Database>(Database::open(dir_.path() / "platform.db").value());
    auto lock = database_->lock();
    auto schema = WebhookOutbox::create_schema(*database_);
    if (!schema) throw std::runtime_error(schema.error().to_string());
  }

  WebhookOptions options() const {
    WebhookOptions options;
    options.ca_pem = pki().ca_pem;
    options.connect_timeout = 5s;
    options.request_timeout = 10s;
    options.backoff_initial = 2s;
    options.backoff_max = 10min;
    options.max_attempts = 8;
    return options;
  }

  std::unique_ptr<WebhookOutbox> make_outbox(WebhookOptions options) {
    return std::make_unique<WebhookOutbox>(database_, cipher_, std::move(options), clock_, metrics_.registry());
  }

  // As the platform records an event: inside its own transaction, under the lock.
  std::int64_t enqueue(std::string_view tenant, const nlohmann::json& payload, std::string_view type = "report.ready") {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) throw std::runtime_error(begun.error().to_string());
    auto id = WebhookOutbox::enqueue(*database_, tenant, type, payload, clock_);
    if (!id) throw std::runtime_error(id.error().to_string());
    if (auto committed = transaction.commit(); !committed) throw std::runtime_error(committed.error().to_string());
    return *id;
  }

  static OutboxEvent only_event(const WebhookOutbox& outbox, std::string_view tenant = kTenant) {
    auto events = outbox.events(tenant, 10).value();
    if (events.size() != 1) throw std::runtime_error("expected one event, got " + std::to_string(events.size()));
    return events.front();
  }

  static nlohmann::json report_payload() {
    return {{"study_id", "std_7f3a"}, {"report_status", "final"}, {"positive", true}, {"reported_at", kStart}};
  }

  TempDir dir_{"cloister-webhooks"};
  ManualClock clock_ = ManualClock::at_unix(kStart);
  Metrics metrics_;
  std::shared_ptr<Database> database_;
  std::shared_ptr<const RecordCipher> cipher_;
};

// --- delivery ----------------------------------------------------------------------------------

TEST_F(WebhookOutboxTest, DeliversASignedEventWithTheSpecifiedBodyAndHeaders) {
  Receiver receiver{std::string(kSecret)};
  auto outbox = make_outbox(options());
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());

  auto before = only_event(*outbox);
  EXPECT_EQ(before.state, "pending");
  EXPECT_EQ(before.attempts, 0);
  EXPECT_TRUE(before.event_id.starts_with("evt_"));
  EXPECT_EQ(before.event_id.size(), 4u + 32u);
  EXPECT_EQ(before.event_id.find_first_not_of("0123456789abcdef", 4), std::string::npos);

  clock_.advance(7s);
  EXPECT_EQ(outbox->deliver_due(), 1u);

  auto deliveries = receiver.deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  const auto& delivery = deliveries.front();
  EXPECT_TRUE(delivery.verified);
  EXPECT_EQ(delivery.content_type, "application/json");
  EXPECT_EQ(delivery.id, before.event_id);
  EXPECT_EQ(delivery.timestamp, std::to_string(kStart + 7));
  EXPECT_EQ(delivery.signature, WebhookOutbox::signature(kSecret, delivery.id, delivery.timestamp, delivery.body));
  EXPECT_TRUE(delivery.signature.starts_with("v1="));
  EXPECT_EQ(delivery.signature.size(), 3u + 64u);

  auto body = nlohmann::json::parse(delivery.body);
  EXPECT_EQ(body.size(), 5u);
  EXPECT_EQ(body.at("id"), before.event_id);
  EXPECT_EQ(body.at("type"), "report.ready");
  EXPECT_EQ(body.at("tenant"), kTenant);
  EXPECT_EQ(body.at("created_at"), kStartRfc3339);
  EXPECT_EQ(body.at("data"), report_payload());

  auto after = only_event(*outbox);
  EXPECT_EQ(after.state, "delivered");
  EXPECT_EQ(after.attempts, 1);
  EXPECT_EQ(after.last_status, 200);
  EXPECT_EQ(after.delivered_at, kStart + 7);
  EXPECT_EQ(after.payload, report_payload());

  // Settled: a second pass sends nothing.
  clock_.advance(1h);
  EXPECT_EQ(outbox->deliver_due(), 0u);
  EXPECT_EQ(receiver.deliveries().size(), 1u);
  EXPECT_EQ(deliveries_metric(metrics_, "delivered"), 1);
  EXPECT_EQ(sample(metrics_.serialize(), "cloister_webhook_outbox_pending"), 0);
}

TEST_F(WebhookOutboxTest, RetriesWithGrowingBackoffThenDelivers) {
  Receiver receiver{std::string(kSecret)};
  receiver.script({500, 503});
  auto outbox = make_outbox(options());
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());

  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto first = only_event(*outbox);
  EXPECT_EQ(first.state, "pending");
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.last_status, 500);
  EXPECT_EQ(first.last_error, "HTTP 500");
  const auto first_delay = first.next_attempt_at - kStart;  // 2 s ± 20 %, whole seconds
  EXPECT_GE(first_delay, 2);
  EXPECT_LE(first_delay, 3);
  EXPECT_EQ(sample(metrics_.serialize(), "cloister_webhook_outbox_pending"), 1);

  // Not due yet: nothing is sent.
  clock_.advance(1s);
  EXPECT_EQ(outbox->deliver_due(), 0u);
  EXPECT_EQ(receiver.deliveries().size(), 1u);

  clock_.set(Clock::time_point(std::chrono::seconds(first.next_attempt_at)));
  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto second = only_event(*outbox);
  EXPECT_EQ(second.attempts, 2);
  EXPECT_EQ(second.last_status, 503);
  const auto second_delay = second.next_attempt_at - first.next_attempt_at;  // 4 s ± 20 %
  EXPECT_GE(second_delay, 4);
  EXPECT_LE(second_delay, 5);
  EXPECT_GT(second_delay, first_delay);

  clock_.set(Clock::time_point(std::chrono::seconds(second.next_attempt_at)));
  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto done = only_event(*outbox);
  EXPECT_EQ(done.state, "delivered");
  EXPECT_EQ(done.attempts, 3);
  EXPECT_EQ(done.last_status, 200);
  EXPECT_EQ(done.delivered_at, second.next_attempt_at);

  // Every attempt carried the same id and a valid signature over its own timestamp.
  auto deliveries = receiver.deliveries();
  ASSERT_EQ(deliveries.size(), 3u);
  for (const auto& delivery : deliveries) {
    EXPECT_TRUE(delivery.verified);
    EXPECT_EQ(delivery.id, done.event_id);
  }
  EXPECT_EQ(deliveries[0].timestamp, std::to_string(kStart));
  EXPECT_EQ(deliveries[2].timestamp, std::to_string(second.next_attempt_at));
  EXPECT_EQ(deliveries_metric(metrics_, "retry"), 2);
  EXPECT_EQ(deliveries_metric(metrics_, "delivered"), 1);
  EXPECT_EQ(sample(metrics_.serialize(), "cloister_webhook_outbox_pending"), 0);
}

TEST_F(WebhookOutboxTest, FailsAfterMaxAttemptsAndKeepsNoResponseBody) {
  Receiver receiver{std::string(kSecret)};
  receiver.always(500);
  auto settings = options();
  settings.max_attempts = 3;
  settings.backoff_max = 5s;
  auto outbox = make_outbox(settings);
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());

  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_EQ(outbox->deliver_due(), 1u) << attempt;
    auto event = only_event(*outbox);
    EXPECT_EQ(event.attempts, attempt);
    EXPECT_EQ(event.state, attempt < 3 ? "pending" : "failed");
    // backoff_max caps the delay (plus jitter).
    if (attempt < 3) {
      EXPECT_LE(event.next_attempt_at - clock_.unix_seconds(), 6);
    }
    clock_.advance(1h);
  }
  auto failed = only_event(*outbox);
  EXPECT_EQ(failed.last_status, 500);
  EXPECT_EQ(failed.last_error.find(kReceiverBody), std::string::npos);
  EXPECT_FALSE(failed.delivered_at);

  // Final: never sent again.
  EXPECT_EQ(outbox->deliver_due(), 0u);
  EXPECT_EQ(receiver.deliveries().size(), 3u);
  EXPECT_EQ(deliveries_metric(metrics_, "retry"), 2);
  EXPECT_EQ(deliveries_metric(metrics_, "failed"), 1);
  EXPECT_EQ(all_file_bytes(dir_.path()).find(kReceiverBody), std::string::npos);
}

TEST_F(WebhookOutboxTest, ConnectionFailuresAreRetried) {
  auto outbox = make_outbox(options());
  const auto url = "https://127.0.0.1:" + std::to_string(closed_port()) + "/hooks/cloister";
  ASSERT_TRUE(outbox->configure(kTenant, url, Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());

  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto event = only_event(*outbox);
  EXPECT_EQ(event.state, "pending");
  EXPECT_EQ(event.attempts, 1);
  EXPECT_EQ(event.last_status, 0);
  EXPECT_TRUE(event.last_error.starts_with("upstream_failed")) << event.last_error;
  EXPECT_GT(event.next_attempt_at, kStart);
}

TEST_F(WebhookOutboxTest, AnUntrustedReceiverCertificateIsNotSentTo) {
  Receiver impostor{std::string(kSecret), other_pki()};
  auto outbox = make_outbox(options());  // trusts pki(), not other_pki()
  ASSERT_TRUE(outbox->configure(kTenant, impostor.url(), Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());

  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto event = only_event(*outbox);
  EXPECT_EQ(event.state, "pending");
  EXPECT_EQ(event.last_status, 0);
  EXPECT_TRUE(event.last_error.starts_with("upstream_failed")) << event.last_error;
  EXPECT_NE(event.last_error.find("TLS"), std::string::npos) << event.last_error;
  EXPECT_TRUE(impostor.deliveries().empty());
}

TEST_F(WebhookOutboxTest, EventsWithoutAReceiverAreSkipped) {
  Receiver receiver{std::string(kSecret)};
  auto outbox = make_outbox(options());
  enqueue(kTenant, report_payload());
  EXPECT_EQ(outbox->deliver_due(), 1u);
  auto event = only_event(*outbox);
  EXPECT_EQ(event.state, "skipped");
  EXPECT_EQ(event.attempts, 0);

  // Configuring later does not resurrect a skipped event.
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  clock_.advance(1h);
  EXPECT_EQ(outbox->deliver_due(), 0u);
  EXPECT_TRUE(receiver.deliveries().empty());
  EXPECT_EQ(deliveries_metric(metrics_, "skipped"), 1);
}

TEST_F(WebhookOutboxTest, EventsOfADisabledReceiverAreSkipped) {
  Receiver receiver{std::string(kSecret)};
  auto outbox = make_outbox(options());
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), false));
  ASSERT_TRUE(outbox->configure("hospital-b", receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  enqueue(kTenant, report_payload());
  enqueue("hospital-b", report_payload());

  EXPECT_EQ(outbox->deliver_due(), 2u);
  EXPECT_EQ(only_event(*outbox).state, "skipped");
  EXPECT_EQ(only_event(*outbox, "hospital-b").state, "delivered");
  auto deliveries = receiver.deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(deliveries.front().body).at("tenant"), "hospital-b");
}

// --- configuration -----------------------------------------------------------------------------

TEST_F(WebhookOutboxTest, ConfigureValidatesTheUrlAndTheSecret) {
  auto outbox = make_outbox(options());
  const Sensitive<std::string> secret{std::string(kSecret)};
  for (std::string_view url : {"http://hooks.hospital.test/x", "ftp://hooks.hospital.test/x", "hooks.hospital.test",
                               "https://", "https:///path", "https://user:pw@hooks.hospital.test/x",
                               "https://hooks.hospital.test/a b", "https://hooks.hospital.test/x#frag", ""}) {
    auto configured = outbox->configure(kTenant, url, secret, true);
    ASSERT_FALSE(configured) << url;
    EXPECT_EQ(configured.error().code, ErrorCode::invalid_argument) << url;
  }
  EXPECT_FALSE(outbox->configure(kTenant, "https://h.test/" + std::string(WebhookOutbox::kMaxUrlBytes, 'a'), secret, true));
  for (std::size_t size : {0, 15, 257}) {
    auto configured = outbox->configure(kTenant, "https://hooks.hospital.test/x", Sensitive<std::string>(std::string(size, 's')), true);
    ASSERT_FALSE(configured) << size;
    EXPECT_EQ(configured.error().code, ErrorCode::invalid_argument) << size;
  }
  EXPECT_FALSE(outbox->configure("", "https://hooks.hospital.test/x", secret, true));
  EXPECT_FALSE(outbox->config(kTenant).value());

  for (std::size_t size : {16, 256}) {
    EXPECT_TRUE(outbox->configure(kTenant, "https://hooks.hospital.test/x", Sensitive<std::string>(std::string(size, 's')), true))
        << size;
  }

  // http:// only when plain HTTP is allowed explicitly.
  auto settings = options();
  settings.allow_plain_http = true;
  auto development = make_outbox(settings);
  EXPECT_TRUE(development->configure("hospital-dev", "http://127.0.0.1:8080/x", secret, true));
}

TEST_F(WebhookOutboxTest, ConfigShowsTheReceiverButNotTheSecretAndRemoveDeletesIt) {
  auto outbox = make_outbox(options());
  EXPECT_FALSE(outbox->config(kTenant).value());
  ASSERT_TRUE(outbox->configure(kTenant, "https://hooks.hospital.test/a", Sensitive<std::string>(std::string(kSecret)), true));
  clock_.advance(60s);
  ASSERT_TRUE(outbox->configure(kTenant, "https://hooks.hospital.test/b", Sensitive<std::string>(std::string(kSecret)), false));

  auto view = outbox->config(kTenant).value();
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tenant, kTenant);
  EXPECT_EQ(view->url, "https://hooks.hospital.test/b");
  EXPECT_FALSE(view->enabled);
  EXPECT_EQ(view->updated_at, kStart + 60);
  EXPECT_FALSE(outbox->config("hospital-b").value());

  ASSERT_TRUE(outbox->remove(kTenant));
  EXPECT_FALSE(outbox->config(kTenant).value());
  auto again = outbox->remove(kTenant);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::not_found);
}

TEST_F(WebhookOutboxTest, TheSecretIsSealedInTheDatabaseFile) {
  {
    auto outbox = make_outbox(options());
    ASSERT_TRUE(outbox->configure(kTenant, "https://hooks.hospital.test/x", Sensitive<std::string>(std::string(kSecret)), true));
  }
  // Every byte the database wrote (file, WAL, shared memory): the URL is there, the secret is not.
  auto bytes = all_file_bytes(dir_.path());
  EXPECT_NE(bytes.find("https://hooks.hospital.test/x"), std::string::npos);
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
  EXPECT_EQ(bytes.find("do-not-leak"), std::string::npos);

  // What is stored is the secret sealed at {tenant, webhooks, tenant, secret}.
  auto lock = database_->lock();
  auto select = database_->prepare("SELECT secret FROM webhooks WHERE tenant_id = ?1").value();
  select.bind(1, kTenant);
  ASSERT_TRUE(select.step().value());
  auto sealed = select.column_blob(0);
  EXPECT_EQ(cipher_->open_text({kTenant, "webhooks", kTenant, "secret"}, sealed).value(), kSecret);
  auto moved = cipher_->open({"hospital-b", "webhooks", "hospital-b", "secret"}, sealed);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, ErrorCode::decrypt_failed);
}

// --- the outbox itself -------------------------------------------------------------------------

TEST_F(WebhookOutboxTest, EventsOfARolledBackTransactionDoNotExist) {
  Receiver receiver{std::string(kSecret)};
  auto outbox = make_outbox(options());
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    ASSERT_TRUE(transaction.begin());
    auto id = WebhookOutbox::enqueue(*database_, kTenant, "report.ready", report_payload(), clock_);
    ASSERT_TRUE(id) << id.error().to_string();
    // The caller's change fails: no commit, the transaction rolls back with the event.
  }
  EXPECT_TRUE(outbox->events(kTenant, 10).value().empty());
  EXPECT_EQ(outbox->deliver_due(), 0u);
  EXPECT_TRUE(receiver.deliveries().empty());

  enqueue(kTenant, report_payload());
  EXPECT_EQ(outbox->events(kTenant, 10).value().size(), 1u);
  EXPECT_EQ(outbox->deliver_due(), 1u);
  EXPECT_EQ(receiver.deliveries().size(), 1u);
}

TEST_F(WebhookOutboxTest, ASecondOutboxOnTheSameFileContinuesPendingEvents) {
  Receiver receiver{std::string(kSecret)};
  receiver.script({500});
  std::string retried_id;
  {
    auto outbox = make_outbox(options());
    ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
    enqueue(kTenant, report_payload());
    EXPECT_EQ(outbox->deliver_due(), 1u);  // 500: pending, retry scheduled
    retried_id = only_event(*outbox).event_id;
    enqueue(kTenant, {{"study_id", "std_second"}, {"report_status", "final"}});  // never tried
  }
  // The process goes: the database is closed and opened again, with a new outbox.
  database_.reset();
  open_database();
  Metrics fresh_metrics;
  WebhookOutbox outbox(database_, cipher_, options(), clock_, fresh_metrics.registry());
  EXPECT_EQ(sample(fresh_metrics.serialize(), "cloister_webhook_outbox_pending"), 2);

  clock_.advance(1h);
  EXPECT_EQ(outbox.deliver_due(), 2u);
  auto events = outbox.events(kTenant, 10).value();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& event : events) EXPECT_EQ(event.state, "delivered") << event.event_id;

  auto deliveries = receiver.deliveries();
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0].id, retried_id);
  EXPECT_EQ(deliveries[1].id, retried_id);  // the same id again: receivers dedupe by it
  EXPECT_NE(deliveries[2].id, retried_id);
  for (const auto& delivery : deliveries) EXPECT_TRUE(delivery.verified);
}

TEST_F(WebhookOutboxTest, EventsAreListedNewestFirstPerTenant) {
  auto outbox = make_outbox(options());
  for (int i = 0; i < 5; ++i) {
    enqueue(kTenant, {{"study_id", "std_" + std::to_string(i)}});
    clock_.advance(1s);
  }
  enqueue("hospital-b", {{"study_id", "std_b"}});
  auto events = outbox->events(kTenant, 3).value();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].payload.at("study_id"), "std_4");
  EXPECT_EQ(events[2].payload.at("study_id"), "std_2");
  EXPECT_EQ(events[0].created_at, kStart + 4);
  EXPECT_GT(events[0].id, events[1].id);
  EXPECT_EQ(outbox->events(kTenant, 100).value().size(), 5u);
  EXPECT_EQ(outbox->events("hospital-b", 100).value().size(), 1u);
  EXPECT_EQ(outbox->events(kTenant, 0).value().size(), 1u);  // clamped to at least one
}

TEST_F(WebhookOutboxTest, EnqueueRefusesBadInput) {
  auto lock = database_->lock();
  auto refused = [&](std::string_view tenant, std::string_view type, const nlohmann::json& payload) {
    auto id = WebhookOutbox::enqueue(*database_, tenant, type, payload, clock_);
    return !id && id.error().code == ErrorCode::invalid_argument;
  };
  EXPECT_TRUE(refused("", "report.ready", nlohmann::json::object()));
  EXPECT_TRUE(refused(kTenant, "", nlohmann::json::object()));
  EXPECT_TRUE(refused(kTenant, "Report Ready", nlohmann::json::object()));
  EXPECT_TRUE(refused(kTenant, std::string(65, 'a'), nlohmann::json::object()));
  EXPECT_TRUE(refused(kTenant, "report.ready", nlohmann::json::array({1, 2})));
  EXPECT_TRUE(refused(kTenant, "report.ready", "text"));
  EXPECT_TRUE(refused(kTenant, "report.ready", {{"study_id", std::string("\xff\xfe", 2)}}));
  EXPECT_TRUE(refused(kTenant, "report.ready", {{"padding", std::string(WebhookOutbox::kMaxPayloadBytes, 'x')}}));
  // Nothing was written.
  auto count = database_->prepare("SELECT COUNT(*) FROM outbox").value();
  ASSERT_TRUE(count.step().value());
  EXPECT_EQ(count.column_int(0), 0);
}

// --- the delivery thread -----------------------------------------------------------------------

TEST_F(WebhookOutboxTest, TheThreadDeliversOnNotifyAndStops) {
  Receiver receiver{std::string(kSecret)};
  auto settings = options();
  settings.poll_interval = 1h;  // only notify() can wake it in time
  auto outbox = make_outbox(settings);
  ASSERT_TRUE(outbox->configure(kTenant, receiver.url(), Sensitive<std::string>(std::string(kSecret)), true));
  outbox->start();
  outbox->start();  // idempotent

  enqueue(kTenant, report_payload());
  outbox->notify();
  ASSERT_TRUE(receiver.wait_for(1, 20s));
  outbox->stop();
  outbox->stop();  // idempotent
  EXPECT_EQ(only_event(*outbox).state, "delivered");
  EXPECT_TRUE(receiver.deliveries().front().verified);

  // Stopped: a new event waits for the next pass.
  enqueue(kTenant, report_payload());
  outbox->notify();
  EXPECT_EQ(outbox->events(kTenant, 10).value().front().state, "pending");
  EXPECT_EQ(outbox->deliver_due(), 1u);
  EXPECT_EQ(receiver.deliveries().size(), 2u);
}

// --- signatures --------------------------------------------------------------------------------

TEST(WebhookSignatureTest, VerifiesOnlyTheExactInputs) {
  const std::string id = "evt_0123";
  const std::string timestamp = "1700000000";
  const std::string body = R"({"id":"evt_0123"})";
  const auto header = WebhookOutbox::signature(kSecret, id, timestamp, body);

  EXPECT_TRUE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, header));
  EXPECT_FALSE(WebhookOutbox::verify_signature("another-secret-0123456789", id, timestamp, body, header));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, "evt_0124", timestamp, body, header));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, "1700000001", body, header));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body + " ", header));
  // The separators are part of the message: moving a dot across fields does not verify.
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id + ".1700000000", "", body, header));

  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, ""));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, "v1="));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, header.substr(0, header.size() - 1)));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, "v0=" + header.substr(3)));
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, header.substr(3)));
  auto flipped = header;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, flipped));

  // Several entries (e.g. during a secret rotation): any one verifies.
  EXPECT_TRUE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, flipped + ", " + header));
  EXPECT_TRUE(WebhookOutbox::verify_signature(kSecret, id, timestamp, body, header + "," + flipped));

  // The header as specified: "v1=" + hex(HMAC-SHA256(secret, id "." timestamp "." body)), computed
  // independently (Python's hmac module).
  EXPECT_EQ(header, "v1=1097904dea056b86c2afe778f303b12fcab42db18e3841020804d166ec92f527");
}

}  // namespace
}  // namespace cloister::platform
