// cloister_hpke_tool: drives libs/crypto's HPKE and sealed messages from another process, so the
// Node interop test (tests/node/hpke_interop.mjs) can check them against npm @hpke/core.
// Test use only: it prints private keys. Every argument and stdin line is lower-case hex; every
// answer is one JSON object per line on stdout. Exit status 0 on success, 1 with {"error": code,
// "detail": ...} on a library error, 2 on a usage error.
//
//   derive-key-pair <ikm>            {"private_key", "public_key"}   (RFC 9180 DeriveKeyPair)
//   generate-key-pair                {"private_key", "public_key"}
//   open-request <skR> <key_id>      stdin line 1: request, line 2: response plaintext
//                                    → {"key_id", "kem_id", "kdf_id", "aead_id", "plaintext", "response"}
//   seal-request <pkR> <key_id> <aead_id>
//                                    stdin line 1: plaintext → prints {"message"} and flushes;
//                                    stdin line 2: response  → prints {"plaintext"}
//                                    (the response opener lives only in this process, as in a client)

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/sealed_message.h"

namespace {

using cloister::Error;
using cloister::crypto::Bytes;
using cloister::crypto::hex_decode;
using cloister::crypto::hex_encode;
namespace hpke = cloister::crypto::hpke;
namespace sealed = cloister::crypto::sealed;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int print(const nlohmann::json& answer, int status = 0) {
  std::cout << answer.dump() << std::endl;  // std::endl: the peer waits for each line
  return status;
}

int print_error(const Error& error) {
  return print({{"error", std::string(error.name())}, {"detail", error.detail}}, kExitError);
}

int usage(std::string_view problem) {
  std::cerr << "cloister_hpke_tool: " << problem << "\n"
            << "usage: cloister_hpke_tool derive-key-pair <ikm-hex> | generate-key-pair |\n"
            << "       open-request <skR-hex> <key-id> | seal-request <pkR-hex> <key-id> <aead-id>\n";
  return kExitUsage;
}

bool parse_number(std::string_view text, unsigned long maximum, unsigned long& value) {
  if (text.empty() || text.size() > 10) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  return value <= maximum;
}

bool read_hex_line(Bytes& out) {
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  auto bytes = hex_decode(line);
  if (!bytes) return false;
  out = std::move(*bytes);
  return true;
}

int print_key_pair(const hpke::KeyPair& pair) {
  return print({{"private_key", hex_encode(pair.private_key.reveal())}, {"public_key", hex_encode(pair.public_key)}});
}

int derive_key_pair(const std::vector<std::string_view>& args) {
  if (args.size() != 1) return usage("derive-key-pair takes one argument");
  auto ikm = hex_decode(args[0]);
  if (!ikm) return print_error(ikm.error());
  if (ikm->size() < hpke::kPrivateKeySize) return usage("ikm must be at least 32 bytes");
  return print_key_pair(hpke::derive_key_pair(*ikm));
}

int open_request(const std::vector<std::string_view>& args) {
  unsigned long key_id = 0;
  if (args.size() != 2 || !parse_number(args[1], 0xFF, key_id)) return usage("open-request <skR-hex> <key-id>");
  auto private_key = hex_decode(args[0]);
  if (!private_key) return print_error(private_key.error());
  Bytes message;
  Bytes response_plaintext;
  if (!read_hex_line(message) || !read_hex_line(response_plaintext)) return usage("stdin needs two hex lines");

  auto opened = sealed::open_request(message, *private_key, static_cast<std::uint8_t>(key_id));
  if (!opened) return print_error(opened.error());
  auto response = opened->sealer.seal(response_plaintext);
  if (!response) return print_error(response.error());
  const auto id = [&](std::size_t offset) { return (message[offset] << 8) | message[offset + 1]; };
  return print({{"key_id", opened->key_id},
                {"kem_id", id(1)},
                {"kdf_id", id(3)},
                {"aead_id", id(5)},
                {"plaintext", hex_encode(opened->plaintext)},
                {"response", hex_encode(*response)}});
}

int seal_request(const std::vector<std::string_view>& args) {
  unsigned long key_id = 0;
  unsigned long aead_id = 0;
  if (args.size() != 3 || !parse_number(args[1], 0xFF, key_id) || !parse_number(args[2], 0xFFFF, aead_id)) {
    return usage("seal-request <pkR-hex> <key-id> <aead-id>");
  }
  auto public_key = hex_decode(args[0]);
  if (!public_key) return print_error(public_key.error());
  auto suite =
      hpke::suite_from_ids(static_cast<std::uint16_t>(hpke::Kem::x25519_hkdf_sha256),
                           static_cast<std::uint16_t>(hpke::Kdf::hkdf_sha256), static_cast<std::uint16_t>(aead_id));
  if (!suite) return print_error(suite.error());
  Bytes plaintext;
  if (!read_hex_line(plaintext)) return usage("stdin line 1 must be the plaintext in hex");

  auto request = sealed::seal_request(*public_key, static_cast<std::uint8_t>(key_id), plaintext, *suite);
  if (!request) return print_error(request.error());
  print({{"message", hex_encode(request->message)}});

  Bytes response;
  if (!read_hex_line(response)) return usage("stdin line 2 must be the response in hex");
  auto opened = request->opener.open(response);
  if (!opened) return print_error(opened.error());
  return print({{"plaintext", hex_encode(*opened)}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("missing command");
  const std::string_view command = argv[1];
  const std::vector<std::string_view> args(argv + 2, argv + argc);
  try {
    if (command == "derive-key-pair") return derive_key_pair(args);
    if (command == "generate-key-pair") {
      if (!args.empty()) return usage("generate-key-pair takes no argument");
      return print_key_pair(hpke::generate_key_pair());
    }
    if (command == "open-request") return open_request(args);
    if (command == "seal-request") return seal_request(args);
  } catch (const std::exception& exception) {
    std::cerr << "cloister_hpke_tool: " << exception.what() << "\n";
    return kExitError;
  }
  return usage("unknown command");
}
