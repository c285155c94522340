#include "up_command.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/core/log.h"
#include "cloister/core/process.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/core/private_files.h"
#include "cloister/http/client.h"
#include "cloister/redis/client.h"
#include "cloister/service/tls_identity.h"
#include "admin_client.h"
#include "dev_environment.h"
#include "infer_command.h"
#include "portal_server.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

namespace cloister::cli {

namespace fs = std::filesystem;

namespace {

struct ServiceSpec {
  std::string name;     // binary
  std::string role;     // shown to the user
  std::string dir;      // state subdirectory and log name
  int port_offset;
  std::string note;
};

const std::vector<ServiceSpec> kServices = {
    {"cloister-attest", "attestation", "attest", 0, "OIDC discovery: /.well-known/openid-configuration"},
    {"cloister-keys", "keys", "keys", 1, "key release (attested callers only)"},
    {"cloister-infer", "provider", "infer", 3, "diagnostic provider (attested callers only)"},
    {"cloister-platform", "platform", "platform", 2, "hospital API: GET /v1/attestation, POST /v1/sealed"},
};

struct Running {
  const ServiceSpec* spec;
  ChildProcess process;
  std::uint16_t port = 0;
  std::string url;
};

std::string json_list(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

// --- Redis (docs/redis.md) ---------------------------------------------------------------------

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr int kRedisPortOffset = 4;
constexpr int kRedisStartAttempts = 5;  // with ephemeral ports: another port when one was taken

struct RunningRedis {
  std::optional<ChildProcess> process;
  std::uint16_t port = 0;
  std::string url;
  DevRedis files;
};

// A port the kernel considers free on `host` right now (bind port 0, read it, close).
Result<std::uint16_t> free_port(const std::string& host) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return fail(ErrorCode::config_invalid, "--host must be an IPv4 address to run Redis on it");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(ErrorCode::io_error, "socket()");
  socklen_t length = sizeof address;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) return fail(ErrorCode::io_error, "cannot bind " + host + ":0");
  return ntohs(address.sin_port);
}

redis::ClientOptions redis_admin_options(const RunningRedis& server, const std::string& host, const std::string& ca_pem) {
  redis::ClientOptions options;
  options.host = host;
  options.port = server.port;
  options.ca_pem = ca_pem;
  options.server_name = "localhost";
  options.username = server.files.admin_username;
  options.password = server.files.admin_password;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.command_timeout = std::chrono::milliseconds(1000);
  options.max_retries = 0;
  options.pool_size = 1;
  return options;
}

// Starts redis-server (TLS only, default user off) and waits, bounded, until it answers PING over
// TLS as the admin user.
Result<RunningRedis> start_redis(const UpOptions& options, const DevEnvironment& environment, const std::string& ca_pem) {
  std::error_code exists_error;
  if (!fs::exists(kRedisServer, exists_error)) {
    return fail(ErrorCode::unavailable, std::string(kRedisServer) + " is missing: run scripts/setup.sh (Debian redis-server)");
  }
  const auto log_file = fs::absolute(environment.logs / "redis.log").string();
  const int attempts = options.base_port == 0 ? kRedisStartAttempts : 1;
  Error last{ErrorCode::unavailable, "redis-server did not start"};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    RunningRedis server;
    if (options.base_port == 0) {
      auto port = free_port(options.host);
      if (!port) return std::unexpected(port.error());
      server.port = *port;
    } else {
      server.port = static_cast<std::uint16_t>(options.base_port + kRedisPortOffset);
    }
    auto files = prepare_dev_redis(environment, options.host, server.port);
    if (!files) return std::unexpected(files.error());
    server.files = std::move(*files);
    auto process = ChildProcess::spawn({{kRedisServer, server.files.config_file.string()}, log_file, {}});
    if (!process) return std::unexpected(process.error());
    server.process.emplace(std::move(*process));
    server.url = "rediss://" + options.host + ":" + std::to_string(server.port);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.ready_timeout_seconds);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!server.process->running()) {
        exited = true;
        break;
      }
      auto client = redis::Client::create(redis_admin_options(server, options.host, ca_pem));
      if (client) {
        auto reply = (*client)->command({"PING"});
        if (reply && reply->string == "PONG") return server;
        last = reply ? Error{ErrorCode::unavailable, "unexpected PING reply"} : reply.error();
      } else {
        last = client.error();
        if (last.code == ErrorCode::redis_auth_failed || last.code == ErrorCode::config_invalid) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    server.process->stop(std::chrono::milliseconds(5000));
    if (!exited) break;  // it ran but never answered: another port will not help
    last = Error{ErrorCode::unavailable, "redis-server exited (port " + std::to_string(server.port) + " taken?)"};
  }
  return fail(last.code, last.detail + " (see " + log_file + ")");
}

// The key-prefix rules cloister up gives cloister-keys: the platform and the provider each get their
// own prefix, pinned to the measurement (SHA-384) of their binary; any sim TEE gets the shared
// sandbox "dev:" (tools and tests).
Result<nlohmann::json> dev_redis_prefixes(const fs::path& bin_dir) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& [prefix, binary] : {std::pair<std::string, std::string>{"platform:", "cloister-platform"},
                                       {"infer:", "cloister-infer"}}) {
    auto measurement = attestation::sim::measure_executable(bin_dir / binary);
    if (!measurement) return std::unexpected(measurement.error());
    rules.push_back({{"prefix", prefix},
                     {"policy",
                      {{"name", binary + "-sim"},
                       {"allow_simulated", true},
                       {"all_of",
                        {{{"claim", "tee"}, {"equals", "sim"}},
                         {{"claim", "measurement"}, {"equals", crypto::hex_encode(*measurement)}}}}}}});
  }
  rules.push_back({{"prefix", "dev:"},
                   {"policy",
                    {{"name", "any-sim"}, {"allow_simulated", true}, {"all_of", {{{"claim", "tee"}, {"equals", "sim"}}}}}}});
  return rules;
}

// --- Demo models (docs/infer.md §7) ------------------------------------------------------------

constexpr const char* kDemoModelKey = "cloister-demo-models";

// The models cloister up seals for the provider: <models_dir>/<name>/{manifest.json, model.onnx}.
std::vector<fs::path> demo_model_dirs(const fs::path& models_dir) {
  std::vector<fs::path> out;
  std::error_code error;
  if (!fs::is_directory(models_dir, error)) return out;
  for (const auto& entry : fs::directory_iterator(models_dir, error)) {
    if (fs::exists(entry.path() / "manifest.json", error) && fs::exists(entry.path() / "model.onnx", error)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The admin token a service (cloister-keys, cloister-platform) generated in its state directory.
Result<http::HeaderList> admin_headers(const fs::path& state) {
  auto headers = admin_headers_from_file((state / "admin-token").string());
  if (!headers) {
    return fail(ErrorCode::unauthenticated, "no admin token in " + (state / "admin-token").string() + " (removed?)");
  }
  return headers;
}

// A release policy admitting only this build of `binary` in the sim TEE.
Result<nlohmann::json> sim_binary_policy(const fs::path& bin_dir, const std::string& binary) {
  auto measurement = attestation::sim::measure_executable(bin_dir / binary);
  if (!measurement) return std::unexpected(measurement.error());
  return nlohmann::json{{"name", binary + "-sim"},
                        {"allow_simulated", true},
                        {"all_of",
                         {{{"claim", "tee"}, {"equals", "sim"}},
                          {{"claim", "measurement"}, {"equals", crypto::hex_encode(*measurement)}}}}};
}

// Creates key `name` in cloister-keys with `policy`, or — after a rebuild changed the measurement —
// points its policy at this build. The key's admin document.
Result<nlohmann::json> ensure_key(const http::Client& client, const std::string& keys_url, const http::HeaderList& headers,
                                  const std::string& name, const std::string& type, const nlohmann::json& policy,
                                  const std::string& comment) {
  // The key service answers once its port is bound; a few tries cover a slow start.
  Result<http::Response> key = fail(ErrorCode::unavailable, "cloister-keys did not answer");
  for (int attempt = 0; attempt < 50; ++attempt) {
    key = client.get(keys_url + "/admin/keys/" + name, headers);
    if (key) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!key) return std::unexpected(key.error());
  if (key->status == 404) {
    key = client.post_json(keys_url + "/admin/keys",
                           {{"name", name}, {"type", type}, {"policy", policy}, {"comment", comment}}, headers);
    if (!key) return std::unexpected(key.error());
  } else if (key->status == 200) {
    auto body = nlohmann::json::parse(key->body, nullptr, false);
    if (!body.is_object() || body["policy"] != policy) {
      auto updated = client.request("PUT", keys_url + "/admin/keys/" + name + "/policy",
                                    {headers[0], {"Content-Type", "application/json"}},
                                    nlohmann::json{{"policy", policy}, {"comment", comment}}.dump());
      if (!updated || updated->status != 200) {
        return fail(ErrorCode::upstream_failed, "cannot update the release policy of key " + name);
      }
      key = client.get(keys_url + "/admin/keys/" + name, headers);
      if (!key) return std::unexpected(key.error());
    }
  }
  if (key->status != 200 && key->status != 201) {
    return fail(ErrorCode::upstream_failed, "cloister-keys answered HTTP " + std::to_string(key->status) + " for key " + name);
  }
  return nlohmann::json::parse(key->body, nullptr, false);
}

// Gives the provider its demo models the way an operator would: an hpke-x25519 key in cloister-keys
// whose release policy admits only this build's cloister-infer (sim TEE, its measurement), and each
// demo model sealed to that key's public half into the provider's registry directory.
Result<std::size_t> provision_demo_models(const http::Client& client, const std::string& keys_url,
                                          const fs::path& keys_state, const fs::path& bin_dir,
                                          const fs::path& models_dir, const fs::path& registry_dir) {
  const auto models = demo_model_dirs(models_dir);
  if (models.empty()) return std::size_t{0};
  auto headers = admin_headers(keys_state);
  if (!headers) return std::unexpected(headers.error());
  auto policy = sim_binary_policy(bin_dir, "cloister-infer");
  if (!policy) return std::unexpected(policy.error());
  auto body = ensure_key(client, keys_url, *headers, kDemoModelKey, "hpke-x25519", *policy,
                         "cloister up: the demo models, for this build's cloister-infer");
  if (!body) return std::unexpected(body.error());
  const auto version = body->value("current_version", std::uint64_t{0});
  crypto::Bytes public_key;
  for (const auto& item : body->value("versions", nlohmann::json::array())) {
    if (item.value("version", std::uint64_t{0}) == version && item.contains("public_key")) {
      auto decoded = crypto::base64url_decode(item["public_key"].get<std::string>());
      if (decoded) public_key = std::move(*decoded);
    }
  }
  if (public_key.size() != 32) return fail(ErrorCode::upstream_failed, "the demo model key has no public key");
  for (const auto& model : models) {
    auto sealed = seal_model_into_registry({(model / "model.onnx").string(), (model / "manifest.json").string(),
                                            registry_dir.string(), kDemoModelKey, version, public_key});
    if (!sealed) return std::unexpected(sealed.error());
  }
  return models.size();
}

// The platform's data key (docs/platform.md, "Data at rest"): aes-256, released only to this build's
// cloister-platform in the sim TEE.
constexpr const char* kPlatformDataKey = "cloister-platform-data";

Status provision_platform_data_key(const http::Client& client, const std::string& keys_url, const fs::path& keys_state,
                                   const fs::path& bin_dir) {
  auto headers = admin_headers(keys_state);
  if (!headers) return std::unexpected(headers.error());
  auto policy = sim_binary_policy(bin_dir, "cloister-platform");
  if (!policy) return std::unexpected(policy.error());
  auto key = ensure_key(client, keys_url, *headers, kPlatformDataKey, "aes-256", *policy,
                        "cloister up: the platform's records, for this build's cloister-platform");
  if (!key) return std::unexpected(key.error());
  return {};
}

// The demo hospital (tenant "demo-hospital") and its users admin, clerk and doctor (clinician), with
// passwords generated at the first run and kept in <state>/platform/demo-credentials.json (0600).
struct DemoCredentials {
  std::string tenant = "demo-hospital";
  std::vector<std::pair<std::string, std::string>> users;  // name → password
};

Result<DemoCredentials> provision_demo_hospital(const http::Client& client, const std::string& platform_url,
                                                const fs::path& platform_state) {
  const auto file = platform_state / "demo-credentials.json";
  DemoCredentials demo;
  nlohmann::json stored = nlohmann::json::parse(service::read_text_file(file.string()).value_or("{}"), nullptr, false);
  if (!stored.is_object()) stored = nlohmann::json::object();
  for (const auto* user : {"admin", "clerk", "doctor", "scripts"}) {
    std::string password = stored.value(user, std::string());
    if (password.empty()) password = "demo-" + crypto::base64url_encode(crypto::random_bytes(12));
    stored[user] = password;
    demo.users.emplace_back(user, password);
  }
  if (!write_private_file(file, stored.dump(2) + "\n")) return fail(ErrorCode::io_error, "cannot write " + file.string());
  auto admin = admin_headers(platform_state);
  if (!admin) return std::unexpected(admin.error());
  const http::HeaderList& headers = *admin;
  auto tenant = client.post_json(platform_url + "/admin/tenants", {{"id", demo.tenant}, {"name", "Demo Hospital"}}, headers);
  if (!tenant || (tenant->status != 201 && tenant->status != 409)) {
    return fail(ErrorCode::upstream_failed, "cannot create the demo hospital");
  }
  const std::map<std::string, nlohmann::json> roles = {
      {"admin", {"admin"}}, {"clerk", {"clerk"}}, {"doctor", {"clinician"}}, {"scripts", {"clerk", "clinician"}}};
  for (const auto& [user, password] : demo.users) {
    auto created = client.post_json(platform_url + "/admin/tenants/" + demo.tenant + "/users",
                                    {{"username", user}, {"password", password}, {"roles", roles.at(user)}}, headers);
    if (!created || (created->status != 201 && created->status != 409)) {
      return fail(ErrorCode::upstream_failed, "cannot create the demo user " + user);
    }
  }
  return demo;
}

void stop_redis(RunningRedis& server) {
  if (!server.process) return;
  int status = server.process->stop(std::chrono::milliseconds(10000));
  std::cout << "  stopped redis-server (pid " << server.process->pid() << ", status " << status << ")\n";
  server.process.reset();
}

bool wait_ready(const http::Client& client, const std::string& url, Running& running, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running.process.running()) return false;
    auto response = client.get(url + "/readyz");
    if (response && response->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void stop_all(std::vector<Running>& running) {
  // Reverse start order: relying parties first, the attestation service last.
  for (auto it = running.rbegin(); it != running.rend(); ++it) {
    int status = it->process.stop(std::chrono::milliseconds(10000));
    std::cout << "  stopped " << it->spec->name << " (pid " << it->process.pid() << ", status " << status << ")\n";
  }
  running.clear();
}

// The hospital configuration the local portal is given (hospital_config.h; docs/portal.md): this
// build's cloister-platform is the approved code, the sim TEE is allowed (development), and the
// attestation service's sim policy in force is pinned by hash.
Result<nlohmann::json> local_hospital_config(const http::Client& client, const std::string& attest_url,
                                             const std::string& platform_url, const fs::path& bin_dir) {
  auto measurement = attestation::sim::measure_executable(bin_dir / "cloister-platform");
  if (!measurement) return std::unexpected(measurement.error());
  auto policies = client.get(attest_url + "/policy");
  if (!policies || policies->status != 200) return fail(ErrorCode::upstream_failed, "cannot read the attestation service's policies");
  auto document = nlohmann::json::parse(policies->body, nullptr, false);
  nlohmann::json hashes = nlohmann::json::array();
  if (document.is_object() && document.contains("policies") && document["policies"].is_object() &&
      document["policies"].contains("sim") && document["policies"]["sim"].is_object()) {
    const auto& sim = document["policies"]["sim"];
    if (sim.contains("policy_hash") && sim["policy_hash"].is_string()) hashes.push_back(sim["policy_hash"]);
  }
  return nlohmann::json{{"hospital", "Demo Hospital"},
                        {"tenant", "demo-hospital"},
                        {"platform_url", platform_url},
                        {"attestation_url", attest_url},
                        {"identifier_system", "urn:cloister:mrn"},
                        {"expected",
                         {{"tee_types", {"sim"}},
                          {"allow_simulated", true},
                          {"allow_debug", false},
                          {"measurements", {crypto::hex_encode(*measurement)}},
                          {"policy_hashes", hashes},
                          {"tcb_statuses", {"Simulated"}},
                          {"min_token_validity_s", 30}}}};
}

}  // namespace

int run_up(const UpOptions& options) {
  // Ctrl-C and SIGTERM are received with sigtimedwait below; children get default handling.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto environment = prepare_dev_environment(options.state_dir);
  if (!environment) {
    std::cerr << "cloister up: " << environment.error().to_string() << "\n";
    return 1;
  }
  auto ca_pem = service::read_text_file(environment->ca_certificate.string());
  if (!ca_pem) {
    std::cerr << "cloister up: " << ca_pem.error().to_string() << "\n";
    return 1;
  }
  http::ClientOptions client_options;
  client_options.ca_pem = *ca_pem;
  client_options.connect_timeout = std::chrono::milliseconds(1000);
  client_options.request_timeout = std::chrono::milliseconds(2000);
  client_options.max_attempts = 1;
  http::Client client(client_options);

  // The access logs of the portal's file server go to a file, not the console.
  log::configure("cloister-portal", log::Level::info, fs::absolute(environment->logs / "portal.log").string());
  fs::remove(options.state_dir / "endpoints.json");

  // The portal first: its origin is what the attestation service and the platform admit (CORS).
  std::unique_ptr<PortalServer> portal;
  std::string portal_url;
  fs::path portal_config = options.portal_config.empty() ? fs::absolute(options.state_dir / "portal" / "config.json")
                                                         : fs::absolute(options.portal_config);
  nlohmann::json cors_origins = nlohmann::json::array();
  {
    fs::create_directories(options.state_dir / "portal");
    PortalServerOptions portal_options;
    portal_options.portal_dir = options.portal_dir;
    portal_options.config_file = portal_config;
    portal_options.host = options.host;
    portal_options.port = static_cast<std::uint16_t>(options.base_port == 0 ? 0 : options.base_port + 5);
    portal_options.ca_certificate = fs::absolute(environment->ca_certificate);
    portal_options.ca_key = fs::absolute(environment->ca_key);
    auto started = PortalServer::start(portal_options);
    if (!started) {
      std::cerr << "cloister up: the portal is not served: " << started.error().to_string() << "\n";
    } else {
      portal = std::move(*started);
      const auto port = std::to_string(portal->port());
      portal_url = "https://" + options.host + ":" + port + "/";
      cors_origins = {"https://" + options.host + ":" + port, "https://localhost:" + port};
    }
  }

  auto redis_prefixes = dev_redis_prefixes(options.bin_dir);
  if (!redis_prefixes) {
    std::cerr << "cloister up: " << redis_prefixes.error().to_string() << "\n";
    return 1;
  }
  // Redis first (cloister-keys connects to it at start), stopped last.
  auto redis_server = start_redis(options, *environment, *ca_pem);
  if (!redis_server) {
    std::cerr << "cloister up: Redis: " << redis_server.error().to_string() << "\n";
    return 1;
  }
  auto stop_everything = [&](std::vector<Running>& services) {
    if (portal) {
      portal->stop();
      std::cout << "  stopped the portal's file server\n";
    }
    stop_all(services);
    stop_redis(*redis_server);
  };

  std::vector<Running> running;
  std::string attest_url;
  for (const auto& spec : kServices) {
    auto state = fs::absolute(options.state_dir / spec.dir);
    fs::create_directories(state);
    auto port_file = state / "port";
    fs::remove(port_file);
    int port = options.base_port == 0 ? 0 : options.base_port + spec.port_offset;
    std::vector<std::string> arguments = {
        (options.bin_dir / spec.name).string(),
        "--set", "listen.host=" + options.host,
        "--set", "listen.port=" + std::to_string(port),
        "--set", "port_file=" + port_file.string(),
        "--set", "state_dir=" + state.string(),
        "--set", "tls.ca_file=" + fs::absolute(environment->ca_certificate).string(),
        "--set", "tls.issuer_cert_file=" + fs::absolute(environment->ca_certificate).string(),
        "--set", "tls.issuer_key_file=" + fs::absolute(environment->ca_key).string(),
        "--set", "tls.server_names=" + json_list({"localhost", options.host}),
        // Development: every party accepts the sim TEE, and says so.
        "--set", "policy.allow_simulated=true",
    };
    if (!cors_origins.empty() && (spec.name == "cloister-attest" || spec.name == "cloister-platform")) {
      // The portal's page calls these two from its own origin.
      arguments.insert(arguments.end(), {"--set", "server.cors_origins=" + cors_origins.dump()});
    }
    if (spec.name == "cloister-attest") {
      arguments.insert(arguments.end(),
                       {"--set", "sim.trusted_platform_key_files=" +
                                     json_list({fs::absolute(environment->sim_platform_public_key).string()}),
                        "--set", "token.lifetime_seconds=" + std::to_string(options.token_lifetime_seconds)});
    } else {
      arguments.insert(arguments.end(),
                       {"--set", "attestation.url=" + attest_url, "--set", "tee.format=sim", "--set",
                        "tee.sim.platform_key_file=" + fs::absolute(environment->sim_platform_key).string()});
    }
    if (spec.name == "cloister-keys") {
      // The Redis admin credential goes to cloister-keys only (docs/redis.md).
      arguments.insert(arguments.end(),
                       {"--set", "redis.host=" + options.host, "--set", "redis.port=" + std::to_string(redis_server->port),
                        "--set", "redis.server_name=localhost", "--set",
                        "redis.ca_file=" + fs::absolute(environment->ca_certificate).string(), "--set",
                        "redis.admin_username=" + redis_server->files.admin_username, "--set",
                        "redis.admin_password_file=" + redis_server->files.admin_password_file.string(), "--set",
                        "redis.prefixes=" + redis_prefixes->dump()});
    }
    if (spec.name == "cloister-infer") {
      for (const auto& other : running) {
        if (other.spec->name == "cloister-keys") arguments.insert(arguments.end(), {"--set", "keys.url=" + other.url});
      }
    }
    if (spec.name == "cloister-platform") {
      auto provider = attestation::sim::measure_executable(options.bin_dir / "cloister-infer");
      if (!provider) {
        std::cerr << "cloister up: " << provider.error().to_string() << "\n";
        stop_everything(running);
        return 1;
      }
      // The platform sends images only to this build's provider, and verifies its sim token.
      arguments.insert(arguments.end(), {"--set", "provider.measurements=" + json_list({crypto::hex_encode(*provider)}),
                                         "--set", R"(policy.tee_types=["sim"])"});
      for (const auto& other : running) {
        if (other.spec->name == "cloister-infer") arguments.insert(arguments.end(), {"--set", "provider.url=" + other.url});
        if (other.spec->name == "cloister-keys") arguments.insert(arguments.end(), {"--set", "keys.url=" + other.url});
      }
    }
    auto log_file = fs::absolute(environment->logs / (spec.dir + ".log")).string();
    auto process = ChildProcess::spawn({arguments, log_file, {}});
    if (!process) {
      std::cerr << "cloister up: " << process.error().to_string() << "\n";
      stop_everything(running);
      return 1;
    }
    running.push_back(Running{&spec, std::move(*process), 0, {}});
    auto bound = wait_for_port_file(port_file.string(), std::chrono::seconds(options.ready_timeout_seconds),
                                    &running.back().process);
    if (!bound) {
      std::cerr << "cloister up: " << spec.name << " did not start: " << bound.error().detail << " (see " << log_file
                << ")\n";
      stop_everything(running);
      return 1;
    }
    running.back().port = *bound;
    running.back().url = "https://" + options.host + ":" + std::to_string(*bound);
    if (spec.name == "cloister-attest") attest_url = running.back().url;
    if (spec.name == "cloister-keys") {
      auto provisioned = provision_demo_models(client, running.back().url, state, options.bin_dir, options.models_dir,
                                               fs::absolute(options.state_dir / "infer" / "models"));
      if (!provisioned) {
        std::cerr << "cloister up: demo models: " << provisioned.error().to_string() << "\n";
      } else if (*provisioned > 0) {
        std::cout << "  sealed " << *provisioned << " demo model(s) for the provider (key " << kDemoModelKey << ")\n";
      }
      if (auto data_key = provision_platform_data_key(client, running.back().url, state, options.bin_dir); !data_key) {
        std::cerr << "cloister up: the platform's data key: " << data_key.error().to_string() << "\n";
        stop_everything(running);
        return 1;
      }
    }
  }

  for (auto& service : running) {
    if (!wait_ready(client, service.url, service, std::chrono::seconds(options.ready_timeout_seconds))) {
      std::cerr << "cloister up: " << service.spec->name << " is not ready (see "
                << (environment->logs / (service.spec->dir + ".log")).string() << ")\n";
      stop_everything(running);
      return 1;
    }
  }

  std::optional<DemoCredentials> demo;
  for (const auto& service : running) {
    if (service.spec->name != "cloister-platform") continue;
    auto provisioned = provision_demo_hospital(client, service.url, fs::absolute(options.state_dir / service.spec->dir));
    if (!provisioned) {
      std::cerr << "cloister up: the demo hospital: " << provisioned.error().to_string() << "\n";
    } else {
      demo = std::move(*provisioned);
    }
  }

  std::string platform_url;
  for (const auto& service : running) {
    if (service.spec->name == "cloister-platform") platform_url = service.url;
  }
  // Written even when the portal is not served: `cloister demo` and `cloister submit` use it too.
  if (options.portal_config.empty()) {
    auto hospital = local_hospital_config(client, attest_url, platform_url, options.bin_dir);
    if (!hospital) {
      std::cerr << "cloister up: the portal's hospital configuration: " << hospital.error().to_string() << "\n";
    } else if (!write_private_file(portal_config, hospital->dump(2) + "\n")) {
      std::cerr << "cloister up: cannot write " << portal_config.string() << "\n";
    }
  }

  nlohmann::json endpoints = nlohmann::json::object();
  for (const auto& service : running) endpoints[service.spec->dir] = service.url;
  if (portal) endpoints["portal"] = portal_url;
  endpoints["portal_config"] = portal_config.string();
  endpoints["redis"] = redis_server->url;
  endpoints["ca"] = fs::absolute(environment->ca_certificate).string();
  {
    std::ofstream out(options.state_dir / "endpoints.json");
    out << endpoints.dump(2) << "\n";
  }

  std::cout << "\nCloister is running — SIMULATED TEE (development only: tokens say tee \"sim\"; "
               "no hardware protects this data)\n\n";
  if (portal) {
    std::cout << "  portal      " << portal_url << "   the hospital portal (hospital configuration: "
              << portal_config.string() << ")\n";
  }
  for (const auto& service : running) {
    std::cout << "  " << service.spec->role << std::string(12 - service.spec->role.size(), ' ') << service.url
              << "   " << service.spec->note << "\n";
  }
  std::cout << "  redis       " << redis_server->url << "   cache (TLS, ACL; credentials from cloister-keys)\n";
  if (demo) {
    std::cout << "\n  demo hospital \"" << demo->tenant << "\" (passwords in "
              << (options.state_dir / "platform" / "demo-credentials.json").string() << "):\n";
    for (const auto& [user, password] : demo->users) {
      std::cout << "    " << user << std::string(8 - user.size(), ' ') << password
                << (user == "admin"   ? "   (users, audit log, webhook)"
                    : user == "clerk" ? "   (patients, studies)"
                    : user == "doctor" ? "   (clinician: reports)"
                                       : "   (clerk + clinician: hospital scripts, cloister submit)")
                << "\n";
    }
  }
  std::cout << "\n  CA certificate: " << environment->ca_certificate.string()
            << "   logs: " << environment->logs.string() << "/\n"
            << "  try: curl --cacert " << environment->ca_certificate.string() << " " << running[3].url
            << "/v1/provider/check\n\n";
  if (options.exit_when_ready) {
    std::cout << "all services ready; stopping (--exit-when-ready)\n";
    stop_everything(running);
    return 0;
  }
  if (portal) {
    std::cout << "  open the portal in a browser that trusts " << environment->ca_certificate.string()
              << " (docs/portal.md), log in as clerk or doctor\n\n";
  }
  std::cout << "Press Ctrl-C to stop.\n" << std::flush;

  while (true) {
    timespec tick{0, 250'000'000};
    int received = sigtimedwait(&stop_signals, nullptr, &tick);
    if (received == SIGINT || received == SIGTERM) {
      std::cout << "\nstopping…\n";
      stop_everything(running);
      return 0;
    }
    if (auto status = redis_server->process->poll()) {
      std::cerr << "cloister up: redis-server exited (status " << *status << "); see "
                << (environment->logs / "redis.log").string() << "\n";
      redis_server->process.reset();
      stop_everything(running);
      return 1;
    }
    for (auto& service : running) {
      if (auto status = service.process.poll()) {
        std::cerr << "cloister up: " << service.spec->name << " exited (status " << *status << "); see "
                  << (environment->logs / (service.spec->dir + ".log")).string() << "\n";
        stop_everything(running);
        return 1;
      }
    }
  }
}

}  // namespace cloister::cli
