#pragma once
// One HTTPS/1.1 connection kept alive across requests (the library's http::Client opens a connection
// per call, which would bench the TLS handshake instead of the attestation). Verifies the server's
// chain against a CA; loopback only, so the host name is not checked. With a client certificate it
// speaks mutual TLS (bench/infer: an attested caller's channel-bound key).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cloister::bench {

class KeepAliveClient {
 public:
  // Connects and handshakes; throws std::runtime_error on failure (a benchmark, not a service).
  KeepAliveClient(const std::string& host, std::uint16_t port, const std::string& ca_pem,
                  const std::string& client_certificate_pem = {}, const std::string& client_key_pem = {});
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  struct Response {
    int status = 0;
    std::string body;
    std::string content_type;
  };
  Response post_json(const std::string& target, const std::string& body);
  Response get(const std::string& target);
  Response post(const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers,
                const std::string& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloister::bench
