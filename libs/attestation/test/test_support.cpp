#include "test_support.h"

#include <stdlib.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace cloister::attestation::test {

ServiceKeys ServiceKeys::generate(std::optional<std::string> nonce) {
  auto tls = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto hpke = crypto::x25519_generate();
  auto runtime_data = make_runtime_data(tls.public_key(), hpke.public_key, std::move(nonce));
  return ServiceKeys{std::move(tls), std::move(hpke), std::move(runtime_data)};
}

SimPlatform::SimPlatform(sim::SimAttesterOptions options)
    : key_path(directory.path() / "sim-platform.pem"),
      public_key([this] {
        auto key = sim::load_or_create_platform_key(key_path);
        if (!key) throw std::runtime_error(key.error().to_string());
        return *key;
      }()) {
  options.platform_key_path = key_path;
  auto created = sim::SimAttester::create(options);
  if (!created) throw std::runtime_error(created.error().to_string());
  attester = std::make_unique<sim::SimAttester>(std::move(*created));
}

std::string sha384sum(const std::filesystem::path& path) {
  const std::string command = "sha384sum '" + path.string() + "'";
  struct Closer {
    void operator()(FILE* file) const { ::pclose(file); }
  };
  std::unique_ptr<FILE, Closer> pipe(::popen(command.c_str(), "r"));
  if (!pipe) return {};
  std::array<char, 256> buffer{};
  std::string output;
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe.get()) != nullptr) output += buffer.data();
  const auto space = output.find(' ');
  return space == std::string::npos ? std::string() : output.substr(0, space);
}

}  // namespace cloister::attestation::test
