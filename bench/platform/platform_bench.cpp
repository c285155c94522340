// bench/platform: sealed patient writes and reads per second through a real cloister-platform, next
// to the reference architecture's stack (bench/platform/reference_app.py: Flask + Redis, unsealed)
// doing the same job, measured in the same run.
//
// Each target gets N client threads, each with its own client and session:
//   - cloister-platform: PlatformClient (the hospital's C++ client) — the platform's attestation
//     token verified once, then every request sealed to its attested HPKE key over POST /v1/sealed
//     (HTTPS, pinned TLS key, one connection per call as the library client does);
//     POST /v1/fhir/Patient as the demo hospital's clerk, GET /v1/fhir/Patient/{id};
//   - the reference app: http::Client over plain HTTP (one connection per call), bearer token,
//     POST /patients, GET /patients/{id};
//   - with --keep-alive, also the platform through one kept-alive HTTPS connection per thread (the same
//     sealed requests), to show what the per-call TLS handshake costs.
// Phases: writes (create a patient with a unique identifier, the same JSON for every target), then
// reads (a patient this thread created on that target, checked to carry its identifier). The phases
// alternate between the targets in rounds, the order reversed every round, so machine noise hits all
// alike. Prints requests/s, p50/p99 latency and errors per phase, and the ratios platform / reference.
// A benchmark, not a test: nothing asserts on time; --check (2 threads, 2 s, exits non-zero on any
// error) only verifies that the whole path works.
#include "../attest/keep_alive_client.h"
#include "platform_client.h"

#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/sealed_message.h"
#include "cloister/service/sealed_http.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

using namespace cloister;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kIdentifierSystem = "urn:cloister:bench:mrn";

[[noreturn]] void die(const std::string& message) {
  std::cerr << "bench/platform: " << message << "\n";
  std::exit(1);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) die("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json(const fs::path& file) {
  auto document = nlohmann::json::parse(read_text(file), nullptr, false);
  if (!document.is_object()) die(file.string() + " is not a JSON object");
  return document;
}

// The same FHIR R4 Patient for every target; only the identifier's value differs.
std::string patient_json(const std::string& identifier) {
  return nlohmann::json{{"resourceType", "Patient"},
                        {"identifier", {{{"system", kIdentifierSystem}, {"value", identifier}}}},
                        {"active", true},
                        {"name", {{{"use", "official"}, {"family", "Example"}, {"given", {"Alex", "Sam"}}}}},
                        {"gender", "other"},
                        {"birthDate", "1980-04-01"},
                        {"address", {{{"city", "Springfield"}, {"postalCode", "12345"}, {"country", "XX"}}}}}
      .dump();
}

// The id of a created patient from a 201 answer's FHIR body; empty when there is none.
std::string id_of(int status, const std::string& body) {
  if (status != 201) return {};
  auto document = nlohmann::json::parse(body, nullptr, false);
  if (!document.is_object() || !document.contains("id") || !document["id"].is_string()) return {};
  return document["id"].get<std::string>();
}

// One client thread's connection to one target. create: the new patient's id, or an error text
// (ok false); read: ok when the answer is 200 and carries the identifier.
struct Outcome {
  bool ok = false;
  std::string text;  // the id (create) or what went wrong
};

class Caller {
 public:
  virtual ~Caller() = default;
  virtual Outcome create(const std::string& body) = 0;
  virtual Outcome read(const std::string& id, const std::string& identifier) = 0;
};

Outcome answer(int status, const std::string& body, int expected, const std::string& identifier = {}) {
  if (status != expected) return {false, "HTTP " + std::to_string(status) + ": " + body.substr(0, 200)};
  if (expected == 201) {
    auto id = id_of(status, body);
    return id.empty() ? Outcome{false, "201 without an id"} : Outcome{true, id};
  }
  if (body.find("\"" + identifier + "\"") == std::string::npos) return {false, "the patient read back lacks its identifier"};
  return {true, {}};
}

// cloister-platform through PlatformClient: sealed, one HTTPS connection per call.
class PlatformCaller : public Caller {
 public:
  explicit PlatformCaller(platform::PlatformClient client) : client_(std::move(client)) {}
  Outcome create(const std::string& body) override {
    auto reply = client_.call("POST", "/v1/fhir/Patient", body, "application/fhir+json");
    if (!reply) return {false, reply.error().to_string()};
    return answer(reply->status, reply->body, 201);
  }
  Outcome read(const std::string& id, const std::string& identifier) override {
    auto reply = client_.call("GET", "/v1/fhir/Patient/" + id);
    if (!reply) return {false, reply.error().to_string()};
    return answer(reply->status, reply->body, 200, identifier);
  }

 private:
  platform::PlatformClient client_;
};

// cloister-platform with the same sealed requests over one kept-alive HTTPS connection (the chain is
// verified against the CA; the key is not pinned here — the handshake is what this variant drops).
// A connection idle for kMaxIdle (while the other targets ran) is replaced before it is used: the
// server closes connections idle for 60 s (http::ServerOptions::idle_timeout).
class KeepAlivePlatformCaller : public Caller {
 public:
  KeepAlivePlatformCaller(std::string host, std::uint16_t port, std::string ca_pem, crypto::Bytes recipient,
                          std::string session)
      : host_(std::move(host)), port_(port), ca_pem_(std::move(ca_pem)), recipient_(std::move(recipient)),
        session_(std::move(session)) {}
  Outcome create(const std::string& body) override { return call("POST", "/v1/fhir/Patient", body, 201, {}); }
  Outcome read(const std::string& id, const std::string& identifier) override {
    return call("GET", "/v1/fhir/Patient/" + id, {}, 200, identifier);
  }

 private:
  Outcome call(const std::string& method, const std::string& target, const std::string& body, int expected,
               const std::string& identifier) {
    service::InnerMessage inner;
    inner.method = method;
    inner.target = target;
    inner.headers["Authorization"] = "Bearer " + session_;
    if (!body.empty()) inner.content_type = "application/fhir+json";
    inner.body = body;
    auto sealed = crypto::sealed::seal_request(recipient_, service::kAttestedHpkeKeyId, service::encode_inner_request(inner));
    if (!sealed) return {false, sealed.error().to_string()};
    try {
      if (connection_ && SteadyClock::now() - last_used_ > kMaxIdle) connection_.reset();
      if (!connection_) connection_ = std::make_unique<bench::KeepAliveClient>(host_, port_, ca_pem_);
      last_used_ = SteadyClock::now();
      auto response = connection_->post("/v1/sealed", {{"Content-Type", std::string(service::kSealedRequestType)}},
                                        crypto::to_string(sealed->message));
      if (response.status != 200) return {false, "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 200)};
      auto opened = sealed->opener.open(crypto::as_bytes(response.body));
      if (!opened) return {false, opened.error().to_string()};
      auto message = service::decode_inner_response(*opened);
      if (!message) return {false, message.error().to_string()};
      return answer(message->status, message->body, expected, identifier);
    } catch (const std::exception& error) {
      connection_.reset();  // reconnect on the next call
      return {false, error.what()};
    }
  }

  std::string host_;
  std::uint16_t port_;
  std::string ca_pem_;
  crypto::Bytes recipient_;
  std::string session_;
  std::unique_ptr<bench::KeepAliveClient> connection_;
  SteadyClock::time_point last_used_;
  static constexpr std::chrono::seconds kMaxIdle{20};
};

// The reference app (Flask + Redis) over plain HTTP, one connection per call.
class ReferenceCaller : public Caller {
 public:
  ReferenceCaller(std::string url, std::string token)
      : client_(options()), url_(std::move(url)), authorization_("Bearer " + std::move(token)) {}
  Outcome create(const std::string& body) override {
    auto reply = client_.request("POST", url_ + "/patients",
                                 {{"Authorization", authorization_}, {"Content-Type", "application/fhir+json"}}, body);
    if (!reply) return {false, reply.error().to_string()};
    return answer(reply->status, reply->body, 201);
  }
  Outcome read(const std::string& id, const std::string& identifier) override {
    auto reply = client_.get(url_ + "/patients/" + id, {{"Authorization", authorization_}});
    if (!reply) return {false, reply.error().to_string()};
    return answer(reply->status, reply->body, 200, identifier);
  }
  static http::ClientOptions options() {
    http::ClientOptions options;
    options.plaintext = true;
    options.max_attempts = 1;
    return options;
  }

 private:
  http::Client client_;
  std::string url_;
  std::string authorization_;
};

// A target: its name and one caller per thread, with the patients each thread created there, and the
// server processes that do its work (their CPU time is read from /proc).
struct Target {
  std::string name;
  std::vector<std::unique_ptr<Caller>> callers;
  std::vector<std::vector<std::pair<std::string, std::string>>> created;  // per thread: (id, identifier)
  std::vector<int> server_pids;
};

// CPU seconds (user + system, all threads) of this process.
double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU seconds (utime + stime, all threads) of these processes; those that are gone count 0.
double cpu_seconds_of(const std::vector<int>& pids) {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (int pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    for (int index = 3; index <= 15 && fields >> field; ++index) {
      if (index >= 14) total += std::strtod(field.c_str(), nullptr) / ticks;
    }
  }
  return total;
}

struct PhaseStats {
  long ok = 0;
  long errors = 0;
  double seconds = 0;
  double client_cpu = 0;  // seconds of this process
  double server_cpu = 0;  // seconds of the target's server processes (when given)
  std::vector<double> latency_ms;  // successful requests
  std::string first_error;

  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double client_ms() const { return ok > 0 ? 1000 * client_cpu / static_cast<double>(ok) : 0; }
  double server_ms() const { return ok > 0 ? 1000 * server_cpu / static_cast<double>(ok) : 0; }
  double percentile(double p) const {
    if (latency_ms.empty()) return 0;
    auto sorted = latency_ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
  }
};

enum class Kind { write, read };

// Runs one phase on every caller of `target` for `duration`; appends to `stats` (nullptr: warm-up).
void run_phase(Target& target, Kind kind, std::chrono::milliseconds duration, const std::string& tag, PhaseStats* stats) {
  const auto threads = target.callers.size();
  std::vector<PhaseStats> local(threads);
  std::atomic<long> sequence{0};
  const auto client_before = own_cpu_seconds();
  const auto server_before = cpu_seconds_of(target.server_pids);
  const auto start = SteadyClock::now();
  const auto until = start + duration;
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& caller = *target.callers[t];
      auto& created = target.created[t];
      auto& mine = local[t];
      std::size_t next_read = t * 7919;
      while (SteadyClock::now() < until) {
        Outcome outcome;
        std::string identifier;
        const auto t0 = SteadyClock::now();
        if (kind == Kind::write) {
          identifier = tag + "-" + std::to_string(t) + "-" + std::to_string(sequence.fetch_add(1));
          outcome = caller.create(patient_json(identifier));
        } else {
          if (created.empty()) {
            mine.errors++;
            mine.first_error = "no patient created by this thread to read";
            break;
          }
          const auto& [id, value] = created[next_read++ % created.size()];
          outcome = caller.read(id, value);
        }
        const auto t1 = SteadyClock::now();
        if (!outcome.ok) {
          if (mine.errors++ == 0) mine.first_error = outcome.text;
          continue;
        }
        mine.ok++;
        mine.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (kind == Kind::write) created.emplace_back(outcome.text, identifier);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (stats == nullptr) return;
  stats->seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
  stats->client_cpu += own_cpu_seconds() - client_before;
  stats->server_cpu += cpu_seconds_of(target.server_pids) - server_before;
  for (auto& mine : local) {
    stats->ok += mine.ok;
    if (mine.errors > 0 && stats->first_error.empty()) stats->first_error = mine.first_error;
    stats->errors += mine.errors;
    stats->latency_ms.insert(stats->latency_ms.end(), mine.latency_ms.begin(), mine.latency_ms.end());
  }
}

std::uint16_t port_of(const std::string& url) { return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))); }
std::string host_of(const std::string& url) {
  auto begin = url.find("://") + 3;
  return url.substr(begin, url.rfind(':') - begin);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench/platform: sealed patient writes/reads per second, cloister-platform vs Flask + Redis"};
  std::string state_dir, reference_url, reference_credentials, tenant = "demo-hospital", user = "clerk";
  int threads = 8, seconds = 20, rounds = 2;
  double warmup = 1;
  bool check = false, keep_alive = false;
  std::vector<int> platform_pids, reference_pids;
  app.add_option("--state-dir", state_dir, "cloister up's state directory (endpoints.json, platform/demo-credentials.json)")->required();
  app.add_option("--reference-url", reference_url, "The reference app (http://127.0.0.1:<port>)")->required();
  app.add_option("--reference-credentials", reference_credentials, "JSON file {\"username\", \"password\"} of the reference app")->required();
  app.add_option("--tenant", tenant, "Platform tenant")->capture_default_str();
  app.add_option("--user", user, "Platform user (clerk role: creates and reads patients)")->capture_default_str();
  app.add_option("--threads", threads, "Client threads per target")->capture_default_str();
  app.add_option("--seconds", seconds, "Measured seconds per phase and target (split over the rounds)")->capture_default_str();
  app.add_option("--rounds", rounds, "Rounds the phases alternate in (order reversed each round)")->capture_default_str();
  app.add_option("--warmup", warmup, "Warm-up seconds per phase and target (not measured)")->capture_default_str();
  app.add_option("--platform-pids", platform_pids, "Server processes of the platform (its CPU time per request): cloister-platform, its Redis")
      ->delimiter(',');
  app.add_option("--reference-pids", reference_pids, "Server processes of the reference: gunicorn master and workers, redis-server")
      ->delimiter(',');
  app.add_flag("--keep-alive", keep_alive, "Also the platform over one kept-alive HTTPS connection per thread");
  app.add_flag("--check", check, "Quick mode (2 threads, 2 s, 1 round): exits non-zero on any error");
  CLI11_PARSE(app, argc, argv);
  if (check) {
    threads = 2;
    seconds = 2;
    rounds = 1;
    warmup = 0.2;
  }
  if (threads < 1 || seconds < 1 || rounds < 1 || warmup < 0) die("--threads, --seconds and --rounds must be >= 1, --warmup >= 0");

  // The platform: endpoints and the demo hospital's credentials that `cloister up` wrote.
  const auto endpoints = read_json(fs::path(state_dir) / "endpoints.json");
  const auto platform_url = endpoints.value("platform", std::string());
  const auto attest_url = endpoints.value("attest", std::string());
  if (platform_url.empty() || attest_url.empty() || !endpoints.contains("ca")) die("endpoints.json lacks platform, attest or ca");
  const auto ca_pem = read_text(endpoints["ca"].get<std::string>());
  const auto credentials = read_json(fs::path(state_dir) / "platform" / "demo-credentials.json");
  if (!credentials.contains(user) || !credentials[user].is_string()) die("no password for " + user + " in demo-credentials.json");
  const auto password = credentials[user].get<std::string>();

  http::ClientOptions client_options;
  client_options.ca_pem = ca_pem;
  client_options.max_attempts = 1;
  attestation::Policy policy;  // the development stack: the sim TEE, any measurement
  policy.tee_types = {"sim"};
  policy.allow_simulated = true;
  auto verifier = platform::make_hospital_verifier(attest_url, client_options, policy);

  const auto run_tag = crypto::hex_encode(crypto::random_bytes(6));
  std::vector<Target> targets;
  targets.push_back({"platform (sealed)", {}, {}, {}});
  if (keep_alive) targets.push_back({"platform (sealed, keep-alive)", {}, {}, {}});
  targets.push_back({"Flask + Redis (reference)", {}, {}, {}});
  const auto reference_login = read_json(reference_credentials);
  http::Client login_client(ReferenceCaller::options());
  for (int t = 0; t < threads; ++t) {
    auto client = platform::PlatformClient::connect(platform_url, client_options, verifier);
    if (!client) die("cannot verify the platform: " + client.error().to_string());
    if (auto session = client->login(tenant, user, password); !session) die("platform login: " + session.error().to_string());
    if (keep_alive) {
      targets[1].callers.push_back(std::make_unique<KeepAlivePlatformCaller>(
          host_of(platform_url), port_of(platform_url), ca_pem, client->platform().hpke_public_key, client->session()));
    }
    targets[0].callers.push_back(std::make_unique<PlatformCaller>(std::move(*client)));

    auto login = login_client.post_json(reference_url + "/login", reference_login);
    if (!login || login->status != 200) die("reference login: " + (login ? login->body : login.error().to_string()));
    auto token = nlohmann::json::parse(login->body, nullptr, false);
    if (!token.is_object() || !token["token"].is_string()) die("reference login: no token");
    targets.back().callers.push_back(std::make_unique<ReferenceCaller>(reference_url, token["token"].get<std::string>()));
  }
  for (auto& target : targets) {
    target.created.resize(target.callers.size());
    target.server_pids = &target == &targets.back() ? reference_pids : platform_pids;
  }

  std::cout << "bench/platform: " << threads << " client thread(s) per target, " << seconds << " s per phase and target in "
            << rounds << " round(s), " << std::thread::hardware_concurrency() << " cores\n"
            << "  platform  " << platform_url << " (" << tenant << "/" << user << ", sim TEE)\n"
            << "  reference " << reference_url << "\n";

  // A benchmark must end: a stalled server (the keep-alive client has no timeouts) ends the run.
  const auto budget = std::chrono::seconds(static_cast<long>(static_cast<double>(targets.size()) * 2 * (warmup + seconds)) + 120);
  std::thread([budget] {
    std::this_thread::sleep_for(budget);
    std::cerr << "bench/platform: still running after " << budget.count() << " s; giving up\n";
    std::_Exit(3);
  }).detach();

  // Warm-up, not measured: each target's first connections, workers, caches and database pages.
  const auto warm = std::chrono::milliseconds(static_cast<long>(warmup * 1000));
  for (auto& target : targets) {
    run_phase(target, Kind::write, warm, "bench-" + run_tag + "-warm-" + std::to_string(&target - targets.data()), nullptr);
    run_phase(target, Kind::read, warm, {}, nullptr);
  }

  std::map<std::pair<int, std::size_t>, PhaseStats> stats;  // (kind, target) → stats
  const auto slice = std::chrono::milliseconds(seconds * 1000 / rounds);
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::size_t> order(targets.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = round % 2 == 0 ? i : order.size() - 1 - i;
    for (auto kind : {Kind::write, Kind::read}) {
      for (auto index : order) {
        const auto tag = "bench-" + run_tag + "-" + std::to_string(index) + "-" + std::to_string(round);
        run_phase(targets[index], kind, slice, tag, &stats[{static_cast<int>(kind), index}]);
      }
    }
  }

  // The table: per phase each target, then each platform variant's ratios to the reference.
  const auto reference = targets.size() - 1;
  const bool server_cpu = !platform_pids.empty() && !reference_pids.empty();
  long errors = 0;
  auto row = [](const std::string& phase, const std::string& name) {
    std::cout << std::left << std::setw(6) << phase << std::setw(44) << name << std::right << std::fixed;
  };
  row("phase", "target");
  std::cout << std::setw(11) << "requests/s" << std::setw(9) << "p50 ms" << std::setw(9) << "p99 ms" << std::setw(8)
            << "errors" << std::setw(15) << "client CPU ms" << (server_cpu ? "  server CPU ms" : "") << "\n";
  row("", "");
  std::cout << std::setw(11) << "" << std::setw(9) << "" << std::setw(9) << "" << std::setw(8) << "" << std::setw(15)
            << "per request" << (server_cpu ? "    per request" : "") << "\n";
  for (auto kind : {Kind::write, Kind::read}) {
    const char* label = kind == Kind::write ? "write" : "read";
    for (std::size_t index = 0; index < targets.size(); ++index) {
      const auto& s = stats[{static_cast<int>(kind), index}];
      errors += s.errors;
      if (s.ok == 0 && s.errors == 0) ++errors;  // nothing done at all is a failure too
      row(label, targets[index].name);
      std::cout << std::setprecision(1) << std::setw(11) << s.rate() << std::setprecision(2) << std::setw(9)
                << s.percentile(0.5) << std::setw(9) << s.percentile(0.99) << std::setw(8) << s.errors << std::setw(15)
                << s.client_ms();
      if (server_cpu) std::cout << std::setw(15) << s.server_ms();
      std::cout << "\n";
    }
    const auto& r = stats[{static_cast<int>(kind), reference}];
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    for (std::size_t index = 0; index < reference; ++index) {
      const auto& s = stats[{static_cast<int>(kind), index}];
      row(label, "ratio " + targets[index].name + " / ref");
      std::cout << std::setprecision(3) << std::setw(11) << ratio(s.rate(), r.rate()) << std::setw(9)
                << ratio(s.percentile(0.5), r.percentile(0.5)) << std::setw(9) << ratio(s.percentile(0.99), r.percentile(0.99))
                << std::setw(8) << "" << std::setw(15) << ratio(s.client_ms(), r.client_ms());
      if (server_cpu) std::cout << std::setw(15) << ratio(s.server_ms(), r.server_ms());
      std::cout << "\n";
    }
  }
  std::cout << "(requests/s ratio > 1: the platform is faster — issue 7's target is >= 10; latency and CPU ratios < 1: the\n"
               " platform is faster or cheaper; all processes share " << std::thread::hardware_concurrency() << " cores)\n";
  for (const auto& [key, s] : stats) {
    if (!s.first_error.empty()) {
      std::cerr << "bench/platform: " << (key.first == 0 ? "write" : "read") << ", " << targets[key.second].name
                << ": first error: " << s.first_error << "\n";
    }
  }
  if (errors > 0) {
    std::cerr << "bench/platform: " << errors << " error(s)\n";
    return 2;
  }
  if (check) std::cout << "bench/platform --check: ok\n";
  return 0;
}
