#pragma once
// One HTTPS/1.1 connection kept alive across requests (the library's http::Client opens a connection
// per call, which would bench the TLS handshake instead of the attestation). Verifies the server's
// chain against a CA; loopback only, so the host name is not checked.

#include <cstdint>
#include <memory>
#include <string>

namespace cloister::bench {

class KeepAliveClient {
 public:
  // Connects and handshakes; throws std::runtime_error on failure (a benchmark, not a service).
  KeepAliveClient(const std::string& host, std::uint16_t port, const std::string& ca_pem);
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  struct Response {
    int status = 0;
    std::string body;
  };
  Response post_json(const std::string& target, const std::string& body);
  Response get(const std::string& target);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloister::bench
