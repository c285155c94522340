#pragma once
// Sealed HTTP bodies (DESIGN.md "Sealed messages"): what a TLS-terminating ingress between two TEEs
// (or between the hospital's browser and a TEE) sees of a request that carries PHI — nothing but
// its length. The outer request is an ordinary HTTPS POST whose body is a sealed message
// (crypto/sealed_message.h) to the recipient's attested HPKE key; the plaintext inside is an
// *inner message*: its own content type, a few headers, and the body. The response is sealed under
// a key exported from the same HPKE context, so only the sender can open it.
//
//   outer request   Content-Type: application/cloister-sealed-request
//                   body = seal_request(recipient attested HPKE key, key_id 1, inner request)
//   outer response  200, Content-Type: application/cloister-sealed-response
//                   body = response sealer's seal(inner response)
//   inner message   u32 big-endian length of head ‖ head (UTF-8 JSON object) ‖ body
//     request head  {"content_type": "...", "headers": {"Name": "value", ...}}
//                   + for a sealed tunnel (sealed_tunnel below): "method": "GET", "target": "/v1/x?y=z"
//     response head {"status": 200, "content_type": "...", "headers": {...}}
//
// A request that cannot be opened (tampered, truncated, for another key) is answered in the clear
// with a problem (400 hpke_open_failed, 415 hpke_unsupported_suite); once opened, every answer —
// errors included — is sealed, since an error can say something about the data; the log records
// such a refusal's code and request id only.

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/sealed_message.h"
#include "cloister/http/client.h"
#include "cloister/http/router.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace cloister::service {

inline constexpr std::string_view kSealedRequestType = "application/cloister-sealed-request";
inline constexpr std::string_view kSealedResponseType = "application/cloister-sealed-response";
// The key id of a service's attested HPKE key (its runtime data's "hpke" key) in sealed headers.
inline constexpr std::uint8_t kAttestedHpkeKeyId = 1;
// Limits of an inner message's head.
inline constexpr std::size_t kMaxInnerHeadBytes = 64 * 1024;

struct InnerMessage {
  int status = 200;    // responses only
  std::string method;  // requests through a sealed tunnel only (else empty, not encoded)
  std::string target;  // idem: origin-form target, path and query ("/v1/fhir/Patient?identifier=x")
  std::string content_type;
  std::map<std::string, std::string> headers;  // names compared case-insensitively by header()
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const;
};

crypto::Bytes encode_inner_request(const InnerMessage& message);
crypto::Bytes encode_inner_response(const InnerMessage& message);
// bad_request for a malformed frame or head (a detail that never quotes the body).
Result<InnerMessage> decode_inner_request(crypto::BytesView bytes);
Result<InnerMessage> decode_inner_response(crypto::BytesView bytes);

// An inner response holding a problem (RFC 9457) for an error, as the outer one would.
InnerMessage inner_problem(const Error& error, std::string_view request_id, std::string_view instance);

// The server side. The inner handler gets the outer request (path parameters, request id), the
// opened inner request and the verified caller, and returns the inner response (an Error becomes an
// inner problem). The plaintext of both is wiped when the call ends.
using SealedHandler =
    std::function<Result<InnerMessage>(const http::Request&, const InnerMessage&, const attestation::VerifiedToken&)>;
// Wraps it into a handler for CallerAuth::require: checks the outer content type
// (unsupported_media_type), opens with `private_key` (hpke_open_failed / hpke_unsupported_suite),
// decodes the inner message (bad_request), runs `handler`, seals its answer.
std::function<Result<http::Response>(const http::Request&, const attestation::VerifiedToken&)> sealed_handler(
    const Sensitive<crypto::Bytes>& private_key, SealedHandler handler);

// A sealed tunnel (what cloister-platform serves at POST /v1/sealed for the portal): the whole API
// request — method, target, headers (the session token too) and body — travels inside the seal, so an
// ingress sees neither the path (identifiers in a search) nor the credentials. `router` holds the
// inner API's routes; each opened request is dispatched to it as an http::Request built from the inner
// message (method, target, headers, body) and the outer one (request id, remote address, peer), and
// its response (errors as problem+json) is sealed back. bad_request for an inner request without
// method or target. The router must outlive the handler.
http::Handler sealed_tunnel(const Sensitive<crypto::Bytes>& private_key, const http::Router& router);
// The inner http::Request of a tunnelled message (what sealed_tunnel dispatches).
Result<http::Request> tunnelled_request(const http::Request& outer, const InnerMessage& inner);

// The client side: seals `inner` to the recipient's attested HPKE key, POSTs it, opens the answer.
// A clear (unsealed) error answer becomes an Error with the server's code and detail;
// hpke_open_failed when the answer does not open.
Result<InnerMessage> call_sealed(const http::Client& client, std::string_view url, const http::HeaderList& headers,
                                 crypto::BytesView recipient_public_key, const InnerMessage& inner);

// The Error an answer's problem+json (outer or inner) names: its code (unknown codes → upstream_failed)
// and detail. For anything that is not a problem, upstream_failed with the status.
Error error_from_problem(int status, std::string_view body);

}  // namespace cloister::service
